#!/usr/bin/env python3
"""test_report.py: bench/report.py's arithmetic and its handling of what is
missing, on hand-written results files (ctest bench.report). One concern
per test: how runs combine, which way each ratio points, how a failed,
unbuilt or absent program shows, and that a quick run says so."""

import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("report", os.path.join(HERE, "report.py"))
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


def results(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    f.write(text)
    f.close()
    return f.name


def run_page(text):
    """Write the page (no plots) from a results file; return its text."""
    out = tempfile.mkdtemp()
    r = subprocess.run([sys.executable, os.path.join(HERE, "report.py"), results(text), "--out", out,
                        "--no-plots"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    with open(os.path.join(out, "benchmarks.md")) as f:
        return f.read(), r.stdout


class Combine(unittest.TestCase):
    def test_median_of_runs_and_spread_over_every_round(self):
        res = report.Results(results(
            "BENCH yield eddy 10 ns\nBENCHSPREAD yield eddy 9 11 ns\n"
            "BENCH yield eddy 30 ns\nBENCHSPREAD yield eddy 25 40 ns\n"
            "BENCH yield eddy 20 ns\nBENCHSPREAD yield eddy 19 21\n"))
        self.assertEqual(res.get("yield", "eddy"), (20, 9, 40, 3, "ns"))

    def test_a_run_without_spread_lines_spreads_over_its_values(self):
        res = report.Results(results("BENCH x eddy 5 ns\nBENCH x eddy 7 ns\n"))
        self.assertEqual(res.get("x", "eddy"), (6, 5, 7, 2, "ns"))

    def test_malformed_lines_are_ignored(self):
        res = report.Results(results("BENCH yield eddy fast ns\nBENCH short\nBENCHSPREAD yield eddy a b\n"
                                     "garbage\nBENCH yield eddy 3 ns\n"))
        self.assertEqual(res.get("yield", "eddy"), (3, 3, 3, 1, "ns"))


class Ratios(unittest.TestCase):
    def test_time_ratio_is_peer_over_eddy(self):
        self.assertAlmostEqual(report.ratio_vs(40, 20, "ns"), 2.0)

    def test_throughput_ratio_is_eddy_over_peer(self):
        self.assertAlmostEqual(report.ratio_vs(5e6, 10e6, "ops/s"), 2.0)
        self.assertAlmostEqual(report.ratio_vs(100e3, 300e3, "req/s"), 3.0)

    def test_no_ratio_for_counts(self):
        self.assertIsNone(report.ratio_vs(1, 2, "count"))

    def test_floor_ratio_is_times_the_floor_cost_both_ways(self):
        self.assertAlmostEqual(report.ratio_floor(6, 2, "ns"), 3.0)
        self.assertAlmostEqual(report.ratio_floor(150e3, 300e3, "req/s"), 2.0)

    def test_best_floor_is_picked(self):
        res = report.Results(results("BENCH echo eddy 100 req/s\nBENCH echo c_epoll 300 req/s\n"
                                     "BENCH echo c_uring 320 req/s\nBENCH echo tokio 400 req/s\n"))
        self.assertEqual(res.floor_rt("echo"), "c_uring")


class PerRound(unittest.TestCase):
    def test_rounds_are_paired_and_their_ratios_take_the_median(self):
        # eddy/peer per round: 1.1, 1.0, 1.5 -> median 1.1; the medians alone give 1.2/1.2 = 1
        res = report.Results(results(
            "BENCH e eddy 120 ops/s\nBENCHROUNDS e eddy 110 120 150\n"
            "BENCH e peer 120 ops/s\nBENCHROUNDS e peer 100 120 100\n"))
        self.assertAlmostEqual(res.per_round("e", "eddy", "peer"), 1.1)
        self.assertAlmostEqual(report.per_round_vs(res, "e", "peer", "eddy"), 1.1)

    def test_a_time_ratio_per_round_is_peer_over_eddy(self):
        res = report.Results(results("BENCHROUNDS t eddy 10 20\nBENCHROUNDS t go 30 80\n"
                                     "BENCH t eddy 15 ns\nBENCH t go 55 ns\n"))
        self.assertAlmostEqual(report.per_round_vs(res, "t", "go", "eddy"), 3.5)

    def test_repetitions_are_the_rounds_without_a_rounds_line(self):
        res = report.Results(results("BENCH t eddy 10 ns\nBENCH t go 30 ns\n"
                                     "BENCH t eddy 20 ns\nBENCH t go 20 ns\n"))
        self.assertEqual(res.rounds("t", "go"), [30, 20])
        self.assertAlmostEqual(res.per_round("t", "go", "eddy"), 2.0)  # median of 3 and 1

    def test_no_pairing_when_round_counts_differ_or_one_round(self):
        res = report.Results(results("BENCHROUNDS e eddy 1 2 3\nBENCHROUNDS e peer 1 2\n"
                                     "BENCH f eddy 5 ns\nBENCH f peer 6 ns\n"))
        self.assertIsNone(res.per_round("e", "eddy", "peer"))
        self.assertIsNone(res.per_round("f", "eddy", "peer"))

    def test_a_rounds_line_with_a_bad_figure_is_ignored(self):
        res = report.Results(results("BENCH e eddy 5 ns\nBENCHROUNDS e eddy 5 x 7\nBENCHROUNDS e p 1 0 2\n"
                                     "BENCH e p 1 ns\n"))
        self.assertEqual(res.rounds("e", "eddy"), [5])
        self.assertEqual(res.rounds("e", "p"), [1])

    def test_page_shows_the_per_round_column_and_judges_targets_both_ways(self):
        # medians: eddy 1.00M vs redis 1.02M (missed); per round 1.02, 1.01, 0.99 -> 1.01 (met)
        page, text = run_page(
            "SECTION redis\n"
            "BENCH redis_set_p16 eddy 1000000 ops/s\nBENCHROUNDS redis_set_p16 eddy 1020000 1010000 990000\n"
            "BENCH redis_set_p16 redis 1020000 ops/s\nBENCHROUNDS redis_set_p16 redis 1000000 1000000 1000000\n")
        self.assertIn("| redis_set_p16 | ≥ redis-server | 1M ops/s | **missed** | 1.01× met |", page)
        self.assertIn("| runtime | median | spread (min .. max) | unit | n | vs eddy | vs eddy, per round |", page)
        self.assertIn("| redis | 1.02M | 1.02M .. 1.02M | ops/s | 1 | 0.98× | 1.01× |", page)
        self.assertIn("per round 1.01× met", text)

    def test_a_ten_times_target_per_round_reads_as_a_multiple(self):
        page, _ = run_page("BENCH pingpong eddy 10 ns\nBENCH pingpong node 95 ns\n"
                           "BENCH pingpong eddy 11 ns\nBENCH pingpong node 120 ns\n")
        # medians 10.5 vs 107.5: met; per round 9.5x and 10.9x -> 10.2x
        self.assertIn("| pingpong | 10x faster than Node | 10.5 ns | met | 10.2× met |", page)


class Missing(unittest.TestCase):
    def test_failed_and_unbuilt_programs_show_in_their_rows(self):
        page, text = run_page("MISSING eddy\nFAILED go timed out after 600s\n"
                              "BENCH yield tokio 90 ns\nFAILED asyncio exit 1\n")
        self.assertIn("| eddy | (not built) |", page)
        self.assertIn("| go | (failed: timed out after 600s) |", page)
        # python-sync comes from the asyncio program
        self.assertIn("| python-sync | (failed: exit 1) |", page)
        self.assertIn("(no output)", page)  # node: neither failed nor printed

    def test_an_absent_family_is_not_run(self):
        page, text = run_page("SECTION net\nNOTRUN net bench/net/run.sh is not there\n")
        self.assertIn("## Network (bench/net/run.sh)\n\nNot run: bench/net/run.sh is not there.", page)
        self.assertIn("net: not run", text)

    def test_an_empty_results_file_still_makes_a_page(self):
        page, _ = run_page("")
        self.assertIn("| switch | ≤ 4 ns | not measured |", page)
        self.assertIn("Plots not drawn", page)


class Page(unittest.TestCase):
    def test_quick_mode_says_its_figures_mean_nothing(self):
        page, text = run_page("META mode quick\nBENCH switch eddy 3 ns\n")
        self.assertIn("**Quick mode**", page)
        self.assertIn("quick mode", text)

    def test_targets_met_and_missed(self):
        page, _ = run_page("BENCH switch eddy 3 ns\nBENCH switch boost 2.5 ns\n"
                           "BENCH spawn_join eddy 6000000 ops/s\n")
        self.assertIn("| switch | ≤ 4 ns | 3.00 ns | met |", page)
        self.assertIn("| switch | ≤ Boost.Context | 3.00 ns | **missed** |", page)
        self.assertIn("| spawn_join | ≥ 5M tasks/s | 6M ops/s | met |", page)

    def test_redis_target_says_when_the_load_generator_was_the_limit(self):
        page, _ = run_page("SECTION redis\n"
                           "BENCH redis_get_p16 eddy 1500000 ops/s\nBENCH redis_get_p16 redis 1550000 ops/s\n"
                           "BENCH redis_get_p16_load eddy 98.5 %\nBENCH redis_get_p16_load redis 99.4 %\n"
                           "BENCH redis_ping_inline eddy 100000 ops/s\nBENCH redis_ping_inline redis 90000 ops/s\n"
                           "BENCH redis_ping_load eddy 99 %\nBENCH redis_ping_load redis 60 %\n")
        self.assertIn("| redis_get_p16 | ≥ redis-server | 1.5M ops/s | **missed** "
                      "(load generator at 99 % of its core) |", page)
        # one server's run left the load generator idle part of the time: no note
        self.assertIn("| redis_ping_inline | ≥ redis-server | 100k ops/s | met |", page)
        self.assertIn("### redis_get_p16_load\n\nhow busy redis-benchmark kept its own core", page)

    def test_entry_table_has_ratios_against_eddy_and_floor(self):
        page, _ = run_page("BENCH switch eddy 4 ns\nBENCH switch floor 2 ns\nBENCH switch boost 6 ns\n")
        self.assertIn("| **eddy** | 4.00 | 4.00 .. 4.00 | ns | 1 |  | 2.00× |", page)
        self.assertIn("| boost | 6.00 | 6.00 .. 6.00 | ns | 1 | 1.50× | 3.00× |", page)

    def test_no_floor_column_without_a_floor(self):
        page, _ = run_page("BENCH yield eddy 10 ns\nBENCH yield go 50 ns\n")
        self.assertIn("| runtime | median | spread (min .. max) | unit | n | vs eddy |\n", page)
        self.assertIn("| go | 50.0 | 50.0 .. 50.0 | ns | 1 | 5.00× |\n", page)

    def test_summary_has_a_median_per_entry_and_runtime(self):
        page, _ = run_page("BENCH yield eddy 10 ns\nBENCH yield go 50 ns\nBENCH switch eddy 4 ns\n")
        self.assertIn("| entry | eddy | go |", page)
        self.assertIn("| switch (ns) | 4.00 |  |", page)
        self.assertIn("| yield (ns) | 10.0 | 50.0 |", page)

    def test_instruction_counts_table(self):
        page, _ = run_page("SECTION callgrind\nBENCH switch_instr eddy 31.0 instr\n"
                           "BENCH switch_instr floor 20.5 instr\nBENCH yield_instr eddy 107 instr\n")
        self.assertIn("| switch | 31.0 | 20.5 |  | 1.51× |", page)
        self.assertIn("| yield | 107 |  |  |  |", page)


if __name__ == "__main__":
    unittest.main()

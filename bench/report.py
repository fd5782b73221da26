#!/usr/bin/env python3
"""report.py RESULTS --out DIR [--no-plots]: turn bench/run.sh's results
file into DIR/benchmarks.md with its plots in DIR/img/ (gnuplot, pngcairo),
and print the same tables as text on stdout.

The results file holds every BENCH/BENCHSPREAD line of every repetition of
every program, with META (machine, versions, load), SECTION (which family
the following lines come from), FAILED, MISSING and NOTRUN lines around
them. Here, per (entry, runtime): the median of the values the runs printed,
and the spread min..max over every value and every BENCHSPREAD bound the runs
printed. A family that repeats inside one run (the network and Redis ones)
adds a BENCHROUNDS line with each round's figure in round order; the
figures of one round were taken back to back for every runtime, so the
median over rounds of each round's ratio to eddy ("per round") cancels
what drifts between rounds (the host, loopback's two regimes) where the
ratio of medians does not. For the micro entries a round is a
repetition. Anything may be missing (a peer that did not build, a family
whose script is absent, a machine without valgrind): the page says so and
goes on. Standard library only, so Debian's /usr/bin/python3 runs it as is."""

import argparse
import os
import shutil
import statistics
import subprocess
import sys

# ---- what the suite knows about its entries -------------------------------

# entry: (what it measures, runtimes expected to print it)
ENTRIES = {
    "switch": ("one-way context switch between two stacks (round trips / 2); eddy's leaves the "
               "floating-point control words to the thread, as its loops do by default", "eddy floor boost"),
    "switch_fp": ("the same switch keeping each context's floating-point control words, as "
                  "Boost.Context's does and as eddy's loops do with fp_env_per_task (eddy only)", "eddy"),
    "yield": ("two tasks yield to each other through the scheduler, per yield", "eddy go tokio node asyncio uvloop"),
    "spawn_join": ("spawn a trivial task and wait for its result", "eddy go tokio node asyncio uvloop"),
    "idle_mem": ("RSS growth per task with 1,000,000 tasks parked on one event", "eddy go tokio node asyncio uvloop"),
    "timer": ("arm + cancel one timer while 1000 others stay armed, per pair", "eddy go tokio node asyncio uvloop"),
    "pingpong": ("two tasks, a one-slot channel each way, per round trip", "eddy go tokio node asyncio uvloop"),
    "agen": ("an async generator yielding one int per item into a loop, per item",
             "eddy go tokio node node-sync asyncio uvloop python-sync"),
    "iter_plain": ("a plain (non-async) iterator, per item", "eddy node-sync python-sync"),
    "with_lock": ("enter + exit of an uncontended lock through the scoped form", "eddy go tokio asyncio uvloop"),
    "timeout_scope": ("enter + exit of a deadline scope (eddy only)", "eddy"),
    "idle_mem_small": ("idle_mem with 2 KiB stacks, packed two to a page in a loop without guard pages (eddy only)", "eddy"),
    "idle_spawn": ("ns per spawn in the idle_mem run, first touch of the stack included (eddy only)", "eddy"),
    "idle_wake": ("ns per wake-up when the 1M idle tasks are released (eddy only)", "eddy"),
    "idle_spawn_small": ("idle_spawn with 2 KiB packed stacks (eddy only)", "eddy"),
    "idle_wake_small": ("idle_wake with 2 KiB packed stacks (eddy only)", "eddy"),
    "with_lock_allocs": ("allocations per WITH (eddy only)", "eddy"),
    "agen_over_plain": ("agen / iter_plain: the cost of the coroutine hand-off (eddy only)", "eddy"),
}
MICRO = ["switch", "switch_fp", "yield", "pingpong", "agen", "iter_plain", "with_lock", "spawn_join", "timer"]
# the program that prints each runtime, to tell "failed" from "no output"
PROGRAM = {"node-sync": "node", "python-sync": "asyncio"}
RUNTIME_ORDER = ["eddy", "floor", "boost", "go", "tokio", "node", "node-sync",
                 "asyncio", "uvloop", "python-sync"]
COLOURS = {"eddy": "#d6452a", "floor": "#555555", "boost": "#8c6bb1", "go": "#2b8cbe",
           "tokio": "#e08a1e", "node": "#41ab5d", "node-sync": "#a1d99b",
           "asyncio": "#3f5ea8", "uvloop": "#7fa6d9", "python-sync": "#b8c7e8"}
PALETTE = ["#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1b9e77", "#7570b3", "#d95f02", "#666666"]

# Plots: (file name, title, entries)
GROUPS = [
    ("bench-switch", "Context switch, one way (ns, lower is better)", ["switch", "switch_fp"]),
    ("bench-tasks", "Scheduler, channel, timer, lock (ns per operation, lower is better)",
     ["yield", "pingpong", "timer", "with_lock"]),
    ("bench-iteration", "Generators and iterators (ns per item, lower is better)", ["agen", "iter_plain"]),
    ("bench-spawn", "Spawn + join (tasks/s, higher is better)", ["spawn_join"]),
    ("bench-memory", "Memory per idle task, 1M tasks (bytes, lower is better)", ["idle_mem"]),
    ("bench-instructions", "Instructions per operation, callgrind (lower is better)",
     [e + "_instr" for e in MICRO]),
]

# The targets of the benchmark plan ("close to the physical limit"), for
# eddy's figure. (entry, comparison, bound, how the bound is written). A
# bound given as a (entry, runtime, factor) tuple is relative to that figure.
TARGETS = [
    ("switch", "<=", 4.0, "≤ 4 ns"),
    ("switch", "<=", ("switch", "boost", 1.0), "≤ Boost.Context"),
    ("yield", "<=", 15.0, "≤ 15 ns"),
    ("pingpong", "<=", 20.0, "≤ 20 ns per round trip"),
    ("agen", "<=", 8.0, "≤ 8 ns per item"),
    ("agen_over_plain", "<=", 2.0, "async / sync ≤ 2 (sync: a plain C callback)"),
    ("with_lock", "<=", 10.0, "≤ 10 ns"),
    ("with_lock_allocs", "<=", 0.0, "zero allocations"),
    ("idle_mem", "<=", 4608.0, "≤ 4.5 KiB per task"),
    ("idle_mem_small", "<=", 2355.0, "≤ 2.3 KiB per task (small stacks: 2 KiB, packed)"),
    ("idle_spawn", "<=", 1500.0, "≤ 1.5 µs per spawn, first touch included"),
    ("idle_wake", "<=", 200.0, "≤ 200 ns per task woken"),
    ("spawn_join", ">=", 5e6, "≥ 5M tasks/s"),
    ("timer", "<=", 50.0, "≤ 50 ns per arm + cancel"),
    # the benchmark issue's targets against the peers (a fifth field names
    # the eddy runtime when it is not "eddy")
    ("switch", "<=", ("switch", "boost", 1.2), "within 1.2x of Boost.Context"),
    ("switch_fp", "<=", ("switch", "boost", 1.2),
     "within 1.2x of Boost.Context, both keeping the FP control words"),
    ("yield", "<=", ("yield", "go", 0.1), "10x faster than Go"),
    ("yield", "<=", ("yield", "tokio", 0.1), "10x faster than Tokio"),
    ("yield", "<=", ("yield", "node", 0.1), "10x faster than Node"),
    ("pingpong", "<=", ("pingpong", "go", 0.1), "10x faster than Go"),
    ("pingpong", "<=", ("pingpong", "tokio", 0.1), "10x faster than Tokio"),
    ("pingpong", "<=", ("pingpong", "node", 0.1), "10x faster than Node"),
    ("agen", "<=", ("agen", "go", 0.1), "10x faster than Go"),
    ("agen", "<=", ("agen", "tokio", 0.1), "10x faster than Tokio"),
    ("agen", "<=", ("agen", "node", 0.1), "10x faster than Node"),
    ("echo_64x64_cpu", ">=", ("echo_64x64_cpu", "c-epoll", 0.95),
     "epoll: ≥ 0.95x the C epoll server per CPU-second", "eddy-epoll"),
    ("echo_64x64_cpu", ">=", ("echo_64x64_cpu", "c-uring", 0.95),
     "io_uring: ≥ 0.95x the C io_uring server per CPU-second", "eddy-uring"),
    ("http_hello_cpu", ">=", ("http_hello_cpu", "nginx", 1.0),
     "≥ nginx per CPU-second", "eddy-uring"),
    ("file_pread_4k", "<=", ("file_pread_4k", "floor", 1.1),
     "within 10% of pread per 4 KiB", "eddy-uring"),
    ("file_seq_bw", ">=", ("file_seq_bw", "floor", 0.9),
     "≥ 90% of sequential read bandwidth", "eddy-uring"),
    ("redis_get", ">=", ("redis_get", "redis", 1.0), "≥ redis-server"),
    ("redis_set", ">=", ("redis_set", "redis", 1.0), "≥ redis-server"),
    ("redis_ping_mbulk", ">=", ("redis_ping_mbulk", "redis", 1.0), "≥ redis-server"),
    ("redis_get_p16", ">=", ("redis_get_p16", "redis", 1.0), "≥ redis-server"),
    ("redis_set_p16", ">=", ("redis_set_p16", "redis", 1.0), "≥ redis-server"),
    ("redis_ping_inline", ">=", ("redis_ping_inline", "redis", 1.0), "≥ redis-server"),
    ("redis_ping_inline_p16", ">=", ("redis_ping_inline_p16", "redis", 1.0), "≥ redis-server"),
    ("redis_ping_mbulk_p16", ">=", ("redis_ping_mbulk_p16", "redis", 1.0), "≥ redis-server"),
]

LOWER_BETTER = {"ns", "us", "µs", "ms", "s", "B", "KiB", "MiB", "bytes", "instr"}


def better(unit):
    """-1: lower is better, +1: higher is better, 0: no ratio for this unit."""
    if unit in LOWER_BETTER:
        return -1
    if unit.endswith("/s") or "/cpu" in unit or "per-cpu" in unit or unit.endswith("-s"):
        return 1
    return 0


def num(x, unit=""):
    if x is None:
        return ""
    if better(unit) == 1 and abs(x) >= 1e6:
        return f"{x / 1e6:.3g}M"
    if better(unit) == 1 and abs(x) >= 1e4:
        return f"{x / 1e3:.3g}k"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


# ---- reading the results ---------------------------------------------------

class Results:
    def __init__(self, path):
        self.meta = {}
        self.cells = {}        # (entry, runtime) -> dict(values, lo, hi, unit)
        self.order = []        # entries in the order first seen
        self.section = {}      # entry -> section it was first seen in
        self.runtimes = {}     # entry -> runtimes in the order first seen
        self.failed = {}       # program label -> reason
        self.missing = set()
        self.notrun = {}       # section -> reason
        self.sections = []
        sec = "micro"
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                w = line.split()
                if not w:
                    continue
                kind = w[0]
                if kind == "META" and len(w) >= 2:
                    self.meta[w[1]] = " ".join(w[2:])
                elif kind == "SECTION" and len(w) >= 2:
                    sec = w[1]
                    if sec not in self.sections:
                        self.sections.append(sec)
                elif kind == "FAILED" and len(w) >= 2:
                    self.failed[w[1]] = " ".join(w[2:]) or "failed"
                elif kind == "MISSING" and len(w) >= 2:
                    self.missing.add(w[1])
                elif kind == "NOTRUN" and len(w) >= 2:
                    self.notrun[w[1]] = " ".join(w[2:])
                elif kind == "BENCH" and len(w) >= 5:
                    c = self._cell(w[1], w[2], sec)
                    v = self._float(w[3])
                    if v is not None:
                        c["values"].append(v)
                    c["unit"] = w[4]
                elif kind == "BENCHROUNDS" and len(w) >= 4:
                    vals = [self._float(t) for t in w[3:]]
                    if all(v is not None and v > 0 for v in vals):
                        self._cell(w[1], w[2], sec)["rounds"] = vals
                elif kind == "BENCHSPREAD" and len(w) >= 5:
                    c = self._cell(w[1], w[2], sec)
                    lo, hi = self._float(w[3]), self._float(w[4])
                    if lo is not None and hi is not None:
                        c["lo"].append(lo)
                        c["hi"].append(hi)
                    if len(w) >= 6 and not c["unit"]:
                        c["unit"] = w[5]

    @staticmethod
    def _float(s):
        try:
            v = float(s)
        except ValueError:
            return None
        return v if v == v else None  # no NaN

    def _cell(self, entry, rt, sec):
        if entry not in self.section:
            self.section[entry] = sec
            self.order.append(entry)
            self.runtimes[entry] = []
        if (entry, rt) not in self.cells:
            self.cells[(entry, rt)] = {"values": [], "lo": [], "hi": [], "unit": "", "rounds": None}
            self.runtimes[entry].append(rt)
        return self.cells[(entry, rt)]

    def get(self, entry, rt):
        """(median, lo, hi, runs, unit) or None."""
        c = self.cells.get((entry, rt))
        if not c or not c["values"]:
            return None
        vals = c["values"]
        lo = min(vals + c["lo"])
        hi = max(vals + c["hi"])
        return statistics.median(vals), lo, hi, len(vals), c["unit"]

    def value(self, entry, rt):
        g = self.get(entry, rt)
        return g[0] if g else None

    def rounds(self, entry, rt):
        """The figure of each round, in round order: the BENCHROUNDS line, or
        else one figure per repetition (the BENCH lines, in the order the
        repetitions ran)."""
        c = self.cells.get((entry, rt))
        if not c:
            return []
        return c["rounds"] if c["rounds"] is not None else c["values"]

    def per_round(self, entry, rt, ref, ref_entry=None):
        """Median over rounds of rt's figure over ref's (of ref_entry, by
        default the same entry), taken in the same round; None unless both
        have the same number of rounds, two or more."""
        a, b = self.rounds(entry, rt), self.rounds(ref_entry or entry, ref)
        if len(a) < 2 or len(a) != len(b) or any(v <= 0 for v in a + b):
            return None
        return statistics.median(x / y for x, y in zip(a, b))

    def unit(self, entry):
        for rt in self.runtimes.get(entry, []):
            u = self.cells[(entry, rt)]["unit"]
            if u:
                return u
        return ""

    def eddy_rt(self, entry):
        rts = self.runtimes.get(entry, [])
        if "eddy" in rts:
            return "eddy"
        return next((r for r in rts if r.startswith("eddy")), None)

    def floor_rt(self, entry):
        """The best of the floors (runtimes named floor*, c_* or c-*)."""
        d = better(self.unit(entry))
        cands = [(self.value(entry, r), r) for r in self.runtimes.get(entry, [])
                 if r.startswith(("floor", "c_", "c-")) and self.value(entry, r)]
        if not cands or d == 0:
            return None
        return (min(cands) if d < 0 else max(cands))[1]

    def why_missing(self, entry, rt):
        prog = PROGRAM.get(rt, rt)
        if prog in self.missing:
            return "(not built)"
        if prog in self.failed:
            return "(failed: " + self.failed[prog] + ")"
        return "(no output)"


def ratio_vs(val, ref, unit):
    """Above 1: eddy is better (faster, smaller, more throughput)."""
    d = better(unit)
    if val is None or ref is None or val <= 0 or ref <= 0 or d == 0:
        return None
    return val / ref if d < 0 else ref / val


def ratio_floor(val, floor, unit):
    """How many times the floor's cost (1 = at the floor)."""
    d = better(unit)
    if val is None or floor is None or val <= 0 or floor <= 0 or d == 0:
        return None
    return val / floor if d < 0 else floor / val


def per_round_vs(res, entry, rt, ert):
    """rows_for's per-round "vs eddy": the median of each round's ratio,
    pointing the way ratio_vs does (above 1: eddy is better)."""
    d = better(res.unit(entry))
    if not ert or not d:
        return None
    # a cost: peer / eddy; a throughput: eddy / peer
    return res.per_round(entry, rt, ert) if d < 0 else res.per_round(entry, ert, rt)


def rt_sort_key(rt):
    return (RUNTIME_ORDER.index(rt) if rt in RUNTIME_ORDER else len(RUNTIME_ORDER), rt)


def rows_for(res, entry):
    """Table rows of one entry: (runtime, median, lo, hi, runs, unit, vs eddy, vs floor,
    vs eddy per round) or a reason."""
    want = ENTRIES[entry][1].split() if entry in ENTRIES else []
    rts = list(dict.fromkeys(want + res.runtimes.get(entry, [])))
    unit = res.unit(entry)
    ert = res.eddy_rt(entry)
    ev = res.value(entry, ert) if ert else None
    frt = res.floor_rt(entry)
    fv = res.value(entry, frt) if frt else None
    rows = []
    for rt in rts:
        g = res.get(entry, rt)
        if not g:
            rows.append((rt, res.why_missing(entry, rt)))
            continue
        med, lo, hi, runs, u = g
        rows.append((rt, med, lo, hi, runs, u or unit,
                     None if rt == ert else ratio_vs(med, ev, unit),
                     ratio_floor(med, fv, unit) if fv else None,
                     None if rt == ert else per_round_vs(res, entry, rt, ert)))
    return rows


def x(r):
    return "" if r is None else f"{r:.2f}×"


# ---- targets -----------------------------------------------------------------

def load_bound(res, entry):
    """For a redis entry: the load generator's busiest median CPU share (%)
    over both servers, when it is 95 % or more (the figure is then the load
    generator's limit); else None."""
    if not entry.startswith("redis_"):
        return None
    base, p16 = (entry[:-4], "_p16") if entry.endswith("_p16") else (entry, "")
    test = base[len("redis_"):].split("_")[0]  # ping_inline and ping_mbulk share one run
    loads = [res.value(f"redis_{test}{p16}_load", rt) for rt in ("eddy", "redis")]
    if any(v is None for v in loads) or min(loads) < 95:
        return None
    return max(loads)


def target_per_round(res, entry, rt, op, bound):
    """For a target relative to a peer: the median over rounds of eddy's
    figure over the peer's, judged against the target's factor, as
    "1.02× met" (the ratio pointing as "vs eddy" does: above 1, eddy is
    better); "" when the two were not measured in the same rounds."""
    ref_entry, ref_rt, factor = bound
    if op == "<=":  # a cost: peer / eddy, against 1 / factor
        shown, need = res.per_round(ref_entry, ref_rt, rt, entry), 1 / factor
    else:  # a throughput: eddy / peer
        shown, need = res.per_round(entry, rt, ref_rt, ref_entry), factor
    if shown is None:
        return ""
    return f"{shown:.4g}× {'met' if shown >= need else 'missed'}"


def targets(res):
    """(entry, target, eddy's figure, met? on the medians, per round)."""
    out = []
    for target in TARGETS:
        entry, op, bound, text = target[:4]
        rt = target[4] if len(target) > 4 else "eddy"
        v = res.value(entry, rt)
        paired = target_per_round(res, entry, rt, op, bound) if isinstance(bound, tuple) else ""
        if isinstance(bound, tuple):
            ref = res.value(bound[0], bound[1])
            bound = ref * bound[2] if ref is not None else None
        unit = res.unit(entry)
        if v is None or bound is None:
            out.append((entry, text, "not measured", "", ""))
            continue
        ok = v <= bound if op == "<=" else v >= bound
        status = "met" if ok else "missed"
        load = load_bound(res, entry)
        if load is not None:
            status += f" (load generator at {load:.0f} % of its core)"
        out.append((entry, text, f"{num(v, unit)} {unit}", status, paired))
    return out


# ---- plots -------------------------------------------------------------------

def colour(rt, extra):
    if rt in COLOURS:
        return COLOURS[rt]
    if rt not in extra:
        extra[rt] = PALETTE[len(extra) % len(PALETTE)]
    return extra[rt]


def plot(res, name, title, entries, img_dir, gnuplot):
    """One clustered bar chart; returns the PNG's file name or None."""
    clusters = []
    for e in entries:
        bars = [(rt, res.value(e, rt)) for rt in sorted(res.runtimes.get(e, []), key=rt_sort_key)]
        bars = [(rt, v) for rt, v in bars if v is not None and v > 0]
        if bars:
            clusters.append((e, bars))
    if not clusters:
        return None
    units = {res.unit(e) for e, _ in clusters}
    unit = " / ".join(sorted(units))
    vals = [v for _, bars in clusters for _, v in bars]
    log = max(vals) / min(vals) > 100
    extra = {}
    per_rt = {}
    xtics = []
    pos = 0
    for e, bars in clusters:
        slots = max(len(bars), 2.5)  # room for the entry's name under a lone bar
        first = pos + (slots - len(bars)) / 2
        for i, (rt, v) in enumerate(bars):
            per_rt.setdefault(rt, []).append((first + i, v))
        xtics.append((e.replace("_instr", ""), pos + (slots - 1) / 2))
        pos += slots + 1  # gap between clusters
    data = os.path.join(img_dir, name + ".dat")
    rts = sorted(per_rt, key=rt_sort_key)
    with open(data, "w") as f:
        for rt in rts:
            f.write(f"# {rt}\n")
            for p, v in per_rt[rt]:
                f.write(f'{p} {v:.6g} "{num(v, unit)}"\n')
            f.write("\n\n")
    width = max(640, int(170 + 30 * pos))
    ymax = max(vals) * (8 if log else 1.3)
    ymin = min(vals) / 2 if log else 0
    plots = []
    for i, rt in enumerate(rts):
        plots.append(f"'{data}' index {i} using 1:2 with boxes lc rgb '{colour(rt, extra)}' title '{rt}'")
        plots.append(f"'{data}' index {i} using 1:2:3 with labels rotate by 90 left offset 0,0.4 "
                     f"font ',8' notitle")
    script = "\n".join([
        f"set terminal pngcairo size {width},440 font 'DejaVu Sans,10' noenhanced",
        f"set output '{os.path.join(img_dir, name + '.png')}'",
        f"set title '{title}'",
        "set style fill solid 0.9 border rgb '#333333'",
        "set boxwidth 0.85",
        "set xtics (" + ", ".join(f"'{t}' {p}" for t, p in xtics) + ") scale 0 nomirror",
        "set ytics nomirror",
        "set format y '%.1s%c'" if better(unit) == 1 else "set format y '%g'",
        "set grid ytics lc rgb '#dddddd'",
        f"set ylabel '{unit}{' (log scale)' if log else ''}'",
        "set logscale y" if log else "unset logscale y",
        f"set yrange [{ymin:.6g}:{ymax:.6g}]",
        f"set xrange [-1:{pos - 1}]",
        "set key outside right top vertical",
        "plot " + ", ".join(plots),
        "",
    ])
    gp = os.path.join(img_dir, name + ".gp")
    with open(gp, "w") as f:
        f.write(script)
    r = subprocess.run([gnuplot, gp], capture_output=True, text=True, timeout=60)
    os.unlink(gp)
    os.unlink(data)
    if r.returncode != 0:
        sys.stderr.write(f"report: gnuplot failed on {name}: {r.stderr.strip()}\n")
        return None
    return name + ".png"


# ---- the page ----------------------------------------------------------------

def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def entry_md(res, entry):
    unit = res.unit(entry)
    rows = []
    rrows = rows_for(res, entry)
    paired = any(len(r) > 2 and r[8] is not None for r in rrows)
    for r in rrows:
        if len(r) == 2:
            rows.append((r[0], r[1], "", "", "", "", "", ""))
            continue
        rt, med, lo, hi, runs, u, ve, vf, vr = r
        rows.append((f"**{rt}**" if rt == res.eddy_rt(entry) else rt, num(med, u),
                     f"{num(lo, u)} .. {num(hi, u)}", u, runs, x(ve), x(vr), x(vf)))
    d = better(unit)
    dirn = {-1: "lower is better", 1: "higher is better", 0: "no ratio for this unit"}[d]
    desc = ENTRIES.get(entry, ("", ""))[0]
    if not desc and entry.startswith("redis_") and entry.endswith("_load"):
        desc = ("how busy redis-benchmark kept its own core during the runs above, per server it "
                "loaded; near 100 %, the requests per second are the load generator's limit, so "
                "their ratio says little about the servers (requests per server CPU-second do)")
    head = ["runtime", "median", "spread (min .. max)", "unit", "n", "vs eddy", "vs eddy, per round",
            "vs floor"]
    keep = [i for i in range(len(head))
            if not (i == 6 and not paired)  # no runtime paired with eddy by round
            and not (i == 7 and not res.floor_rt(entry))]  # no floor measured
    head, rows = [head[i] for i in keep], [tuple(r[i] for i in keep) for r in rows]
    return (f"### {entry}\n\n{desc + '; ' if desc else ''}{unit or 'no unit'}, {dirn}.\n\n"
            + md_table(head, rows))


def entry_text(res, entry):
    unit = res.unit(entry)
    lines = [f"\n== {entry} ({unit or 'no figures'})",
             f"  {'runtime':<12} {'median':>12} {'unit':<7} {'spread (min..max)':>24} {'n':>4} {'vs eddy':>9} "
             f"{'per round':>9} {'vs floor':>9}"]
    for r in rows_for(res, entry):
        if len(r) == 2:
            lines.append(f"  {r[0]:<12} {r[1]:>12}")
            continue
        rt, med, lo, hi, runs, u, ve, vf, vr = r
        lines.append(f"  {rt:<12} {num(med, u):>12} {u:<7} {num(lo, u) + '..' + num(hi, u):>24} {runs:>4} "
                     f"{x(ve):>9} {x(vr):>9} {x(vf):>9}")
    return "\n".join(lines)


METHOD = """\
* **One command.** `make bench` installs what is missing from Debian's
  packages (the peers' toolchains, `gnuplot-nox`, `valgrind`), builds eddy's
  bench in release mode (`build-bench/`) and every peer
  (`build/bench-peers/`), runs everything with `bench/run.sh`, and writes
  this page with `bench/report.py`. `bench/run.sh --quick` is the same run
  with tiny counts, which CI runs so the suite cannot rot; its page goes to
  `build/bench-quick/` and its figures are never quoted.
* **Pinning.** Every micro program (eddy, each peer) runs alone, pinned to
  CPU 0 with `taskset -c 0`, Go with `GOMAXPROCS=1`, Tokio with its
  current-thread runtime. The network families pin the server or runtime
  under test to one core and the load generator to the other, on loopback
  only, and stop every server they start by its own process id.
* **Repetitions.** Each program runs {reps} time(s), repetition after
  repetition over all programs (a burst of load from elsewhere hits every
  runtime alike); inside each run every timed figure is already the median
  of 3 rounds. The **median** is the median of the runs' figures; the
  **spread** is min .. max over every round of every run. `idle_mem` is
  measured once per run, first thing in a fresh process, so its spread is
  that of the runs. **n** is how many figures were combined: one per run
  (`idle_spawn` and `idle_wake`: one per round). Every program is bounded
  by `timeout`. A program built here (eddy's bench, the C floor, Boost, Go,
  Tokio) runs from a fresh copy of its file in each repetition: identical
  copies of one binary differ by up to 7 % here on the micro entries (each
  copy's code lands at other physical addresses), so the median spans that
  too. The network families run once and repeat inside: each server is
  measured in rounds that go round all the servers in turn, 3 per entry
  (`echo_64x64` and the HTTP entries: 5, because loopback here flips
  between a fast and a slow regime for seconds at a time), and
  redis-benchmark 5 times per server
  (200k requests, 2M pipelined, so that each run lasts over a second);
  their median is over those rounds (n = 1 for the one run).
* **vs eddy**: for times and sizes (ns, B) peer / eddy, for throughputs
  (ops/s, req/s) eddy / peer: **above 1, eddy is better by that factor**;
  below 1, the peer is.
* **vs eddy, per round**: the same ratio taken in each round (each
  repetition, for the micro entries), between figures measured back to
  back, and its median over the rounds. The host drifts: loopback here
  has a fast and a slow regime, each lasting seconds to minutes, and a
  median taken over all of one server's rounds depends on how many fell
  in each. A ratio within one round mostly compares the two in the same
  regime.
* **vs floor**: how many times the floor's cost (value / floor for times and
  sizes, floor / value for throughputs): 1 is the floor, the machine's
  limit for that workload (the C floor is a bare register switch; for the
  network families, the plain C server; for file reads, `pread`, with
  `floor-nowait` beside it: `preadv2(RWF_NOWAIT)`, the one read that cannot
  stall the loop on an evicted page, and the call eddy makes).
* **Instructions** (callgrind): each micro entry of eddy, the C floor and
  Boost alone (`EDDY_BENCH_ONLY`), at two counts (`EDDY_BENCH_COUNT`); the
  difference in instructions over the difference in operations leaves setup
  and teardown out. Deterministic, unlike the wall clock on a shared VM, so
  one pass suffices. Go, Tokio, Node and Python are not counted: their
  runtimes' threads, JIT compilers and collectors make the counts slow to
  get under valgrind and not comparable.
* **This run** took {duration}; load average {load_start} at the start and
  {load_end} at the end ({cores} cores; anything above 0 is other work
  sharing the machine)."""


def page(res, pngs, quick, plots_note):
    m = res.meta
    out = ["# Benchmarks", ""]
    if quick:
        out += ["> **Quick mode** (tiny counts, one repetition): this page only shows that the suite",
                "> runs; none of its figures mean anything. The real page is `docs/benchmarks.md`.", ""]
    out += [f"Generated by `make bench` (`bench/run.sh`, then `bench/report.py`) on {m.get('date', '?')}, "
            f"from commit {m.get('commit', '?')}. How each workload is written for each runtime: "
            "[bench/README.md](../bench/README.md).", ""]
    out += ["## Machine", ""]
    keys = [("CPU", "cpu"), ("cores", "cores"), ("memory", "memory"), ("kernel", "kernel"), ("OS", "os"),
            ("eddy built with", "eddy_build"), ("gcc", "gcc"), ("clang", "clang"), ("g++", "g++"),
            ("Boost", "boost"), ("Go", "go"), ("rustc", "rustc"), ("Tokio", "tokio"), ("Node", "node"),
            ("Python", "python"), ("uvloop", "uvloop"), ("valgrind", "valgrind")]
    out += [md_table(["", ""], [(k, m.get(v, "unknown") or "unknown") for k, v in keys]), ""]
    dur = m.get("duration")
    out += ["## Method", "", METHOD.format(
        reps=m.get("reps", "?"),
        duration=(f"{int(dur) // 60} min {int(dur) % 60} s" if dur and dur.isdigit() else "?"),
        load_start=m.get("load_start", "?"), load_end=m.get("load_end", "?"),
        cores=m.get("cores", "?")), ""]

    out += ["## Targets", "",
            "The targets of the benchmark plan (close to what the machine allows) and those set against the peers (10x Go, Tokio and Node; the C servers; nginx; redis-server), for the median of eddy (of the eddy runtime the target names: eddy-epoll, eddy-uring). "
            "**met?** compares the medians; **per round**, for a target set against a peer, compares "
            "the two in each round, taken back to back, and gives the median of those ratios (above 1, "
            "eddy is better; see Method), which the host's drift between rounds does not move.", ""]

    def bold(s):
        return s.replace("missed", "**missed**", 1) if "missed" in s else s
    out += [md_table(["entry", "target", "eddy", "met?", "per round"],
                     [(e, t, v, bold(s), bold(p)) for e, t, v, s, p in targets(res)]), ""]

    main_entries = ["switch", "switch_fp", "yield", "spawn_join", "idle_mem", "timer", "pingpong", "agen", "iter_plain",
                    "with_lock"]
    rts = sorted({rt for e in main_entries for rt in res.runtimes.get(e, [])}, key=rt_sort_key)
    if rts:
        out += ["## Summary", "", "Medians; each entry's table below has the spread and the ratios.", ""]
        out += [md_table(["entry"] + rts,
                         [(f"{e} ({res.unit(e)})", *(num(res.value(e, rt), res.unit(e)) for rt in rts))
                          for e in main_entries if e in res.runtimes]), ""]

    out += ["## Plots", ""]
    if plots_note:
        out += [plots_note, ""]
    for name, title in pngs:
        out += [f"![{title}](img/{name})", ""]

    micro_entries = ["switch", "yield", "spawn_join", "idle_mem", "timer", "pingpong", "agen", "iter_plain", "with_lock"]
    out += ["## Micro entries", ""]
    for e in micro_entries:
        out += [entry_md(res, e), ""]
    extra = [e for e in res.order if res.section.get(e) == "micro" and e not in micro_entries]
    if extra:
        out += ["## eddy only", "",
                md_table(["entry", "what", "median", "spread (min .. max)", "unit"],
                         [(e, ENTRIES.get(e, ("",))[0], num(g[0], g[4]), f"{num(g[1], g[4])} .. {num(g[2], g[4])}",
                           g[4]) for e in extra for g in [res.get(e, "eddy")] if g]), ""]

    out += ["## Instructions per operation (callgrind)", ""]
    rows = []
    for e in MICRO:
        ev, fv, bv = (res.value(e + "_instr", r) for r in ("eddy", "floor", "boost"))
        if ev is None and fv is None and bv is None:
            continue
        rows.append((e, num(ev), num(fv), num(bv), x(ev / fv) if ev and fv else ""))
    if rows:
        out += ["Instructions per operation (per one-way switch, per yield, per round trip, per item, per "
                "enter + exit, per spawn + join, per arm + cancel). The floor and Boost exist for the "
                "switch only.", ""]
        out += [md_table(["entry", "eddy", "floor", "boost", "eddy / floor"], rows), ""]
    else:
        why = "; ".join(f"{k}: {v}" for k, v in res.failed.items() if k.startswith("callgrind"))
        out += ["Not measured" + (f" ({why})" if why else "") + ".", ""]

    names = {"net": "Network (bench/net/run.sh)", "redis": "Redis protocol (bench/redis/run.sh)",
             "fanout": "Fan-out (bench/fanout/run.sh)"}
    for sec in [s for s in res.sections if s not in ("micro", "callgrind")]:
        out += [f"## {names.get(sec, sec)}", ""]
        if sec in res.notrun:
            out += [f"Not run: {res.notrun[sec]}.", ""]
            continue
        ents = [e for e in res.order if res.section.get(e) == sec]
        if sec in res.failed:
            out += [f"The script failed ({res.failed[sec]}); what it printed before is below.", ""]
        if not ents:
            out += ["No figures.", ""]
        for e in ents:
            out += [entry_md(res, e), ""]

    fails = [(k, v) for k, v in res.failed.items()]
    if fails or res.missing:
        out += ["## What did not run", ""]
        out += [f"* `{k}`: {v}" for k, v in fails]
        out += [f"* `{k}`: not built" for k in sorted(res.missing)]
        out += [""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--out", required=True, help="directory for benchmarks.md and img/")
    ap.add_argument("--no-plots", action="store_true")
    a = ap.parse_args()
    res = Results(a.results)
    quick = res.meta.get("mode") == "quick"

    # text tables on stdout (what a terminal or CI log shows)
    if quick:
        print("(quick mode: tiny counts, the figures mean nothing)")
    shown = ["switch", "yield", "spawn_join", "idle_mem", "timer", "pingpong", "agen", "iter_plain", "with_lock"]
    shown += [e for e in res.order if e not in shown and not e.endswith("_instr")]
    for e in shown:
        print(entry_text(res, e))
    cg = [(e, res.value(e + "_instr", "eddy"), res.value(e + "_instr", "floor"), res.value(e + "_instr", "boost"))
          for e in MICRO]
    print("\n== instructions per operation (callgrind)")
    print(f"  {'entry':<12} {'eddy':>8} {'floor':>8} {'boost':>8}")
    for e, ev, fv, bv in cg:
        if ev is None and fv is None and bv is None:
            continue
        print(f"  {e:<12} {num(ev):>8} {num(fv):>8} {num(bv):>8}")
    for sec, why in res.notrun.items():
        print(f"\n== {sec}: not run ({why})")
    print("\nvs eddy: ns and B: peer/eddy; ops/s: eddy/peer (above 1 = eddy better)")
    print("vs floor: how many times the floor's cost (1 = at the floor)")
    print("\ntargets:")
    for e, t, v, s, p in targets(res):
        print(f"  {e:<16} {t:<42} {v:>14}  {s}" + (f"; per round {p}" if p else ""))

    os.makedirs(os.path.join(a.out, "img"), exist_ok=True)
    img = os.path.join(a.out, "img")
    for f in os.listdir(img):
        if f.startswith("bench-") and f.endswith(".png"):
            os.unlink(os.path.join(img, f))
    pngs, note = [], ""
    gnuplot = shutil.which("gnuplot")
    if a.no_plots:
        note = "Plots not drawn (--no-plots)."
    elif not gnuplot:
        note = "Plots not drawn: gnuplot is not installed (`apt-get install gnuplot-nox`)."
    else:
        groups = list(GROUPS)
        for sec in res.sections:
            if sec in ("micro", "callgrind"):
                continue
            by_unit = {}
            for e in res.order:
                if res.section.get(e) == sec:
                    by_unit.setdefault(res.unit(e), []).append(e)
            for u, ents in by_unit.items():
                slug = "percent" if u == "%" else ("".join(ch if ch.isalnum() else "-" for ch in u).strip("-") or "x")
                d = {-1: ", lower is better", 1: ", higher is better"}.get(better(u), "")
                groups.append((f"bench-{sec}-{slug}", f"{sec} ({u}{d})", ents))
        for name, title, ents in groups:
            p = plot(res, name, title, ents, img, gnuplot)
            if p:
                pngs.append((p, title))
    md = os.path.join(a.out, "benchmarks.md")
    with open(md, "w") as f:
        f.write(page(res, pngs, quick, note))
    sys.stderr.write(f"report: wrote {md} and {len(pngs)} plot(s) in {img}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

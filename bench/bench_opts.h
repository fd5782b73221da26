/* bench_opts.h: the run options every part of eddy_bench reads, defined in
 * eddy_bench.c. Besides the timed mode (3 repetitions, median and spread)
 * there is an instruction-count mode for bench/run.sh, which runs one entry
 * under `valgrind --tool=callgrind` twice with different counts and divides
 * the difference in instructions by the difference in operations (setup and
 * teardown cancel out):
 *   EDDY_BENCH_ONLY=<entry>  run that entry alone (unset: every entry)
 *   EDDY_BENCH_COUNT=<n>     one repetition of n iterations, and print
 *                            `BENCHOPS <entry> eddy <operations>` */
#ifndef EDDY_BENCH_OPTS_H
#define EDDY_BENCH_OPTS_H

/* Nonzero if the entry is to be run (EDDY_BENCH_ONLY unset or equal). */
int eddy_bench_selected(const char *entry);
/* Iterations for an entry: EDDY_BENCH_COUNT if set, else `full`, or
 * full/100 in quick mode. */
long eddy_bench_iters(long full);
/* Timed repetitions: 3, or 1 in count mode. */
int eddy_bench_reps(void);
/* In count mode, print how many operations (of the entry's unit) ran. */
void eddy_bench_ops(const char *entry, long ops);
/* Print BENCH (median) and BENCHSPREAD (min, max) of reps values; sorts v. */
void eddy_bench_report(const char *entry, double *v, int reps, const char *unit);

#endif

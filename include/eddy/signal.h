/* eddy/signal.h: Unix signals as a stream of numbers a task waits on
 * (signalfd), for graceful shutdown: the signals are blocked for the whole
 * process while the set is open, so they arrive here and nowhere else. */
#ifndef EDDY_SIGNAL_H
#define EDDY_SIGNAL_H

#include "core.h"

EDDY_BEGIN_DECLS

typedef struct eddy_signals eddy_signals;

/* Start receiving the listed signals (count n). */
EDDY_API int eddy_signals_open(const int *signos, int n, eddy_signals **out);
/* Wait for the next one: its number (>0), or an error. */
EDDY_API int eddy_signals_next(eddy_signals *s, eddy_time_t deadline);
/* Stop receiving; restores the signal mask in force before open. */
EDDY_API void eddy_signals_close(eddy_signals *s);

EDDY_END_DECLS
#endif

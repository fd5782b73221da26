/* eddy/process.h: child processes with their standard streams as eddy
 * streams. Waiting uses a pidfd on the loop, so it blocks only the task.
 * A wait that is cancelled (or whose deadline passes, with
 * EDDY_PROCESS_KILL_ON_TIMEOUT) kills the child with SIGKILL and reaps it
 * before returning, so a cancelled scope never leaves a child behind. */
#ifndef EDDY_PROCESS_H
#define EDDY_PROCESS_H

#include "core.h"
#include "net.h"

EDDY_BEGIN_DECLS

typedef struct eddy_process eddy_process;

#define EDDY_PIPE_STDIN 1u
#define EDDY_PIPE_STDOUT 2u
#define EDDY_PIPE_STDERR 4u
#define EDDY_PROCESS_KILL_ON_TIMEOUT 8u

/* Start argv[0] (searched in PATH) with argv; `flags` says which standard
 * streams become pipes (the others are inherited). */
EDDY_API int eddy_process_spawn(const char *const argv[], unsigned flags,
                                eddy_process **out);
/* The pipe ends (NULL if not piped). Closing stdin sends EOF to the child. */
EDDY_API eddy_stream *eddy_process_stdin(eddy_process *p);
EDDY_API eddy_stream *eddy_process_stdout(eddy_process *p);
EDDY_API eddy_stream *eddy_process_stderr(eddy_process *p);
EDDY_API void eddy_process_close_stdin(eddy_process *p);
EDDY_API int eddy_process_pid(const eddy_process *p);
/* Wait for exit: returns 0 and the wait status in *status (as waitpid's),
 * or -ETIMEDOUT / -ECANCELED (see above). */
EDDY_API int eddy_process_wait(eddy_process *p, int *status,
                               eddy_time_t deadline);
EDDY_API int eddy_process_kill(eddy_process *p, int sig);
/* Release: kills and reaps a child still running, closes the pipes. */
EDDY_API void eddy_process_free(eddy_process *p);

EDDY_END_DECLS
#endif

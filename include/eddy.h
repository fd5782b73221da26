/* eddy.h: the umbrella header. eddy gives C programs what Python's asyncio
 * gives Python: an event loop, tasks, cancellation and timeouts as scopes,
 * async context managers (WITH) and async iterators (FOR).
 * See docs/ for guides; each sub-header documents its own part. */
#ifndef EDDY_H
#define EDDY_H

#include "eddy/common.h"
#include "eddy/version.h"
#include "eddy/error.h"
#include "eddy/core.h"
#include "eddy/sync.h"
#include "eddy/thread.h"
#include "eddy/net.h"
#include "eddy/file.h"
#include "eddy/signal.h"
#include "eddy/process.h"
#include "eddy/with.h"
#include "eddy/group.h"
#include "eddy/exitstack.h"
#include "eddy/cmgen.h"
#include "eddy/iter.h"
#include "eddy/gen.h"
#include "eddy/chan.h"
#include "eddy/combinators.h"
#include "eddy/stream_iter.h"
#include "eddy/dns.h"

#endif

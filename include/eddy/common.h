/* eddy/common.h: the export macro, the C++ guards and the basic types every
 * other eddy header uses. Included by the umbrella header <eddy.h>. */
#ifndef EDDY_COMMON_H
#define EDDY_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(EDDY_STATIC)
#define EDDY_API
#elif defined(EDDY_BUILDING)
#define EDDY_API __attribute__((visibility("default")))
#else
#define EDDY_API
#endif

#ifdef __cplusplus
#define EDDY_BEGIN_DECLS extern "C" {
#define EDDY_END_DECLS }
#else
#define EDDY_BEGIN_DECLS
#define EDDY_END_DECLS
#endif

#define EDDY_NODISCARD __attribute__((warn_unused_result))

EDDY_BEGIN_DECLS

/* Time is a signed count of nanoseconds on the loop's monotonic clock (or
 * its virtual clock). Deadlines are absolute times; EDDY_FOREVER never comes. */
typedef int64_t eddy_time_t;
#define EDDY_FOREVER INT64_MAX
#define EDDY_NSEC(n) ((eddy_time_t)(n))
#define EDDY_USEC(n) ((eddy_time_t)(n) * 1000)
#define EDDY_MSEC(n) ((eddy_time_t)(n) * 1000000)
#define EDDY_SEC(n)  ((eddy_time_t)(n) * 1000000000)

/* Intrusive circular list node. Public only because objects that users
 * embed (scopes, locks, events) contain them; treat the fields as private. */
typedef struct eddy_node {
  struct eddy_node *next, *prev;
} eddy_node;

EDDY_END_DECLS
#endif

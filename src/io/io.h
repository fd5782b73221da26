/* io.h: what the files of src/io share. */
#ifndef EDDY_IO_H
#define EDDY_IO_H

#include "../core/internal.h"
#include "eddy/net.h"

/* A listening socket (TCP or Unix): its registration and bound port. */
struct eddy_listener {
  eddy_watch watch;
  int port;
};

#endif

/* The daemon's side of the control socket: status, reload, pin, unpin
 * (fields in ctl_proto.h). */
#ifndef AIGW_DAEMON_CTL_H
#define AIGW_DAEMON_CTL_H

#include "daemon.h"

int dctl_open(struct daemon *d, char *err, size_t errlen);
void dctl_close(struct daemon *d);

#endif

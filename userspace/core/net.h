/* Socket helpers shared by the splice and proxy paths. */
#ifndef AIGW_NET_H
#define AIGW_NET_H

#include <stdint.h>
#include <sys/socket.h>

/* Start a non-blocking TCP connect to a 16-byte (v4-mapped for IPv4)
 * address. Returns the fd (connect in progress) or a negative errno. */
int net_connect(const uint8_t addr[16], uint16_t port);

/* SO_ERROR of a connecting socket: 0 once connected. */
int net_connect_result(int fd);

#endif

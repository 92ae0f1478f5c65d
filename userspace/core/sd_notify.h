/* The systemd notification protocol (sd_notify(3)), written out: a few
 * datagrams to the Unix socket named by NOTIFY_SOCKET, which systemd sets
 * for a Type=notify service. Without NOTIFY_SOCKET every call is a no-op,
 * so the daemon runs the same under systemd, a terminal or a test.
 *
 *   READY=1                 listening, programs attached (start-up done)
 *   RELOADING=1 ... READY=1 around a reload (SIGHUP, aigwctl reload)
 *   STOPPING=1              shutting down
 *   WATCHDOG=1              alive; due every WATCHDOG_USEC / 2 when set
 *   STATUS=...              one line for `systemctl status`
 *
 * The socket path is "/abs/path" or "@abstract" (Linux abstract namespace). */
#ifndef AIGW_SD_NOTIFY_H
#define AIGW_SD_NOTIFY_H

#include <stdint.h>

/* Send state ("KEY=VALUE" lines, '\n' between them). 0 when sent or when
 * NOTIFY_SOCKET is unset, a negative errno when it could not be sent. */
int sdn_notify(const char *state);
int sdn_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval systemd asks for (WATCHDOG_USEC, for this pid when
 * WATCHDOG_PID is set), in microseconds; 0 when none. */
uint64_t sdn_watchdog_usec(void);

/* CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC. */
uint64_t sdn_monotonic_usec(void);

#endif

/* Which process holds a socket, by the socket's inode: a walk of
 * /proc/PID/fd as ss -p does (the kernel keeps no owner in the socket). A
 * socket shared by several processes is named by the first found. */
#ifndef AIGW_SOCK_OWNER_H
#define AIGW_SOCK_OWNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SOWNER_COMM_LEN 16

struct sowner {
	uint64_t inode; /* in: the socket's inode */
	pid_t pid;      /* out: 0 when no process holds it (any more) */
	char comm[SOWNER_COMM_LEN];
};

/* Fill pid and comm of each entry in one walk of /proc. */
int sowner_find(struct sowner *s, size_t n);

#endif

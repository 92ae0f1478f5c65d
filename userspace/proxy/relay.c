#include "relay.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

void relay_dir_init(struct relay_dir *d, char *buf, uint32_t cap)
{
	*d = (struct relay_dir){ .buf = buf, .cap = cap };
}

enum relay_status relay_pump(struct relay_dir *d, int src, int dst)
{
	/* Remember what would block in this call, so a pump costs no syscall
	 * that is already known to return EAGAIN. */
	bool src_dry = false, dst_full = false;

	for (;;) {
		bool progress = false;

		if (!dst_full && d->end > d->start) {
			ssize_t n = send(dst, d->buf + d->start, d->end - d->start, MSG_NOSIGNAL);

			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					return RELAY_ERROR;
				dst_full = errno == EAGAIN;
			} else {
				d->start += n;
				d->bytes += n;
				progress = true;
				if (d->start == d->end)
					d->start = d->end = 0;
			}
		}
		if (!d->src_eof && !src_dry && d->end < d->cap) {
			ssize_t n = recv(src, d->buf + d->end, d->cap - d->end, 0);

			if (n > 0) {
				d->end += n;
				progress = true;
			} else if (n == 0) {
				d->src_eof = true;
				progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				return RELAY_ERROR;
			} else {
				src_dry = errno == EAGAIN;
			}
		}
		if (d->src_eof && d->start == d->end && !d->dst_shut) {
			shutdown(dst, SHUT_WR);
			d->dst_shut = true;
		}
		if (relay_dir_done(d))
			return RELAY_DONE;
		if (!progress)
			return RELAY_OK;
	}
}

#include "tls_io.h"

#include <errno.h>
#include <openssl/err.h>

#include "ev.h"

enum tio tio_result(SSL *ssl, int rc)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return TIO_WANT;
	case SSL_ERROR_ZERO_RETURN:
		return TIO_EOF;
	case SSL_ERROR_SYSCALL:
		return ERR_peek_error() == 0 && (errno == 0 || errno == ECONNRESET) ? TIO_EOF
										 : TIO_ERR;
	default:
		return TIO_ERR;
	}
}

enum tio tio_read(SSL *ssl, struct buf *b, size_t *got)
{
	int rc;

	*got = 0;
	if (b->len == b->cap)
		return TIO_DONE;
	ERR_clear_error();
	errno = 0;
	rc = SSL_read(ssl, b->p + b->len, (int)(b->cap - b->len));
	if (rc > 0) {
		b->len += (size_t)rc;
		*got = (size_t)rc;
		return TIO_DONE;
	}
	return tio_result(ssl, rc);
}

enum tio tio_write(SSL *ssl, const char *data, size_t len, size_t *off, uint64_t *count)
{
	while (*off < len) {
		size_t n = len - *off;
		int rc;

		ERR_clear_error();
		errno = 0;
		rc = SSL_write(ssl, data + *off, n > INT32_MAX ? INT32_MAX : (int)n);
		if (rc <= 0)
			return tio_result(ssl, rc);
		*off += (size_t)rc;
		if (count)
			*count += (uint64_t)rc;
	}
	return TIO_DONE;
}

static long watch_reads(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
			int ret, size_t *processed)
{
	(void)argp;
	(void)argi;
	(void)argl;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
		struct tio_rwatch *w = (struct tio_rwatch *)BIO_get_callback_arg(b);

		if (!w->shut && (ret > 0 ? processed && *processed < len : BIO_should_retry(b)))
			w->drained = true;
	}
	return ret;
}

int tio_watch_reads(SSL *ssl, struct tio_rwatch *w)
{
	BIO *rb = SSL_get_rbio(ssl);

	if (!rb)
		return -1;
	*w = (struct tio_rwatch){ 0 };
	BIO_set_callback_arg(rb, (char *)w);
	BIO_set_callback_ex(rb, watch_reads);
	return 0;
}

void tio_rwatch_plain(struct tio_rwatch *w, ssize_t rc, size_t asked)
{
	if (!w->shut && (rc > 0 ? (size_t)rc < asked : rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
		w->drained = true;
}

void tio_rwatch_event(struct tio_rwatch *w, uint32_t events)
{
	if (events & (EV_RDHUP | EV_HUP))
		w->shut = true;
	if (events & (EV_READ | EV_RDHUP | EV_HUP))
		w->drained = false;
}

enum tio tio_flush(SSL *ssl, struct buf *b, uint64_t *count)
{
	return tio_write(ssl, b->p, b->len, &b->off, count);
}

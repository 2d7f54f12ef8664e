/*
 * net.c -- URLs and sockets: connect with a timeout, and read and write
 * bytes, every wait bounded by the idle timeout, the request deadline and
 * the cancel pipe.
 *
 * The socket is non-blocking from the start. Every wait -- connect, send,
 * receive, the pause before a retry -- goes through wait_fd(), which
 * polls the socket together with the cancel pipe (oa_interrupt() writes a
 * byte into it) and enforces the timeouts, so an interrupt or a deadline
 * ends any wait at once. Nothing here knows HTTP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "oa_private.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* where it is missing, SO_NOSIGPIPE is set instead */
#endif

/* ---------------------------------------------------------------- URLs */

/* Does s[0..n) consist only of bytes from set? */
static int
all_in(const char *s, size_t n, const char *set)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
                   "0123456789-._"
#define SCHEME_CHARS NAME_CHARS "+"

/* Where the authority of url starts: after "scheme://" when url has a
 * scheme, else at the start (so "user:pw@host" counts as userinfo too). */
/* see oa_private.h */
OA_PRIVATE const char *
oa__url_authority(const char *url)
{
	const char *s = strstr(url, "://");

	return s && s > url && strspn(url, SCHEME_CHARS) == (size_t)(s - url)
	       ? s + 3 : url;
}

/* see oa_private.h */
OA_PRIVATE void
oa__url_quote(char *out, size_t size, const char *url, size_t max)
{
	const char *a = oa__url_authority(url), *at = strrchr(a, '@');
	size_t o;

	/* The last '@' anywhere, not only in the authority: hiding a piece
	 * of a path costs nothing, showing a password with a '/' in it
	 * would. */
	if (at == NULL) {
		oa__quote(out, size, url, strlen(url), max);
		return;
	}
	oa__quote(out, size, url, (size_t)(a - url), max);
	o = strlen(out);
	if (o + 4 < size)
		memcpy(out + o, "***", 4);
	oa__quote(out, size, at, strlen(at), max);
}

/* see oa_private.h */
OA_PRIVATE void
oa__url_text(const oa__url *u, const char *path, char *out, size_t size)
{
	char hp[280];

	oa__host_port(u, 1, hp, sizeof hp);
	if (snprintf(out, size, "%s://%s%s", u->tls ? "https" : "http", hp,
	             path) >= (int)size && size > 4)
		memcpy(out + size - 4, "...", 4);
}

/* see oa_private.h */
OA_PRIVATE int
oa__url_parse(oa__url *u, const char *url, char *err)
{
	const char *s, *p, *end, *host, *hend;
	char q[80] = "";
	unsigned long port = 0;
	size_t n;

	memset(u, 0, sizeof *u);
	if (url == NULL || url[0] == '\0')
		return oa__fail(err, OA_ERR_URL, "the URL is empty");
	/* Checked once up front, so every later message may quote the URL. */
	for (s = url; *s; s++) {
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f) {
			oa__quote(q, sizeof q, s, 1, 1);
			return oa__fail(err, OA_ERR_URL, "the URL has a "
			                "space, control or non-ASCII byte (%s) "
			                "at offset %zu", q, (size_t)(s - url));
		}
		if (*s == '?' || *s == '#')
			return oa__fail(err, OA_ERR_URL, "the base URL may "
			                "not have a query or fragment ('%c' at "
			                "offset %zu)", *s, (size_t)(s - url));
	}
	oa__url_quote(q, sizeof q, url, 48);
	if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		p = url + 8;
		u->tls = 1;
	} else if (oa__url_authority(url) != url) {
		q[0] = '\0';
		oa__quote(q, sizeof q, url, (size_t)(strstr(url, "://") - url),
		          16);
		return oa__fail(err, OA_ERR_URL, "unsupported URL scheme "
		                "\"%s\": use http:// or https://", q);
	} else {
		return oa__fail(err, OA_ERR_URL, "no scheme in URL \"%s\": "
		                "expected http://host[:port][/path]", q);
	}

	end = p + strcspn(p, "/");
	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return oa__fail(err, OA_ERR_URL, "user:password@ in the URL is "
		                "not supported (pass the key as api_key)");
	if (*p == '[') {
		host = p + 1;
		hend = memchr(host, ']', (size_t)(end - host));
		if (hend == NULL)
			return oa__fail(err, OA_ERR_URL, "unterminated '[' in "
			                "URL \"%s\"", q);
		n = (size_t)(hend - host);
		if (n > 0 && (!all_in(host, n, "0123456789abcdefABCDEF:.") ||
		              memchr(host, ':', n) == NULL))
			return oa__fail(err, OA_ERR_URL, "bad IPv6 address in "
			                "URL \"%s\"", q);
		s = hend + 1;
		if (s < end && *s != ':')
			return oa__fail(err, OA_ERR_URL, "unexpected text "
			                "after ']' in URL \"%s\"", q);
		u->ipv6 = 1;
	} else {
		host = p;
		hend = p + strcspn(p, ":/");
		s = hend;
		if (s < end && memchr(s + 1, ':', (size_t)(end - s - 1)))
			return oa__fail(err, OA_ERR_URL, "an IPv6 address in "
			                "a URL must be in brackets, as in "
			                "http://[::1]:8080/v1");
		if (!all_in(host, (size_t)(hend - host), NAME_CHARS))
			return oa__fail(err, OA_ERR_URL, "bad character in the "
			                "host of URL \"%s\"", q);
	}
	n = (size_t)(hend - host);
	if (n == 0)
		return oa__fail(err, OA_ERR_URL, "no host in URL \"%s\"", q);
	if (n >= sizeof u->host)
		return oa__fail(err, OA_ERR_URL, "the URL's host is too long "
		                "(at most %zu bytes)", sizeof u->host - 1);
	memcpy(u->host, host, n);

	if (s < end) { /* at ':' */
		for (p = s + 1; p < end && *p >= '0' && *p <= '9' &&
		                port <= 65535; p++)
			port = port * 10 + (unsigned long)(*p - '0');
		n = (size_t)(end - s - 1);
		/* "user:pa/ss@host" reads as host "user", port "pa": with an
		 * '@' further on, only the URL (userinfo hidden) is quoted */
		if ((n == 0 || p < end || port == 0 || port > 65535) &&
		    strchr(end, '@') != NULL)
			return oa__fail(err, OA_ERR_URL, "bad port in URL "
			                "\"%s\": expected a number from 1 to "
			                "65535", q);
		if (n == 0 || p < end || port == 0 || port > 65535)
			return oa__fail(err, OA_ERR_URL, "bad port \"%.*s\" "
			                "in URL: expected a number from 1 to "
			                "65535", (int)(n > 16 ? 16 : n), s + 1);
		snprintf(u->port, sizeof u->port, "%lu", port);
	} else {
		strcpy(u->port, u->tls ? "443" : "80");
	}

	n = strlen(end);
	while (n > 0 && end[n - 1] == '/')
		n--;
	if (n >= sizeof u->path)
		return oa__fail(err, OA_ERR_URL, "the URL's path is too long "
		                "(at most %zu bytes)", sizeof u->path - 1);
	memcpy(u->path, end, n);
	return 0;
}

/* "host:port" with an IPv6 literal in brackets; the port is left out when
 * it is the scheme's default and omit_default is set (the Host header). */
/* see oa_private.h */
OA_PRIVATE void
oa__host_port(const oa__url *u, int omit_default, char *out, size_t size)
{
	const char *l = u->ipv6 ? "[" : "", *r = u->ipv6 ? "]" : "";

	if (omit_default && strcmp(u->port, u->tls ? "443" : "80") == 0)
		snprintf(out, size, "%s%s%s", l, u->host, r);
	else
		snprintf(out, size, "%s%s%s:%s", l, u->host, r, u->port);
}

/* ---------------------------------------------------------------- waiting */

/*
 * Wait until the socket is ready for events. Returns 0 when it is (or has
 * an error or hang-up for the next call to report), 1 when timeout_ms
 * (< 0: none; 0: just look) passed without that -- the caller words the
 * message -- or OA_ERR_INTERRUPTED / OA_ERR_DEADLINE / OA_ERR_IO.
 */
static int
wait_fd(oa__http *h, short events, int timeout_ms, char *err)
{
	struct pollfd pf[2];
	int64_t now, until = 0, t;
	int r;

	if (timeout_ms >= 0)
		until = oa__now_ms() + timeout_ms;
	for (;;) {
		if (h->cancelled != NULL && *h->cancelled)
			return oa__fail(err, OA_ERR_INTERRUPTED,
			                "oa_interrupt() was called");
		now = oa__now_ms();
		t = -1;
		if (h->deadline) {
			if (now >= h->deadline)
				return oa__fail(err, OA_ERR_DEADLINE, "the "
				                "request ran past its time "
				                "limit (%d ms)",
				                h->request_timeout_ms);
			t = h->deadline - now;
		}
		if (timeout_ms >= 0 && (t < 0 || until - now < t))
			t = until > now ? until - now : 0;
		if (t > INT_MAX)
			t = INT_MAX;
		pf[0].fd = h->fd;
		pf[0].events = events;
		pf[0].revents = 0;
		pf[1].fd = h->cancel_fd;
		pf[1].events = POLLIN;
		pf[1].revents = 0;
		r = poll(pf, h->cancel_fd >= 0 ? 2 : 1, (int)t);
		if (r < 0 && errno != EINTR)
			return oa__fail(err, OA_ERR_IO, "poll: %s",
			                strerror(errno));
		if (r > 0 && pf[1].revents)
			return oa__fail(err, OA_ERR_INTERRUPTED,
			                "oa_interrupt() was called");
		if (r > 0 && pf[0].revents)
			return 0;
		/* Polled at least once, so a zero timeout means "look". */
		if (r == 0 && timeout_ms >= 0 && oa__now_ms() >= until)
			return 1;
	}
}

/* ---------------------------------------------------------------- sockets */

/* A failed send or receive, naming the peer. */
static int
io_fail(const oa__http *h, const char *what, char *err)
{
	char hp[280];
	int e = errno;

	oa__host_port(&h->url, 0, hp, sizeof hp);
	return oa__fail(err, OA_ERR_IO, "%s %s: %s", what, hp, strerror(e));
}

/*
 * "Without waiting" reads, used to drain the end of a body the caller
 * stopped reading at [DONE], still wait this long: the final chunk usually
 * follows [DONE] within microseconds but may miss an immediate check, and
 * a short wait for it saves a new connection (and a TLS handshake) per
 * request. A server that keeps the body open costs this once per request.
 */
#define DRAIN_WAIT_MS 20

/*
 * The socket's own reads and writes. Each blocks (through wait_fd) until
 * it moved at least one byte. sock_read: *got == 0 means the peer closed;
 * with nowait it returns OA__AGAIN instead of waiting.
 */
/* see oa_private.h */
OA_PRIVATE int
oa__net_read(oa__http *h, void *dst, size_t room, size_t *got, int nowait,
          char *err)
{
	ssize_t n;
	int r;

	for (;;) {
		n = recv(h->fd, dst, room, 0);
		if (n >= 0) {
			*got = (size_t)n;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return io_fail(h, "receive from", err);
		r = wait_fd(h, POLLIN, nowait ? DRAIN_WAIT_MS
		                              : h->read_timeout_ms, err);
		if (r == 1 && nowait)
			return OA__AGAIN;
		if (r == 1)
			return oa__fail(err, OA_ERR_READ_TIMEOUT, "no data "
			                "from the server for %d ms",
			                h->read_timeout_ms);
		if (r)
			return r;
	}
}

/* Something (an answer, or the end of the connection) waits to be read. */
static int
readable(oa__http *h)
{
	struct pollfd pf;

	pf.fd = h->fd;
	pf.events = POLLIN;
	pf.revents = 0;
	return poll(&pf, 1, 0) == 1;
}

/* see oa_private.h */
OA_PRIVATE int
oa__net_write(oa__http *h, const void *src, size_t n, size_t *put, char *err)
{
	ssize_t w;
	int r;

	for (;;) {
		w = send(h->fd, src, n, MSG_NOSIGNAL);
		if (w >= 0) {
			*put = (size_t)w;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			/* A server that refuses a request (413) may answer
			 * and close before reading it all: its answer is
			 * worth more than our send error. */
			if (h->early_ok && readable(h))
				return OA__EARLY;
			return io_fail(h, "send to", err);
		}
		r = wait_fd(h, h->early_ok ? POLLOUT | POLLIN : POLLOUT,
		            h->read_timeout_ms, err);
		if (r == 1)
			return oa__fail(err, OA_ERR_READ_TIMEOUT, "the server "
			                "took no data for %d ms",
			                h->read_timeout_ms);
		if (r)
			return r;
		if (h->early_ok && readable(h))
			return OA__EARLY;
	}
}


/* ---------------------------------------------------------------- connect */

/* Connect to one address. Returns 0 (h->fd open), an errno value (> 0, no
 * message written; the caller tries the next address), or a negative
 * oa_err that ends the attempt (interrupted, deadline). */
/* A socket that did not connect. */
static void
drop(oa__http *h)
{
	close(h->fd);
	h->fd = -1;
}

static int
dial_one(oa__http *h, const struct addrinfo *ai, char *err)
{
	int fd, fl, e, one = 1;
	socklen_t len = sizeof e;

	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0)
		return errno;
	h->fd = fd;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto fail;
	/* Requests are written whole; do not hold the last segment back. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
	setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		goto fail;
	e = wait_fd(h, POLLOUT, h->connect_timeout_ms, err);
	if (e < 0) {
		drop(h);
		return e;
	}
	if (e == 1) {
		errno = ETIMEDOUT;
	} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0) {
		if (e == 0)
			return 0;
		errno = e;
	}
fail:
	e = errno;
	drop(h);
	return e ? e : EIO;
}

/* Resolve to (the server or the proxy) and connect to the first address
 * that answers. *refused: the last address refused the connection, which
 * is worth retrying (a server still starting). */
/* see oa_private.h */
OA_PRIVATE int
oa__net_dial(oa__http *h, const oa__url *to, int *refused, char *err)
{
	struct addrinfo hints, *res, *ai;
	const char *what = to == &h->proxy ? "the proxy " : "";
	char hp[280];
	int r, e = 0;

	*refused = 0;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	r = getaddrinfo(to->host, to->port, &hints, &res);
	if (r != 0)
		return oa__fail(err, OA_ERR_RESOLVE, "cannot resolve %s%s: %s",
		                what, to->host, r == EAI_SYSTEM ?
		                strerror(errno) : gai_strerror(r));
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if ((e = dial_one(h, ai, err)) <= 0)
			break;
	freeaddrinfo(res);
	if (e <= 0)
		return e;
	oa__host_port(to, 0, hp, sizeof hp);
	if (e == ETIMEDOUT && h->connect_timeout_ms >= 0)
		return oa__fail(err, OA_ERR_CONNECT_TIMEOUT, "no connection to "
		                "%s%s within %d ms", what, hp,
		                h->connect_timeout_ms);
	*refused = e == ECONNREFUSED;
	return oa__fail(err, OA_ERR_CONNECT, "connect to %s%s: %s", what, hp,
	                strerror(e));
}

/* An idle keep-alive connection is fit to reuse when nothing is waiting on
 * it: a readable socket means the server closed it (its FIN reads as EOF;
 * POLLRDHUP says so too where it exists; a reset is POLLERR or POLLHUP,
 * reported whatever is asked) or sent stray bytes (a 408, say) that would
 * be taken for the next response. Checked without waiting just before a
 * request goes out, so a request is never written into a connection the
 * server has closed already (test_faults closed_keep_alive). */
/* see oa_private.h */
OA_PRIVATE int
oa__net_idle_ok(const oa__http *h)
{
	struct pollfd pf;

	pf.fd = h->fd;
	pf.events = POLLIN;
#ifdef POLLRDHUP
	pf.events |= POLLRDHUP;
#endif
	pf.revents = 0;
	return poll(&pf, 1, 0) == 0;
}

/* ---------------------------------------------------------------- head */


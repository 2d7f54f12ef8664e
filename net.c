/*
 * net.c -- URLs and sockets: connect with a timeout, and read and write
 * bytes, every wait bounded by the idle timeout, the request deadline and
 * the cancel pipe.
 *
 * The socket is non-blocking from the start. Every wait -- connect, send,
 * receive, the pause before a retry -- goes through oa__net_wait(), which
 * polls the socket together with the cancel pipe (oa_interrupt() writes a
 * byte into it) and enforces the timeouts, so an interrupt or a deadline
 * ends any wait at once. Nothing here knows HTTP.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "oa_private.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* where it is missing, SO_NOSIGPIPE is set instead */
#endif

/* ---------------------------------------------------------------- URLs */

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
                   "0123456789-._"

/* Where the authority of url starts: after "scheme://" when url has a
 * scheme, else at the start (so "user:pw@host" counts as userinfo too). */
/* see oa_private.h */
OA_PRIVATE const char *
oa__url_authority(const char *url)
{
	const char *s = strstr(url, "://");

	return s && s > url && strspn(url, NAME_CHARS "+") == (size_t)(s - url)
	       ? s + 3 : url;
}

/* see oa_private.h */
OA_PRIVATE void
oa__url_quote(char *out, size_t size, const char *url, size_t max)
{
	const char *a = oa__url_authority(url), *at = strrchr(a, '@');

	/* The last '@' anywhere, not only in the authority: hiding a piece
	 * of a path costs nothing, showing a password with a '/' in it
	 * would. */
	oa__quote(out, size, url, at ? (size_t)(a - url) : strlen(url), max);
	if (at == NULL)
		return;
	oa__quote(out, size, "***", 3, 3);
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
	const char *s, *p, *end, *host, *hend, *why;
	char q[80] = "", *e;
	unsigned long port;
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
	p = oa__url_authority(url);
	u->tls = oa__ieq(url, 8, "https://");
	/* (a scheme is made of NAME_CHARS and '+': nothing to escape) */
	if (p != url && !u->tls && !oa__ieq(url, 7, "http://"))
		return oa__fail(err, OA_ERR_URL, "unsupported URL scheme "
		                "\"%.*s\": use http:// or https://",
		                (int)(p - 3 - url), url);
	oa__url_quote(q, sizeof q, url, 48);
	if (p == url)
		return oa__fail(err, OA_ERR_URL, "no scheme in URL \"%s\": "
		                "expected http://host[:port][/path]", q);

	end = p + strcspn(p, "/");
	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return oa__fail(err, OA_ERR_URL, "user:password@ in the URL is "
		                "not supported (pass the key as api_key)");
	/* host[:port], or [IPv6]:port: s is left at the ':' or at end */
	u->ipv6 = *p == '[';
	host = p + u->ipv6;
	hend = u->ipv6 ? memchr(host, ']', (size_t)(end - host))
	               : host + strcspn(host, ":/");
	n = hend ? (size_t)(hend - host) : 0;
	s = hend ? hend + u->ipv6 : end;
	if (!u->ipv6 && s < end && memchr(s + 1, ':', (size_t)(end - s - 1)))
		return oa__fail(err, OA_ERR_URL, "an IPv6 address in a URL "
		                "must be in brackets, as in "
		                "http://[::1]:8080/v1");
	why = hend == NULL ? "unterminated '[' in" :
	      u->ipv6 && n > 0 && (memchr(host, ':', n) == NULL ||
	      strspn(host, "0123456789abcdefABCDEF:.") != n) ?
	      "bad IPv6 address in" :
	      u->ipv6 && s < end && *s != ':' ?
	      "unexpected text after ']' in" :
	      !u->ipv6 && strspn(host, NAME_CHARS) != n ?
	      "bad character in the host of" : n == 0 ? "no host in" : NULL;
	if (why != NULL)
		return oa__fail(err, OA_ERR_URL, "%s URL \"%s\"", why, q);
	if (n >= sizeof u->host)
		return oa__fail(err, OA_ERR_URL, "the URL's host is too long "
		                "(at most %zu bytes)", sizeof u->host - 1);
	memcpy(u->host, host, n);

	strcpy(u->port, u->tls ? "443" : "80");
	if (s < end) {
		port = strtoul(s + 1, &e, 10);
		n = (size_t)(end - s - 1);
		/* "user:pa/ss@host" reads as host "user", port "pa": with an
		 * '@' further on, only the URL (userinfo hidden) is quoted */
		if (s[1] < '0' || s[1] > '9' || e != end || port == 0 ||
		    port > 65535)
			return strchr(end, '@') ? oa__fail(err, OA_ERR_URL,
			       "bad port in URL \"%s\": expected a number "
			       "from 1 to 65535", q) : oa__fail(err, OA_ERR_URL,
			       "bad port \"%.*s\" in URL: expected a number "
			       "from 1 to 65535", (int)(n > 16 ? 16 : n), s + 1);
		snprintf(u->port, sizeof u->port, "%lu", port);
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

/* see oa_private.h */
OA_PRIVATE void
oa__host_port(const oa__url *u, int omit_default, char *out, size_t size)
{
	int omit = omit_default && strcmp(u->port, u->tls ? "443" : "80") == 0;

	snprintf(out, size, "%s%s%s%s%s", u->ipv6 ? "[" : "", u->host,
	         u->ipv6 ? "]" : "", omit ? "" : ":", omit ? "" : u->port);
}

/* ---------------------------------------------------------------- waiting */

/* see oa_private.h */
OA_PRIVATE int
oa__net_wait(oa__http *h, short events, int timeout_ms, char *err)
{
	struct pollfd pf[2] = {
		{ .fd = events ? h->fd : -1, .events = events },
		{ .fd = h->cancel_fd, .events = POLLIN }
	};
	int64_t now, t, until = timeout_ms < 0 ? INT64_MAX :
	                        oa__now_ms() + timeout_ms;
	int r = -1;

	for (;;) {
		if ((h->cancelled != NULL && *h->cancelled) ||
		    (r > 0 && pf[1].revents))
			return oa__fail(err, OA_ERR_INTERRUPTED,
			                "oa_interrupt() was called");
		if (r > 0 && pf[0].revents)
			return 0;
		now = oa__now_ms();
		/* Polled at least once, so a zero timeout means "look". */
		if (r == 0 && now >= until)
			return 1;
		if (h->deadline && now >= h->deadline)
			return oa__fail(err, OA_ERR_DEADLINE, "the request "
			                "ran past its time limit (%d ms)",
			                h->request_timeout_ms);
		t = (h->deadline && h->deadline < until ? h->deadline
		                                        : until) - now;
		r = poll(pf, h->cancel_fd >= 0 ? 2 : 1,
		         t < 0 ? 0 : t > INT_MAX ? INT_MAX : (int)t);
		if (r < 0 && errno != EINTR)
			return oa__fail(err, OA_ERR_IO, "poll: %s",
			                strerror(errno));
	}
}

/* ---------------------------------------------------------------- sockets */

/* see oa_private.h */
OA_PRIVATE int
oa__net_io(oa__http *h, char *in, const char *out, size_t n, size_t *done,
           char *err)
{
	char hp[280];
	ssize_t k;
	int e, r;

	while ((k = out ? send(h->fd, out, n, MSG_NOSIGNAL)
	                : recv(h->fd, in, n, 0)) < 0) {
		/* A server that refuses a request (413) may answer and close
		 * before reading it all: its answer is worth more than our
		 * send error. */
		e = errno;
		if (out && h->early_ok && !oa__net_idle_ok(h))
			return OA__EARLY;
		if (e != EAGAIN && e != EWOULDBLOCK && e != EINTR) {
			oa__host_port(&h->url, 0, hp, sizeof hp);
			return oa__fail(err, OA_ERR_IO, "%s %s: %s", out ?
			                "send to" : "receive from", hp,
			                strerror(e));
		}
		r = oa__net_wait(h, out ? POLLOUT | (h->early_ok ? POLLIN : 0)
		                        : POLLIN, h->read_timeout_ms, err);
		if (r == 1)
			return oa__fail(err, OA_ERR_READ_TIMEOUT, out ? "the "
			                "server took no data for %d ms" : "no "
			                "data from the server for %d ms",
			                h->read_timeout_ms);
		if (r != 0)
			return r;
	}
	*done = (size_t)k;
	return 0;
}

/* ---------------------------------------------------------------- connect */

/* see oa_private.h */
OA_PRIVATE int
oa__net_dial(oa__http *h, const oa__url *to, char *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	                          .ai_socktype = SOCK_STREAM,
	                          .ai_flags = AI_NUMERICSERV }, *res, *ai;
	const char *what = to == &h->proxy ? "the proxy " : "";
	char hp[280];
	int fl, e, one = 1;
	socklen_t len = sizeof e;

	if ((e = getaddrinfo(to->host, to->port, &hints, &res)) != 0)
		return oa__fail(err, OA_ERR_RESOLVE, "cannot resolve %s%s: %s",
		                what, to->host, e == EAI_SYSTEM ?
		                strerror(errno) : gai_strerror(e));
	/* Each address in turn, until one takes the connection (e == 0) or
	 * the wait for one is interrupted or past the deadline (e < 0); e > 0
	 * is why the last one did not. */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((h->fd = socket(ai->ai_family, ai->ai_socktype,
		                    ai->ai_protocol)) < 0) {
			e = errno;
			continue;
		}
		/* Requests are written whole; do not hold the last segment
		 * back. */
		setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
		setsockopt(h->fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
		e = fcntl(h->fd, F_SETFD, FD_CLOEXEC) < 0 ||
		    (fl = fcntl(h->fd, F_GETFL)) < 0 ||
		    fcntl(h->fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    connect(h->fd, ai->ai_addr, ai->ai_addrlen) < 0 ?
		    errno : 0;
		if (e == EINPROGRESS || e == EINTR) {
			e = oa__net_wait(h, POLLOUT, h->connect_timeout_ms,
			                 err);
			if (e == 1)
				e = ETIMEDOUT;
			else if (e == 0 && getsockopt(h->fd, SOL_SOCKET,
			                              SO_ERROR, &e, &len) < 0)
				e = errno;
		}
		if (e <= 0)
			break;
		close(h->fd);
		h->fd = -1;
	}
	freeaddrinfo(res);
	/* refused: worth a retry (a server still starting) */
	h->refused = e == ECONNREFUSED;
	if (e <= 0)
		return e;
	oa__host_port(to, 0, hp, sizeof hp);
	if (e == ETIMEDOUT && h->connect_timeout_ms >= 0)
		return oa__fail(err, OA_ERR_CONNECT_TIMEOUT, "no connection to "
		                "%s%s within %d ms", what, hp,
		                h->connect_timeout_ms);
	return oa__fail(err, OA_ERR_CONNECT, "connect to %s%s: %s", what, hp,
	                strerror(e));
}

/* An idle keep-alive connection is fit to reuse when nothing is waiting on
 * it, as a peek without waiting finds: the server closed it (its FIN
 * reads as EOF, a reset as an error) or sent stray bytes (a 408, say)
 * that would be taken for the next response. Checked just before a
 * request goes out, so a request is never written into a connection the
 * server has closed already (test_faults closed_keep_alive). The same
 * check, while a request is being sent, finds an early answer. */
/* see oa_private.h */
OA_PRIVATE int
oa__net_idle_ok(const oa__http *h)
{
	char c;

	return recv(h->fd, &c, 1, MSG_PEEK) < 0 &&
	       (errno == EAGAIN || errno == EWOULDBLOCK);
}

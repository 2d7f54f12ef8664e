/*
 * http.c -- just enough HTTP/1.1 to post a request and stream the answer.
 *
 * One job: turn (method, path, headers, body) into a response head and a
 * stream of body bytes. Nothing here knows what the bytes mean.
 *
 * A connection goes through these states:
 *   closed (fd < 0) -> connected -> request written -> head read ->
 *   body being read -> body done, and then either back to "connected"
 *   (HTTP/1.1 keep-alive, body read to its exact end, nothing stray after
 *   it) or closed. A request on a connection that is not cleanly "body
 *   done" closes it first. A reused connection that the server closed
 *   while it sat idle fails before the first response byte; the request is
 *   then sent once more on a fresh connection, so callers never see it.
 *
 * Buffers: one, the head buffer (max_header bytes, allocated at the first
 * request and kept). The head is read into it; body bytes that arrived
 * with the head stay there and are handed out first. After that the body
 * is received straight into the caller's memory and de-chunked in place,
 * so streaming copies nothing and allocates nothing.
 *
 * The socket is non-blocking from the start. Every wait -- connect, send,
 * receive -- goes through wait_fd(), which polls the socket together with
 * the cancel pipe and enforces the idle timeout and the request deadline.
 * read_some() and write_some() are the only functions that move bytes; a
 * TLS layer belongs beneath them and nothing above them would change.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
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
	oa__quote(q, sizeof q, url, strlen(url), 48);
	if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		p = url + 8;
		u->tls = 1;
	} else if (strstr(url, "://") != NULL) {
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
static void
host_port(const oa__url *u, int omit_default, char *out, size_t size)
{
	const char *l = u->ipv6 ? "[" : "", *r = u->ipv6 ? "]" : "";

	if (omit_default && strcmp(u->port, u->tls ? "443" : "80") == 0)
		snprintf(out, size, "%s%s%s", l, u->host, r);
	else
		snprintf(out, size, "%s%s%s:%s", l, u->host, r, u->port);
}

/* ---------------------------------------------------------------- chunked */

/* Decoder states. The size line, the data and the CRLF after it repeat;
 * the last (zero-size) chunk leads into trailer lines, which end at an
 * empty line. Bare LF is accepted wherever CRLF is expected. */
enum {
	CH_SIZE,         /* hex digits of the chunk size */
	CH_EXT,          /* ";extension" after the size, ignored */
	CH_SIZE_LF,      /* CR seen at the end of the size line */
	CH_DATA,         /* left bytes of data to pass through */
	CH_DATA_CR,      /* the CRLF after the data */
	CH_DATA_LF,
	CH_TRAILER,      /* at the start of a trailer line or the final one */
	CH_TRAILER_LINE, /* inside a trailer line, ignored */
	CH_END_LF,       /* CR seen on the final empty line */
	CH_DONE
};

static int
chunk_fail(char *err, const char *what, int c)
{
	char q[8] = "";
	char ch = (char)c;

	oa__quote(q, sizeof q, &ch, 1, 1);
	return oa__fail(err, OA_ERR_PROTOCOL, "bad chunked body: %s (got '%s')",
	                what, q);
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* see oa_private.h */
OA_PRIVATE int
oa__chunked_decode(oa__chunked *d, char *buf, size_t *len, size_t *rest,
                   char *err)
{
	size_t i = 0, o = 0, n = *len, k;
	int c, v;

	*rest = 0;
	while (i < n && d->state != CH_DONE) {
		if (d->state == CH_DATA) {
			k = n - i < d->left ? n - i : (size_t)d->left;
			memmove(buf + o, buf + i, k);
			o += k;
			i += k;
			d->left -= k;
			if (d->left == 0)
				d->state = CH_DATA_CR;
			continue;
		}
		c = (unsigned char)buf[i++];
		switch (d->state) {
		case CH_SIZE:
			if ((v = hex_value(c)) >= 0) {
				if (d->digits == 16)
					return chunk_fail(err, "more than "
					                  "16 hex digits", c);
				d->left = d->left << 4 | (uint64_t)v;
				d->digits++;
				break;
			}
			if (d->digits == 0)
				return chunk_fail(err, "no chunk size", c);
			if (c == ';' || c == ' ' || c == '\t')
				d->state = CH_EXT;
			else if (c == '\r')
				d->state = CH_SIZE_LF;
			else if (c == '\n')
				d->state = d->left ? CH_DATA : CH_TRAILER;
			else
				return chunk_fail(err, "bad chunk size", c);
			break;
		case CH_EXT:
			if (c == '\r')
				d->state = CH_SIZE_LF;
			else if (c == '\n')
				d->state = d->left ? CH_DATA : CH_TRAILER;
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return chunk_fail(err, "CR without LF after "
				                  "the chunk size", c);
			d->state = d->left ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA_CR:
		case CH_DATA_LF:
			if (c == '\r' && d->state == CH_DATA_CR) {
				d->state = CH_DATA_LF;
				break;
			}
			if (c != '\n')
				return chunk_fail(err, "no CRLF after the "
				                  "chunk data", c);
			d->state = CH_SIZE;
			d->digits = 0;
			break;
		case CH_TRAILER:
			if (c == '\r')
				d->state = CH_END_LF;
			else if (c == '\n')
				d->state = CH_DONE;
			else
				d->state = CH_TRAILER_LINE;
			break;
		case CH_TRAILER_LINE:
			if (c == '\n')
				d->state = CH_TRAILER;
			break;
		case CH_END_LF:
			if (c != '\n')
				return chunk_fail(err, "CR without LF after "
				                  "the last chunk", c);
			d->state = CH_DONE;
			break;
		}
	}
	*len = o;
	if (d->state != CH_DONE)
		return 0;
	*rest = n - i;
	return 1;
}

/* ---------------------------------------------------------------- waiting */

/*
 * Wait until the socket is ready for events. Returns 0 when it is (or has
 * an error or hang-up for the next call to report), 1 when timeout_ms
 * (< 0: none) passed without that -- the caller words the message -- or
 * OA_ERR_INTERRUPTED / OA_ERR_DEADLINE / OA_ERR_IO.
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
			return oa__fail(err, OA_ERR_INTERRUPTED, "interrupted");
		now = oa__now_ms();
		t = -1;
		if (h->deadline) {
			if (now >= h->deadline)
				return oa__fail(err, OA_ERR_DEADLINE, "the "
				                "request ran past its time "
				                "limit");
			t = h->deadline - now;
		}
		if (timeout_ms >= 0) {
			if (now >= until)
				return 1;
			if (t < 0 || until - now < t)
				t = until - now;
		}
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
		if (r <= 0)
			continue;
		if (pf[1].revents)
			return oa__fail(err, OA_ERR_INTERRUPTED, "interrupted");
		if (pf[0].revents)
			return 0;
	}
}

/* ---------------------------------------------------------------- bytes */

/* A failed send or receive, naming the peer. */
static int
io_fail(const oa__http *h, const char *what, char *err)
{
	char hp[280];
	int e = errno;

	host_port(&h->url, 0, hp, sizeof hp);
	return oa__fail(err, OA_ERR_IO, "%s %s: %s", what, hp, strerror(e));
}

/*
 * The two functions that move bytes. Each blocks (through wait_fd) until
 * it moved at least one byte. read_some: *got == 0 means the peer closed.
 * A TLS layer replaces their bodies and nothing else.
 */
static int
read_some(oa__http *h, char *dst, size_t room, size_t *got, char *err)
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
		r = wait_fd(h, POLLIN, h->read_timeout_ms, err);
		if (r == 1)
			return oa__fail(err, OA_ERR_READ_TIMEOUT, "no data "
			                "from the server for %d ms",
			                h->read_timeout_ms);
		if (r)
			return r;
	}
}

static int
write_some(oa__http *h, const char *src, size_t n, size_t *put, char *err)
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
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return io_fail(h, "send to", err);
		r = wait_fd(h, POLLOUT, h->read_timeout_ms, err);
		if (r == 1)
			return oa__fail(err, OA_ERR_READ_TIMEOUT, "the server "
			                "took no data for %d ms",
			                h->read_timeout_ms);
		if (r)
			return r;
	}
}

static int
write_all(oa__http *h, const char *src, size_t n, char *err)
{
	size_t put = 0;
	int r;

	while (n > 0) {
		if ((r = write_some(h, src, n, &put, err)) != 0)
			return r;
		src += put;
		n -= put;
	}
	return 0;
}

/* ---------------------------------------------------------------- connect */

/* Connect to one address. Returns 0 (h->fd open), an errno value (> 0, no
 * message written; the caller tries the next address), or a negative
 * oa_err that ends the attempt (interrupted, deadline). */
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
		oa__http_close(h);
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
	oa__http_close(h);
	return e ? e : EIO;
}

/* Resolve the host and connect to the first address that answers. */
static int
dial(oa__http *h, char *err)
{
	struct addrinfo hints, *res, *ai;
	char hp[280];
	int r, e = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	r = getaddrinfo(h->url.host, h->url.port, &hints, &res);
	if (r != 0)
		return oa__fail(err, OA_ERR_RESOLVE, "cannot resolve %s: %s",
		                h->url.host, r == EAI_SYSTEM ? strerror(errno) :
		                gai_strerror(r));
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if ((e = dial_one(h, ai, err)) <= 0)
			break;
	freeaddrinfo(res);
	if (e <= 0)
		return e;
	host_port(&h->url, 0, hp, sizeof hp);
	if (e == ETIMEDOUT && h->connect_timeout_ms >= 0)
		return oa__fail(err, OA_ERR_CONNECT_TIMEOUT, "no connection to "
		                "%s within %d ms", hp, h->connect_timeout_ms);
	return oa__fail(err, OA_ERR_CONNECT, "connect to %s: %s", hp,
	                strerror(e));
}

/* An idle keep-alive connection is fit to reuse when nothing is waiting on
 * it: a readable socket means the server closed it or sent stray bytes
 * (a 408, say) that would be taken for the next response. */
static int
idle_ok(const oa__http *h)
{
	struct pollfd pf;

	pf.fd = h->fd;
	pf.events = POLLIN;
	pf.revents = 0;
	return poll(&pf, 1, 0) == 0;
}

/* ---------------------------------------------------------------- head */

/* Case-insensitive: is s[0..n) exactly lit? */
static int
ieq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* Is tok one of the comma-separated tokens of v[0..n)? */
static int
has_token(const char *v, size_t n, const char *tok)
{
	size_t i = 0, a, b;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		a = i;
		while (i < n && v[i] != ',')
			i++;
		b = i;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (b > a && ieq(v + a, b - a, tok))
			return 1;
	}
	return 0;
}

/* Where the head in p[0..n) ends, just past its empty line; 0 when it has
 * not ended yet. from: where the last scan gave up, less 2 (the start of
 * "\n\r\n" may have been seen already). */
static size_t
head_end(const char *p, size_t n, size_t from)
{
	size_t i;

	for (i = from; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* A protocol error about the bytes p[0..n), quoted. */
static int
bad_bytes(char *err, const char *what, const char *p, size_t n)
{
	char q[96] = "";

	oa__quote(q, sizeof q, p, n, 64);
	return oa__fail(err, OA_ERR_PROTOCOL, "%s \"%s\"", what, q);
}

/* Parse the head p[0..n) (it ends with its empty line) into h: status,
 * content type, framing, keep-alive. */
static int
parse_head(oa__http *h, const char *p, size_t n, int is_head, char *err)
{
	const char *end = p + n, *line, *eol, *colon, *v;
	size_t len, vlen, i;
	uint64_t clen = 0, x;
	int has_len = 0, chunked = 0, te = 0, conn_close = 0, minor;

	eol = memchr(p, '\n', n);
	len = (size_t)(eol - p) - (eol > p && eol[-1] == '\r');
	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' ||
	    p[7] > '9' || p[8] != ' ' || p[9] < '1' || p[9] > '9' ||
	    p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
	    (len > 12 && p[12] != ' '))
		return bad_bytes(err, "not an HTTP/1.x status line:", p, len);
	minor = p[7] - '0';
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');

	for (line = eol + 1; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		len = (size_t)(eol - line) - (eol > line && eol[-1] == '\r');
		if (len == 0)
			break;
		if (line[0] == ' ' || line[0] == '\t')
			return bad_bytes(err, "folded header line (obsolete "
			                 "line folding is not supported):",
			                 line, len);
		colon = memchr(line, ':', len);
		if (colon == NULL || colon == line)
			return bad_bytes(err, "header line without a name and "
			                 "':':", line, len);
		v = colon + 1;
		vlen = len - (size_t)(v - line);
		while (vlen > 0 && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		len = (size_t)(colon - line);

		if (ieq(line, len, "content-length")) {
			for (i = 0, x = 0; i < vlen; i++) {
				if (v[i] < '0' || v[i] > '9' ||
				    x > (UINT64_MAX - 9) / 10)
					break;
				x = x * 10 + (uint64_t)(v[i] - '0');
			}
			if (vlen == 0 || i < vlen)
				return bad_bytes(err, "bad Content-Length", v,
				                 vlen);
			if (has_len && x != clen)
				return oa__fail(err, OA_ERR_PROTOCOL, "two "
				                "different Content-Length "
				                "values");
			clen = x;
			has_len = 1;
		} else if (ieq(line, len, "transfer-encoding")) {
			/* Only the last coding frames the message. */
			te = 1;
			chunked = vlen >= 7 &&
			          ieq(v + vlen - 7, 7, "chunked") &&
			          (vlen == 7 || v[vlen - 8] == ',' ||
			           v[vlen - 8] == ' ' || v[vlen - 8] == '\t');
		} else if (ieq(line, len, "connection")) {
			conn_close |= has_token(v, vlen, "close");
		} else if (ieq(line, len, "content-type")) {
			char *ct = h->content_type;

			for (i = 0; i < vlen && v[i] != ';' &&
			            i + 1 < sizeof h->content_type; i++)
				ct[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ?
				               v[i] | 0x20 : v[i]);
			while (i > 0 && (ct[i - 1] == ' ' || ct[i - 1] == '\t'))
				i--;
			ct[i] = '\0';
		}
	}

	/* HTTP/1.0 keep-alive is rare and fiddly; such connections are
	 * simply not reused. */
	h->keep_alive = minor >= 1 && !conn_close;
	h->body = OA__BODY_CLOSE;
	if (is_head || h->status == 204 || h->status == 304) {
		h->body = OA__BODY_NONE;
	} else if (chunked) {
		h->body = OA__BODY_CHUNKED;
		/* Both framings: a smuggling attempt or a broken proxy. */
		if (has_len)
			h->keep_alive = 0;
	} else if (te) {
		h->keep_alive = 0; /* an unknown coding: read until close */
	} else if (has_len) {
		h->body = OA__BODY_LENGTH;
		h->left = h->length = clen;
	}
	if (h->body == OA__BODY_CLOSE)
		h->keep_alive = 0;
	h->body_done = h->body == OA__BODY_NONE ||
	               (h->body == OA__BODY_LENGTH && clen == 0);
	return 0;
}

/* Read and parse response heads until a final (non-1xx) one. *seen counts
 * the response bytes received, so the caller knows whether a failed reused
 * connection may be retried. */
static int
read_head(oa__http *h, int is_head, size_t *seen, char *err)
{
	size_t end, from = 0, n;
	const char *nl;
	int r;

	for (;;) {
		end = head_end(h->head, h->head_len, from);
		if (end != 0) {
			r = parse_head(h, h->head, end, is_head, err);
			if (r != 0)
				return r;
			if (h->status >= 200)
				break;
			/* An interim response (100 Continue): skip it. */
			h->head_len -= end;
			memmove(h->head, h->head + end, h->head_len);
			h->content_type[0] = '\0';
			from = 0;
			continue;
		}
		/* Not HTTP at all (a TLS server, SSH): say so now rather than
		 * wait for an empty line that never comes. */
		if (h->head_len >= 5 && memcmp(h->head, "HTTP/", 5) != 0) {
			nl = memchr(h->head, '\n', h->head_len);
			return bad_bytes(err, "not an HTTP/1.x status line:",
			                 h->head, nl ? (size_t)(nl - h->head) :
			                 h->head_len);
		}
		if (h->head_len == h->head_cap)
			return oa__fail(err, OA_ERR_LIMIT, "the response head "
			                "is larger than max_header_bytes (%zu)",
			                h->head_cap);
		from = h->head_len > 2 ? h->head_len - 2 : 0;
		r = read_some(h, h->head + h->head_len,
		              h->head_cap - h->head_len, &n, err);
		if (r != 0)
			return r;
		if (n == 0)
			return oa__fail(err, OA_ERR_IO, "the server closed the "
			                "connection %s the response head",
			                *seen ? "inside" : "before");
		*seen += n;
		h->head_len += n;
	}
	h->head_off = end;
	if (h->body_done && h->head_off < h->head_len)
		h->keep_alive = 0;
	return 0;
}

/* ---------------------------------------------------------------- request */

/* see oa_private.h */
OA_PRIVATE void
oa__http_init(oa__http *h)
{
	memset(h, 0, sizeof *h);
	h->fd = -1;
	h->cancel_fd = -1;
}

/* see oa_private.h */
OA_PRIVATE void
oa__http_close(oa__http *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

/* see oa_private.h */
OA_PRIVATE void
oa__http_free(oa__http *h)
{
	oa__http_close(h);
	oa__free(h->alloc, h->head);
	h->head = NULL;
	h->head_cap = h->head_len = h->head_off = 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__http_request(oa__http *h, const char *method, const char *path,
                 const char *extra_headers, const char *body,
                 size_t body_len, char *err)
{
	oa__buf req;
	char hp[280];
	const char *s;
	size_t seen;
	int r, reused, clean = err != NULL && err[0] == '\0';

	if (method == NULL || path == NULL || path[0] != '/')
		return oa__fail(err, OA_ERR_INVALID, "bad request method or "
		                "path");
	for (s = path; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return oa__fail(err, OA_ERR_INVALID, "a space or "
			                "control character in the request "
			                "path");
	if (body == NULL)
		body_len = 0;
	if (h->head == NULL) {
		h->head_cap = h->max_header ? h->max_header :
		              OA_MAX_HEADER_BYTES;
		h->head = oa__malloc(h->alloc, h->head_cap);
		if (h->head == NULL)
			return oa__fail(err, OA_ERR_NOMEM, "out of memory for "
			                "the response head");
	}
	if (h->fd >= 0 && !(h->keep_alive && h->body_done && idle_ok(h)))
		oa__http_close(h);
	h->status = 0;
	h->content_type[0] = '\0';
	h->body = OA__BODY_NONE;
	h->keep_alive = 0;
	h->left = h->length = 0;
	memset(&h->chunked, 0, sizeof h->chunked);
	h->body_done = 0;

	memset(&req, 0, sizeof req);
	req.alloc = h->alloc;
	host_port(&h->url, 1, hp, sizeof hp);
	oa__buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	               "User-Agent: openagent/" OA_VERSION "\r\n"
	               "Content-Type: application/json\r\n"
	               "Content-Length: %zu\r\n%s\r\n", method, path, hp,
	               body_len, extra_headers ? extra_headers : "");
	if (req.err) {
		oa__buf_free(&req);
		return oa__fail(err, OA_ERR_NOMEM, "out of memory for the "
		                "request head");
	}

	for (;;) {
		reused = h->fd >= 0;
		if (!reused && (r = dial(h, err)) != 0)
			break;
		seen = 0;
		h->head_len = h->head_off = 0;
		r = write_all(h, req.p, req.len, err);
		if (r == 0)
			r = write_all(h, body, body_len, err);
		if (r == 0)
			r = read_head(h, strcmp(method, "HEAD") == 0, &seen,
			              err);
		if (r == 0)
			break;
		oa__http_close(h);
		/* A kept-alive connection the server dropped while idle fails
		 * before any answer; a fresh one is the cure. Only once. */
		if (!reused || seen != 0 || r != OA_ERR_IO)
			break;
		if (clean)
			err[0] = '\0';
	}
	oa__buf_free(&req);
	return r;
}

/* ---------------------------------------------------------------- body */

/* The body ended where its framing says it does. */
static void
body_end(oa__http *h, size_t stray)
{
	h->body_done = 1;
	if (stray != 0 || h->head_off < h->head_len)
		h->keep_alive = 0;
	if (!h->keep_alive)
		oa__http_close(h);
}

/* see oa_private.h */
OA_PRIVATE int
oa__http_read(oa__http *h, char *dst, size_t room, size_t *got, char *err)
{
	size_t n, rest;
	int r;

	*got = 0;
	if (h->body_done)
		return 0;
	if (h->fd < 0)
		return oa__fail(err, OA_ERR_STATE, "no response body to read");
	if (room == 0)
		return oa__fail(err, OA_ERR_INVALID, "no room to read into");
	for (;;) {
		n = room;
		if (h->body == OA__BODY_LENGTH && h->left < n)
			n = (size_t)h->left;
		if (h->head_off < h->head_len) {
			if (n > h->head_len - h->head_off)
				n = h->head_len - h->head_off;
			memcpy(dst, h->head + h->head_off, n);
			h->head_off += n;
		} else if ((r = read_some(h, dst, n, &n, err)) != 0) {
			oa__http_close(h);
			return r;
		} else if (n == 0) {
			if (h->body == OA__BODY_CLOSE) {
				body_end(h, 0);
				return 0;
			}
			oa__http_close(h);
			if (h->body == OA__BODY_CHUNKED)
				return oa__fail(err, OA_ERR_TRUNCATED, "the "
				                "connection closed inside the "
				                "chunked body");
			return oa__fail(err, OA_ERR_TRUNCATED, "the "
			                "connection closed after %llu of %llu "
			                "body bytes", (unsigned long long)
			                (h->length - h->left),
			                (unsigned long long)h->length);
		}

		if (h->body == OA__BODY_CHUNKED) {
			r = oa__chunked_decode(&h->chunked, dst, &n, &rest,
			                       err);
			if (r < 0) {
				oa__http_close(h);
				return r;
			}
			if (r == 1)
				body_end(h, rest);
			else if (n == 0)
				continue; /* only framing so far */
		} else if (h->body == OA__BODY_LENGTH) {
			h->left -= n;
			if (h->left == 0)
				body_end(h, 0);
		}
		*got = n;
		return 0;
	}
}

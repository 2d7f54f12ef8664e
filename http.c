/*
 * http.c -- just enough HTTP/1.1 (and TLS) to post a request and stream
 * the answer.
 *
 * One job: turn (method, path, headers, body) into a response head and a
 * stream of body bytes. Nothing here knows what the bytes mean.
 *
 * A connection goes through these states:
 *   closed (fd < 0) -> connected [-> CONNECT tunnel] [-> TLS] -> request
 *   written -> head read -> body being read -> body done, and then either
 *   back to "connected" (HTTP/1.1 keep-alive, body read to its exact end,
 *   nothing stray after it) or closed. A caller that stops reading at
 *   [DONE] leaves the last chunk unread: the next request first takes
 *   whatever of it has already arrived, without waiting, and reuses the
 *   connection if that reaches the end. A reused connection that the
 *   server closed while it sat idle fails before the first response byte;
 *   the request is then sent once more on a fresh connection, so callers
 *   never see it.
 *
 * Retries live in oa__http_request too, because only here is it known
 * that nothing of the answer has been handed out: a refused connection,
 * a fresh connection dropped before any answer, and HTTP 429 and 503
 * (servers say that while a model loads) are tried again after an
 * exponential, jittered pause that oa_interrupt() cuts short.
 *
 * Buffers: the head buffer (max_header bytes, allocated at the first
 * request and kept). The head is read into it; body bytes that arrived
 * with the head stay there and are handed out first. After that the body
 * is received straight into the caller's memory and de-chunked in place,
 * so streaming copies nothing and allocates nothing. With TLS, BearSSL's
 * record buffer (BR_SSL_BUFSIZE_BIDI) and the trust anchors are allocated
 * once per client by oa__http_configure.
 *
 * The socket is non-blocking from the start. Every wait -- connect, send,
 * receive -- goes through wait_fd(), which polls the socket together with
 * the cancel pipe and enforces the idle timeout and the request deadline.
 * read_some() and write_some() are the only functions that move bytes;
 * with TLS they drive the BearSSL engine, whose records travel through
 * sock_read() and sock_write(), so timeouts and cancellation work the
 * same with and without TLS.
 *
 * Tracing (debug) writes the exchange to stderr as it happens: "oa: > "
 * for what is sent, "oa: < " for what is received, the Authorization
 * value replaced, so the key never reaches a log.
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

#ifndef OA_NO_TLS
#include <bearssl.h>
#endif

#include "oa_private.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* where it is missing, SO_NOSIGPIPE is set instead */
#endif

/* A read told not to wait found nothing (read_some and below). */
#define AGAIN 2
/* sock_write: the server answered before taking the whole request. */
#define EARLY 3
/* Most bytes of an unread body taken in before the next request, and of
 * a 429/503 body thrown away before a retry; more closes the connection. */
#define DISCARD_MAX (256 * 1024)
/* Retry pauses: base, doubling per attempt up to the cap; Retry-After is
 * honoured up to its own cap. */
#define BACKOFF_BASE_MS 500
#define BACKOFF_MAX_MS 8000
#define RETRY_AFTER_MAX_MS 30000

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

/* Visible ASCII and blanks only: a captured header value is sent back. */
static int
all_printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < ' ' || s[i] == 0x7f)
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

/* ---------------------------------------------------------------- tracing */

/* Case-insensitive: is s[0..n) exactly lit? */
static int
ieq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/*
 * Write s[0..n) to stderr as whole lines, each after "oa: > " (dir '>',
 * sent) or "oa: < " (received); a line left open at the end is closed.
 * In a head (head set), the value of an Authorization or
 * Proxy-Authorization header is never written.
 */
static void
trace(const oa__http *h, char dir, const char *s, size_t n, int head)
{
	const char *eol, *colon;
	size_t len, k;

	if (!h->debug)
		return;
	while (n > 0) {
		eol = memchr(s, '\n', n);
		len = eol ? (size_t)(eol - s) + 1 : n;
		k = len;
		while (k > 0 && (s[k - 1] == '\n' || s[k - 1] == '\r'))
			k--;
		colon = head ? memchr(s, ':', k) : NULL;
		if (colon && (ieq(s, (size_t)(colon - s), "authorization") ||
		              ieq(s, (size_t)(colon - s),
		                  "proxy-authorization")))
			fprintf(stderr, "oa: %c %.*s Bearer [redacted]\n", dir,
			        (int)(colon - s + 1), s);
		else
			fprintf(stderr, "oa: %c %.*s\n", dir, (int)k, s);
		s += len;
		n -= len;
	}
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
			return oa__fail(err, OA_ERR_INTERRUPTED, "interrupted");
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
			return oa__fail(err, OA_ERR_INTERRUPTED, "interrupted");
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

	host_port(&h->url, 0, hp, sizeof hp);
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
 * with nowait it returns AGAIN instead of waiting.
 */
static int
sock_read(oa__http *h, void *dst, size_t room, size_t *got, int nowait,
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
			return AGAIN;
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

static int
sock_write(oa__http *h, const void *src, size_t n, size_t *put, char *err)
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
				return EARLY;
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
			return EARLY;
	}
}

/* ---------------------------------------------------------------- TLS */
#ifndef OA_NO_TLS

/*
 * BearSSL does the TLS; we give it bytes. The client context, the X.509
 * validator and the record buffer live in one allocation per client, and
 * the engine is reset for every new connection. Chain validation is
 * br_x509_minimal's, wrapped by a small class of ours (struct check) for
 * two things it cannot do: accept anything when insecure is on, and
 * match a host given as an IP address against the certificate's
 * iPAddress names (BearSSL matches dNSName only; an IP literal is not sent
 * as SNI either, as RFC 6066 says).
 */

/* The server's certificate is kept this far for the iPAddress check; a
 * larger one cannot match an IP literal host. */
#define EE_MAX 8192

struct check {
	const br_x509_class *vtable;  /* first: BearSSL calls through it */
	struct oa__tls *t;
};

struct oa__tls {
	br_ssl_client_context sc;
	br_x509_minimal_context xc;   /* the real validation */
	struct check chk;             /* ours, around xc */
	br_x509_decoder_context dec;  /* insecure: the server's key */
	br_x509_trust_anchor *ta;     /* each ta's dn.data is its allocation */
	size_t nta, cap;
	int insecure;
	int on;                       /* the connection is in TLS */
	int ncert;                    /* certificates of the chain so far */
	unsigned char ip[16];         /* the host as an address */
	size_t iplen;                 /* 4, 16, or 0 for a name */
	unsigned char ee[EE_MAX];     /* the server's certificate (DER) */
	size_t ee_len;                /* > EE_MAX: too large, not kept */
	unsigned char io[BR_SSL_BUFSIZE_BIDI];
};

/* BearSSL's error codes in words, with the number kept for searching. */
static int
tls_fail(const oa__http *h, int e, char *err)
{
	char hp[280];
	const char *why;

	host_port(&h->url, 0, hp, sizeof hp);
	switch (e) {
	case BR_ERR_X509_NOT_TRUSTED:
		why = "certificate signed by an unknown authority (give its CA "
		      "with ca_file or SSL_CERT_FILE)";
		break;
	case BR_ERR_X509_EXPIRED:
		why = "certificate expired or not yet valid";
		break;
	case BR_ERR_X509_BAD_SERVER_NAME:
		why = "certificate name mismatch: it is not for this host";
		break;
	case BR_ERR_X509_EMPTY_CHAIN:
		why = "the server sent no certificate";
		break;
	case BR_ERR_X509_TIME_UNKNOWN:
		why = "the current time is unknown, so the certificate "
		      "cannot be checked";
		break;
	case BR_ERR_UNSUPPORTED_VERSION:
	case BR_ERR_BAD_VERSION:
		why = "handshake failure: no TLS version in common, or the "
		      "server does not speak TLS on this port";
		break;
	case BR_ERR_NO_RANDOM:
		why = "no random source for TLS";
		break;
	case BR_ERR_RECV_FATAL_ALERT + 70:
		why = "handshake failure: the server wants a TLS version "
		      "BearSSL lacks (it speaks 1.0 to 1.2)";
		break;
	default:
		if (e >= BR_ERR_SEND_FATAL_ALERT)
			why = "handshake failure (alert sent)";
		else if (e >= BR_ERR_RECV_FATAL_ALERT)
			why = "handshake failure: the server sent a fatal "
			      "alert";
		else if (e >= BR_ERR_X509_OK && e < BR_ERR_X509_OK + 32)
			why = "the certificate chain is invalid";
		else
			why = "handshake or record failure";
	}
	return oa__fail(err, OA_ERR_TLS, "TLS with %s: %s (BearSSL error %d)",
	                hp, why, e);
}

/* ------------------------------------------- the certificate check class */

static struct oa__tls *
chk_tls(const br_x509_class *const *ctx)
{
	return ((const struct check *)(const void *)ctx)->t;
}

/* One DER element at *p: its tag and contents [*v, *v + *n); *p moves past
 * it. -1, changing nothing, when it does not fit before end. */
static int
der_next(const unsigned char **p, const unsigned char *end, int *tag,
         const unsigned char **v, size_t *n)
{
	const unsigned char *s = *p;
	size_t len, k;
	int t;

	if (end - s < 2)
		return -1;
	t = *s++;
	len = *s++;
	if (len & 0x80) {
		k = len & 0x7f;
		if (k == 0 || k > 3 || (size_t)(end - s) < k)
			return -1;
		for (len = 0; k > 0; k--)
			len = len << 8 | *s++;
	}
	if ((size_t)(end - s) < len)
		return -1;
	*tag = t;
	*v = s;
	*n = len;
	*p = s + len;
	return 0;
}

/* Step into the element at *p, which must have tag want: [*p, *end)
 * becomes its contents. */
static int
der_in(const unsigned char **p, const unsigned char **end, int want)
{
	const unsigned char *v;
	size_t n;
	int tag;

	if (der_next(p, *end, &tag, &v, &n) != 0 || tag != want)
		return -1;
	*p = v;
	*end = v + n;
	return 0;
}

/* Does the kept certificate list the host's address among its
 * subjectAltName iPAddress entries ([7])? The path is Certificate ->
 * tbsCertificate -> [3] extensions -> the Extension with OID 2.5.29.17
 * -> its OCTET STRING -> GeneralNames. */
static int
ee_has_ip(const struct oa__tls *t)
{
	static const unsigned char san[] = { 0x55, 0x1d, 0x11 };
	const unsigned char *p = t->ee, *end = t->ee + t->ee_len, *v, *e;
	const unsigned char *eend;
	size_t n;
	int tag = 0;

	if (t->ee_len > EE_MAX || der_in(&p, &end, 0x30) != 0 ||
	    der_in(&p, &end, 0x30) != 0)
		return 0;
	while (tag != 0xa3)
		if (der_next(&p, end, &tag, &v, &n) != 0)
			return 0;
	p = v;
	end = v + n;
	if (der_in(&p, &end, 0x30) != 0)
		return 0;
	while (der_next(&p, end, &tag, &v, &n) == 0) {
		/* Extension: OID, [critical BOOLEAN], OCTET STRING */
		e = v;
		eend = v + n;
		if (der_next(&e, eend, &tag, &v, &n) != 0 || tag != 0x06 ||
		    n != sizeof san || memcmp(v, san, n) != 0)
			continue;
		if (der_next(&e, eend, &tag, &v, &n) != 0 ||
		    (tag == 0x01 && der_next(&e, eend, &tag, &v, &n) != 0) ||
		    tag != 0x04)
			return 0;
		e = v;
		eend = v + n;
		if (der_in(&e, &eend, 0x30) != 0)
			return 0;
		while (der_next(&e, eend, &tag, &v, &n) == 0)
			if (tag == 0x87 && n == t->iplen &&
			    memcmp(v, t->ip, n) == 0)
				return 1;
		return 0;
	}
	return 0;
}

static void
chk_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct oa__tls *t = chk_tls(ctx);

	t->ncert = 0;
	t->ee_len = 0;
	if (!t->insecure)
		t->xc.vtable->start_chain(&t->xc.vtable,
		                          t->iplen ? NULL : server_name);
}

static void
chk_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct oa__tls *t = chk_tls(ctx);

	if (t->ncert == 0 && t->insecure)
		br_x509_decoder_init(&t->dec, 0, 0);
	if (!t->insecure)
		t->xc.vtable->start_cert(&t->xc.vtable, length);
}

static void
chk_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct oa__tls *t = chk_tls(ctx);

	if (t->ncert == 0) {
		if (t->insecure)
			br_x509_decoder_push(&t->dec, buf, len);
		if (t->ee_len <= EE_MAX && len <= EE_MAX - t->ee_len) {
			memcpy(t->ee + t->ee_len, buf, len);
			t->ee_len += len;
		} else {
			t->ee_len = EE_MAX + 1;
		}
	}
	if (!t->insecure)
		t->xc.vtable->append(&t->xc.vtable, buf, len);
}

static void
chk_end_cert(const br_x509_class **ctx)
{
	struct oa__tls *t = chk_tls(ctx);

	if (!t->insecure)
		t->xc.vtable->end_cert(&t->xc.vtable);
	t->ncert++;
}

/* insecure: whatever the chain, the server's key is taken as it is -- no
 * signature, date, name or trust is checked. That is the whole point of
 * the option, and why it is off unless asked for. */
static unsigned
chk_end_chain(const br_x509_class **ctx)
{
	struct oa__tls *t = chk_tls(ctx);
	unsigned r;

	if (t->insecure)
		return t->ncert == 0 ? BR_ERR_X509_EMPTY_CHAIN :
		       (unsigned)br_x509_decoder_last_error(&t->dec);
	r = t->xc.vtable->end_chain(&t->xc.vtable);
	if (r == 0 && t->iplen != 0 && !ee_has_ip(t))
		r = BR_ERR_X509_BAD_SERVER_NAME;
	return r;
}

static const br_x509_pkey *
chk_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct oa__tls *t = chk_tls(ctx);

	if (!t->insecure)
		return t->xc.vtable->get_pkey(&t->xc.vtable, usages);
	if (usages != NULL)
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return br_x509_decoder_get_pkey(&t->dec);
}

static const br_x509_class check_class = {
	sizeof(struct check), chk_start_chain, chk_start_cert, chk_append,
	chk_end_cert, chk_end_chain, chk_get_pkey
};

/* ------------------------------------------------------- trust anchors */

static void
to_buf(void *ctx, const void *data, size_t len)
{
	oa__buf_append(ctx, data, len);
}

/* Make a trust anchor of one certificate: its subject DN and public key,
 * copied into one allocation. A certificate BearSSL cannot use (an
 * unsupported key type) is skipped. */
static int
add_anchor(const oa__http *h, struct oa__tls *t, const oa__buf *der,
           oa__buf *dn)
{
	br_x509_decoder_context d;
	const br_x509_pkey *pk;
	br_x509_trust_anchor *ta;
	unsigned char *mem;
	size_t a, b;

	oa__buf_reset(dn);
	br_x509_decoder_init(&d, to_buf, dn);
	br_x509_decoder_push(&d, der->p, der->len);
	if (dn->err)
		return OA_ERR_NOMEM;
	if ((pk = br_x509_decoder_get_pkey(&d)) == NULL)
		return 0;
	if (t->nta == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;

		if (cap > (size_t)-1 / sizeof *ta)
			return OA_ERR_NOMEM;
		ta = oa__realloc(h->alloc, t->ta, cap * sizeof *ta);
		if (ta == NULL)
			return OA_ERR_NOMEM;
		t->ta = ta;
		t->cap = cap;
	}
	if (pk->key_type == BR_KEYTYPE_RSA) {
		a = pk->key.rsa.nlen;
		b = pk->key.rsa.elen;
	} else {
		a = pk->key.ec.qlen;
		b = 0;
	}
	if ((mem = oa__malloc(h->alloc, dn->len + a + b)) == NULL)
		return OA_ERR_NOMEM;
	ta = &t->ta[t->nta++];
	memset(ta, 0, sizeof *ta);
	memcpy(mem, dn->p, dn->len);
	ta->dn.data = mem;
	ta->dn.len = dn->len;
	ta->flags = br_x509_decoder_isCA(&d) ? BR_X509_TA_CA : 0;
	ta->pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		memcpy(mem + dn->len, pk->key.rsa.n, a);
		memcpy(mem + dn->len + a, pk->key.rsa.e, b);
		ta->pkey.key.rsa.n = mem + dn->len;
		ta->pkey.key.rsa.nlen = a;
		ta->pkey.key.rsa.e = mem + dn->len + a;
		ta->pkey.key.rsa.elen = b;
	} else {
		memcpy(mem + dn->len, pk->key.ec.q, a);
		ta->pkey.key.ec.curve = pk->key.ec.curve;
		ta->pkey.key.ec.q = mem + dn->len;
		ta->pkey.key.ec.qlen = a;
	}
	return 0;
}

/* Read every CERTIFICATE of a PEM file as a trust anchor. The file
 * streams through the PEM decoder; only one certificate is held at a
 * time. */
static int
load_anchors(const oa__http *h, struct oa__tls *t, const char *path,
             char *err)
{
	br_pem_decoder_context pem;
	oa__buf der, dn;
	char chunk[4096], q[200] = "";
	const char *name;
	size_t n, k;
	int r = 0, in_cert = 0, last = 0;
	FILE *f;

	oa__quote(q, sizeof q, path, strlen(path), 160);
	if ((f = fopen(path, "rb")) == NULL)
		return oa__fail(err, OA_ERR_TLS, "cannot read the CA file "
		                "%s: %s", q, strerror(errno));
	memset(&der, 0, sizeof der);
	memset(&dn, 0, sizeof dn);
	der.alloc = dn.alloc = h->alloc;
	der.limit = dn.limit = 1024 * 1024;
	br_pem_decoder_init(&pem);
	while (r == 0 && !last) {
		n = fread(chunk, 1, sizeof chunk, f);
		if (n == 0) {
			/* A file that ends right after the END line still
			 * ends that line. */
			last = 1;
			chunk[0] = '\n';
			n = 1;
		}
		for (k = 0; r == 0 && k < n;) {
			k += br_pem_decoder_push(&pem, chunk + k, n - k);
			switch (br_pem_decoder_event(&pem)) {
			case BR_PEM_BEGIN_OBJ:
				name = br_pem_decoder_name(&pem);
				in_cert = strcmp(name, "CERTIFICATE") == 0 ||
				          strcmp(name, "X509 CERTIFICATE") == 0;
				oa__buf_reset(&der);
				br_pem_decoder_setdest(&pem, in_cert ? to_buf :
				                       NULL, &der);
				break;
			case BR_PEM_END_OBJ:
				if (in_cert && der.err)
					r = der.err;
				else if (in_cert)
					r = add_anchor(h, t, &der, &dn);
				in_cert = 0;
				break;
			case BR_PEM_ERROR:
				r = oa__fail(err, OA_ERR_TLS, "the CA file %s "
				             "is not valid PEM", q);
				break;
			}
		}
	}
	if (r == 0 && ferror(f))
		r = oa__fail(err, OA_ERR_TLS, "cannot read the CA file %s: "
		             "%s", q, strerror(errno));
	fclose(f);
	oa__buf_free(&der);
	oa__buf_free(&dn);
	if (r == OA_ERR_NOMEM)
		return oa__fail(err, r, "out of memory for the trust anchors");
	if (r == OA_ERR_LIMIT)
		return oa__fail(err, OA_ERR_TLS, "a certificate in the CA "
		                "file %s is larger than 1 MB", q);
	if (r == 0 && t->nta == 0)
		r = oa__fail(err, OA_ERR_TLS, "the CA file %s holds no "
		             "certificate", q);
	return r;
}

static void
tls_free(oa__http *h)
{
	size_t i;

	if (h->tls == NULL)
		return;
	for (i = 0; i < h->tls->nta; i++)
		oa__free(h->alloc, h->tls->ta[i].dn.data);
	oa__free(h->alloc, h->tls->ta);
	oa__free(h->alloc, h->tls);
	h->tls = NULL;
}

/* Once per client: the engine's memory and the trust anchors. */
static int
tls_setup(oa__http *h, const char *ca_file, char *err)
{
	struct oa__tls *t;

	tls_free(h);
	if ((t = oa__malloc(h->alloc, sizeof *t)) == NULL)
		return oa__fail(err, OA_ERR_NOMEM, "out of memory for TLS");
	memset(t, 0, sizeof *t);
	h->tls = t;
	t->chk.vtable = &check_class;
	t->chk.t = t;
	t->insecure = h->insecure;
	if (inet_pton(AF_INET, h->url.host, t->ip) == 1)
		t->iplen = 4;
	else if (inet_pton(AF_INET6, h->url.host, t->ip) == 1)
		t->iplen = 16;
	if (t->insecure)
		return 0;
	if (ca_file == NULL || ca_file[0] == '\0')
		ca_file = getenv("SSL_CERT_FILE");
	if (ca_file == NULL || ca_file[0] == '\0')
		ca_file = "/etc/ssl/certs/ca-certificates.crt";
	return load_anchors(h, t, ca_file, err);
}

/* A new connection: a fresh handshake (BearSSL seeds its generator from
 * the system on its own). SNI and the name check use the URL's host. */
static int
tls_start(oa__http *h, char *err)
{
	struct oa__tls *t = h->tls;

	br_ssl_client_init_full(&t->sc, &t->xc, t->ta, t->nta);
	br_ssl_engine_set_x509(&t->sc.eng, &t->chk.vtable);
	br_ssl_engine_set_buffer(&t->sc.eng, t->io, sizeof t->io, 1);
	if (!br_ssl_client_reset(&t->sc, t->iplen ? NULL : h->url.host, 0))
		return tls_fail(h, br_ssl_engine_last_error(&t->sc.eng), err);
	t->on = 1;
	return 0;
}

/*
 * Run the engine until its state has want (BR_SSL_SENDAPP or
 * BR_SSL_RECVAPP): records waiting to go out are sent first, then records
 * are received. Returns 0; 1 when the connection has ended (close_notify
 * or a plain close); AGAIN when nowait and nothing had arrived; or a
 * negative oa_err.
 */
static int
tls_run(oa__http *h, unsigned want, int nowait, char *err)
{
	br_ssl_engine_context *e = &h->tls->sc.eng;
	unsigned char *buf;
	unsigned st;
	size_t len, n;
	int r, flushed = 0;

	for (;;) {
		st = br_ssl_engine_current_state(e);
		if (st & BR_SSL_CLOSED) {
			r = br_ssl_engine_last_error(e);
			return r == BR_ERR_OK ? 1 : tls_fail(h, r, err);
		}
		if (st & BR_SSL_SENDREC) {
			buf = br_ssl_engine_sendrec_buf(e, &len);
			if ((r = sock_write(h, buf, len, &n, err)) != 0)
				return r;
			br_ssl_engine_sendrec_ack(e, n);
			continue;
		}
		if (st & want)
			return 0;
		if (st & BR_SSL_RECVAPP)
			return oa__fail(err, OA_ERR_PROTOCOL, "the server sent "
			                "data before the request was sent");
		if (st & BR_SSL_RECVREC) {
			buf = br_ssl_engine_recvrec_buf(e, &len);
			r = sock_read(h, buf, len, &n, nowait, err);
			if (r != 0)
				return r;
			if (n == 0)
				return 1;
			br_ssl_engine_recvrec_ack(e, n);
			continue;
		}
		/* Payload waits in the engine for a record to be closed. */
		if (flushed++)
			return oa__fail(err, OA_ERR_TLS, "the TLS engine is "
			                "stuck (state %u)", st);
		br_ssl_engine_flush(e, 0);
	}
}

#endif /* OA_NO_TLS */

/* ---------------------------------------------------------------- bytes */

/*
 * The two functions that move payload bytes, through TLS when it is on.
 * Each blocks until it moved at least one byte. read_some: *got == 0
 * means the peer closed; with nowait it returns AGAIN instead of waiting.
 */
static int
read_some(oa__http *h, char *dst, size_t room, size_t *got, int nowait,
          char *err)
{
#ifndef OA_NO_TLS
	if (h->tls != NULL && h->tls->on) {
		br_ssl_engine_context *e = &h->tls->sc.eng;
		unsigned char *buf;
		size_t len;
		int r = tls_run(h, BR_SSL_RECVAPP, nowait, err);

		*got = 0;
		if (r == 1)
			return 0;
		if (r != 0)
			return r;
		buf = br_ssl_engine_recvapp_buf(e, &len);
		if (len > room)
			len = room;
		memcpy(dst, buf, len);
		br_ssl_engine_recvapp_ack(e, len);
		*got = len;
		return 0;
	}
#endif
	return sock_read(h, dst, room, got, nowait, err);
}

static int
write_some(oa__http *h, const char *src, size_t n, size_t *put, char *err)
{
#ifndef OA_NO_TLS
	if (h->tls != NULL && h->tls->on) {
		br_ssl_engine_context *e = &h->tls->sc.eng;
		unsigned char *buf;
		size_t len;
		int r = tls_run(h, BR_SSL_SENDAPP, 0, err);

		if (r == 1) {
			errno = ECONNRESET;
			return io_fail(h, "send to", err);
		}
		if (r != 0)
			return r;
		buf = br_ssl_engine_sendapp_buf(e, &len);
		if (len > n)
			len = n;
		memcpy(buf, src, len);
		br_ssl_engine_sendapp_ack(e, len);
		*put = len;
		return 0;
	}
#endif
	return sock_write(h, src, n, put, err);
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
#ifndef OA_NO_TLS
	/* Close the record; the next engine run sends it. */
	if (h->tls != NULL && h->tls->on)
		br_ssl_engine_flush(&h->tls->sc.eng, 0);
#endif
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

/* Resolve to (the server or the proxy) and connect to the first address
 * that answers. *refused: the last address refused the connection, which
 * is worth retrying (a server still starting). */
static int
dial(oa__http *h, const oa__url *to, int *refused, char *err)
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
	host_port(to, 0, hp, sizeof hp);
	if (e == ETIMEDOUT && h->connect_timeout_ms >= 0)
		return oa__fail(err, OA_ERR_CONNECT_TIMEOUT, "no connection to "
		                "%s%s within %d ms", what, hp,
		                h->connect_timeout_ms);
	*refused = e == ECONNREFUSED;
	return oa__fail(err, OA_ERR_CONNECT, "connect to %s%s: %s", what, hp,
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

	h->retry_after_ms = -1;
	h->captured[0] = '\0';

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
		} else if (ieq(line, len, "retry-after") && vlen > 0 &&
		           all_in(v, vlen, "0123456789")) {
			/* Seconds; the HTTP-date form is ignored. */
			for (i = 0, x = 0; i < vlen && x <= 30; i++)
				x = x * 10 + (uint64_t)(v[i] - '0');
			h->retry_after_ms = x > RETRY_AFTER_MAX_MS / 1000 ?
			                    RETRY_AFTER_MAX_MS : (int)x * 1000;
		} else if (ieq(line, len, "connection")) {
			conn_close |= has_token(v, vlen, "close");
		} else if (ieq(line, len, "location")) {
			/* kept only to say where a redirect pointed */
			for (i = 0; i < vlen && i + 1 < sizeof h->location &&
			            v[i] >= ' ' && v[i] < 0x7f; i++)
				h->location[i] = v[i];
			h->location[i] = '\0';
		} else if (ieq(line, len, "content-type")) {
			char *ct = h->content_type;

			for (i = 0; i < vlen && v[i] != ';' &&
			            i + 1 < sizeof h->content_type; i++)
				ct[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ?
				               v[i] | 0x20 : v[i]);
			while (i > 0 && (ct[i - 1] == ' ' || ct[i - 1] == '\t'))
				i--;
			ct[i] = '\0';
		} else if (h->capture && ieq(line, len, h->capture) &&
		           vlen < sizeof h->captured &&
		           all_printable(v, vlen)) {
			memcpy(h->captured, v, vlen);
			h->captured[vlen] = '\0';
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
	size_t end, from = 0, n = 0;
	const char *nl;
	int r;

	for (;;) {
		end = head_end(h->head, h->head_len, from);
		if (end != 0) {
			trace(h, '<', h->head, end, 0);
			r = parse_head(h, h->head, end, is_head, err);
			if (r != 0)
				return r;
			if (h->status >= 200)
				break;
			/* An interim response (100 Continue): skip it. */
			h->head_len -= end;
			memmove(h->head, h->head + end, h->head_len);
			h->content_type[0] = '\0';
			h->location[0] = '\0';
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
		              h->head_cap - h->head_len, &n, 0, err);
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

/* ---------------------------------------------------------------- proxies */

/* Loopback names and addresses never go through a proxy. */
static int
is_loopback(const char *host)
{
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (strncmp(host, "127.", 4) == 0 && inet_pton(AF_INET, host, &a6) == 1)
		return 1;
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	       memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
}

/* Does host match the no_proxy list? As curl reads it: comma-separated
 * names, each matching itself and its subdomains, a leading dot optional,
 * a ":port" ignored; "*" matches every host. */
static int
no_proxy_match(const char *list, const char *host)
{
	const char *s = list, *e, *c;
	size_t n, hn = strlen(host);

	while (s != NULL && *s != '\0') {
		s += strspn(s, " \t,");
		n = strcspn(s, ",");
		e = s;
		s += n;
		while (n > 0 && (e[n - 1] == ' ' || e[n - 1] == '\t'))
			n--;
		if (n == 1 && e[0] == '*')
			return 1;
		if (n > 0 && e[0] == '[' && (c = memchr(e, ']', n)) != NULL) {
			e++;
			n = (size_t)(c - e);
		} else if ((c = memchr(e, ':', n)) != NULL &&
		           !memchr(c + 1, ':', n - (size_t)(c + 1 - e))) {
			n = (size_t)(c - e);
		}
		if (n > 0 && e[0] == '.')
			e++, n--;
		if (n > 0 && n <= hn &&
		    strncasecmp(host + hn - n, e, n) == 0 &&
		    (n == hn || host[hn - n - 1] == '.'))
			return 1;
	}
	return 0;
}

/* Choose the proxy as curl does: the option, else http_proxy or
 * https_proxy by the URL's scheme (lower case first), unless the host is
 * loopback or matches no_proxy. Only http://host[:port] proxies. */
static int
pick_proxy(oa__http *h, const char *proxy, char *err)
{
	const char *np = NULL;
	char url[600], msg[OA__ERRLEN] = "", q[80] = "";

	h->use_proxy = 0;
	if (proxy == NULL) {
		proxy = getenv(h->url.tls ? "https_proxy" : "http_proxy");
		if (proxy == NULL || proxy[0] == '\0')
			proxy = getenv(h->url.tls ? "HTTPS_PROXY" :
			               "HTTP_PROXY");
		np = getenv("no_proxy");
		if (np == NULL || np[0] == '\0')
			np = getenv("NO_PROXY");
	}
	if (proxy == NULL || proxy[0] == '\0' || is_loopback(h->url.host) ||
	    no_proxy_match(np, h->url.host))
		return 0;
	oa__quote(q, sizeof q, proxy, strlen(proxy), 60);
	if (snprintf(url, sizeof url, "%s%s", strstr(proxy, "://") ? "" :
	             "http://", proxy) >= (int)sizeof url)
		return oa__fail(err, OA_ERR_URL, "the proxy URL is too long");
	if (oa__url_parse(&h->proxy, url, msg) != 0)
		return oa__fail(err, OA_ERR_URL, "bad proxy \"%s\": %s", q,
		                msg);
	if (h->proxy.tls || h->proxy.path[0] != '\0')
		return oa__fail(err, OA_ERR_URL, "unsupported proxy \"%s\": "
		                "only http://host:port proxies are", q);
	h->use_proxy = 1;
	return 0;
}

#ifndef OA_NO_TLS
/* Ask the proxy for a tunnel to the server; TLS then runs inside it. */
static int
tunnel(oa__http *h, char *err)
{
	char hp[280], px[280], line[640];
	size_t seen = 0;
	int r, n;

	host_port(&h->url, 0, hp, sizeof hp);
	host_port(&h->proxy, 0, px, sizeof px);
	n = snprintf(line, sizeof line, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n"
	             "User-Agent: openagent/" OA_VERSION "\r\n\r\n", hp, hp);
	trace(h, '>', line, (size_t)n, 1);
	h->head_len = h->head_off = 0;
	if ((r = write_all(h, line, (size_t)n, err)) != 0 ||
	    (r = read_head(h, 1, &seen, err)) != 0)
		return r;
	if (h->status < 200 || h->status > 299)
		return oa__fail(err, OA_ERR_CONNECT, "the proxy %s refused a "
		                "tunnel to %s: HTTP %d", px, hp, h->status);
	if (h->head_off < h->head_len)
		return oa__fail(err, OA_ERR_PROTOCOL, "the proxy %s sent bytes "
		                "after its answer to CONNECT", px);
	return 0;
}
#endif

/* A new connection, ready for the request: to the server or the proxy,
 * through a tunnel and TLS as configured. */
static int
open_conn(oa__http *h, int *refused, char *err)
{
	int r = dial(h, h->use_proxy ? &h->proxy : &h->url, refused, err);

#ifndef OA_NO_TLS
	if (r == 0 && h->tls != NULL) {
		if (h->use_proxy)
			r = tunnel(h, err);
		if (r == 0)
			r = tls_start(h, err);
		if (r != 0)
			oa__http_close(h);
	}
#endif
	return r;
}

/* ---------------------------------------------------------------- set-up */

static int
env_on(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* see oa_private.h */
OA_PRIVATE void
oa__http_init(oa__http *h)
{
	memset(h, 0, sizeof *h);
	h->fd = -1;
	h->cancel_fd = -1;
	h->retry_after_ms = -1;
}

/* see oa_private.h */
OA_PRIVATE int
oa__http_configure(oa__http *h, const oa_options *o, char *err)
{
	int r;

	if (o->max_retries < 0 && o->max_retries != OA_OMIT)
		return oa__fail(err, OA_ERR_INVALID, "max_retries must be 0 "
		                "(the default), positive or OA_OMIT");
	h->connect_timeout_ms = o->connect_timeout_ms == 0 ?
	                        OA_DEFAULT_CONNECT_TIMEOUT_MS :
	                        o->connect_timeout_ms < 0 ? -1 :
	                        o->connect_timeout_ms;
	h->read_timeout_ms = o->read_timeout_ms == 0 ?
	                     OA_DEFAULT_READ_TIMEOUT_MS :
	                     o->read_timeout_ms < 0 ? -1 : o->read_timeout_ms;
	h->request_timeout_ms = o->request_timeout_ms > 0 ?
	                        o->request_timeout_ms : 0;
	h->max_header = o->max_header_bytes ? o->max_header_bytes :
	                OA_MAX_HEADER_BYTES;
	h->max_retries = o->max_retries == OA_OMIT ? 0 : o->max_retries ?
	                 o->max_retries : OA_DEFAULT_MAX_RETRIES;
	h->debug = o->debug || env_on("OA_DEBUG");
	h->insecure = o->insecure || env_on("OPEN_AGENT_INSECURE");
	/* Jitter differs between clients started in the same millisecond. */
	h->rng = (uint32_t)oa__now_ms() ^ (uint32_t)(uintptr_t)h ^ 0x9e3779b9u;
	if (h->rng == 0)
		h->rng = 1;
	if ((r = pick_proxy(h, o->proxy, err)) != 0)
		return r;
	if (!h->url.tls)
		return 0;
#ifdef OA_NO_TLS
	return oa__fail(err, OA_ERR_URL, "https:// needs a build with TLS");
#else
	return tls_setup(h, o->ca_file, err);
#endif
}

/* see oa_private.h */
OA_PRIVATE void
oa__http_close(oa__http *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
#ifndef OA_NO_TLS
	if (h->tls != NULL)
		h->tls->on = 0;
#endif
}

/* see oa_private.h */
OA_PRIVATE void
oa__http_free(oa__http *h)
{
	oa__http_close(h);
	oa__free(h->alloc, h->head);
	h->head = NULL;
	h->head_cap = h->head_len = h->head_off = 0;
#ifndef OA_NO_TLS
	tls_free(h);
#endif
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

/* oa__http_read, and with nowait the same without waiting: AGAIN when no
 * byte of the body had arrived. */
static int
body_read(oa__http *h, char *dst, size_t room, size_t *got, int nowait,
          char *err)
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
		} else if ((r = read_some(h, dst, n, &n, nowait, err)) != 0) {
			if (r != AGAIN)
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
		trace(h, '<', dst, n, 0);
		*got = n;
		return 0;
	}
}

/* see oa_private.h */
OA_PRIVATE int
oa__http_read(oa__http *h, char *dst, size_t room, size_t *got, char *err)
{
	return body_read(h, dst, room, got, 0, err);
}

/* Read the rest of a body and throw it away, up to DISCARD_MAX bytes.
 * nowait: only what has already arrived. Afterwards either the body is
 * done or the connection is closed. Returns 0 or an oa_err that should
 * end the request (interrupted, deadline); other failures just close. */
static int
discard(oa__http *h, int nowait)
{
	char tmp[4096], e[OA__ERRLEN];
	size_t got, total = 0;
	int r = 0;

	e[0] = '\0';
	while (h->fd >= 0 && !h->body_done && total < DISCARD_MAX) {
		r = body_read(h, tmp, sizeof tmp, &got, nowait, e);
		if (r != 0)
			break;
		total += got;
	}
	if (!h->body_done)
		oa__http_close(h);
	return r == OA_ERR_INTERRUPTED || r == OA_ERR_DEADLINE ? r : 0;
}

/* ---------------------------------------------------------------- request */

/* The pause before retry number tries + 1: exponential, with "equal
 * jitter" (half fixed, half random) so clients do not retry in step. */
static int
backoff(oa__http *h, int tries)
{
	int base = BACKOFF_BASE_MS << (tries < 5 ? tries : 5);

	if (base > BACKOFF_MAX_MS)
		base = BACKOFF_MAX_MS;
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 17;
	h->rng ^= h->rng << 5;
	return base / 2 + (int)(h->rng % (uint32_t)(base / 2 + 1));
}

/* Sleep ms, waking early for oa_interrupt(). */
static int
pause_ms(oa__http *h, int ms, char *err)
{
	struct pollfd pf;
	int64_t until = oa__now_ms() + ms, now;
	int r;

	for (;;) {
		if (h->cancelled != NULL && *h->cancelled)
			return oa__fail(err, OA_ERR_INTERRUPTED, "interrupted");
		if ((now = oa__now_ms()) >= until)
			return 0;
		pf.fd = h->cancel_fd;
		pf.events = POLLIN;
		pf.revents = 0;
		r = poll(&pf, h->cancel_fd >= 0 ? 1 : 0, (int)(until - now));
		if (r > 0)
			return oa__fail(err, OA_ERR_INTERRUPTED, "interrupted");
		if (r < 0 && errno != EINTR)
			return oa__fail(err, OA_ERR_IO, "poll: %s",
			                strerror(errno));
	}
}

/*
 * One exchange: connect or reuse, send, read the head. A pooled
 * connection that fails before any byte of the answer was idle-closed by
 * the server: the exchange is repeated once on a fresh one. *retry says
 * the failure is one to retry after a pause: a refused connection, or a
 * fresh connection dropped before any byte of the answer.
 */
static int
attempt(oa__http *h, const oa__buf *req, const char *body, size_t body_len,
        int is_head, int *retry, char *err)
{
	size_t seen;
	int r, reused, clean = err != NULL && err[0] == '\0';

	*retry = 0;
	h->status = 0; /* no stale 429 if this attempt fails to connect */
	if (h->fd >= 0 && !(h->keep_alive && h->body_done && idle_ok(h)))
		oa__http_close(h);
	for (;;) {
		reused = h->fd >= 0;
		if (!reused && (r = open_conn(h, retry, err)) != 0)
			return r;
		h->status = 0;
		h->content_type[0] = '\0';
		h->location[0] = '\0';
		h->captured[0] = '\0';
		h->body = OA__BODY_NONE;
		h->keep_alive = 0;
		h->left = h->length = 0;
		memset(&h->chunked, 0, sizeof h->chunked);
		h->body_done = 0;
		h->head_len = h->head_off = 0;
		seen = 0;
		trace(h, '>', req->p, req->len, 1);
		trace(h, '>', body, body_len, 0);
		/* While a plain request is sent, an early answer stops the
		 * sending; TLS records interleave, so not there. */
#ifdef OA_NO_TLS
		h->early_ok = 1;
#else
		h->early_ok = h->tls == NULL || !h->tls->on;
#endif
		r = write_all(h, req->p, req->len, err);
		if (r == 0)
			r = write_all(h, body, body_len, err);
		h->early_ok = 0;
		if (r == EARLY) {
			r = read_head(h, is_head, &seen, err);
			/* the rest of our body was never sent */
			h->keep_alive = 0;
		} else if (r == 0) {
			r = read_head(h, is_head, &seen, err);
		}
		if (r == 0)
			return 0;
		oa__http_close(h);
		if (seen != 0 || r != OA_ERR_IO)
			return r;
		if (!reused) {
			*retry = 1;
			return r;
		}
		if (clean)
			err[0] = '\0';
	}
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
	int r, tries, delay, retry, clean = err != NULL && err[0] == '\0';

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
	if (h->request_timeout_ms > 0)
		h->deadline = oa__now_ms() + h->request_timeout_ms;
	/* The caller stopped at [DONE]; the end of the body may be here. */
	if (h->fd >= 0 && h->keep_alive && !h->body_done)
		discard(h, 1);

	memset(&req, 0, sizeof req);
	req.alloc = h->alloc;
	host_port(&h->url, 1, hp, sizeof hp);
	/* Through a plain proxy the request line names the whole URL. */
	oa__buf_printf(&req, "%s %s%s%s HTTP/1.1\r\nHost: %s\r\n"
	               "User-Agent: openagent/" OA_VERSION "\r\n"
	               "Content-Type: application/json\r\n"
	               "Content-Length: %zu\r\n%s\r\n", method,
	               h->use_proxy && !h->url.tls ? "http://" : "",
	               h->use_proxy && !h->url.tls ? hp : "", path, hp,
	               body_len, extra_headers ? extra_headers : "");
	if (req.err) {
		oa__buf_free(&req);
		return oa__fail(err, OA_ERR_NOMEM, "out of memory for the "
		                "request head");
	}

	for (tries = 0;; tries++) {
		r = attempt(h, &req, body, body_len,
		            strcmp(method, "HEAD") == 0, &retry, err);
		if (tries >= h->max_retries)
			break;
		if (r == 0 && (h->status == 429 || h->status == 503))
			delay = h->retry_after_ms >= 0 ? h->retry_after_ms :
			        backoff(h, tries);
		else if (r != 0 && retry)
			delay = backoff(h, tries);
		else
			break;
		/* No time left to wait: the caller gets this answer. */
		if (h->deadline && oa__now_ms() + delay >= h->deadline)
			break;
		if (r == 0 && (r = discard(h, 0)) != 0)
			break;
		if (h->debug)
			fprintf(stderr, "oa: retry %d of %d in %d ms (%s)\n",
			        tries + 1, h->max_retries, delay, r == 0 ?
			        (h->status == 429 ? "HTTP 429" : "HTTP 503") :
			        err ? err : "");
		if ((r = pause_ms(h, delay, err)) != 0)
			break;
		if (clean)
			err[0] = '\0';
	}
	oa__buf_free(&req);
	return r;
}

/*
 * http.c -- just enough HTTP/1.1 to post a request and stream the answer.
 *
 * One job: turn (method, path, headers, body) into a response head and a
 * stream of body bytes. Nothing here knows what the bytes mean; net.c
 * moves them, and the TLS and proxy modules, when the build has them and
 * the URL asks for them, sit between (see oa__modules).
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
 * so streaming copies nothing and allocates nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "oa_private.h"

/* Most bytes of an unread body taken in before the next request, and of
 * a 429/503 body thrown away before a retry; more closes the connection. */
#define DISCARD_MAX (256 * 1024)
/* A Retry-After is read up to this many seconds (retry.c caps it). */
#define RETRY_AFTER_READ_MAX 1000000

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



/* The exchange on stderr, when tracing is on (trace.c). */
static void
trace(const oa__http *h, char dir, const char *s, size_t n, int head)
{
	if (h->debug)
		oa__modules.trace(dir, s, n, head);
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

/* ---------------------------------------------------------------- bytes */

/*
 * The two functions that move payload bytes, through TLS when it is on.
 * Each blocks until it moved at least one byte. read_some: *got == 0
 * means the peer closed; with nowait it returns OA__AGAIN instead of
 * waiting.
 */
static int
read_some(oa__http *h, char *dst, size_t room, size_t *got, int nowait,
          char *err)
{
	if (h->tls_on)
		return oa__modules.tls->read(h, dst, room, got, nowait, err);
	return oa__net_read(h, dst, room, got, nowait, err);
}

/* see oa_private.h */
OA_PRIVATE int
oa__http_send(oa__http *h, const char *src, size_t n, char *err)
{
	size_t put = 0;
	int r;

	while (n > 0) {
		r = h->tls_on ? oa__modules.tls->write(h, src, n, &put, err)
		              : oa__net_write(h, src, n, &put, err);
		if (r != 0)
			return r;
		src += put;
		n -= put;
	}
	/* Close the record; the next engine run sends it. */
	if (h->tls_on)
		oa__modules.tls->flush(h);
	return 0;
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
		if (b > a && oa__ieq(v + a, b - a, tok))
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

/* A coding of the body that nothing here undoes (we ask for identity, but
 * a server may ignore that): kept, quoted, for the caller to report. */
static void
keep_coding(oa__http *h, const char *name, const char *v, size_t n)
{
	snprintf(h->coding, sizeof h->coding, "%s: ", name);
	oa__quote(h->coding, sizeof h->coding, v, n, 32);
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

		if (oa__ieq(line, len, "content-length")) {
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
		} else if (oa__ieq(line, len, "transfer-encoding")) {
			/* Only the last coding frames the message. */
			te = 1;
			chunked = vlen >= 7 &&
			          oa__ieq(v + vlen - 7, 7, "chunked") &&
			          (vlen == 7 || v[vlen - 8] == ',' ||
			           v[vlen - 8] == ' ' || v[vlen - 8] == '\t');
			/* gzip before chunked: framed, but still gzip */
			if (!oa__ieq(v, vlen, "chunked"))
				keep_coding(h, "Transfer-Encoding", v, vlen);
		} else if (oa__ieq(line, len, "content-encoding")) {
			if (vlen > 0 && !oa__ieq(v, vlen, "identity"))
				keep_coding(h, "Content-Encoding", v, vlen);
		} else if (oa__ieq(line, len, "retry-after") && vlen > 0 &&
		           strspn(v, "0123456789") >= vlen) {
			/* Seconds; the HTTP-date form is ignored. */
			for (i = 0, x = 0; i < vlen &&
			                   x <= RETRY_AFTER_READ_MAX; i++)
				x = x * 10 + (uint64_t)(v[i] - '0');
			h->retry_after_ms = x > RETRY_AFTER_READ_MAX ?
			                    RETRY_AFTER_READ_MAX * 1000 :
			                    (int)x * 1000;
		} else if (oa__ieq(line, len, "connection")) {
			conn_close |= has_token(v, vlen, "close");
		} else if (oa__ieq(line, len, "location")) {
			/* kept only to say where a redirect pointed */
			for (i = 0; i < vlen && i + 1 < sizeof h->location &&
			            v[i] >= ' ' && v[i] < 0x7f; i++)
				h->location[i] = v[i];
			h->location[i] = '\0';
		} else if (oa__ieq(line, len, "content-type")) {
			char *ct = h->content_type;

			for (i = 0; i < vlen && v[i] != ';' &&
			            i + 1 < sizeof h->content_type; i++)
				ct[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ?
				               v[i] | 0x20 : v[i]);
			while (i > 0 && (ct[i - 1] == ' ' || ct[i - 1] == '\t'))
				i--;
			ct[i] = '\0';
		} else if (h->capture && oa__ieq(line, len, h->capture) &&
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
/* see oa_private.h */
OA_PRIVATE int
oa__http_head(oa__http *h, int is_head, size_t *seen, char *err)
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
			h->coding[0] = '\0';
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


/* A new connection, ready for the request: to the server or the proxy,
 * through a tunnel and TLS as configured. */
static int
open_conn(oa__http *h, int *refused, char *err)
{
	int r = oa__net_dial(h, h->use_proxy ? &h->proxy : &h->url, refused,
	                     err);

	if (r == 0 && h->tls != NULL) {
		if (h->use_proxy)
			r = oa__modules.proxy->tunnel(h, err);
		if (r == 0 && (r = oa__modules.tls->start(h, err)) == 0)
			h->tls_on = 1;
		if (r != 0)
			oa__http_close(h);
	}
	return r;
}


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
	if (o->max_retry_after_ms < 0)
		return oa__fail(err, OA_ERR_INVALID, "max_retry_after_ms must "
		                "be 0 (the default) or positive");
	h->max_retry_after_ms = o->max_retry_after_ms ?
	                        o->max_retry_after_ms :
	                        OA_DEFAULT_MAX_RETRY_AFTER_MS;
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
	h->rng = oa__seed(h);
	/* Tracing, proxies and TLS are modules: an option that needs one the
	 * build lacks is refused rather than silently ignored. */
	if (h->debug && oa__modules.trace == NULL) {
		if (o->debug)
			return oa__fail(err, OA_ERR_INVALID, "debug needs "
			                "trace.c, which this build leaves out");
		h->debug = 0;
	}
	if (oa__modules.proxy != NULL) {
		if ((r = oa__modules.proxy->pick(h, o->proxy, err)) != 0)
			return r;
	} else if (o->proxy != NULL && o->proxy[0] != '\0') {
		return oa__fail(err, OA_ERR_INVALID, "proxy needs proxy.c, "
		                "which this build leaves out");
	}
	if ((o->max_retries > 0 || o->max_retry_after_ms > 0) &&
	    oa__modules.retry == NULL)
		return oa__fail(err, OA_ERR_INVALID, "%s needs retry.c, which "
		                "this build leaves out", o->max_retries > 0 ?
		                "max_retries" : "max_retry_after_ms");
	if (!h->url.tls)
		return 0;
	if (oa__modules.tls == NULL)
		return oa__fail(err, OA_ERR_URL, "https:// needs TLS, which "
		                "this build leaves out (tls.c and BearSSL); "
		                "use http:// or a build with TLS");
	return oa__modules.tls->setup(h, o->ca_file, err);
}

/* see oa_private.h */
OA_PRIVATE void
oa__http_close(oa__http *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	h->tls_on = 0;
}

/* see oa_private.h */
OA_PRIVATE void
oa__http_free(oa__http *h)
{
	oa__http_close(h);
	oa__free(h->alloc, h->head);
	h->head = NULL;
	h->head_cap = h->head_len = h->head_off = 0;
	if (h->tls != NULL)
		oa__modules.tls->free(h);
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

/* oa__http_read, and with nowait the same without waiting: OA__AGAIN when no
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
			if (r != OA__AGAIN)
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
/* see oa_private.h */
OA_PRIVATE int
oa__http_discard(oa__http *h, int nowait)
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



/*
 * One exchange: connect or reuse, send, read the head. A pooled
 * connection that fails before any byte of the answer was idle-closed by
 * the server: the exchange is repeated once on a fresh one. *retry says
 * the failure is one to retry after a pause: a refused connection, or a
 * fresh connection dropped before any byte of the answer.
 */
#define RESEND "the kept-alive connection was closed before an answer: " \
               "sending the request again on a new one"

static int
attempt(oa__http *h, const oa__buf *req, const char *body, size_t body_len,
        int is_head, int *retry, char *err)
{
	size_t seen;
	int r, reused, clean = err != NULL && err[0] == '\0';

	*retry = 0;
	h->status = 0; /* no stale 429 if this attempt fails to connect */
	if (h->fd >= 0 && !(h->keep_alive && h->body_done && oa__net_idle_ok(h)))
		oa__http_close(h);
	for (;;) {
		reused = h->fd >= 0;
		if (!reused && (r = open_conn(h, retry, err)) != 0)
			return r;
		h->status = 0;
		h->content_type[0] = '\0';
		h->location[0] = '\0';
		h->captured[0] = '\0';
		h->coding[0] = '\0';
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
		h->early_ok = !h->tls_on;
		r = oa__http_send(h, req->p, req->len, err);
		if (r == 0)
			r = oa__http_send(h, body, body_len, err);
		h->early_ok = 0;
		if (r == OA__EARLY) {
			r = oa__http_head(h, is_head, &seen, err);
			/* the rest of our body was never sent */
			h->keep_alive = 0;
		} else if (r == 0) {
			r = oa__http_head(h, is_head, &seen, err);
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
		/* else the trace shows one request sent twice */
		trace(h, '*', RESEND, sizeof RESEND - 1, 0);
	}
}

/* see oa_private.h */
OA_PRIVATE int
oa__http_request(oa__http *h, const char *method, const char *path,
                 const char *extra_headers, const char *body,
                 size_t body_len, char *err)
{
	oa__buf req;
	char hp[280], url[160];
	const char *s;
	size_t n;
	int r, tries, retry, clean = err != NULL && err[0] == '\0';

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
		oa__http_discard(h, 1);

	memset(&req, 0, sizeof req);
	req.alloc = h->alloc;
	oa__host_port(&h->url, 1, hp, sizeof hp);
	/* Through a plain proxy the request line names the whole URL, and
	 * the proxy's credentials go with every request. A coded body
	 * (gzip) could not be read: identity is asked for, as RFC 9110
	 * otherwise lets the server pick any coding. */
	oa__buf_printf(&req, "%s %s%s%s HTTP/1.1\r\nHost: %s\r\n"
	               "User-Agent: openagent/" OA_VERSION "\r\n"
	               "Accept-Encoding: identity\r\n%s"
	               "Content-Type: application/json\r\n"
	               "Content-Length: %zu\r\n%s\r\n", method,
	               h->use_proxy && !h->url.tls ? "http://" : "",
	               h->use_proxy && !h->url.tls ? hp : "", path, hp,
	               h->use_proxy && !h->url.tls ? h->proxy_auth : "",
	               body_len, extra_headers ? extra_headers : "");
	if (req.err) {
		oa__buf_free(&req);
		return oa__fail(err, OA_ERR_NOMEM, "out of memory for the "
		                "request head");
	}

	/* Retries (retry.c) decide, pause and discard the answer that
	 * will not be used; the core makes one attempt. */
	for (tries = 0;; tries++) {
		r = attempt(h, &req, body, body_len,
		            strcmp(method, "HEAD") == 0, &retry, err);
		if (oa__modules.retry == NULL ||
		    !oa__modules.retry(h, tries, &r, retry, err))
			break;
		if (clean)
			err[0] = '\0';
	}
	oa__buf_free(&req);
	/* A malformed answer mostly means the wrong port (SSH, TLS, another
	 * service): say which URL gave it. */
	if (r == OA_ERR_PROTOCOL && err != NULL) {
		n = strlen(err);
		oa__url_text(&h->url, path, url, sizeof url);
		snprintf(err + n, OA__ERRLEN - n, " (answer to %s %s)", method,
		         url);
	}
	return r;
}

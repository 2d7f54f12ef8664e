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
 *   whatever of it arrives within a few milliseconds, and reuses the
 *   connection if that reaches the end. A reused connection that the
 *   server closed while it sat idle fails before the first response byte;
 *   the request is then sent once more on a fresh connection, so callers
 *   never see it.
 *
 * Retries are a module (retry.c), asked after each attempt, because only
 * here is it known that nothing of the answer has been handed out: a
 * refused connection, a fresh connection dropped before any answer, and
 * HTTP 429 and 503 (servers say that while a model loads) are tried again
 * after a pause that oa_interrupt() cuts short.
 *
 * Buffers: the head buffer (max_header bytes, allocated at the first
 * request and kept). The head is read into it; body bytes that arrived
 * with the head stay there and are handed out first. After that the body
 * is received straight into the caller's memory and de-chunked in place,
 * so streaming copies nothing and allocates nothing. The request head is
 * written into a buffer kept from request to request.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oa_private.h"

/* Most bytes of an unread body taken in before the next request, and of
 * a 429/503 body thrown away before a retry; more closes the connection. */
#define DISCARD_MAX (256 * 1024)
/*
 * The unread end of a body the caller stopped reading at [DONE] is
 * waited for this long before the next request: the final chunk usually
 * follows [DONE] within microseconds but may miss an immediate check, and
 * a short wait for it saves a new connection (and a TLS handshake) per
 * request. A server that keeps the body open costs this once per request.
 */
#define DRAIN_WAIT_MS 20

/* ---------------------------------------------------------------- chunked */

/*
 * Decoder states: CH_SIZE (the hex digits of a chunk size), CH_LINE (the
 * rest of a line, ignored: a ";extension" after the size, or a trailer),
 * CH_DATA (left bytes of data to pass through), CH_DATA_END (the line end
 * after the data), CH_TRAILER (at the start of a trailer line or of the
 * final empty one) and CH_DONE. The size line, the data and its line end
 * repeat; the last (zero-size) chunk leads into trailer lines. A line
 * ends in LF, or CRLF (d->cr: a CR was just seen, an LF must follow).
 */
enum { CH_SIZE, CH_LINE, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE };

static int
chunk_fail(char *err, const char *what, int c)
{
	char q[8] = "", ch = (char)c;

	oa__quote(q, sizeof q, &ch, 1, 1);
	return oa__fail(err, OA_ERR_PROTOCOL, "bad chunked body: %s (got '%s')",
	                what, q);
}

/* see oa_private.h */
OA_PRIVATE int
oa__chunked_decode(oa__chunked *d, char *buf, size_t *len, size_t *rest,
                   char *err)
{
	size_t i = 0, o = 0, n = *len, k;
	int c, v;

	while (i < n && d->state != CH_DONE) {
		if (d->state == CH_DATA) {
			k = n - i < d->left ? n - i : (size_t)d->left;
			memmove(buf + o, buf + i, k);
			o += k;
			i += k;
			if ((d->left -= k) == 0)
				d->state = CH_DATA_END;
			continue;
		}
		c = (unsigned char)buf[i++];
		/* after the data only a line end may come */
		if ((d->cr || (d->state == CH_DATA_END && c != '\r')) &&
		    c != '\n')
			return chunk_fail(err, d->state == CH_DATA_END ?
			                  "no CRLF after the chunk data" :
			                  d->state != CH_TRAILER ? "CR without LF" :
			                  "CR without LF after the last chunk", c);
		if ((d->cr = c == '\r' && (d->state != CH_SIZE || d->digits)))
			continue;
		switch (d->state) {
		case CH_SIZE:
			v = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' &&
			    (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
			if (v >= 0 && d->digits < 16) {
				d->left = d->left << 4 | (uint64_t)v;
				d->digits++;
				break;
			}
			if (v >= 0 || d->digits == 0 ||
			    (c != '\n' && !(c && strchr("; \t", c))))
				return chunk_fail(err, v >= 0 ?
				                  "more than 16 hex digits" :
				                  d->digits ? "bad chunk size"
				                  : "no chunk size", c);
			d->state = CH_LINE;
			/* fall through */
		case CH_LINE:
			if (c == '\n')
				d->state = d->left ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA_END:
			d->state = CH_SIZE;
			d->digits = 0;
			break;
		case CH_TRAILER:
			d->state = c == '\n' ? CH_DONE : CH_LINE;
			break;
		}
	}
	*len = o;
	*rest = d->state == CH_DONE ? n - i : 0;
	return d->state == CH_DONE;
}

/* ---------------------------------------------------------------- bytes */

/* The exchange on stderr, when tracing is on (trace.c). */
static void
trace(const oa__http *h, char dir, const char *s, size_t n, int head)
{
	if (h->debug)
		oa__modules.trace(dir, s, n, head);
}

/* see oa_private.h */
OA_PRIVATE int
oa__http_send(oa__http *h, const char *src, size_t n, char *err)
{
	size_t put;
	int r;

	for (; n > 0; src += put, n -= put)
		if ((r = h->io(h, NULL, src, n, &put, err)) != 0)
			return r;
	return 0;
}

/* ---------------------------------------------------------------- head */

/* Where the head in p[0..n) ends, just past its empty line; 0 when it has
 * not ended yet. from: where the last scan gave up, less 2 (the start of
 * "\n\r\n" may have been seen already). */
static size_t
head_end(const char *p, size_t n, size_t from)
{
	size_t i;

	for (i = from; i + 1 < n; i++)
		if (p[i] == '\n' && (p[i + 1] == '\n' || (p[i + 1] == '\r' &&
		                     i + 2 < n && p[i + 2] == '\n')))
			return i + 2 + (p[i + 1] == '\r');
	return 0;
}

/* A protocol error about the bytes p[0..n), quoted up to a line end. */
static int
bad_bytes(char *err, const char *what, const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	char q[96] = "";

	oa__quote(q, sizeof q, p, nl ? (size_t)(nl - p) : n, 64);
	return oa__fail(err, OA_ERR_PROTOCOL, "%s \"%s\"", what, q);
}

/* Copy v[0..n) into dst (size bytes), lower-cased when lc is set, up to
 * the first byte that is not visible ASCII or a blank and cut to fit;
 * returns how much was copied. */
static size_t
keep(char *dst, size_t size, const char *v, size_t n, int lc)
{
	size_t i;

	for (i = 0; i < n && i + 1 < size && v[i] >= ' ' && v[i] < 0x7f; i++)
		dst[i] = lc && v[i] >= 'A' && v[i] <= 'Z' ? v[i] | 0x20 : v[i];
	dst[i] = '\0';
	return i;
}

/* Parse the head p[0..n) (it ends with its empty line) into h: status,
 * content type, framing, keep-alive. */
static int
parse_head(oa__http *h, const char *p, size_t n, char *err)
{
	const char *end = p + n, *line, *eol, *colon, *v;
	char tok[128], *t, *save;
	size_t len, vlen;
	unsigned long long clen = ULLONG_MAX, x; /* ULLONG_MAX: none */
	int te = 0, chunked = 0, conn_close = 0;

	h->content_type[0] = h->location[0] = h->captured[0] = h->coding[0] = 0;
	eol = memchr(p, '\n', n);
	len = (size_t)(eol - p) - (eol > p && eol[-1] == '\r');
	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    !isdigit(p[7] & 0xff) || p[8] != ' ' || p[9] == '0' ||
	    strspn(p + 9, "0123456789") != 3 || (len > 12 && p[12] != ' '))
		return bad_bytes(err, "not an HTTP/1.x status line:", p, len);
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');

	for (line = eol + 1; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		len = (size_t)(eol - line) - (eol > line && eol[-1] == '\r');
		if (len == 0)
			break;
		colon = memchr(line, ':', len);
		if (line[0] == ' ' || line[0] == '\t')
			return bad_bytes(err, "folded header line (obsolete "
			                 "line folding is not supported):",
			                 line, len);
		if (colon == NULL || colon == line)
			return bad_bytes(err, "header line without a name and "
			                 "':':", line, len);
		v = colon + 1;
		vlen = len - (size_t)(v - line);
		oa__trim(&v, &vlen);
		len = (size_t)(colon - line);

		if (oa__ieq(line, len, "content-length")) {
			/* digits only, and not so many that they overflow */
			x = strtoull(v, &t, 10);
			if (!isdigit((unsigned char)*v) || t != v + vlen ||
			    x == ULLONG_MAX)
				return bad_bytes(err, "bad Content-Length", v,
				                 vlen);
			if (clen != ULLONG_MAX && x != clen)
				return oa__fail(err, OA_ERR_PROTOCOL, "two "
				                "different Content-Length "
				                "values");
			clen = x;
		} else if (oa__ieq(line, len, "transfer-encoding")) {
			/* Only the last coding frames the message: "gzip,
			 * chunked" is framed, but still gzip. A coding that
			 * nothing here undoes (identity is asked for, but a
			 * server may ignore that) is kept, the header as it
			 * came, for the caller to report. */
			te = 1;
			chunked = vlen >= 7 &&
			          oa__ieq(v + vlen - 7, 7, "chunked") &&
			          (vlen == 7 ||
			           (v[vlen - 8] && strchr(", \t", v[vlen - 8])));
			if (!oa__ieq(v, vlen, "chunked"))
				keep(h->coding, sizeof h->coding, line,
				     (size_t)(v + vlen - line), 0);
		} else if (oa__ieq(line, len, "content-encoding")) {
			if (vlen > 0 && !oa__ieq(v, vlen, "identity"))
				keep(h->coding, sizeof h->coding, line,
				     (size_t)(v + vlen - line), 0);
		} else if (oa__ieq(line, len, "connection")) {
			keep(tok, sizeof tok, v, vlen, 1);
			for (t = strtok_r(tok, ", \t", &save); t != NULL;
			     t = strtok_r(NULL, ", \t", &save))
				conn_close |= strcmp(t, "close") == 0;
		} else if (oa__ieq(line, len, "location")) {
			/* kept only to say where a redirect pointed */
			keep(h->location, sizeof h->location, v, vlen, 0);
		} else if (oa__ieq(line, len, "content-type")) {
			/* the media type, without parameters (the line ends
			 * in CR or LF: strcspn stops there) */
			keep(h->content_type, sizeof h->content_type, v,
			     strcspn(v, "; \t\r\n"), 1);
		} else if (h->capture && oa__ieq(line, len, h->capture) &&
		           keep(h->captured, sizeof h->captured, v, vlen,
		                0) < vlen) {
			h->captured[0] = '\0'; /* cut short: none */
		}
	}

	/* HTTP/1.0 keep-alive is rare and fiddly; such connections are
	 * simply not reused, nor are those with both framings (a smuggling
	 * attempt or a broken proxy). An unknown coding is read until the
	 * connection closes. */
	h->body = h->status == 204 || h->status == 304 ?
	          OA__BODY_NONE : chunked ? OA__BODY_CHUNKED :
	          te || clen == ULLONG_MAX ? OA__BODY_CLOSE : OA__BODY_LENGTH;
	h->keep_alive = p[7] != '0' && !conn_close &&
	                h->body != OA__BODY_CLOSE &&
	                !(chunked && clen != ULLONG_MAX);
	h->left = h->length = h->body == OA__BODY_LENGTH ? clen : 0;
	h->body_done = h->body == OA__BODY_NONE ||
	               (h->body == OA__BODY_LENGTH && clen == 0);
	memset(&h->chunked, 0, sizeof h->chunked);
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__http_head(oa__http *h, char *err)
{
	size_t at = 0, from = 0, end, n;
	int r;

	/* head_len counts every byte of the answer received: interim
	 * responses (100 Continue) stay before at, skipped */
	h->head_len = 0;
	for (;;) {
		if ((end = head_end(h->head, h->head_len, from)) != 0) {
			trace(h, '<', h->head + at, end - at, 0);
			if ((r = parse_head(h, h->head + at, end - at, err)))
				return r;
			if (h->status >= 200)
				break;
			at = from = end;
			continue;
		}
		/* Not HTTP at all (a TLS server, SSH): say so now rather than
		 * wait for an empty line that never comes. */
		n = h->head_len - at;
		if (n >= 5 && memcmp(h->head + at, "HTTP/", 5) != 0)
			return bad_bytes(err, "not an HTTP/1.x status line:",
			                 h->head + at, n);
		if (h->head_len == h->max_header)
			return oa__fail(err, OA_ERR_LIMIT, "the response "
			                "head is larger than max_header_bytes "
			                "(%zu)", h->max_header);
		from = h->head_len > at + 2 ? h->head_len - 2 : at;
		if ((r = h->io(h, h->head + h->head_len, NULL,
		               h->max_header - h->head_len, &n, err)) != 0)
			return r;
		if (n == 0)
			return oa__fail(err, OA_ERR_IO, "the server closed "
			                "the connection %s the response head",
			                h->head_len ? "inside" : "before");
		h->head_len += n;
	}
	h->head_off = end;
	h->keep_alive &= !h->body_done || h->head_off == h->head_len;
	return 0;
}

/* ---------------------------------------------------------------- body */

/* see oa_private.h */
OA_PRIVATE int
oa__http_read(oa__http *h, char *dst, size_t room, size_t *got, char *err)
{
	size_t n, rest = 0;
	int r = 0;

	*got = 0;
	if (h->body_done)
		return 0;
	if (h->fd < 0)
		return oa__fail(err, OA_ERR_STATE, "no response body to read");
	if (room == 0)
		return oa__fail(err, OA_ERR_INVALID, "no room to read into");
	do {
		n = h->body == OA__BODY_LENGTH && h->left < room ?
		    (size_t)h->left : room;
		if (h->head_off < h->head_len) {
			/* bytes that arrived with the head */
			if (n > h->head_len - h->head_off)
				n = h->head_len - h->head_off;
			memcpy(dst, h->head + h->head_off, n);
			h->head_off += n;
		} else if ((r = h->io(h, dst, NULL, n, &n, err)) != 0) {
			goto fail;
		} else if (n == 0 && h->body != OA__BODY_CLOSE) {
			r = h->body == OA__BODY_CHUNKED ? oa__fail(err,
			    OA_ERR_TRUNCATED, "the connection closed inside "
			    "the chunked body") : oa__fail(err,
			    OA_ERR_TRUNCATED, "the connection closed after "
			    "%llu of %llu body bytes",
			    (unsigned long long)(h->length - h->left),
			    (unsigned long long)h->length);
			goto fail;
		}
		if (h->body == OA__BODY_CHUNKED &&
		    (r = oa__chunked_decode(&h->chunked, dst, &n, &rest,
		                            err)) < 0)
			goto fail;
	} while (h->body == OA__BODY_CHUNKED && r == 0 && n == 0);
	if (h->body == OA__BODY_LENGTH)
		h->left -= n;
	/* The body ended where its framing says it does (n == 0: at the
	 * close that ends it). */
	if (r == 1 || n == 0 || (h->body == OA__BODY_LENGTH && h->left == 0)) {
		h->body_done = 1;
		/* nothing may follow the body: a stray byte ends the reuse */
		h->keep_alive &= rest == 0 && h->head_off == h->head_len;
		if (!h->keep_alive)
			oa__http_close(h);
	}
	trace(h, '<', dst, n, 0);
	*got = n;
	return 0;
fail:
	oa__http_close(h);
	return r;
}

/* see oa_private.h */
OA_PRIVATE int
oa__http_discard(oa__http *h, int wait_ms)
{
	char tmp[4096], e[OA__ERRLEN] = "";
	size_t got, total = 0;
	int r, timeout = h->read_timeout_ms;

	/* until the body's end (got 0) or an error, STATE when closed */
	h->read_timeout_ms = wait_ms;
	do {
		r = oa__http_read(h, tmp, sizeof tmp, &got, e);
		total += got;
	} while (r == 0 && got > 0 && total < DISCARD_MAX);
	h->read_timeout_ms = timeout;
	if (!h->body_done)
		oa__http_close(h);
	return r == OA_ERR_INTERRUPTED || r == OA_ERR_DEADLINE ? r : 0;
}

/* ---------------------------------------------------------------- life */

/* see oa_private.h */
OA_PRIVATE void
oa__http_init(oa__http *h)
{
	*h = (oa__http){ .fd = -1, .cancel_fd = -1, .io = oa__net_io,
	                 .max_header = OA_MAX_HEADER_BYTES };
}

/* see oa_private.h */
OA_PRIVATE int
oa__http_configure(oa__http *h, const oa_options *o, char *err)
{
	const char *env = getenv("OA_DEBUG"), *need;
	int r;

	/* 0: the default; a timeout < 0 is none */
	h->connect_timeout_ms = OA__OR(o->connect_timeout_ms,
	                           OA_DEFAULT_CONNECT_TIMEOUT_MS);
	h->read_timeout_ms = OA__OR(o->read_timeout_ms, OA_DEFAULT_READ_TIMEOUT_MS);
	h->request_timeout_ms = o->request_timeout_ms;
	h->max_header = OA__OR(o->max_header_bytes, OA_MAX_HEADER_BYTES);
	h->debug = oa__modules.trace && (o->debug || (env && env[0] &&
	                                             strcmp(env, "0") != 0));
	/* Tracing, proxies, retries and TLS are modules: an option that
	 * needs one the build lacks is refused rather than silently ignored
	 * (OA_DEBUG alone is ignored). */
	need = o->debug && !oa__modules.trace ? "debug needs trace.c" :
	       o->proxy && o->proxy[0] && !oa__modules.proxy ?
	       "proxy needs proxy.c" : oa__modules.retry ? NULL :
	       o->max_retries && o->max_retries != OA_OMIT ?
	       "max_retries needs retry.c" : o->max_retry_after_ms ?
	       "max_retry_after_ms needs retry.c" : NULL;
	if (need != NULL)
		return oa__fail(err, OA_ERR_INVALID, "%s, which this build "
		                "leaves out", need);
	if (h->url.tls && oa__modules.tls == NULL)
		return oa__fail(err, OA_ERR_URL, "https:// needs TLS, which "
		                "this build leaves out (tls.c and BearSSL); "
		                "use http:// or a build with TLS");
	r = oa__modules.retry ? oa__modules.retry->setup(h, o, err) : 0;
	if (r == 0 && oa__modules.proxy != NULL)
		r = oa__modules.proxy->pick(h, o->proxy, err);
	if (r == 0 && h->url.tls)
		r = oa__modules.tls->setup(h, o, err);
	return r;
}

/* see oa_private.h */
OA_PRIVATE void
oa__http_close(oa__http *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	h->io = oa__net_io;
}

/* see oa_private.h */
OA_PRIVATE void
oa__http_free(oa__http *h)
{
	oa__http_close(h);
	oa__free(h->alloc, h->head);
	h->head = NULL;
	oa__buf_free(&h->req);
	if (h->tls != NULL)
		oa__modules.tls->free(h);
}

/* ---------------------------------------------------------------- request */

#define RESEND "the kept-alive connection was closed before an answer: " \
               "sending the request again on a new one"

/* see oa_private.h */
OA_PRIVATE int
oa__http_request(oa__http *h, const char *method, const char *path,
                 const char *extra_headers, const char *body,
                 size_t body_len, char *err)
{
	char hp[280], url[160];
	const char *s;
	int r, px, reused, tries = 0, clean = err != NULL && err[0] == '\0';

	for (s = path; s != NULL && (unsigned char)*s > ' ' && *s != 0x7f; s++)
		;
	if (method == NULL || path == NULL || path[0] != '/' || *s != '\0')
		return oa__fail(err, OA_ERR_INVALID, "bad request method or "
		                "path (it starts with '/', without a space or "
		                "control character)");
	if (h->head == NULL &&
	    (h->head = oa__malloc(h->alloc, h->max_header)) == NULL)
		return oa__fail(err, OA_ERR_NOMEM, "out of memory for the "
		                "response head");
	if (h->request_timeout_ms > 0)
		h->deadline = oa__now_ms() + h->request_timeout_ms;

	/* Through a plain proxy the request line names the whole URL, and
	 * the proxy's credentials go with every request. A coded body
	 * (gzip) could not be read: identity is asked for, as RFC 9110
	 * otherwise lets the server pick any coding. */
	px = h->use_proxy && !h->url.tls;
	oa__host_port(&h->url, 1, hp, sizeof hp);
	h->req.alloc = h->alloc;
	oa__buf_reset(&h->req);
	oa__buf_printf(&h->req, "%s %s%s%s HTTP/1.1\r\nHost: %s\r\n"
	               "User-Agent: openagent/" OA_VERSION "\r\n"
	               "Accept-Encoding: identity\r\n%s"
	               "Content-Type: application/json\r\n"
	               "Content-Length: %zu\r\n%s\r\n", method,
	               px ? "http://" : "", px ? hp : "", path, hp,
	               px ? h->proxy_auth : "", body_len,
	               extra_headers ? extra_headers : "");
	if (h->req.err)
		return oa__fail(err, OA_ERR_NOMEM, "out of memory for the "
		                "request head");

	/* The caller stopped at [DONE]; the end of the body may be here. */
	if (h->fd >= 0 && h->keep_alive && !h->body_done)
		oa__http_discard(h, DRAIN_WAIT_MS);
	for (;;) {
		/* A kept-alive connection is reused when its last body was
		 * read to its end and nothing waits on it. */
		if (h->fd >= 0 && !(h->keep_alive && h->body_done &&
		                    oa__net_idle_ok(h)))
			oa__http_close(h);
		reused = h->fd >= 0;
		h->status = h->head_len = h->head_off = 0; /* no stale 429 */
		r = reused ? 0 : oa__net_dial(h, h->use_proxy ? &h->proxy :
		                              &h->url, err);
		if (r == 0 && !reused && h->tls)
			r = oa__modules.tls->start(h, err);
		if (r == 0) {
			trace(h, '>', h->req.p, h->req.len, 1);
			trace(h, '>', body, body_len, 0);
			/* While a plain request is sent, an early answer
			 * stops the sending; TLS records interleave, so not
			 * there. */
			h->early_ok = h->io == oa__net_io;
			r = oa__http_send(h, h->req.p, h->req.len, err);
			if (r == 0)
				r = oa__http_send(h, body, body_len, err);
		}
		/* From here early_ok says the answer came early: the rest of
		 * the body was never sent. (Only sends look at it.) */
		h->early_ok = r == OA__EARLY;
		if (r == 0 || h->early_ok)
			r = oa__http_head(h, err);
		h->keep_alive &= !h->early_ok;
		if (r != 0)
			oa__http_close(h);
		/* Closed by the server while it sat idle, before any byte of
		 * the answer: sent once more, on a fresh connection (and the
		 * trace shows it sent twice). Retries (retry.c) decide,
		 * pause and discard the answer that will not be used; the
		 * core makes one attempt. */
		if (reused && r == OA_ERR_IO && h->head_len == 0)
			trace(h, '*', RESEND, sizeof RESEND - 1, 0);
		else if (oa__modules.retry == NULL ||
		         !oa__modules.retry->again(h, tries++, &r, err))
			break;
		if (clean)
			err[0] = '\0';
	}
	/* A malformed answer mostly means the wrong port (SSH, TLS, another
	 * service): say which URL gave it. */
	if (r == OA_ERR_PROTOCOL && err != NULL) {
		oa__url_text(&h->url, path, url, sizeof url);
		snprintf(err + strlen(err), OA__ERRLEN - strlen(err),
		         " (answer to %s %s)", method, url);
	}
	return r;
}

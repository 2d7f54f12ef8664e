/*
 * test_http.c -- http.c: URL parsing, the chunked decoder at every split,
 * and real requests against a scripted server on 127.0.0.1.
 *
 * The server is a forked child that follows a script: for each step it
 * (optionally) accepts a new connection, reads one request, reports the
 * request's bytes to the parent through a pipe, writes the scripted reply
 * and then keeps the connection, closes it, or stalls. Connections it does
 * not close stay open until it exits, so a client that wrongly reuses one
 * waits in vain instead of passing by luck. Its exit status is the number
 * of connections it accepted.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oa_private.h"
#include "test.h"

/* ---------------------------------------------------------------- URLs */

static void
url_accepts(void)
{
	static const struct {
		const char *url, *host, *port, *path;
		int ipv6, tls;
	} v[] = {
		{ "http://localhost:8080/v1", "localhost", "8080", "/v1", 0,
		  0 },
		{ "http://localhost:8080/v1/", "localhost", "8080", "/v1", 0,
		  0 },
		{ "http://h/v1", "h", "80", "/v1", 0, 0 },
		{ "http://h/", "h", "80", "", 0, 0 },
		{ "http://h", "h", "80", "", 0, 0 },
		{ "http://h//", "h", "80", "", 0, 0 },
		{ "https://api.example.com/v1", "api.example.com", "443", "/v1",
		  0, 1 },
		{ "HTTPS://h:8443", "h", "8443", "", 0, 1 },
		{ "http://127.0.0.1:11434/v1", "127.0.0.1", "11434", "/v1", 0,
		  0 },
		{ "http://[::1]:8080/v1", "::1", "8080", "/v1", 1, 0 },
		{ "http://[::1]", "::1", "80", "", 1, 0 },
		{ "http://[fe80::1:2]/a/b/", "fe80::1:2", "80", "/a/b", 1, 0 },
		{ "http://h:1", "h", "1", "", 0, 0 },
		{ "http://h:65535/x", "h", "65535", "/x", 0, 0 },
		{ "http://h:008080", "h", "8080", "", 0, 0 },
		{ "http://my_host-1.lan:1234/api/v1", "my_host-1.lan", "1234",
		  "/api/v1", 0, 0 },
		{ "http://h/a@b", "h", "80", "/a@b", 0, 0 },
	};
	oa__url u;
	char err[OA__ERRLEN];
	size_t i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		err[0] = '\0';
		memset(&u, 0x55, sizeof u);
		if (oa__url_parse(&u, v[i].url, err) != 0)
			fprintf(stderr, "%s: %s\n", v[i].url, err);
		CHECK_INT(oa__url_parse(&u, v[i].url, err), 0);
		CHECK_STR(err, "");
		CHECK_STR(u.host, v[i].host);
		CHECK_STR(u.port, v[i].port);
		CHECK_STR(u.path, v[i].path);
		CHECK_INT(u.ipv6, v[i].ipv6);
		CHECK_INT(u.tls, v[i].tls);
	}
}

static void
url_rejects(void)
{
	static char long_host[300], long_path[1100];
	static const struct {
		const char *url, *msg;
	} v[] = {
		{ "", "the URL is empty" },
		{ "localhost:8080/v1",
		  "no scheme in URL \"localhost:8080/v1\"" },
		{ "ftp://h/x", "unsupported URL scheme \"ftp\"" },
		{ "http:/h", "no scheme" },
		{ "http://", "no host in URL" },
		{ "http:///v1", "no host in URL" },
		{ "http://:8080/v1", "no host in URL" },
		{ "http://user:pass@h/v1", "user:password@ in the URL is not "
		  "supported" },
		{ "http://h:0", "bad port \"0\"" },
		{ "http://h:65536", "bad port \"65536\"" },
		{ "http://h:99999999999999999999", "bad port" },
		{ "http://h:", "bad port \"\"" },
		{ "http://h:80a/v1", "bad port \"80a\"" },
		{ "http://h:-1", "bad port \"-1\"" },
		{ "http://[::1:8080/v1", "unterminated '['" },
		{ "http://[::1]x/v1", "unexpected text after ']'" },
		{ "http://[]:80", "no host" },
		{ "http://[zz::1]/", "bad IPv6 address" },
		{ "http://::1:8080/", "must be in brackets" },
		{ "http://h h/v1",
		  "space, control or non-ASCII byte ( ) at offset 8" },
		{ "http://h/v1\n", "(\\x0a) at offset 11" },
		{ "http://h/v1\x7f", "(\\x7f)" },
		{ "http://h/v1?x=1", "query or fragment ('?' at offset 11)" },
		{ "http://h/v1#top", "query or fragment ('#'" },
		{ "http://h\xc3\xa9/", "(\\xc3) at offset 8" },
		{ "http://h!/", "bad character in the host" },
		{ long_host, "host is too long (at most 255 bytes)" },
		{ long_path, "path is too long (at most 1023 bytes)" },
	};
	oa__url u;
	char err[OA__ERRLEN];
	size_t i;

	memcpy(long_host, "http://", 7);
	memset(long_host + 7, 'a', 256);
	long_host[263] = '\0';
	memcpy(long_path, "http://h/", 9);
	memset(long_path + 9, 'p', 1023);
	long_path[1032] = '\0';
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		err[0] = '\0';
		CHECK_INT(oa__url_parse(&u, v[i].url, err), OA_ERR_URL);
		CHECK_HAS(err, v[i].msg);
	}
	err[0] = '\0';
	CHECK_INT(oa__url_parse(&u, NULL, err), OA_ERR_URL);
	/* One byte shorter than the limit is fine. */
	long_host[262] = '\0';
	CHECK_INT(oa__url_parse(&u, long_host, err), 0);
	long_path[1031] = '\0';
	CHECK_INT(oa__url_parse(&u, long_path, err), 0);
	CHECK_INT(strlen(u.path), 1023);
}

/* ---------------------------------------------------------------- chunked */

/*
 * Decode in[0..n) fed as a first piece of cut bytes, then pieces of
 * `piece` bytes (0: all the rest). Every piece sits in its own allocation
 * of exactly its size, so ASan catches a read past it. Returns the
 * decoder's last result; out gets the data, *rest the bytes after the end.
 */
static int
decode_by(const char *in, size_t n, size_t cut, size_t piece, char *out,
          size_t *outlen, size_t *rest, char *err)
{
	oa__chunked d;
	size_t off = 0, k, len, r_rest;
	char *p;
	int r = 0, first = 1;

	memset(&d, 0, sizeof d);
	*outlen = 0;
	*rest = 0;
	while (off < n) {
		k = first ? cut : piece ? piece : n - off;
		first = 0;
		if (k > n - off)
			k = n - off;
		p = malloc(k ? k : 1);
		memcpy(p, in + off, k);
		len = k;
		r = oa__chunked_decode(&d, p, &len, &r_rest, err);
		if (r >= 0) {
			memcpy(out + *outlen, p, len);
			*outlen += len;
		}
		free(p);
		off += k;
		if (r != 0) {
			*rest = r_rest + (n - off);
			break;
		}
	}
	return r;
}

struct chunk_vec {
	const char *in;
	const char *out;     /* expected data (for results >= 0) */
	int result;          /* 0, 1 or OA_ERR_PROTOCOL */
	size_t rest;
	const char *msg;     /* part of the error message */
};

static const char *
check_vec(const char *in, size_t n, const struct chunk_vec *v,
          size_t outlen_want)
{
	static char why[200];
	char *out = malloc(n + 1), err[OA__ERRLEN];
	size_t outlen, rest, cut, mode;
	int r;

	for (mode = 0; mode < 3; mode++) {
		for (cut = mode == 2 ? 0 : n; cut <= n; cut++) {
			err[0] = '\0';
			r = decode_by(in, n, mode == 1 ? 1 : cut,
			              mode == 1 ? 1 : 0, out, &outlen, &rest,
			              err);
			snprintf(why, sizeof why, "vector \"%.40s\" mode %zu "
			         "cut %zu", v->in, mode, cut);
			if (r != v->result)
				goto bad;
			if (r < 0) {
				if (strstr(err, v->msg) == NULL)
					goto bad;
				continue;
			}
			if (outlen != outlen_want ||
			    memcmp(out, v->out, outlen) != 0 ||
			    (r == 1 && rest != v->rest))
				goto bad;
		}
	}
	free(out);
	return NULL;
bad:
	free(out);
	return why;
}

static void
chunked_vectors(void)
{
	static const struct chunk_vec v[] = {
		{ "5\r\nhello\r\n0\r\n\r\n", "hello", 1, 0, NULL },
		{ "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 1, 0,
		  NULL },
		{ "5;name=val\r\nhello\r\n6 ; x\r\n world\r\n0;last=1\r\n\r\n",
		  "hello world", 1, 0, NULL },
		{ "3\r\nabc\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\nEXTRA", "abc",
		  1, 5, NULL },
		{ "3\nabc\n0\nT: 1\n\nxy", "abc", 1, 2, NULL },
		{ "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n",
		  "0123456789abcdefghij", 1, 0, NULL },
		{ "0005\r\nhe\r\nl\r\n0\r\n\r\n", "he\r\nl", 1, 0, NULL },
		{ "0\r\n\r\n", "", 1, 0, NULL },
		{ "5\r\nhel", "hel", 0, 0, NULL },
		{ "5\r\nhello\r\n0\r\n", "hello", 0, 0, NULL },
		{ "ffffffffffffffff\r\nab", "ab", 0, 0, NULL },
		{ "FFFFFFFFFFFFFFFF;x\nab", "ab", 0, 0, NULL },
		{ "10000000000000000\r\n", "", OA_ERR_PROTOCOL, 0,
		  "more than 16 hex digits (got '0')" },
		{ "xyz\r\n", "", OA_ERR_PROTOCOL, 0,
		  "no chunk size (got 'x')" },
		{ "\r\n", "", OA_ERR_PROTOCOL, 0, "no chunk size" },
		{ "5g\r\nhello\r\n", "", OA_ERR_PROTOCOL, 0,
		  "bad chunk size (got 'g')" },
		{ "-5\r\n", "", OA_ERR_PROTOCOL, 0, "no chunk size" },
		{ "3\r\nabcX\r\n0\r\n\r\n", "abc", OA_ERR_PROTOCOL, 0,
		  "no CRLF after the chunk data (got 'X')" },
		{ "3\r\nabc\rX", "abc", OA_ERR_PROTOCOL, 0,
		  "no CRLF after the chunk data" },
		{ "3\rabc", "", OA_ERR_PROTOCOL, 0, "CR without LF" },
		{ "0\r\n\rX", "", OA_ERR_PROTOCOL, 0,
		  "CR without LF after the last chunk" },
	};
	char big[9000];
	struct chunk_vec bv;
	const char *why;
	size_t i, n;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		why = check_vec(v[i].in, strlen(v[i].in), &v[i],
		                strlen(v[i].out));
		if (why)
			fprintf(stderr, "%s\n", why);
		CHECK(why == NULL);
	}

	/* A big chunk: 0x1000 bytes, then a 3-byte one. */
	n = (size_t)sprintf(big, "1000\r\n");
	memset(big + n, 'x', 4096);
	n += 4096;
	n += (size_t)sprintf(big + n, "\r\n3\r\nend\r\n0\r\n\r\n");
	{
		static char want[4100];
		memset(want, 'x', 4096);
		memcpy(want + 4096, "end", 3);
		bv.in = "big";
		bv.out = want;
		bv.result = 1;
		bv.rest = 0;
		bv.msg = NULL;
		why = check_vec(big, n, &bv, 4099);
		CHECK(why == NULL);
	}
}

/* After the end, more input is all "rest"; the decoder stays done. */
static void
chunked_done_stays_done(void)
{
	oa__chunked d;
	char buf[32], err[OA__ERRLEN] = "";
	size_t len, rest;

	memset(&d, 0, sizeof d);
	strcpy(buf, "2\r\nok\r\n0\r\n\r\n");
	len = strlen(buf);
	CHECK_INT(oa__chunked_decode(&d, buf, &len, &rest, err), 1);
	CHECK_INT(len, 2);
	CHECK_INT(rest, 0);
	strcpy(buf, "more");
	len = 4;
	CHECK_INT(oa__chunked_decode(&d, buf, &len, &rest, err), 1);
	CHECK_INT(len, 0);
	CHECK_INT(rest, 4);
}

/* ---------------------------------------------------------------- server */

enum { KEEP, CLOSE, STALL, CANCEL };

struct step {
	int accept;        /* accept a new connection first */
	const char *reply; /* written after reading one request; NULL: none */
	int then;          /* KEEP, CLOSE, STALL, CANCEL (write the cancel
	                      pipe, then stall) */
};

static int cancel_pipe[2] = { -1, -1 };

static int
listen_on(int family, int *port)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr *a;
	socklen_t len;
	int fd, one = 1;

	memset(&a4, 0, sizeof a4);
	memset(&a6, 0, sizeof a6);
	a4.sin_family = AF_INET;
	a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a6.sin6_family = AF_INET6;
	a6.sin6_addr = in6addr_loopback;
	a = family == AF_INET ? (struct sockaddr *)&a4 :
	    (struct sockaddr *)&a6;
	len = family == AF_INET ? sizeof a4 : sizeof a6;
	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, a, len) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, a, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? a4.sin_port : a6.sin6_port);
	return fd;
}

/* One request: the head up to its empty line plus Content-Length bytes. */
static long
read_request(int c, char *buf, size_t cap)
{
	size_t n = 0;
	const char *e, *cl;
	long head, len;
	ssize_t r;

	for (;;) {
		buf[n] = '\0';
		if ((e = strstr(buf, "\r\n\r\n")) != NULL) {
			head = (long)(e + 4 - buf);
			cl = strstr(buf, "Content-Length: ");
			len = cl && cl < e ? atol(cl + 16) : 0;
			if ((long)n >= head + len)
				return (long)n;
		}
		if (n + 1 >= cap)
			return -1;
		r = read(c, buf + n, cap - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
}

static void
put(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
}

static void
serve_child(int lfd, int report, const struct step *s, int n)
{
	static char buf[65536];
	int conn = -1, accepts = 0, i;
	long len;

	signal(SIGPIPE, SIG_IGN);
	alarm(10); /* never outlive a broken test */
	for (i = 0; i < n; i++) {
		if (s[i].accept) {
			if ((conn = accept(lfd, NULL, NULL)) < 0)
				_exit(100);
			accepts++;
		}
		if ((len = read_request(conn, buf, sizeof buf)) < 0)
			_exit(101 + i);
		put(report, buf, (size_t)len);
		if (s[i].reply)
			put(conn, s[i].reply, strlen(s[i].reply));
		if (s[i].then == CLOSE)
			close(conn);
		if (s[i].then == CANCEL)
			put(cancel_pipe[1], "x", 1);
		if (s[i].then == STALL || s[i].then == CANCEL)
			for (;;)
				pause();
	}
	_exit(accepts);
}

struct server {
	pid_t pid;
	int report;
	int port;
};

/* Start a scripted server on 127.0.0.1 (or ::1 with family AF_INET6). */
static int
serve(struct server *sv, int family, const struct step *s, int n)
{
	int lfd, p[2];

	if ((lfd = listen_on(family, &sv->port)) < 0)
		return -1;
	if (pipe(p) < 0) {
		close(lfd);
		return -1;
	}
	fflush(NULL);
	sv->pid = fork();
	if (sv->pid == 0) {
		close(p[0]);
		serve_child(lfd, p[1], s, n);
	}
	close(lfd);
	close(p[1]);
	sv->report = p[0];
	return sv->pid < 0 ? -1 : 0;
}

/* Stop the server (kill it first if it may be stalled), collect what it
 * was sent into got (NUL-terminated) and return its exit status: the
 * number of connections accepted, or -1 if it was killed. */
static int
finish(struct server *sv, int kill_it, char *got, size_t cap)
{
	size_t n = 0;
	ssize_t r;
	int st;

	if (kill_it)
		kill(sv->pid, SIGKILL);
	while (n + 1 < cap && (r = read(sv->report, got + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	got[n] = '\0';
	close(sv->report);
	while (waitpid(sv->pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
client(oa__http *h, int port, char *err)
{
	char url[64];

	oa__http_init(h);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
	oa__url_parse(&h->url, url, err);
	h->connect_timeout_ms = 2000;
	h->read_timeout_ms = 3000;
	err[0] = '\0';
}

/* Read the whole body, room bytes at a time; returns the last result. */
static int
read_all(oa__http *h, size_t room, char *out, size_t cap, size_t *len,
         char *err)
{
	char *tmp = malloc(room);
	size_t got;
	int r;

	*len = 0;
	for (;;) {
		r = oa__http_read(h, tmp, room, &got, err);
		if (r != 0 || got == 0)
			break;
		if (got > room || *len + got >= cap) {
			r = 99;
			break;
		}
		memcpy(out + *len, tmp, got);
		*len += got;
	}
	out[*len] = '\0';
	free(tmp);
	return r;
}

#define POST(h, err) \
	oa__http_request(h, "POST", "/v1/chat/completions", NULL, "{}", 2, err)

/* ---------------------------------------------------------------- sockets */

static void
request_bytes(void)
{
	static const struct step s[] = {
		{ 1, "HTTP/1.1 200 OK\r\nContent-Type: Application/JSON; "
		     "charset=utf-8\r\nContent-Length: 11\r\n\r\nhello world",
		  CLOSE },
	};
	struct server sv;
	oa__http h;
	char err[OA__ERRLEN], got[4096], want[512], body[64];
	size_t len;

	CHECK(serve(&sv, AF_INET, s, 1) == 0);
	client(&h, sv.port, err);
	CHECK_INT(oa__http_request(&h, "POST", "/v1/chat/completions",
	                           "Authorization: Bearer k\r\nX-A: b\r\n",
	                           "{\"a\":1}", 7, err), 0);
	CHECK_INT(h.status, 200);
	CHECK_STR(h.content_type, "application/json");
	CHECK_INT(h.body, OA__BODY_LENGTH);
	CHECK_INT(read_all(&h, 2, body, sizeof body, &len, err), 0);
	CHECK_STR(body, "hello world");
	CHECK_STR(err, "");
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 0, got, sizeof got), 1);
	snprintf(want, sizeof want,
	         "POST /v1/chat/completions HTTP/1.1\r\n"
	         "Host: 127.0.0.1:%d\r\n"
	         "User-Agent: openagent/" OA_VERSION "\r\n"
	         "Accept-Encoding: identity\r\n"
	         "Content-Type: application/json\r\n"
	         "Content-Length: 7\r\n"
	         "Authorization: Bearer k\r\nX-A: b\r\n"
	         "\r\n{\"a\":1}", sv.port);
	CHECK_STR(got, want);
}

/* A body framed each way, read with several small rooms. */
static void
bodies(void)
{
	static const struct {
		const char *reply, *body;
		int framing;
	} v[] = {
		{ "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789",
		  "0123456789", OA__BODY_LENGTH },
		{ "HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\n"
		  "Content-Type: text/event-stream\r\n\r\n"
		  "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n"
		  "T: x\r\n\r\n",
		  "hello world", OA__BODY_CHUNKED },
		{ "HTTP/1.1 200 OK\nContent-Type: text/event-stream\n\n"
		  "data: x\n\ndata: [DONE]\n\n",
		  "data: x\n\ndata: [DONE]\n\n", OA__BODY_CLOSE },
		{ "HTTP/1.0 200 OK\r\n\r\nold", "old", OA__BODY_CLOSE },
		{ "HTTP/1.1 204 No Content\r\n\r\n", "", OA__BODY_NONE },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "",
		  OA__BODY_LENGTH },
		{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n"
		  "Content-Type: x/y\r\n\r\nHTTP/1.1 200 OK\r\n"
		  "Content-Length: 2\r\n\r\nok", "ok", OA__BODY_LENGTH },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
		  "Content-Length: 3\r\n\r\nabc", "abc", OA__BODY_LENGTH },
	};
	static const size_t rooms[] = { 1, 3, 4096 };
	struct step s[1];
	struct server sv;
	oa__http h;
	char err[OA__ERRLEN], got[4096], body[256];
	size_t i, j, len;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		for (j = 0; j < 3; j++) {
			s[0].accept = 1;
			s[0].reply = v[i].reply;
			s[0].then = CLOSE;
			CHECK(serve(&sv, AF_INET, s, 1) == 0);
			client(&h, sv.port, err);
			CHECK_INT(POST(&h, err), 0);
			CHECK_INT(h.status,
			          v[i].framing == OA__BODY_NONE ? 204 : 200);
			CHECK_INT(h.body, v[i].framing);
			CHECK_INT(read_all(&h, rooms[j], body, sizeof body,
			                   &len, err), 0);
			CHECK_STR(body, v[i].body);
			CHECK_INT(len, strlen(v[i].body));
			/* The end stays the end. */
			CHECK_INT(oa__http_read(&h, body, 8, &len, err), 0);
			CHECK_INT(len, 0);
			CHECK_STR(err, "");
			oa__http_free(&h);
			CHECK_INT(finish(&sv, 0, got, sizeof got), 1);
		}
	}
}

/* Replies that fail the request or the body: code and message. */
static void
bad_responses(void)
{
	static char big_head[200];
	static const struct {
		const char *reply;
		int req, body; /* expected results */
		const char *msg;
	} v[] = {
		{ "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0"
		  "\r\n\r\n", OA_ERR_PROTOCOL, 0, "folded header line" },
		{ "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", OA_ERR_PROTOCOL,
		  0,
		  "header line without a name and ':': \"no colon here\"" },
		{ "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", OA_ERR_PROTOCOL, 0,
		  "without a name" },
		{ "HTTP/2 200 OK\r\n\r\n", OA_ERR_PROTOCOL, 0,
		  "not an HTTP/1.x status line: \"HTTP/2 200 OK\"" },
		{ "HTTP/1.1 20 OK\r\n\r\n", OA_ERR_PROTOCOL, 0,
		  "status line: \"HTTP/1.1 20 OK\"" },
		{ "HTTP/1.1 200OK\r\n\r\n", OA_ERR_PROTOCOL, 0, "status line" },
		{ "SSH-2.0-OpenSSH_9.2\r\n", OA_ERR_PROTOCOL, 0,
		  "status line: \"SSH-2.0-OpenSSH_9.2\\x0d\"" },
		{ "\x16\x03\x01\x02\x05\x01", OA_ERR_PROTOCOL, 0,
		  "\"\\x16\\x03\\x01\\x02\\x05\\x01\"" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
		  OA_ERR_PROTOCOL, 0, "bad Content-Length \"12x\"" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
		  OA_ERR_PROTOCOL, 0, "bad Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999"
		  "\r\n\r\n", OA_ERR_PROTOCOL, 0, "bad Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4"
		  "\r\n\r\nabc", OA_ERR_PROTOCOL, 0,
		  "two different Content-Length values" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0,
		  OA_ERR_TRUNCATED, "closed after 3 of 10 body bytes" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5\r\nhel", 0, OA_ERR_TRUNCATED,
		  "closed inside the chunked body" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5\r\nhelloX", 0, OA_ERR_PROTOCOL,
		  "no CRLF after the chunk data (got 'X')" },
		{ "HTTP/1.1 200 OK\r\nContent-", OA_ERR_IO, 0,
		  "closed the connection inside the response head" },
		{ "", OA_ERR_IO, 0, "closed the connection before the response "
		  "head" },
		{ big_head, OA_ERR_LIMIT, 0,
		  "larger than max_header_bytes (64)" },
	};
	struct step s[1];
	struct server sv;
	oa__http h;
	char err[OA__ERRLEN], got[4096], body[256];
	size_t i, len;
	int r;

	snprintf(big_head, sizeof big_head, "HTTP/1.1 200 OK\r\nX-Long: %070d"
	         "\r\n\r\n", 0);
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		s[0].accept = 1;
		s[0].reply = v[i].reply;
		s[0].then = CLOSE;
		CHECK(serve(&sv, AF_INET, s, 1) == 0);
		client(&h, sv.port, err);
		h.max_header = 64;
		r = POST(&h, err);
		if (r == 0)
			r = read_all(&h, 5, body, sizeof body, &len, err);
		if (r != (v[i].req ? v[i].req : v[i].body))
			fprintf(stderr, "reply %zu: %d %s\n", i, r, err);
		CHECK_INT(r, v[i].req ? v[i].req : v[i].body);
		CHECK_HAS(err, v[i].msg);
		/* Closed after the error; reading on says so. */
		CHECK_INT(h.fd, -1);
		if (v[i].body) {
			err[0] = '\0';
			CHECK(oa__http_read(&h, body, 5, &len, err) < 0);
		}
		oa__http_free(&h);
		CHECK_INT(finish(&sv, 0, got, sizeof got), 1);
	}
}

/* Two requests, one connection. */
static void
keep_alive_reuse(void)
{
	static const struct step s[] = {
		{ 1, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none", KEEP },
		{ 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "3\r\ntwo\r\n0\r\n\r\n", KEEP },
		{ 0, "HTTP/1.1 204 No Content\r\n\r\n", KEEP },
		{ 0, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthree",
		  CLOSE },
	};
	struct server sv;
	oa__http h;
	char err[OA__ERRLEN], got[4096], body[64];
	size_t len;

	CHECK(serve(&sv, AF_INET, s, 4) == 0);
	client(&h, sv.port, err);
	CHECK_INT(POST(&h, err), 0);
	CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err), 0);
	CHECK_STR(body, "one");
	CHECK_INT(POST(&h, err), 0);
	CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err), 0);
	CHECK_STR(body, "two");
	CHECK_INT(oa__http_request(&h, "GET", "/v1/models", NULL, NULL, 0,
	                           err), 0);
	CHECK_INT(h.status, 204);
	CHECK_INT(POST(&h, err), 0);
	CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err), 0);
	CHECK_STR(body, "three");
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 0, got, sizeof got), 1);
	CHECK_HAS(got, "GET /v1/models HTTP/1.1\r\n");
	CHECK_HAS(got, "Content-Length: 0\r\n\r\nPOST");
}

/* Responses after which the connection must not be reused: the server
 * leaves each connection open, so a wrong reuse would wait in vain. */
static void
no_reuse(void)
{
	static const char *const first[] = {
		"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\n"
		"Content-Length: 1\r\n\r\na",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
		"Content-Length: 1\r\n\r\na",
		"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: "
		"chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naSTRAY",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"1\r\na\r\n0\r\n\r\nSTRAY",
	};
	struct step s[2];
	struct server sv;
	oa__http h;
	char err[OA__ERRLEN], got[4096], body[64];
	size_t i, len;

	for (i = 0; i < sizeof first / sizeof first[0]; i++) {
		s[0].accept = 1;
		s[0].reply = first[i];
		s[0].then = KEEP;
		s[1].accept = 1;
		s[1].reply = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb";
		s[1].then = CLOSE;
		CHECK(serve(&sv, AF_INET, s, 2) == 0);
		client(&h, sv.port, err);
		CHECK_INT(POST(&h, err), 0);
		CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err), 0);
		CHECK_STR(body, "a");
		CHECK_INT(POST(&h, err), 0);
		CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err), 0);
		CHECK_STR(body, "b");
		oa__http_free(&h);
		CHECK_INT(finish(&sv, 0, got, sizeof got), 2);
	}

	/* An unread body that has fully arrived is drained, and the
	 * connection is reused. */
	s[0].reply = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd";
	s[1].accept = 0;
	CHECK(serve(&sv, AF_INET, s, 2) == 0);
	client(&h, sv.port, err);
	CHECK_INT(POST(&h, err), 0);
	CHECK_INT(oa__http_read(&h, body, 2, &len, err), 0);
	CHECK_INT(POST(&h, err), 0);
	CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err), 0);
	CHECK_STR(body, "b");
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 0, got, sizeof got), 1);
}

/* The server closes a kept-alive connection: once while it is idle, once
 * after reading the next request without answering. Both are hidden. */
static void
reconnect(void)
{
	static const struct step idle[] = {
		{ 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", CLOSE },
		{ 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", CLOSE },
	};
	static const struct step racing[] = {
		{ 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", KEEP },
		{ 0, NULL, CLOSE },
		{ 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", CLOSE },
	};
	struct server sv;
	oa__http h;
	char err[OA__ERRLEN], got[4096], body[64], *second;
	size_t len;

	CHECK(serve(&sv, AF_INET, idle, 2) == 0);
	client(&h, sv.port, err);
	CHECK_INT(POST(&h, err), 0);
	CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err), 0);
	CHECK_STR(body, "a");
	{
		/* Let the FIN arrive; without the pause the retry path is
		 * taken instead, with the same result. */
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	CHECK_INT(POST(&h, err), 0);
	CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err), 0);
	CHECK_STR(body, "b");
	CHECK_STR(err, "");
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 0, got, sizeof got), 2);

	CHECK(serve(&sv, AF_INET, racing, 3) == 0);
	client(&h, sv.port, err);
	CHECK_INT(POST(&h, err), 0);
	CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err), 0);
	CHECK_STR(body, "a");
	CHECK_INT(POST(&h, err), 0);
	CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err), 0);
	CHECK_STR(body, "b");
	CHECK_STR(err, "");
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 0, got, sizeof got), 2);
	/* The same request arrived three times: once, then twice. */
	second = strstr(got + 1, "POST");
	CHECK(second != NULL);
	CHECK(strstr(second + 1, "POST") != NULL);
}

/* A fresh connection that fails before any answer is not retried. */
static void
no_retry_on_fresh(void)
{
	static const struct step s[] = {
		{ 1, NULL, CLOSE },
		{ 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", CLOSE },
	};
	struct server sv;
	oa__http h;
	char err[OA__ERRLEN], got[4096];

	CHECK(serve(&sv, AF_INET, s, 2) == 0);
	client(&h, sv.port, err);
	CHECK_INT(POST(&h, err), OA_ERR_IO);
	CHECK_STR(err, "the server closed the connection before the "
	          "response head");
	CHECK_INT(h.fd, -1);
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 1, got, sizeof got), -1);
}

static void
connect_refused(void)
{
	oa__http h;
	char err[OA__ERRLEN], want[128];
	int fd, port;

	CHECK((fd = listen_on(AF_INET, &port)) >= 0);
	close(fd);
	client(&h, port, err);
	CHECK_INT(POST(&h, err), OA_ERR_CONNECT);
	snprintf(want, sizeof want, "connect to 127.0.0.1:%d: %s", port,
	         strerror(ECONNREFUSED));
	CHECK_STR(err, want);
	CHECK_INT(h.fd, -1);
	oa__http_free(&h);
}

/* A server that stops talking: before the head, and inside the body. */
static void
read_timeout(void)
{
	static const struct step before[] = { { 1, NULL, STALL } };
	static const struct step inside[] = {
		{ 1, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", STALL },
	};
	struct server sv;
	oa__http h;
	char err[OA__ERRLEN], got[4096], body[64];
	size_t len;

	CHECK(serve(&sv, AF_INET, before, 1) == 0);
	client(&h, sv.port, err);
	h.read_timeout_ms = 200;
	CHECK_INT(POST(&h, err), OA_ERR_READ_TIMEOUT);
	CHECK_STR(err, "no data from the server for 200 ms");
	CHECK_INT(h.fd, -1);
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 1, got, sizeof got), -1);
	CHECK_HAS(got, "POST /v1/chat/completions");

	CHECK(serve(&sv, AF_INET, inside, 1) == 0);
	client(&h, sv.port, err);
	CHECK_INT(POST(&h, err), 0);
	h.read_timeout_ms = 200;
	CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err),
	          OA_ERR_READ_TIMEOUT);
	CHECK_STR(body, "ab");
	CHECK_STR(err, "no data from the server for 200 ms");
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 1, got, sizeof got), -1);

	/* The request deadline, with no idle timeout. */
	CHECK(serve(&sv, AF_INET, before, 1) == 0);
	client(&h, sv.port, err);
	h.read_timeout_ms = -1;
	h.deadline = oa__now_ms() + 200;
	CHECK_INT(POST(&h, err), OA_ERR_DEADLINE);
	CHECK_HAS(err, "time limit");
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 1, got, sizeof got), -1);
}

/* Interruption through the cancel pipe: written by the server while the
 * client waits for the head, and by the test between two body reads; and
 * through the flag, already set. */
static void
cancel(void)
{
	static const struct step wake[] = { { 1, NULL, CANCEL } };
	static const struct step stall[] = {
		{ 1, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", STALL },
	};
	struct server sv;
	oa__http h;
	char err[OA__ERRLEN], got[4096], body[64];
	volatile int flag = 0;
	size_t len, n = 0;

	CHECK(pipe(cancel_pipe) == 0);
	CHECK(serve(&sv, AF_INET, wake, 1) == 0);
	client(&h, sv.port, err);
	h.read_timeout_ms = -1;
	h.cancel_fd = cancel_pipe[0];
	CHECK_INT(POST(&h, err), OA_ERR_INTERRUPTED);
	CHECK_STR(err, "oa_interrupt() was called");
	CHECK_INT(h.fd, -1);
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 1, got, sizeof got), -1);
	CHECK_INT(read(cancel_pipe[0], body, 1), 1);

	CHECK(serve(&sv, AF_INET, stall, 1) == 0);
	client(&h, sv.port, err);
	h.read_timeout_ms = -1;
	h.cancel_fd = cancel_pipe[0];
	CHECK_INT(POST(&h, err), 0);
	while (n < 2) {
		CHECK_INT(oa__http_read(&h, body + n, 2 - n, &len, err), 0);
		CHECK(len > 0);
		n += len;
	}
	CHECK(memcmp(body, "ab", 2) == 0);
	CHECK_INT(write(cancel_pipe[1], "x", 1), 1);
	CHECK_INT(oa__http_read(&h, body, sizeof body, &len, err),
	          OA_ERR_INTERRUPTED);
	CHECK_INT(len, 0);
	CHECK_INT(h.fd, -1);
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 1, got, sizeof got), -1);
	close(cancel_pipe[0]);
	close(cancel_pipe[1]);
	cancel_pipe[0] = cancel_pipe[1] = -1;

	CHECK(serve(&sv, AF_INET, stall, 1) == 0);
	client(&h, sv.port, err);
	h.read_timeout_ms = -1;
	h.cancelled = &flag;
	flag = 1;
	err[0] = '\0';
	CHECK_INT(POST(&h, err), OA_ERR_INTERRUPTED);
	CHECK_STR(err, "oa_interrupt() was called");
	CHECK_INT(h.fd, -1);
	oa__http_free(&h);
	finish(&sv, 1, got, sizeof got);
}

static void
ipv6_loopback(void)
{
	static const struct step s[] = {
		{ 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6", CLOSE },
	};
	struct server sv;
	oa__http h;
	char err[OA__ERRLEN], got[4096], body[64], url[64], want[64];
	size_t len;

	if (serve(&sv, AF_INET6, s, 1) != 0) {
		printf("skip ipv6_loopback: cannot listen on [::1]: %s\n",
		       strerror(errno));
		return;
	}
	oa__http_init(&h);
	snprintf(url, sizeof url, "http://[::1]:%d/v1", sv.port);
	CHECK_INT(oa__url_parse(&h.url, url, err), 0);
	h.connect_timeout_ms = h.read_timeout_ms = 3000;
	CHECK_INT(POST(&h, err), 0);
	CHECK_INT(read_all(&h, 64, body, sizeof body, &len, err), 0);
	CHECK_STR(body, "v6");
	oa__http_free(&h);
	CHECK_INT(finish(&sv, 0, got, sizeof got), 1);
	snprintf(want, sizeof want, "\r\nHost: [::1]:%d\r\n", sv.port);
	CHECK_HAS(got, want);
}

static void
bad_calls(void)
{
	oa__http h;
	char err[OA__ERRLEN], b[4];
	size_t got;

	client(&h, 9, err);
	CHECK_INT(oa__http_request(&h, "POST", "v1", NULL, NULL, 0, err),
	          OA_ERR_INVALID);
	err[0] = '\0';
	CHECK_INT(oa__http_request(&h, "POST", "/a b", NULL, NULL, 0, err),
	          OA_ERR_INVALID);
	err[0] = '\0';
	CHECK_INT(oa__http_read(&h, b, sizeof b, &got, err), OA_ERR_STATE);
	CHECK_INT(got, 0);
	oa__http_free(&h);
	oa__http_free(&h);
}

/* ---------------------------------------------------------------- fds */

static int fds_at_start;

static int
count_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void
no_fd_leaks(void)
{
	CHECK_INT(count_fds(), fds_at_start);
}

static const struct test tests[] = {
	{ "url_accepts", url_accepts },
	{ "url_rejects", url_rejects },
	{ "chunked_vectors", chunked_vectors },
	{ "chunked_done_stays_done", chunked_done_stays_done },
	{ "request_bytes", request_bytes },
	{ "bodies", bodies },
	{ "bad_responses", bad_responses },
	{ "keep_alive_reuse", keep_alive_reuse },
	{ "no_reuse", no_reuse },
	{ "reconnect", reconnect },
	{ "no_retry_on_fresh", no_retry_on_fresh },
	{ "connect_refused", connect_refused },
	{ "read_timeout", read_timeout },
	{ "cancel", cancel },
	{ "ipv6_loopback", ipv6_loopback },
	{ "bad_calls", bad_calls },
	{ "no_fd_leaks", no_fd_leaks },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	fds_at_start = count_fds();
	return test_main("http", argc, argv, tests);
}

/*
 * oa_private.h -- declarations shared between the library's .c files.
 * Never installed. Every name here starts with oa__ so no user symbol can
 * collide with it, and is marked OA_PRIVATE, which the amalgamation turns
 * into `static`.
 *
 * Conventions: functions return 0 or a negative oa_err (see openagent.h)
 * unless a comment says otherwise. A function that fails writes a short
 * explanation into the caller's error buffer `err` (OA__ERRLEN bytes) first;
 * the first error wins, so callers write err only when it is empty.
 */
#ifndef OA_PRIVATE_H
#define OA_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "openagent.h"

#ifndef OA_PRIVATE
#define OA_PRIVATE
#endif
/* The same for data: extern here, static in the amalgamation. */
#ifndef OA_PRIVATE_DATA
#define OA_PRIVATE_DATA extern
#endif

#define OA__ERRLEN 256
/* An option's value, or def when it is 0 (not set). */
#define OA__OR(v, def) ((v) ? (v) : (def))

#if defined(__GNUC__) || defined(__clang__)
#define OA__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define OA__PRINTF(a, b)
#endif

/* ========================================================================
 * util.c -- allocation, growing buffers, error messages
 * ======================================================================== */

/* The allocator in force: the user's, or the C library's when all three
 * functions are NULL. */
OA_PRIVATE void *oa__malloc(const oa_allocator *a, size_t n);
OA_PRIVATE void *oa__realloc(const oa_allocator *a, void *p, size_t n);
OA_PRIVATE void oa__free(const oa_allocator *a, void *p);
/* NULL when n * size overflows or the allocator fails. */
OA_PRIVATE void *oa__mallocarray(const oa_allocator *a, size_t n, size_t size);
/* A NUL-terminated copy of s[0..n), or NULL. */
OA_PRIVATE char *oa__strndup(const oa_allocator *a, const char *s, size_t n);

/*
 * A growing byte buffer. Zero-initialise, then set alloc and limit (0: no
 * limit). Errors stick in err (OA_ERR_NOMEM or OA_ERR_LIMIT) and make every
 * later append a no-op, so a writer may append many pieces and check once.
 * p is NUL-terminated whenever it is not NULL.
 */
typedef struct oa__buf {
	char *p;
	size_t len;
	size_t cap;
	size_t limit;             /* maximum len; 0: none */
	const oa_allocator *alloc;
	int err;                  /* 0 or the first failure */
} oa__buf;

/* Make room for n more bytes (plus the NUL). */
OA_PRIVATE int oa__buf_reserve(oa__buf *b, size_t n);
OA_PRIVATE int oa__buf_append(oa__buf *b, const void *s, size_t n);
OA_PRIVATE int oa__buf_puts(oa__buf *b, const char *s);
OA_PRIVATE int oa__buf_printf(oa__buf *b, const char *fmt, ...)
	OA__PRINTF(2, 3);
/* Empty it, keep the memory, clear err. */
OA_PRIVATE void oa__buf_reset(oa__buf *b);
OA_PRIVATE void oa__buf_free(oa__buf *b);

/* Format the message into err (OA__ERRLEN bytes) unless err already holds
 * one, and return code. */
OA_PRIVATE int oa__fail(char *err, int code, const char *fmt, ...)
	OA__PRINTF(3, 4);

/* Append to out a printable rendering of s[0..n): at most max bytes of it,
 * with control and non-ASCII bytes as \xNN, and "..." when cut. Used to
 * quote server text and offending bytes in error messages. */
OA_PRIVATE void oa__quote(char *out, size_t outlen, const char *s, size_t n,
                          size_t max);

/* Monotonic milliseconds. */
OA_PRIVATE int64_t oa__now_ms(void);

/* Make *v (an array of *cap elements of size bytes) hold at least need,
 * doubling. 0 or OA_ERR_NOMEM (*v unchanged). */
OA_PRIVATE int oa__grow(const oa_allocator *a, void **v, size_t *cap,
                        size_t need, size_t size);
/* JSON's whitespace (space, tab, CR, LF; not NUL), and trimming it from
 * both ends of s[0..*n). */
OA_PRIVATE int oa__blank(int c);
OA_PRIVATE void oa__trim(const char **s, size_t *n);
/* Is s[0..n) the text lit, ignoring ASCII case? */
OA_PRIVATE int oa__ieq(const char *s, size_t n, const char *lit);
/* A pseudo-random number (xorshift64) for retry jitter and call ids,
 * which need only differ, never be secret; and a seed that differs
 * between clients and processes. */
OA_PRIVATE uint64_t oa__random(uint64_t *state);
OA_PRIVATE uint64_t oa__seed(const void *p);

/* ========================================================================
 * json.c -- reading JSON with jsmn, writing JSON
 * ======================================================================== */

/* A token's type; NONE: no such token (index < 0). */
enum {
	OA__JSON_NONE, OA__JSON_OBJECT, OA__JSON_ARRAY, OA__JSON_STRING,
	OA__JSON_NUMBER, OA__JSON_TRUE, OA__JSON_FALSE, OA__JSON_NULL
};

/*
 * A parsed JSON text. Tokens are addressed by index: 0 is the root; -1
 * means "absent" and every function accepts it (returning NONE/NULL/-1),
 * so look-ups chain without checks:
 *     oa__json_get(j, oa__json_get(j, 0, "error"), "message")
 * The source text is parsed where it lies and strings are unescaped in
 * place, so src must stay alive and unmoved while the oa__json is used.
 * The token array is kept and reused across parses, and with jsonreuse.c
 * so is the last parse itself up to where a new text stops matching it.
 */
typedef struct oa__json {
	char *src;
	size_t len;
	void *tok;          /* private: jsmntok_t[cap] */
	unsigned cap;       /* tokens allocated */
	int ntok;           /* tokens used by the last parse */
	int shrunk;         /* private: first string unescaped shorter */
	int *next;          /* private: per token, the token after its subtree */
	void *seen;         /* private: what jsonreuse.c keeps for the next */
	const oa_allocator *alloc;
	size_t max_tokens;  /* growth bound; 0: OA_MAX_JSON_TOKENS */
	size_t max_depth;   /* nesting bound; 0: OA_MAX_JSON_DEPTH */
} oa__json;

/* Parse src[0..len) as exactly one JSON value (whitespace around it allowed),
 * growing the token array as needed up to max_tokens. Returns 0,
 * OA_ERR_STREAM (not JSON, or trailing bytes), OA_ERR_LIMIT (too many
 * tokens, or nested deeper than max_depth) or OA_ERR_NOMEM, with a message in err. */
OA_PRIVATE int oa__json_parse(oa__json *j, char *src, size_t len, char *err);
OA_PRIVATE void oa__json_free(oa__json *j);

OA_PRIVATE int oa__json_type(const oa__json *j, int t);
/* Members of an object / elements of an array. */
OA_PRIVATE int oa__json_count(const oa__json *j, int t);
/* The value of member key of object t (first match, keys compared as raw
 * bytes), or -1. */
OA_PRIVATE int oa__json_get(const oa__json *j, int t, const char *key);
/* Element i of array t, or -1. */
OA_PRIVATE int oa__json_at(const oa__json *j, int t, int i);
/* Iteration: the first child of a container (for an object, the first
 * KEY; its value is key + 1), and the token after t's whole subtree at the
 * same level. Both -1 when there is none.
 *     for (k = oa__json_first(j, obj); k >= 0; k = oa__json_next(j, k + 1))
 * walks an object's keys; for an array use k = oa__json_next(j, k). */
OA_PRIVATE int oa__json_first(const oa__json *j, int t);
OA_PRIVATE int oa__json_next(const oa__json *j, int t);
/* A string token's value, unescaped in place to UTF-8 and NUL-terminated;
 * NULL if t is not a string. May be called again for the same token.
 * \uXXXX escapes become UTF-8, surrogate pairs joined; a lone surrogate
 * becomes U+FFFD. *len may be NULL. */
OA_PRIVATE const char *oa__json_str(oa__json *j, int t, size_t *len);
/* The raw text of any token (objects and arrays whole, strings without
 * their quotes and not unescaped); not NUL-terminated. Unescaping a string
 * (oa__json_str, oa__json_eq) rewrites its bytes in place, so take the raw
 * text of a container before unescaping any string inside it; the raw
 * text of an unescaped string is its unescaped value. */
OA_PRIVATE const char *oa__json_raw(const oa__json *j, int t, size_t *len);
/* An integer number (no fraction or exponent) that fits in long long.
 * Returns 0, or OA_ERR_STREAM (not an integer) / OA_ERR_LIMIT (overflow). */
OA_PRIVATE int oa__json_int(const oa__json *j, int t, long long *out);
/* Any number, as a double (strtod). 0, OA_ERR_STREAM (not a number) or
 * OA_ERR_LIMIT (a number of 512 bytes or more that ends the text: it is
 * copied to be terminated, into a fixed buffer). */
OA_PRIVATE int oa__json_double(const oa__json *j, int t, double *out);
/* 1 for true, 0 for false, -1 for anything else. */
OA_PRIVATE int oa__json_bool(const oa__json *j, int t);
/* Compare string token t's value with s; unescapes t. 1 equal, 0 not. */
OA_PRIVATE int oa__json_eq(oa__json *j, int t, const char *s);

/* Append s[0..n) as a JSON string literal with its quotes: ", \ and
 * control characters escaped, bytes >= 0x80 passed through unchanged. */
OA_PRIVATE void oa__json_put_str(oa__buf *b, const char *s, size_t n);

/* Where json.c's check of a text starts: at byte i, before token nt,
 * inside container open (an object if obj; -1: none) depth levels deep,
 * where a key is due if key. All zero but open: the start of the text;
 * jsonreuse.c moves it on (see oa__modules.json_reuse). */
struct oa__json_at {
	size_t i, depth;
	int nt, open, obj, key;
};

/* ========================================================================
 * sse.c -- an incremental text/event-stream parser
 * ======================================================================== */

/*
 * Bytes go straight into the parser's own buffer (no copy):
 *     oa__sse_space(p, &dst, &room);   read up to room bytes into dst
 *     oa__sse_ack(p, n);               n bytes were written
 *     while ((r = oa__sse_next(p, &ev, err)) > 0) use ev;
 * Lines end in LF, CR or CRLF (a CR at the end of the input waits for the
 * next byte); a UTF-8 BOM at the very start is skipped; ':' lines are
 * comments; "data" lines are joined with '\n'; a blank line dispatches.
 * An event whose data is empty (no data line) is not dispatched, as the
 * HTML standard says.
 */
typedef struct oa__sse_event {
	char *data;       /* NUL-terminated, inside the parser's buffer; valid
	                     until the next space/ack/next/finish call, and may
	                     be modified in place (JSON unescaping) */
	size_t len;
	const char *type; /* the "event:" field, NUL-terminated; "" if none */
	const char *id;   /* the last "id:" field seen, "" if none */
} oa__sse_event;

typedef struct oa__sse {
	/* private */
	char *buf;
	size_t cap;               /* allocated */
	size_t max;               /* most bytes one event may occupy */
	const oa_allocator *alloc;
	/* the stream's state, from here on (oa__sse_reset) */
	size_t len;               /* bytes held */
	size_t scan;              /* first byte not yet parsed */
	size_t seen;              /* bytes after scan known to hold no line end */
	size_t out;               /* end of the current event's joined data,
	                             which starts at buf[0] */
	int started;              /* the first line was read */
	int cr_pending;           /* the last line ended in CR */
	char type[2][64];         /* "event:" of the event on loan and of
	                             the one being read (type[cur]) */
	int cur;
	char id[128];             /* last "id:", kept across events */
	long retry_ms;            /* public: the last "retry:" field, a
	                             reconnection delay; -1: none seen */
} oa__sse;

/* max: the largest event in bytes (0: OA_MAX_EVENT_BYTES). Allocates
 * nothing until the first oa__sse_space(). */
OA_PRIVATE void oa__sse_init(oa__sse *p, const oa_allocator *a, size_t max);
/* Forget buffered bytes and state (a new response); keeps the memory. */
OA_PRIVATE void oa__sse_reset(oa__sse *p);
OA_PRIVATE void oa__sse_free(oa__sse *p);
/* Where to put new bytes, and how many fit (at least 1). Grows the buffer
 * up to the event limit. Returns 0, OA_ERR_LIMIT (an event larger than
 * max is under way) or OA_ERR_NOMEM. */
OA_PRIVATE int oa__sse_space(oa__sse *p, char **dst, size_t *room, char *err);
OA_PRIVATE void oa__sse_ack(oa__sse *p, size_t n);
/* 1 and *ev filled: an event; 0: no complete event in what was fed. */
OA_PRIVATE int oa__sse_next(oa__sse *p, oa__sse_event *ev, char *err);
/* The input ended. An unterminated last event is dispatched if its data is
 * "[DONE]" or starts with '{' (lenient: a proxy may drop the final blank
 * line); returns 1 with *ev then, else 0. Call it once oa__sse_next has
 * returned 0: it treats every byte still held as the last line. */
OA_PRIVATE int oa__sse_finish(oa__sse *p, oa__sse_event *ev);

/* ========================================================================
 * net.c -- URLs and sockets; http.c -- HTTP/1.1 requests and bodies
 * ======================================================================== */

typedef struct oa__url {
	char host[256];   /* without brackets for IPv6 literals */
	char port[8];
	char path[1024];  /* base path without a trailing slash; "" for none */
	int ipv6;         /* host is an IPv6 literal: bracket it in Host: */
	int tls;          /* https */
} oa__url;

/* Parse "http[s]://host[:port][/path]" (https sets tls; a build without
 * tls.c refuses it in oa__http_configure). Returns 0 or OA_ERR_URL with
 * a message. */
OA_PRIVATE int oa__url_parse(oa__url *u, const char *url, char *err);
/* Where url's authority starts: after "scheme://", or at url itself when
 * it has no scheme. */
OA_PRIVATE const char *oa__url_authority(const char *url);
/* Append to out (size bytes, NUL-terminated) url quoted as oa__quote does
 * (at most max bytes), its userinfo ("user:password@") shown as "***@":
 * every message quotes a URL through this. */
OA_PRIVATE void oa__url_quote(char *out, size_t size, const char *url,
                              size_t max);
/* "scheme://host[:port]path" of a request to u, for messages; cut with
 * "..." to fit size. */
OA_PRIVATE void oa__url_text(const oa__url *u, const char *path, char *out,
                             size_t size);

/* An incremental decoder of a chunked body, working in place.
 * Zero-initialise it; all fields are private. */
typedef struct oa__chunked {
	uint64_t left;      /* bytes left in the current chunk's data */
	int state;
	int digits;         /* hex digits seen in the size line */
	int cr;             /* a CR was just seen: an LF must follow */
} oa__chunked;

/*
 * Decode buf[0..*len) in place: on return buf[0..*len) holds only chunk
 * data. Returns 0 when more input is needed, 1 when the final chunk and
 * its trailers ended (*rest then says how many bytes of the input came
 * after the end; they are not data), or OA_ERR_PROTOCOL with a message
 * (bad size, overflow, missing CRLF). Any split of the input decodes to
 * the same bytes.
 */
OA_PRIVATE int oa__chunked_decode(oa__chunked *d, char *buf, size_t *len,
                                  size_t *rest, char *err);

enum { OA__BODY_NONE, OA__BODY_LENGTH, OA__BODY_CHUNKED, OA__BODY_CLOSE };

typedef struct oa__http oa__http;

/* Moving payload bytes, on the socket (oa__net_io) or through TLS: in
 * receives into in, out sends from out (the other is NULL), at most n
 * bytes. Each blocks, within read_timeout_ms, until it moved at least
 * one byte. Receiving, *done == 0 means the peer closed. Sending returns
 * OA__EARLY while h->early_ok when an answer arrived before the request
 * was all sent. */
typedef int oa__io_fn(oa__http *h, char *in, const char *out, size_t n,
                      size_t *done, char *err);
/* openagent.c: a step told not to wait found nothing to do. */
#define OA__AGAIN 2
/* oa__net_io: the server answered before taking the whole request. */
#define OA__EARLY 3

struct oa__http {
	/* settings, set by the caller before the first request */
	oa__url url;
	const oa_allocator *alloc;
	int connect_timeout_ms;   /* < 0: none */
	int read_timeout_ms;      /* < 0: none */
	int request_timeout_ms;   /* <= 0: none; sets deadline per request */
	int64_t deadline;         /* oa__now_ms() bound for this request; 0 none;
	                             set by oa__http_request when
	                             request_timeout_ms > 0 */
	size_t max_header;        /* the head buffer's size (it is allocated at
	                             the first request) */
	int max_retries;          /* retry.c: attempts after the first */
	int max_retry_after_ms;   /* retry.c: Retry-After is obeyed up to this */
	uint64_t rng;             /* retry.c: oa__random state for jitter */
	int debug;                /* trace the exchange to stderr */
	int cancel_fd;            /* readable when interrupted; -1: none */
	volatile int *cancelled;  /* set when interrupted; may be NULL */
	oa__url proxy;            /* the proxy, when use_proxy */
	int use_proxy;
	char proxy_auth[400];     /* "Proxy-Authorization: Basic ...\r\n"
	                             from the proxy URL's userinfo, or "" */
	/* the response, after oa__http_request() */
	int status;
	char content_type[128];   /* lower-cased media type, no parameters */
	char location[256];       /* a redirect's Location, cut to fit */
	/* One more response header to keep: the caller sets capture to its
	 * name (e.g. "mcp-session-id", any case) and reads its printable
	 * value, "" when absent or too long to fit, from captured. */
	const char *capture;
	char captured[256];
	char coding[64];          /* "Content-Encoding: gzip" (or Transfer-):
	                             a coding the body has that http.c does
	                             not undo; "" for none */
	int body;                 /* OA__BODY_* */
	/* private */
	int fd;
	oa__io_fn *io;            /* oa__net_io, or TLS's on this connection */
	int refused;              /* the last connect was refused */
	int keep_alive;
	int early_ok;             /* sending a request: stop at an answer;
	                             after it: the answer came early */
	uint64_t left;            /* Content-Length bytes still to read */
	oa__chunked chunked;
	int body_done;
	uint64_t length;          /* the Content-Length, for messages */
	oa__buf req;              /* the request head being sent */
	char *head;               /* response head buffer, max_header bytes */
	size_t head_len;          /* bytes of the answer in head (interim
	                             1xx heads included) */
	size_t head_off;          /* where the body starts in head */
	struct oa__tls *tls;      /* tls.c's state (trust anchors, engine,
	                             buffers); NULL for http:// */
};

OA_PRIVATE void oa__http_init(oa__http *h);
/*
 * Take the network settings from the options, after h->url and h->alloc
 * are set: timeouts (0: OA_DEFAULT_*, < 0: none), request_timeout_ms,
 * max_header_bytes, max_retries (0: OA_DEFAULT_MAX_RETRIES, OA_OMIT:
 * none), proxy (NULL: the environment, "": none), debug (or OA_DEBUG=1),
 * insecure (or OPEN_AGENT_INSECURE=1) and ca_file (NULL: SSL_CERT_FILE,
 * then the system bundle). For https the trust anchors are loaded here,
 * once. Returns 0, OA_ERR_URL (https:// without tls.c), OA_ERR_INVALID
 * (an option out of range or needing a module the build leaves out, a
 * bad proxy option), OA_ERR_CONFIG (a bad proxy in the environment),
 * OA_ERR_TLS (the CA file cannot be read or holds no certificate) or
 * OA_ERR_NOMEM.
 */
OA_PRIVATE int oa__http_configure(oa__http *h, const oa_options *o,
                                  char *err);
/*
 * Send one request and read the response head. Connects (or reuses the
 * open connection). extra_headers is "Name: value\r\n" lines or NULL.
 * On return 0, status, content_type and body are set; the body is read
 * with oa__http_read(). A previous response's unread body is drained if
 * its end arrives within a few milliseconds, else the connection is
 * closed. With retry.c, refused connections and 429/503 answers are
 * retried with backoff, up to max_retries times; the last 429/503 is
 * returned like any response. Not for HEAD: its answer would be taken to
 * have a body.
 */
OA_PRIVATE int oa__http_request(oa__http *h, const char *method,
                                const char *path, const char *extra_headers,
                                const char *body, size_t body_len, char *err);
/*
 * Read body bytes (de-chunked) into dst[0..room). Blocks until at least one
 * byte, the end of the body, a timeout, cancellation or an error.
 * Returns 0 with *got > 0 for data, 0 with *got == 0 at the end of the body,
 * or OA_ERR_READ_TIMEOUT / OA_ERR_DEADLINE / OA_ERR_INTERRUPTED / OA_ERR_IO
 * / OA_ERR_PROTOCOL / OA_ERR_TRUNCATED (a length- or chunk-framed body cut
 * short by the peer).
 */
OA_PRIVATE int oa__http_read(oa__http *h, char *dst, size_t room,
                             size_t *got, char *err);
/* Close the connection (if any); settings stay. */
OA_PRIVATE void oa__http_close(oa__http *h);
OA_PRIVATE void oa__http_free(oa__http *h);
/* For proxy.c's CONNECT: write all of src (through TLS when on), and read
 * a response head (h->head_len counts the bytes received; a 2xx answer to
 * CONNECT has no body, whatever its framing says). */
OA_PRIVATE int oa__http_send(oa__http *h, const char *src, size_t n,
                             char *err);
OA_PRIVATE int oa__http_head(oa__http *h, char *err);
/* For retry.c: read the rest of a body and throw it away, waiting at
 * most wait_ms for each piece; afterwards the body is done or the
 * connection closed. 0, or OA_ERR_INTERRUPTED / OA_ERR_DEADLINE. */
OA_PRIVATE int oa__http_discard(oa__http *h, int wait_ms);

/* net.c. "host:port", an IPv6 literal in brackets; the port left out when
 * it is the scheme's default and omit_default is set (the Host header). */
OA_PRIVATE void oa__host_port(const oa__url *u, int omit_default, char *out,
                              size_t size);
/* Resolve to (the server or the proxy) and connect to the first address
 * that answers, within connect_timeout_ms; h->refused says the last
 * address refused, which is worth retrying (a server still starting).
 * Interrupted or past the deadline, it may leave h->fd open: the caller
 * closes the connection on any failure. */
OA_PRIVATE int oa__net_dial(oa__http *h, const oa__url *to, char *err);
/* The socket's own reads and writes (see oa__io_fn). */
OA_PRIVATE oa__io_fn oa__net_io;
/*
 * Wait until the socket is ready for events (0: wait on nothing but the
 * cancel pipe, a pause). Returns 0 when it is (or has an error or hang-up
 * for the next call to report), 1 when timeout_ms (< 0: none; 0: just
 * look) passed without that -- the caller words the message -- or
 * OA_ERR_INTERRUPTED / OA_ERR_DEADLINE / OA_ERR_IO.
 */
OA_PRIVATE int oa__net_wait(oa__http *h, short events, int timeout_ms,
                            char *err);
/* An idle kept-alive connection is fit to reuse: nothing to read on it. */
OA_PRIVATE int oa__net_idle_ok(const oa__http *h);


/* ========================================================================
 * tools.c -- the tool table, argument checks, calling handlers (and the
 * module shorthand.c, reached through oa__modules)
 * ======================================================================== */

typedef struct oa__tool {
	char *name;
	char *description;   /* "" when none */
	char *schema;        /* a JSON Schema object text, always */
	oa_tool_fn fn;       /* may be NULL */
	void *ctx;
} oa__tool;

/* What a handler or hook reads the arguments through (oa_args_*). */
struct oa_args {
	oa__json *j;        /* the parsed arguments; root 0 */
	const char *text;   /* the same bytes, untouched, NUL-terminated */
	size_t len;
};

typedef struct oa__tools {
	oa__tool *v;
	size_t n;
	const oa_allocator *alloc;
} oa__tools;

/* Copy a user's tool table: check names ([A-Za-z0-9_-]{1,64}, unique),
 * turn shorthand schemas into JSON Schema (through shorthand.c; without
 * it they are refused), check full schemas are JSON objects. Returns 0,
 * OA_ERR_INVALID with a message naming the tool, or OA_ERR_NOMEM. On
 * failure nothing is left allocated. */
OA_PRIVATE int oa__tools_init(oa__tools *t, const oa_allocator *a,
                              const oa_tool *src, size_t n, char *err);
OA_PRIVATE void oa__tools_free(oa__tools *t);
/* Append the request's "tools" array: [{"type":"function","function":
 * {"name":...,"description":...,"parameters":{...}}},...]. */
OA_PRIVATE void oa__tools_put(const oa__tools *t, oa__buf *b);
/* The tool of that name, or NULL. */
OA_PRIVATE const oa__tool *oa__tools_find(const oa__tools *t,
                                          const char *name);
/*
 * Check parsed arguments (j, root token 0, must be an object) against the
 * tool's schema: required members present, member types (string, integer,
 * number, boolean, object, array, null), enum values. Returns 0, or 1 with
 * a one-line reason in msg (msglen bytes) that the model can act on, e.g.
 * "missing required argument \"b\"". scratch is a reusable JSON reader for
 * the schema and tmp holds its text. Or a negative oa_err (OA_ERR_NOMEM,
 * or OA_ERR_LIMIT from tmp's or scratch's limits) with msg saying so.
 * String members of args may be unescaped in place.
 */
OA_PRIVATE int oa__tools_check(const oa__tool *tool, oa__json *args,
                               oa__json *scratch, oa__buf *tmp, char *msg,
                               size_t msglen);
/*
 * Run a handler. args is the parsed arguments (root 0); text[0..len) is a
 * second, untouched, NUL-terminated copy of the same bytes (not args->src:
 * string look-ups and oa__tools_check unescape args in place, and
 * oa_args_json / oa_args_raw answer from text, at the same offsets). The
 * handler's output goes to out (reset first; out->p is "" when nothing is
 * written). Returns 0 (success), 1 (the handler reported failure, or the
 * tool has no handler; out holds the message), or OA_ERR_NOMEM /
 * OA_ERR_LIMIT from writing out.
 */
OA_PRIVATE int oa__tools_call(const oa__tool *tool, oa__json *args,
                              const char *text, size_t len, oa__buf *out);

/* ========================================================================
 * hooks.c -- running lifecycle hooks
 * ======================================================================== */

/*
 * Run the hooks of ev->kind in order until one decides something other
 * than OA_HOOK_ALLOW. Returns that decision (OA_HOOK_ALLOW when none or
 * all allowed) with its text copied into text (reset first; "" when the
 * hook gave none), or OA_ERR_HOOK (a hook returned something that is not
 * a decision; err says which) or OA_ERR_NOMEM. POST_TOOL_USE hooks only
 * observe: all of them run and the result is OA_HOOK_ALLOW.
 */
OA_PRIVATE int oa__hooks_run(const oa_hook *hooks, size_t n,
                             const oa_hook_event *ev, oa__buf *text,
                             char *err);


/* ========================================================================
 * The client's state, shared by the files that make up the client:
 *   openagent.c  the turn state machine behind oa_next()
 *   request.c    options, history and the request body
 *   stream.c     one event or completion of the response into blocks
 *   toolcalls.c  a reply's tool calls: assembled, checked, run
 *   hooks.c      running hooks for the client's events
 * ======================================================================== */

/* The states of a turn; openagent.c's opening comment describes each. */
enum {
	OA__IDLE, OA__SEND, OA__STREAM, OA__ENDING, OA__TOOLS, OA__RUN,
	OA__WAITING, OA__DONE
};
enum { OA__USER, OA__ASSISTANT, OA__TOOL, OA__SYSTEM };
/* How content deltas relate to each other; see stream.c. */
enum { OA__TEXT_UNKNOWN, OA__TEXT_SUSPECT, OA__TEXT_DELTA,
       OA__TEXT_CUMULATIVE };

typedef struct oa__message {
	int role;                    /* OA__USER, OA__ASSISTANT, OA__TOOL
	                                (OA__SYSTEM: the system prompt) */
	char *content;
	size_t len;
	char *tool_calls;            /* assistant: JSON array text, or NULL */
	char *tool_call_id;          /* tool: the call answered, or NULL */
	char *parts;                 /* user with images: content parts */
	int is_error, blocked;       /* tool: see oa_message */
} oa__message;

/* One tool call of a reply, assembled from stream fragments. Slots are
 * reused from reply to reply: their buffers are reset, not freed, and
 * oa__new_call() zeroes what comes before them. */
typedef struct oa__call {
	long long index;             /* the server's index */
	size_t why;                  /* error: where the reason starts in
	                                result (past "error: ") */
	int args_whole;              /* args came as a JSON value, not text */
	int blocked;                 /* a hook refused it; result says why */
	int failed;                  /* the result is an error */
	int has_result;              /* result is its answer; before its
	                                hooks ran: the checks' error */
	int args_ok;                 /* args parse as a JSON object */
	int repaired;                /* args were repaired (lenient) */
	const char *unreadable;      /* from the text filter: why */
	oa__buf id, name, args;      /* args: as received */
	oa__buf input;               /* what a hook replaced args with */
	oa__buf result;              /* the tool message content */
} oa__call;

/* A block waiting to be handed out by oa_next(). */
typedef struct oa__pending {
	int type;
	const char *text;            /* or, with in_segs, an offset in segs */
	size_t len;
	size_t off;
	int in_segs;
	oa__call *call;              /* tool blocks */
} oa__pending;

struct oa__filter;

struct oa__client {
	oa_allocator alloc;
	int ready;                   /* oa_init() succeeded */

	/* settings, copied from oa_options (request.c) */
	char *model, *system_prompt;
	char path[1100];             /* base path + "/chat/completions" */
	int max_turns;
	size_t max_response;
	int no_stream_options;       /* the server rejected stream_options */
	int no_stream;
	int auto_tools;
	int max_rounds;              /* max_tool_iterations */
	size_t max_calls;
	oa__tools tools;
	oa_hook *hooks;
	size_t nhooks;
	oa__buf fields;              /* optional request fields, ",..." */
	size_t choice_at, choice_len; /* the tool_choice member in fields
	                                 that requests sending tool results
	                                 leave out (fields.c); len 0: none */
	int lenient;
	int stateless;
	size_t max_image;            /* for images.c */

	/* history */
	oa__message *msgs;
	size_t nmsgs, capmsgs;

	/* the turn (openagent.c) */
	int state;                   /* OA__IDLE ... OA__DONE */
	int err;                     /* the first error; sticks */
	char errmsg[OA__ERRLEN];
	int requests;                /* sent for this query */
	int rounds;                  /* tool rounds run for this query */
	size_t turn_base;            /* history length before this turn */
	int busy;                    /* inside a handler or hook */
	oa__pending *pend;           /* grows to the most one step queues */
	size_t npend, ipend, cappend;
	oa__buf segs;                /* filter output behind pend */
	oa_usage total;              /* this turn's usage, summed */
	uint64_t rng;                /* for generated call ids */

	/* the reply in flight (stream.c) */
	char finish[32];             /* the finish_reason; "": none yet */
	oa_usage usage;              /* this request's */
	size_t response_bytes;
	int text_mode;               /* OA__TEXT_* (stream.c) */
	struct oa__filter *filter;   /* textfilter.c, when a flag is on */
	oa__buf seen;                /* content as received (stream.c) */

	/* the reply's tool calls (toolcalls.c) */
	oa__call *calls;
	size_t ncalls, capcalls;
	size_t icall;                /* TOOLS, RUN: the call handed out */
	int manual;                  /* the caller runs this reply's tools */
	size_t lastcall;             /* the slot last made or continued */

	/* buffers, reused from turn to turn */
	oa__buf body;                /* the request body */
	oa__buf headers;             /* extra request headers, built once */
	oa__buf text;                /* the reply so far */
	oa__buf held;                /* a chunk held back, TEXT_SUSPECT
	                                (stream.c) */
	oa__buf scratch;             /* non-streamed bodies */
	oa__buf parts;               /* joined content parts */
	oa__buf ask;                 /* oa_ask()'s result (context.c) */
	oa__buf argtext;             /* arguments being parsed (in place);
	                                the tool_calls sent back */
	oa__buf hooktext;            /* the deciding hook's text */
	oa__buf repaired;            /* arguments mended by the filter */
	oa__buf schema;              /* a tool's schema, being checked */
	oa__http http;
	oa__sse sse;
	oa__json json;
	oa__json json2;              /* schemas, while json holds arguments */

	/* oa_interrupt() writes a byte to wake[1]; http polls wake[0] */
	int wake[2];
	volatile int interrupted;
};

/* openagent.c: end the turn with an error. The message (printf-style; may
 * be NULL when a leaf already wrote one into errmsg) is kept only if none
 * is there yet: the first error wins. Returns code. */
OA_PRIVATE int oa__fail_turn(struct oa__client *p, int code,
                             const char *fmt, ...) OA__PRINTF(3, 4);
/* openagent.c: queue a block for oa_next(); text s[0..n) must live until
 * it is handed out (textfilter.c queues copies in segs). 0, or the
 * turn's error. */
OA_PRIVATE int oa__queue(struct oa__client *p, int type, const char *s,
                         size_t n, oa__call *call);

/* request.c */
OA_PRIVATE int oa__setup(struct oa__client *p, const oa_options *o);
OA_PRIVATE void oa__teardown(struct oa__client *p);
/* Append a message; s (n bytes; NULL when n is 0) and extra are copied.
 * extra is the tool_calls text of an assistant message or the
 * tool_call_id of a tool message. 0 or OA_ERR_NOMEM. */
OA_PRIVATE int oa__push(struct oa__client *p, int role, const char *s,
                        size_t n, const char *extra);
/* The reply in p->text as an assistant message (with calls, a JSON array
 * text, or NULL): the buffer itself moves into the history, no copy, and
 * p->text is left empty. 0 or OA_ERR_NOMEM. */
OA_PRIVATE int oa__push_reply(struct oa__client *p, const char *calls);
/* Drop messages until n are left. */
OA_PRIVATE void oa__cut(struct oa__client *p, size_t n);
/* Free one message's strings. */
OA_PRIVATE void oa__message_free(struct oa__client *p, oa__message *m);
/* The request body from the history, into p->body. 0 or an error with
 * its message. */
OA_PRIVATE int oa__build_request(struct oa__client *p);

/* stream.c */
/* Count n more bytes of the reply against max_response_bytes. */
OA_PRIVATE int oa__count(struct oa__client *p, size_t n);
/* Start of a new reply: forget the last one's text, usage and finish. */
OA_PRIVATE void oa__reply_reset(struct oa__client *p);
/* One server-sent event. Sets state ENDING at [DONE]. */
OA_PRIVATE int oa__take_event(struct oa__client *p, oa__sse_event *ev);
/* The head of an answer (after oa__http_request): state STREAM for an
 * event stream; a whole completion (JSON) read, state ENDING; a non-2xx
 * answer's message, or (returning 0, state SEND) a retry without
 * stream_options; else OA_ERR_STREAM, naming what it is (a 204, a coding
 * such as gzip, a Content-Type such as text/html) and the URL requested. */
OA_PRIVATE int oa__take_head(struct oa__client *p);
/* The reply ended: release what the cumulative check and the filter
 * hold. 0 or the turn's error. */
OA_PRIVATE int oa__reply_flush(struct oa__client *p);

/* toolcalls.c */
/* One tool_calls value of a delta (an array, or TGI's single object). */
OA_PRIVATE int oa__take_tool_calls(struct oa__client *p, int t);
/* A slot for a new call at index, or without one (has_index 0) at the
 * next free index, past the highest so far: p->calls[p->lastcall], in
 * index order among the others. 0, or the turn's error (max_tool_calls,
 * no memory). */
OA_PRIVATE int oa__new_call(struct oa__client *p, int has_index,
                            long long index);
/* The reply is complete and has calls: give them unique ids, parse and
 * check their arguments, decide manual or auto, keep the assistant
 * message with its tool_calls in history, and go on to state TOOLS. */
OA_PRIVATE int oa__calls_prepare(struct oa__client *p);
/* Run call k's handler (auto mode) and its POST_TOOL_USE hooks; k ends
 * with its result. */
OA_PRIVATE int oa__call_run(struct oa__client *p, oa__call *k);
/* Give every call without a result "error: <why>", then put all results
 * in history in call order, so no tool call dangles. */
/* Give call k, which will not run, its result: "error: " (or with
 * blocked, "blocked: ") and fmt with arg. 0 or the buffer's error. */
OA_PRIVATE int oa__call_fail(oa__call *k, int blocked, const char *fmt,
                             const char *arg);
OA_PRIVATE int oa__calls_settle(struct oa__client *p, const char *why);

/* hooks.c */
/* Run the client's hooks of one event (ev->client is set for the call).
 * Returns the decision, with its text in p->hooktext, or a negative
 * oa_err with the message in p->errmsg. */
OA_PRIVATE int oa__hook_run(struct oa__client *p, oa_hook_event *ev);
OA_PRIVATE int oa__hook_prompt(struct oa__client *p, const char **prompt);
OA_PRIVATE int oa__hook_pre_tool(struct oa__client *p, oa__call *k);

/* ========================================================================
 * The seam to the optional modules
 *
 * The core reaches a module only through this table, which modules.c
 * fills with what the build has (as Lua's linit.c lists its libraries);
 * the core alone has it all NULL. An option that needs a missing module
 * makes oa_init() fail with a message naming the module's file.
 * ======================================================================== */

/* tls.c: TLS (BearSSL) between http.c and the socket. */
typedef struct oa__tls_ops {
	/* once per client: trust anchors (o->ca_file), o->insecure, buffers
	 * (h->tls) */
	int (*setup)(oa__http *h, const oa_options *o, char *err);
	/* a new connection: through the proxy's tunnel when there is one,
	 * the handshake's start; h->io then runs through TLS */
	int (*start)(oa__http *h, char *err);
	void (*free)(oa__http *h);
} oa__tls_ops;

/* proxy.c: HTTP proxies from the option or the environment. */
typedef struct oa__proxy_ops {
	/* sets h->proxy and h->use_proxy when one applies */
	int (*pick)(oa__http *h, const char *proxy, char *err);
	/* CONNECT through the proxy (for TLS) */
	int (*tunnel)(oa__http *h, char *err);
} oa__proxy_ops;

/* retry.c: trying a request again (see http.c). */
typedef struct oa__retry_ops {
	/* at oa_init: max_retries, max_retry_after_ms */
	int (*setup)(oa__http *h, const oa_options *o, char *err);
	/* After attempt number tries (from 0) ended with *r (0: an answer,
	 * whose status may ask for another try; else an error): 1 when the
	 * request is to be sent again, the pause having passed and the
	 * unused answer discarded; 0 when *r (possibly a new error:
	 * interrupted, deadline) is the outcome. */
	int (*again)(oa__http *h, int tries, int *r, char *err);
} oa__retry_ops;

/* textfilter.c: tool calls and thinking written inside the reply text. */
typedef struct oa__filter_ops {
	/* oa_init: p->lenient, and the filter the options ask for into
	 * p->filter (none for lenient_tool_args alone) */
	int (*setup)(struct oa__client *p, const oa_options *o);
	/* content in (s NULL: the reply ended), and what the filter
	 * releases out: text to p->text and queued over a copy (the filter
	 * lends its text only until the next call on it), thinking queued,
	 * tool calls among the reply's. 0 or the turn's error. */
	int (*feed)(struct oa__client *p, const char *s, size_t n);
	void (*reset)(struct oa__filter *f);
	void (*close)(struct oa__client *p);
	/* lenient_tool_args: mend call k's arguments, which do not parse
	 * (see oa__json_repair): 1 with p->json holding them parsed as an
	 * object, else 0 and the reason in msg if it is empty */
	int (*mend)(struct oa__client *p, oa__call *k, char *msg);
} oa__filter_ops;

struct oa__modules {
	const oa__tls_ops *tls;
	const oa__proxy_ops *proxy;
	/* trace.c: the HTTP exchange on stderr (oa_options.debug) */
	void (*trace)(char dir, const char *s, size_t n, int head);
	const oa__filter_ops *filter;
	/* fields.c: the request fields (into p->fields) at oa_init */
	int (*fields)(struct oa__client *p, const oa_options *o,
	              int max_tokens, int send_temperature,
	              double temperature);
	const oa__retry_ops *retry;
	/* shorthand.c: tool's parameter list "a:number b:string" as JSON
	 * Schema, into *schema (allocated with a) */
	int (*shorthand)(const oa_allocator *a, const char *tool,
	                 const char *list, char **schema, char *err);
	/* jsonreuse.c: where a parse may resume in the tokens of the last
	 * one (into at; left as it is to parse from the start); 0 or
	 * OA_ERR_NOMEM. With j->ntok of the last parse, before the reset. */
	int (*json_reuse)(oa__json *j, size_t limit, size_t depth,
	                  struct oa__json_at *at, char *err);
};

OA_PRIVATE_DATA const struct oa__modules oa__modules;

#endif

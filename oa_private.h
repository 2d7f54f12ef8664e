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

#define OA__ERRLEN 256

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

/* ========================================================================
 * json.c -- reading JSON with jsmn, writing JSON
 * ======================================================================== */

enum {
	OA__JSON_NONE = 0,  /* no such token (index < 0) */
	OA__JSON_OBJECT,
	OA__JSON_ARRAY,
	OA__JSON_STRING,
	OA__JSON_NUMBER,
	OA__JSON_TRUE,
	OA__JSON_FALSE,
	OA__JSON_NULL
};

/*
 * A parsed JSON text. Tokens are addressed by index: 0 is the root; -1
 * means "absent" and every function accepts it (returning NONE/NULL/-1),
 * so look-ups chain without checks:
 *     oa__json_get(j, oa__json_get(j, 0, "error"), "message")
 * The source text is parsed where it lies and strings are unescaped in
 * place, so src must stay alive and unmoved while the oa__json is used.
 * The token array is kept and reused across parses.
 */
typedef struct oa__json {
	char *src;
	size_t len;
	void *tok;          /* private: jsmntok_t[cap] */
	unsigned cap;       /* tokens allocated */
	int ntok;           /* tokens used by the last parse */
	unsigned char *done; /* private: per-token "string already unescaped" */
	const oa_allocator *alloc;
	size_t max_tokens;  /* growth bound; 0: OA_MAX_JSON_TOKENS */
} oa__json;

/* Parse src[0..len) as exactly one JSON value (whitespace around it allowed),
 * growing the token array as needed up to max_tokens. Returns 0,
 * OA_ERR_STREAM (not JSON, or trailing bytes), OA_ERR_LIMIT (too many
 * tokens) or OA_ERR_NOMEM, with a message in err. */
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
	size_t cap, len;          /* allocated, bytes held */
	size_t max;               /* most bytes one event may occupy */
	const oa_allocator *alloc;
	size_t scan;              /* first byte not yet parsed */
	size_t seen;              /* bytes after scan known to hold no line end */
	size_t out;               /* end of the current event's joined data,
	                             which starts at buf[0] */
	int started;              /* the BOM check is done */
	int cr_pending;           /* the last line ended in CR */
	int dispatched;           /* an event is on loan to the caller */
	char type[64];            /* "event:" of the current event */
	char id[128];             /* last "id:", kept across events */
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
 * http.c -- URLs, connections, HTTP/1.1 requests and response bodies
 * ======================================================================== */

typedef struct oa__url {
	char host[256];   /* without brackets for IPv6 literals */
	char port[8];
	char path[1024];  /* base path without a trailing slash; "" for none */
	int ipv6;         /* host is an IPv6 literal: bracket it in Host: */
	int tls;          /* https */
} oa__url;

/* Parse "http[s]://host[:port][/path]" (https sets tls; an OA_NO_TLS
 * build refuses it in oa__http_configure). Returns 0 or OA_ERR_URL with
 * a message. */
OA_PRIVATE int oa__url_parse(oa__url *u, const char *url, char *err);

/* An incremental decoder of a chunked body, working in place.
 * Zero-initialise it; all fields are private. */
typedef struct oa__chunked {
	uint64_t left;      /* bytes left in the current chunk's data */
	int state;
	int digits;         /* hex digits seen in the size line */
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

typedef struct oa__http {
	/* settings, set by the caller before the first request */
	oa__url url;
	const oa_allocator *alloc;
	int connect_timeout_ms;   /* < 0: none */
	int read_timeout_ms;      /* < 0: none */
	int request_timeout_ms;   /* <= 0: none; sets deadline per request */
	int64_t deadline;         /* oa__now_ms() bound for this request; 0 none;
	                             set by oa__http_request when
	                             request_timeout_ms > 0 */
	size_t max_header;
	int max_retries;          /* attempts after the first (refused, 429..) */
	int insecure;             /* TLS: accept any certificate chain */
	int debug;                /* trace the exchange to stderr */
	int cancel_fd;            /* readable when interrupted; -1: none */
	volatile int *cancelled;  /* set when interrupted; may be NULL */
	oa__url proxy;            /* the proxy, when use_proxy */
	int use_proxy;
	/* the response, after oa__http_request() */
	int status;
	char content_type[128];   /* lower-cased media type, no parameters */
	char location[256];       /* a redirect's Location, cut to fit */
	int body;                 /* OA__BODY_* */
	/* private */
	int fd;
	int keep_alive;
	int early_ok;             /* sending a request: stop at an answer */
	uint64_t left;            /* Content-Length bytes still to read */
	oa__chunked chunked;
	int body_done;
	uint64_t length;          /* the Content-Length, for messages */
	char *head;               /* response head buffer, max_header bytes */
	size_t head_cap;          /* its size, fixed at the first request */
	size_t head_len, head_off; /* bytes in head, body bytes start at off */
	int retry_after_ms;       /* Retry-After of this response; -1: none */
	uint32_t rng;             /* xorshift state for retry jitter */
	struct oa__tls *tls;      /* trust anchors, engine, buffers; NULL
	                             for http:// and in OA_NO_TLS builds */
} oa__http;

OA_PRIVATE void oa__http_init(oa__http *h);
/*
 * Take the network settings from the options, after h->url and h->alloc
 * are set: timeouts (0: OA_DEFAULT_*, < 0: none), request_timeout_ms,
 * max_header_bytes, max_retries (0: OA_DEFAULT_MAX_RETRIES, OA_OMIT:
 * none), proxy (NULL: the environment, "": none), debug (or OA_DEBUG=1),
 * insecure (or OPEN_AGENT_INSECURE=1) and ca_file (NULL: SSL_CERT_FILE,
 * then the system bundle). For https the trust anchors are loaded here,
 * once. Returns 0, OA_ERR_URL (https:// in an OA_NO_TLS build, a bad
 * proxy URL), OA_ERR_INVALID (an option out of range), OA_ERR_TLS (the CA
 * file cannot be read or holds no certificate) or OA_ERR_NOMEM.
 */
OA_PRIVATE int oa__http_configure(oa__http *h, const oa_options *o,
                                  char *err);
/*
 * Send one request and read the response head. Connects (or reuses the
 * open connection). extra_headers is "Name: value\r\n" lines or NULL.
 * On return 0, status, content_type and body are set; the body is read
 * with oa__http_read(). A previous response's unread body is drained if
 * its end has already arrived, else the connection is closed. Refused
 * connections and 429/503 answers are retried here with backoff, up to
 * max_retries times; the last 429/503 is returned like any response.
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


/* ========================================================================
 * tools.c -- the tool table, argument checks, calling handlers
 * ======================================================================== */

typedef struct oa__tool {
	char *name;
	char *description;   /* "" when none */
	char *schema;        /* a JSON Schema object text, always */
	oa_tool_fn fn;       /* may be NULL */
	void *ctx;
} oa__tool;

typedef struct oa__tools {
	oa__tool *v;
	size_t n;
	const oa_allocator *alloc;
} oa__tools;

/* Copy a user's tool table: check names ([A-Za-z0-9_-]{1,64}, unique),
 * turn shorthand schemas into JSON Schema, check full schemas are JSON
 * objects. Returns 0, OA_ERR_INVALID with a message naming the tool, or
 * OA_ERR_NOMEM. On failure nothing is left allocated. */
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
 * openagent.c -- what context.c may use of the client
 * ======================================================================== */

/* Between turns (no turn running, no tool calls waiting): the history may
 * be read and changed. */
OA_PRIVATE int oa__client_idle(const oa_client *c);
OA_PRIVATE const oa_allocator *oa__client_alloc(const oa_client *c);
/* The system prompt, or NULL. */
OA_PRIVATE const char *oa__client_system(const oa_client *c);
/* The client's detail message buffer (OA__ERRLEN bytes), for oa__fail. */
OA_PRIVATE char *oa__client_errmsg(oa_client *c);
/* For a request of another module between turns (models.c): the client's
 * connection, its request headers ("Accept: ...\r\n" first, then the
 * key's) and a buffer whose contents stay until the next call. */
OA_PRIVATE oa__http *oa__client_http(oa_client *c, const char **headers,
                                     oa__buf **body);
/* Remove messages [from, from + n); out-of-range parts are ignored. */
OA_PRIVATE void oa__history_remove(oa_client *c, size_t from, size_t n);
/* Append a message. role "user", "assistant" or "tool"; tool_calls (a
 * JSON array text) only for assistant; tool_call_id exactly for tool.
 * Everything is copied. 0, OA_ERR_INVALID or OA_ERR_NOMEM. */
OA_PRIVATE int oa__history_append(oa_client *c, const char *role,
                                  const char *content, size_t len,
                                  const char *tool_calls,
                                  const char *tool_call_id);
/* The same for a user message with content parts (a JSON array text). */
OA_PRIVATE int oa__history_append_parts(oa_client *c, const char *content,
                                        size_t len, const char *parts);

/* ========================================================================
 * textfilter.c -- tool calls and thinking inside the reply text
 * ======================================================================== */

/* Filter flags. */
#define OA__TF_TOOLS 1u      /* <tool_call>, [TOOL_CALLS], a lone JSON call */
#define OA__TF_THINK 2u      /* <think>...</think> at the start */
#define OA__TF_THINK_OPEN 4u /* the template opened <think> itself: the
                                reply starts inside thinking (implies
                                OA__TF_THINK) */
#define OA__TF_LENIENT 8u    /* repair almost-JSON calls */

enum { OA__TF_TEXT = 1, OA__TF_THINKING, OA__TF_TOOL_CALL };

/* One piece of output. Strings are NUL-terminated, inside the filter, and
 * valid until the next feed/next/finish/reset/free call. */
typedef struct oa__tf_seg {
	int type;            /* OA__TF_TEXT, OA__TF_THINKING, OA__TF_TOOL_CALL */
	const char *text;    /* TEXT, THINKING: the bytes (never empty) */
	size_t len;
	const char *name;    /* TOOL_CALL: the tool's name; "" with error */
	size_t name_len;
	const char *args;    /* TOOL_CALL: the arguments as the model wrote
	                        them (an object's text; a string's value; "{}"
	                        when absent), still to be parsed; with error,
	                        the raw call text */
	size_t args_len;
	int repaired;        /* TOOL_CALL: the call's JSON was repaired */
	const char *error;   /* TOOL_CALL: NULL, or why the call cannot be
	                        read (a static string) */
} oa__tf_seg;

typedef struct oa__tf {
	/* private */
	unsigned flags;
	int state, sub;           /* see textfilter.c */
	oa__buf hold;             /* [off, hold.len): fed, not yet released */
	size_t off;
	size_t scan;              /* first held byte not yet examined */
	size_t mark, mark2;       /* [TOOL_CALLS]: JSON or name start, args */
	int depth, esc;           /* brackets open, after a backslash */
	char quote;               /* the quote of the string being skipped */
	char saved;               /* the byte under the last segment's NUL */
	int loaned;               /* ... which sits at hold.p[loan] */
	size_t loan;
	int ticks;                /* backticks of a fence */
	int thought;              /* a think block has ended */
	int finished;             /* oa__tf_finish was called */
	int repaired;             /* the calls being handed out were repaired */
	int el;                   /* the next call's token in json, or -1 */
	int fail;                 /* sticky error */
	oa__buf work;             /* call JSON text, parsed by json */
	oa__buf out;              /* a call's arguments and name */
	oa__json json;
} oa__tf;

/* max bounds the bytes held (waiting for a tag to complete, a call body,
 * a possible lone JSON reply) plus one feed; each copy made of a call is
 * bounded by it too (0: OA_MAX_RESPONSE_BYTES). Allocates nothing. With no
 * flags the filter passes text through. */
OA_PRIVATE void oa__tf_init(oa__tf *f, const oa_allocator *a, unsigned flags,
                            size_t max);
/*
 * Append content bytes, then call oa__tf_next until it returns 0:
 *     oa__tf_feed(f, s, n, err);
 *     while ((r = oa__tf_next(f, &seg, err)) > 0) use seg;
 * and at the end of the reply:
 *     oa__tf_finish(f);
 *     while ((r = oa__tf_next(f, &seg, err)) > 0) use seg;
 * feed returns 0, OA_ERR_LIMIT (more than max bytes held), OA_ERR_NOMEM
 * or OA_ERR_STATE (after finish). next returns 1 with *seg, 0 when
 * nothing more can be released yet, or OA_ERR_LIMIT / OA_ERR_NOMEM. Errors
 * stick until oa__tf_reset; each writes a message into err.
 */
OA_PRIVATE int oa__tf_feed(oa__tf *f, const char *s, size_t n, char *err);
OA_PRIVATE int oa__tf_next(oa__tf *f, oa__tf_seg *seg, char *err);
OA_PRIVATE void oa__tf_finish(oa__tf *f);
/* Ready for a new reply; keeps the memory and the flags. */
OA_PRIVATE void oa__tf_reset(oa__tf *f);
OA_PRIVATE void oa__tf_free(oa__tf *f);

/*
 * Repair the almost-JSON small models write: a ``` fence around it, a
 * trailing comma before } or ], single-quoted strings, unquoted keys, raw
 * control bytes in strings, Python True/False/None, and a truncated end
 * (the string, then the open containers, closed in order; a dangling key
 * or colon gets null). out (reset first) receives the text and j its
 * parse (root 0). Returns 0 when in already was a JSON object or array
 * (out holds a copy), 1 when the repaired text is one, OA_ERR_STREAM when
 * not even that parses, OA_ERR_LIMIT (out's limit, the token limit, or
 * nesting deeper than 64) or OA_ERR_NOMEM, with a message in err. Callers
 * that need an object check the root's type.
 */
OA_PRIVATE int oa__json_repair(const char *in, size_t n, oa__buf *out,
                               oa__json *j, char *err);

#endif

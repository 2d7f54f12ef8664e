/*
 * openagent.h -- build AI agents on local LLM servers in C.
 *
 * openagent talks to any server with an OpenAI-compatible chat-completions
 * endpoint (llama.cpp's llama-server, Ollama, LM Studio, vLLM, SGLang,
 * text-generation-webui, LocalAI, gateways) and hands the streamed reply to
 * the caller one block at a time:
 *
 *     oa_options opt = {0};
 *     oa_client c;
 *     oa_block b;
 *     int r;
 *
 *     opt.base_url = "http://localhost:8080/v1";
 *     opt.model = "qwen2.5";
 *     if (oa_init(&c, &opt) != 0) { ... oa_errmsg(&c) ... }
 *     oa_query(&c, "Why is the sky blue?");
 *     while ((r = oa_next(&c, &b)) > 0)
 *         if (b.type == OA_BLOCK_TEXT)
 *             fwrite(b.text, 1, b.text_len, stdout);
 *     if (r < 0)
 *         fprintf(stderr, "%s: %s\n", oa_strerror(r), oa_errmsg(&c));
 *     oa_free(&c);
 *
 * Conventions, for every function below:
 *   - oa_next() returns > 0 (a block), 0 (end of turn) or < 0 (an oa_err).
 *     Every other function returning int returns 0 or a negative oa_err.
 *   - Strings handed in are copied unless a comment says otherwise.
 *   - Strings handed out point into memory owned by the client. They are
 *     NUL-terminated, carry a length, and stay valid until the next call on
 *     that client (the same rule as sqlite3_column_text).
 *   - Nothing is global: two clients share nothing and may be used from two
 *     threads at once. One client must not be used from two threads at once,
 *     except for oa_interrupt().
 */
#ifndef OPENAGENT_H
#define OPENAGENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OA_VERSION_MAJOR 0
#define OA_VERSION_MINOR 1
#define OA_VERSION_PATCH 0
#define OA_VERSION "0.1.0"

/* The version this library was built as, e.g. "0.1.0". */
const char *oa_version(void);

/* ------------------------------------------------------------------------
 * The client: everything a program needs for streamed turns with tools
 *
 * Storage is the caller's: declare an oa_client anywhere. It holds one
 * pointer to state allocated by oa_init() with the options' allocator, so
 * it may be moved (memcpy to a new place, then use only the new one) but
 * never copied and used twice. Its field is private.
 * ------------------------------------------------------------------------ */
typedef struct oa_client {
	struct oa__client *p; /* private */
} oa_client;

/* The options of oa_init() and the blocks of oa_next(); both are defined
 * below ("Blocks", "Options"). */
typedef struct oa_options oa_options;
typedef struct oa_block oa_block;

/*
 * Set up a client. Copies the options; connects to nothing yet.
 * Returns 0, OA_ERR_INVALID (NULL pointer, no base_url, an option out of
 * range, an unusable proxy option), OA_ERR_URL (base_url malformed or
 * https:// in a build without TLS), OA_ERR_CONFIG (an unusable proxy in
 * http_proxy or the like, named) or OA_ERR_NOMEM. Whatever it returns, oa_errmsg() explains a
 * failure and oa_free() must be called once the client is no longer
 * wanted; a client whose oa_init() failed refuses every other call with
 * OA_ERR_STATE.
 */
int oa_init(oa_client *c, const oa_options *opt);

/* Release everything the client holds and close its connection. Safe on a
 * client whose oa_init() failed, and twice. Must not run while another
 * thread is inside a call on the same client, oa_interrupt() included. */
void oa_free(oa_client *c);

/*
 * Start a turn: append prompt as a user message to the history and prepare
 * the request. Nothing is sent until oa_next(). prompt is copied.
 * Returns 0, OA_ERR_INVALID, OA_ERR_STATE (a turn is still streaming; read
 * it to its end or call oa_interrupt() first. Or, in manual mode, tool
 * calls still wait for results: the detail names them, and nothing
 * changes until each has its result from oa_add_tool_result(), as for
 * oa_continue() and the history functions; results given but not yet
 * sent go before the prompt), OA_ERR_LIMIT (history too large) or
 * OA_ERR_NOMEM. A new query clears the previous turn's error.
 */
int oa_query(oa_client *c, const char *prompt);

/*
 * Produce the next block of the current turn, reading from the server only
 * as far as that takes.
 * Returns the block's type (> 0) with *b filled; 0 once the turn has ended
 * (after its OA_BLOCK_TURN_END); or a negative oa_err. Errors stick: every
 * later call returns the same one until the next oa_query(). After an error
 * the client is usable: the history holds the user message and whatever
 * text the server had sent; when no text was received the user message is
 * taken back out, so the same prompt can be sent again.
 */
int oa_next(oa_client *c, oa_block *b);

/*
 * Ask the running turn to stop. It only sets a flag and write()s one byte
 * to the client's wake-up pipe, so it is async-signal-safe and may be
 * called from a signal handler, another thread, a tool handler or a hook
 * -- the only function of the library that may. The oa_next() blocked in
 * a read (or about to send, or between tools in auto mode) returns
 * OA_ERR_INTERRUPTED promptly; the partial text stays in history,
 * half-received tool calls are dropped, and calls already in history get
 * "error: not run: interrupted" as their result. Calling it again, or
 * between turns, changes nothing: the next oa_query() starts afresh. The
 * client must stay alive (no oa_free()) while another thread may call it.
 */
void oa_interrupt(oa_client *c);

/*
 * Whether the next oa_next() returns at once: 1 when it has a block ready
 * (or the end of the turn, or an error), 0 when it would wait -- for the
 * server, or for a tool or hook to run. It never waits itself: it parses
 * what has already been received, which is why, like any call on the
 * client, it ends the loan of the last block's strings. For programs that
 * buffer their output: flush when it says 0, so what was written shows
 * before the wait, and not after every block (oa does this).
 */
int oa_ready(oa_client *c);

/* For tool handlers that block on I/O of their own (an MCP server): a
 * descriptor that is readable from the moment oa_interrupt() is called
 * until the next oa_query() begins. Poll it with your own descriptors and
 * return early when it fires; never read from it or close it. Take it
 * after oa_init() (a handler must not call the client); -1 for a client
 * that is not set up. */
int oa_interrupt_fd(const oa_client *c);

/* The detail of the last error on this client: the server's message, the
 * limit hit, the resolver's text. The detail only: it never repeats
 * oa_strerror()'s name, so "%s: %s" with both reads once. "" when there
 * was no error. Owned by the client; valid until the next call on it. */
const char *oa_errmsg(const oa_client *c);

/* The HTTP status of the last response, or 0 before any. */
int oa_http_status(const oa_client *c);

/* A static English name for an oa_err value (see "Errors"); never NULL.
 * Print it with the client's detail: "%s: %s", oa_strerror(r),
 * oa_errmsg(&c). */
const char *oa_strerror(int err);

/*
 * Manual tool execution. After a turn that ended with tool-use blocks,
 * give each call its result (copied), then call oa_continue() to send
 * them and stream the model's answer like a new turn. id is the block's id.
 * oa_add_tool_result returns 0, OA_ERR_INVALID (no pending call has that
 * id, or it already has a result) or OA_ERR_NOMEM. oa_continue returns 0,
 * or OA_ERR_STATE when calls still lack results (the detail lists them).
 */
int oa_add_tool_result(oa_client *c, const char *id, const char *result);
int oa_continue(oa_client *c);

/*
 * One prompt in, the whole reply text out: oa_query() then oa_next() until
 * the end, joining the text blocks. *text is owned by the client and valid
 * until the next call on it; *len may be NULL. Returns 0 or an oa_err.
 */
int oa_ask(oa_client *c, const char *prompt, const char **text, size_t *len);

/* ------------------------------------------------------------------------
 * Blocks
 * ------------------------------------------------------------------------ */
typedef enum oa_block_type {
	/* A piece of the reply text. text/text_len. */
	OA_BLOCK_TEXT = 1,
	/* A piece of the model's reasoning (reasoning_content or reasoning).
	 * text/text_len. Not sent back to the server in later requests. */
	OA_BLOCK_THINKING = 2,
	/* The model asks for a tool: id, name, and input (the arguments as a
	 * JSON object text). */
	OA_BLOCK_TOOL_USE = 3,
	/* A tool call the library answered itself, so it needs no result
	 * from the caller: id, name, text (why) and raw (the arguments as
	 * received). The call cannot be run (an unknown tool, arguments
	 * that are not JSON) or, in manual mode, a PRE_TOOL_USE hook
	 * blocked it (blocked set; text is the hook's reason) or replaced
	 * its input with one that is not a JSON object. is_error is set. */
	OA_BLOCK_TOOL_USE_ERROR = 4,
	/* The result of a tool call in auto mode: id, text (the result as
	 * the model gets it), is_error and blocked. */
	OA_BLOCK_TOOL_RESULT = 5,
	/* The reply is complete: finish_reason, usage and last_usage. The
	 * next oa_next() returns 0. usage is summed over every request of
	 * the turn: a turn with a tool round trip made two requests, each
	 * sending the whole history, so its prompt_tokens counts the
	 * history twice; last_usage is the last request's alone. */
	OA_BLOCK_TURN_END = 6
} oa_block_type;

/* Token counts as the server reported them (stream_options include_usage,
 * or the usage member of a whole reply). */
typedef struct oa_usage {
	long long prompt_tokens;
	long long completion_tokens;
	long long total_tokens;
	int present; /* 0 when the server sent no usage */
} oa_usage;

/* Filled by oa_next(). Fields a type does not use are NULL (strings) or 0.
 * Every string is NUL-terminated, owned by the client, and valid until the
 * next call on the client. */
struct oa_block {
	oa_block_type type;
	const char *text;
	size_t text_len;
	const char *id;
	size_t id_len;
	const char *name;
	size_t name_len;
	const char *input;
	size_t input_len;
	const char *raw;
	size_t raw_len;
	/* TURN_END: "stop", "length", "tool_calls", ... as the server said, or
	 * "stop" when it said nothing before [DONE]. */
	const char *finish_reason;
	oa_usage usage;
	/* TOOL_USE: the arguments were repaired (lenient_tool_args). */
	int repaired;
	/* Later fields go at the end, so older code still compiles. */
	/* TOOL_RESULT, TOOL_USE_ERROR: the model is told of an error, not
	 * given a result: the handler failed, the arguments did not fit
	 * the schema, the call was not run, or a hook blocked it. The text
	 * then starts "error: " (or "blocked: "). */
	int is_error;
	/* TOOL_RESULT, TOOL_USE_ERROR: a PRE_TOOL_USE hook blocked the call
	 * (is_error is set too). */
	int blocked;
	/* TURN_END: the usage of the turn's last request alone, where usage
	 * sums every request. Its prompt_tokens is what the conversation
	 * took up to that reply; compare oa_estimate_tokens() with it. */
	oa_usage last_usage;
};

/* ------------------------------------------------------------------------
 * Errors
 *
 * Values are never renumbered; a retired value stays as a placeholder.
 * oa_strerror() names the kind of failure; oa_errmsg() on the client says
 * what exactly failed (the server's own error text, which limit, ...).
 * ------------------------------------------------------------------------ */
typedef enum oa_err {
	OA_OK = 0,
	/* The allocator returned NULL. Nothing was changed; retry or give up. */
	OA_ERR_NOMEM = -1,
	/* A NULL pointer or an option value out of range. Fix the call. */
	OA_ERR_INVALID = -2,
	/* The call is not allowed in the client's present state: oa_next()
	 * without oa_query(), oa_query() while a turn is still streaming. */
	OA_ERR_STATE = -3,
	/* The base URL could not be parsed, or its scheme is not supported
	 * (https:// needs a build with tls.c). */
	OA_ERR_URL = -4,
	/* The host name did not resolve. The detail has the resolver's text. */
	OA_ERR_RESOLVE = -5,
	/* The connection was refused or the host is unreachable: is the server
	 * running, on that port? */
	OA_ERR_CONNECT = -6,
	/* TLS handshake or certificate check failed (reserved for TLS builds). */
	OA_ERR_TLS = -7,
	/* No connection within connect_timeout_ms. */
	OA_ERR_CONNECT_TIMEOUT = -8,
	/* The server sent nothing for read_timeout_ms. */
	OA_ERR_READ_TIMEOUT = -9,
	/* The whole request took longer than request_timeout_ms. */
	OA_ERR_DEADLINE = -10,
	/* Sending or receiving failed: the connection was reset or closed before
	 * the response head was complete. */
	OA_ERR_IO = -11,
	/* The server answered with a status other than 2xx. oa_http_status()
	 * has the status; the detail has the server's own error message. */
	OA_ERR_HTTP = -12,
	/* The response is not valid HTTP/1.x (status line, headers, chunked
	 * framing). */
	OA_ERR_PROTOCOL = -13,
	/* The body is not the expected event stream or JSON. */
	OA_ERR_STREAM = -14,
	/* The body ended before the reply was complete (no [DONE] and no
	 * finish_reason): the server died or the connection dropped. Blocks
	 * already returned stand; the partial text is kept in history. */
	OA_ERR_TRUNCATED = -15,
	/* The server reported an error inside a 200 stream. The detail has its
	 * message. Blocks already returned stand. */
	OA_ERR_SERVER = -16,
	/* A configured limit (oa_options.max_*) was exceeded; the detail names
	 * it. Raise the limit if the input is legitimate. */
	OA_ERR_LIMIT = -17,
	/* oa_interrupt() stopped the turn. */
	OA_ERR_INTERRUPTED = -18,
	/* A hook refused to continue. */
	OA_ERR_HOOK = -19,
	/* A configuration file could not be read or has a malformed line, or
	 * a proxy variable of the environment (http_proxy, HTTPS_PROXY, ...)
	 * holds an unusable URL; the detail names the variable. */
	OA_ERR_CONFIG = -20,
	/* max_turns requests were made for one query without reaching an end. */
	OA_ERR_MAX_TURNS = -21,
	/* A file could not be read or written, or is not what it should be
	 * (a saved history, an image). The detail names the file and why. */
	OA_ERR_FILE = -22
} oa_err;


/* ------------------------------------------------------------------------
 * Tools
 *
 * A tool is a name, a description, a parameter schema and, optionally, a
 * handler the library calls itself in auto mode (auto_execute_tools).
 * The schema is either a full JSON Schema text (it starts with '{') sent
 * as given, or a shorthand for flat objects whose members are all
 * required: "a:number b:number op:string", types string, integer, number,
 * boolean (the shorthand needs the module shorthand.c; without it oa_init()
 * refuses it). NULL or "" means no parameters.
 * ------------------------------------------------------------------------ */

/* The parsed arguments of one tool call, lent to a handler or hook for the
 * duration of the call. Opaque. */
typedef struct oa_args oa_args;

/* The whole arguments object as JSON text (NUL-terminated). */
const char *oa_args_json(const oa_args *a, size_t *len);
/* Member key of the arguments object. Each returns 0, or OA_ERR_INVALID
 * when the member is absent or of another type. Strings are unescaped,
 * NUL-terminated, and valid until the handler or hook returns. */
int oa_args_string(oa_args *a, const char *key, const char **s, size_t *len);
int oa_args_number(oa_args *a, const char *key, double *v);
int oa_args_int(oa_args *a, const char *key, long long *v);
int oa_args_bool(oa_args *a, const char *key, int *v);
/* Any member as raw JSON text (objects, arrays, strings with quotes),
 * not NUL-terminated: use *len. */
int oa_args_raw(oa_args *a, const char *key, const char **json, size_t *len);

/* Where a handler writes its result: text, or a JSON value as text. It
 * becomes the content of the tool message sent back to the model. */
typedef struct oa_result oa_result;
/* Append to the result. 0, OA_ERR_NOMEM or OA_ERR_LIMIT. */
int oa_result_write(oa_result *r, const char *s, size_t n);
int oa_result_puts(oa_result *r, const char *s);
int oa_result_printf(oa_result *r, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/*
 * A tool handler. Called from oa_next() in auto mode, once per call, with
 * arguments already checked against the schema. Return 0 with the result
 * written to out (nothing written is an empty result), or non-zero with an
 * error message written to out: the model then gets "error: <message>" as
 * the tool result, so it can correct itself. A handler must not call the
 * client's functions (they return OA_ERR_STATE); it may take as long as it
 * needs, and oa_interrupt() takes effect once it returns.
 */
typedef int (*oa_tool_fn)(void *ctx, oa_args *args, oa_result *out);

typedef struct oa_tool {
	const char *name;        /* [A-Za-z0-9_-]{1,64}, unique */
	const char *description;
	const char *parameters;  /* shorthand or JSON Schema; see above */
	oa_tool_fn handler;      /* NULL: never run by the library */
	void *ctx;               /* handed to handler; the caller's memory */
} oa_tool;

/* ------------------------------------------------------------------------
 * Hooks
 *
 * Functions the library calls at three moments, in registration order,
 * in manual and in auto mode, exactly once per event:
 *   OA_HOOK_USER_PROMPT_SUBMIT  in oa_query(), before the prompt is kept:
 *       allow, block (oa_query() returns OA_ERR_HOOK, nothing is sent or
 *       kept) or replace the prompt.
 *   OA_HOOK_PRE_TOOL_USE  before a tool runs in auto mode, and before a
 *       tool-use block is handed out in manual mode: allow, block (the
 *       model gets "blocked: <reason>" as the tool result; the result
 *       block, or in manual mode the call itself, handed out as a
 *       tool-use-error block that needs no result, has blocked set) or
 *       replace the input (a JSON object text).
 *   OA_HOOK_POST_TOOL_USE  after a tool ran (auto mode): observe only; the
 *       decision is ignored.
 * The first decision other than OA_HOOK_ALLOW wins and later hooks for that
 * event do not run. A hook returning a value that is not a decision ends
 * the turn with OA_ERR_HOOK.
 * ------------------------------------------------------------------------ */
typedef enum oa_hook_kind {
	OA_HOOK_PRE_TOOL_USE = 1,
	OA_HOOK_POST_TOOL_USE = 2,
	OA_HOOK_USER_PROMPT_SUBMIT = 3
} oa_hook_kind;

typedef enum oa_hook_decision {
	OA_HOOK_ALLOW = 0,
	OA_HOOK_BLOCK = 1,   /* reply->text: the reason */
	OA_HOOK_REPLACE = 2  /* reply->text: the new prompt or input */
} oa_hook_decision;

/* What the hook is told. Strings are valid while the hook runs. */
typedef struct oa_hook_event {
	oa_hook_kind kind;
	const struct oa_client *client; /* read the history through it */
	const char *prompt;      /* USER_PROMPT_SUBMIT */
	const char *tool_id;     /* PRE and POST_TOOL_USE */
	const char *tool_name;
	const char *input;       /* the arguments, a JSON object text */
	const char *result;      /* POST_TOOL_USE: the tool result */
	int is_error;            /* POST_TOOL_USE: the handler failed */
	/* PRE and POST_TOOL_USE: input, parsed, for the
	 * oa_args_* functions as a handler gets it (lent until the hook
	 * returns); NULL for the prompt event and for input that is not a
	 * JSON object. */
	oa_args *args;
} oa_hook_event;

/* What the hook answers besides its decision: text is copied as soon as
 * the hook returns, so it may point into the hook's own memory. */
typedef struct oa_hook_reply {
	const char *text;
} oa_hook_reply;

typedef oa_hook_decision (*oa_hook_fn)(void *ctx, const oa_hook_event *ev,
                                       oa_hook_reply *reply);

typedef struct oa_hook {
	oa_hook_kind kind;
	oa_hook_fn fn;
	void *ctx;
} oa_hook;

/* ------------------------------------------------------------------------
 * Options
 *
 * A plain struct: zero every field ({0} or memset), set what you need.
 * Zero means the documented default. oa_init() copies every string, so the
 * options may be freed or reused once it returns.
 * ------------------------------------------------------------------------ */

/* Pass as max_tokens or temperature to leave the field out of requests. */
#define OA_OMIT (-1)
/* Pass as temperature to send 0 (greedy decoding), since 0 means default. */
#define OA_ZERO (-2)

/* Defaults and limits. Each limit exceeded is OA_ERR_LIMIT, never a crash
 * and never unbounded memory; the options field of the same name overrides
 * it. */
#define OA_DEFAULT_MAX_TOKENS 4096
#define OA_DEFAULT_TEMPERATURE 0.7
#define OA_DEFAULT_MAX_TURNS 10
#define OA_DEFAULT_CONNECT_TIMEOUT_MS 10000
/* Generous: a server loading a model says nothing for a long time. */
#define OA_DEFAULT_READ_TIMEOUT_MS 300000
/* Status line plus all headers of one response. */
#define OA_MAX_HEADER_BYTES (16 * 1024)
/* One server-sent event (all its data lines), or a non-streamed JSON body. */
#define OA_MAX_EVENT_BYTES (1024 * 1024)
/* Text, thinking and tool arguments of one reply, together. */
#define OA_MAX_RESPONSE_BYTES (16 * 1024 * 1024)
/* The whole conversation as sent in one request. */
#define OA_MAX_HISTORY_BYTES (64 * 1024 * 1024)
/* JSON tokens (values, keys) in one event. */
#define OA_MAX_JSON_TOKENS 65536
/* Nesting of JSON objects and arrays in one event, tool arguments or a
 * history file; deeper input is refused before it is tokenized, which
 * keeps parsing time linear in the input's size. */
#define OA_MAX_JSON_DEPTH 256
/* Tool calls in one reply. */
#define OA_MAX_TOOL_CALLS 128
/* One image file given to oa_query_images(), before base64. */
#define OA_MAX_IMAGE_BYTES (20 * 1024 * 1024)
#define OA_DEFAULT_MAX_TOOL_ITERATIONS 5
#define OA_DEFAULT_MAX_RETRIES 2
/* The longest a server's Retry-After (on 429 or 503) is obeyed before a
 * retry (retry.c); a longer one waits this long. 30 s: a server that asks
 * for an hour holds the caller 30 s per retry, not an hour. The field
 * max_retry_after_ms (at the end of oa_options) overrides it. */
#define OA_DEFAULT_MAX_RETRY_AFTER_MS 30000

/* An allocator. All three functions or none; each gets ctx. realloc(ctx,
 * NULL, n) must behave as malloc. The library checks n * size overflow
 * itself before calling. */
typedef struct oa_allocator {
	void *(*malloc)(void *ctx, size_t n);
	void *(*realloc)(void *ctx, void *p, size_t n);
	void (*free)(void *ctx, void *p);
	void *ctx;
} oa_allocator;

struct oa_options {
	/* "http://host[:port][/path]", e.g. "http://localhost:11434/v1". The
	 * library posts to base_url + "/chat/completions". Required. */
	const char *base_url;
	/* The model name the server expects. Required by most servers; NULL
	 * sends no model field. */
	const char *model;
	/* Sent as "Authorization: Bearer KEY" when not NULL or empty. */
	const char *api_key;
	/* The first message of every request, role "system". NULL for none. */
	const char *system_prompt;
	/* 0: OA_DEFAULT_MAX_TOKENS; OA_OMIT: not sent. */
	int max_tokens;
	/* 0 is NOT greedy decoding: it means the default,
	 * OA_DEFAULT_TEMPERATURE (0.7), so a zeroed struct samples as most
	 * servers do. OA_ZERO sends 0 (greedy); OA_OMIT sends nothing (the
	 * server's own default). */
	double temperature;
	/* Requests per oa_query() (each tool round trip is one); 0: default. */
	int max_turns;
	/* Timeouts in milliseconds; 0: default, < 0: none. request_timeout_ms
	 * bounds one whole request and defaults to none. */
	int connect_timeout_ms;
	int read_timeout_ms;
	int request_timeout_ms;
	/* Limits; 0: the OA_MAX_* default of the same name. */
	size_t max_header_bytes;
	size_t max_event_bytes;
	size_t max_response_bytes;
	size_t max_history_bytes;
	size_t max_json_tokens;
	size_t max_tool_calls;
	size_t max_image_bytes;  /* images.c */
	/* All zero: the C library's malloc, realloc and free. */
	oa_allocator allocator;

	/* Tools offered to the model; the array and its strings are copied. */
	const oa_tool *tools;
	size_t ntools;
	/* Run tools with handlers and send their results back within one
	 * oa_query(), up to max_tool_iterations rounds (0: default 5). */
	int auto_execute_tools;
	int max_tool_iterations;
	/* Lifecycle hooks; the array is copied, ctx pointers are not. */
	const oa_hook *hooks;
	size_t nhooks;
	/* Ask for a whole JSON reply instead of a stream ("stream": false), for
	 * servers that cannot stream tool calls. The blocks are the same. */
	int no_stream;

	/* Network; each needs a module, named after it. ca_file (tls.c): PEM
	 * trust anchors for https (NULL: SSL_CERT_FILE, then
	 * /etc/ssl/certs/ca-certificates.crt). insecure (tls.c): skip
	 * certificate checks (also OPEN_AGENT_INSECURE=1). max_retries
	 * (retry.c): attempts after the first for a refused connection or
	 * HTTP 429/503 (0: default 2, OA_OMIT: none; without retry.c the
	 * default is none). proxy (proxy.c): NULL takes http_proxy,
	 * https_proxy and no_proxy from the environment, "" uses no proxy;
	 * http://[user:password@]host:port, the credentials (percent-
	 * decoded) sent as Proxy-Authorization: Basic.
	 * debug (trace.c): trace the HTTP exchange to stderr, key redacted
	 * (also OA_DEBUG=1). */
	const char *ca_file;
	int insecure;
	int max_retries;
	const char *proxy;
	int debug;

	/* More request fields (module fields.c, as are extra and
	 * response_format). Zero or NULL: not sent, so a server that
	 * rejects a field never sees it. A seed of 0 is sent only with
	 * send_seed set (at the end of this struct).
	 * stop: nstop strings. tool_choice: "auto", "none", "required", or
	 * the name of one tool to force; "required" and a tool's name go
	 * only with a request that follows the prompt, not with one that
	 * sends tool results (an auto round, oa_continue()), or the model
	 * could never answer with text (keep_tool_choice, at the end of
	 * this struct, sends them every time). parallel_tool_calls: > 0
	 * sends true, < 0 sends false. */
	double top_p;
	long long seed;
	const char *const *stop;
	size_t nstop;
	double presence_penalty;
	double frequency_penalty;
	const char *tool_choice;
	int parallel_tool_calls;
	/* A JSON object text whose members are added to every request body,
	 * for server-specific fields: {"top_k":40,"min_p":0.05} (llama.cpp,
	 * vLLM), {"options":{"num_ctx":8192}} (Ollama),
	 * {"chat_template_kwargs":{"enable_thinking":false}} (vLLM, SGLang).
	 * Checked by oa_init(): not an object, or a member the library
	 * manages (model, messages, stream, stream_options, tools) is
	 * OA_ERR_INVALID. A member that names a field set above replaces it. */
	const char *extra;

	/* Structured output: "json_object", or a JSON Schema object text,
	 * sent as response_format (json_schema). NULL: not sent. */
	const char *response_format;

	/* For servers that run without a tool or reasoning parser and leave
	 * the markup in the text (llama.cpp without --jinja, vLLM without
	 * --enable-auto-tool-choice, some Ollama models). All off by default;
	 * turn on only for such servers.
	 * parse_text_tools: <tool_call>{...}</tool_call> (Hermes, Qwen),
	 *   [TOOL_CALLS] [...] (Mistral), and a reply that is exactly one
	 *   {"name":...,"arguments":...} object become tool calls; the text
	 *   around them stays text. Text is held back only while it could be
	 *   the start of a tag (and, when tools are offered, while a reply
	 *   that starts with '{' could still be a lone call).
	 * All three need the module textfilter.c.
	 * think_tags: 1: <think>...</think> at the start of the content
	 *   becomes thinking blocks; 2: the reply starts inside thinking
	 *   (the chat template opened the tag) and ends it with </think>.
	 * lenient_tool_args: repair almost-JSON arguments (a code fence,
	 *   trailing commas, single quotes, unquoted keys, Python literals, a
	 *   cut-off end) instead of reporting a tool-use error; the tool-use
	 *   block says so in its repaired field. */
	int parse_text_tools;
	int think_tags;
	int lenient_tool_args;

	/* Keep no history: every oa_query() sends the system prompt and its
	 * own prompt only (the tool rounds of one query still carry their
	 * calls and results), and between turns the history is empty. Without
	 * tools the reply text is not even gathered, so memory stays the same
	 * however long the replies; max_response_bytes still applies and may
	 * be raised at no cost. For one-shot agents and long streams. */
	int stateless;

	/* Later fields go at the end, so older code still compiles. */
	/* Limit: JSON nesting depth; 0: OA_MAX_JSON_DEPTH. */
	size_t max_json_depth;
	/* Send seed even when it is 0 (module fields.c). */
	int send_seed;
	/* Send a tool_choice of "required" or a tool's name with every
	 * request, tool results included (module fields.c). */
	int keep_tool_choice;
	/* The most a Retry-After is obeyed, in ms (retry.c): 0:
	 * OA_DEFAULT_MAX_RETRY_AFTER_MS; < 0 is OA_ERR_INVALID. */
	int max_retry_after_ms;
};

/* ------------------------------------------------------------------------
 * History
 * ------------------------------------------------------------------------ */
typedef struct oa_message {
	const char *role;          /* "user", "assistant" or "tool" */
	const char *content;       /* "" when there is none */
	size_t content_len;
	const char *tool_calls;    /* assistant: a JSON array text, or NULL */
	const char *tool_call_id;  /* tool: the call answered, or NULL */
	const char *parts;         /* user with images: the content as sent,
	                              a JSON array of text and image_url
	                              parts; content is then its text */
	/* tool: as the tool-result block's flags; both 0 for
	 * a history read back by oa_history_load(), which keeps the
	 * messages as a request carries them. */
	int is_error;
	int blocked;
} oa_message;

/* Messages kept (the system prompt is not one of them). */
size_t oa_history_count(const oa_client *c);
/* Message i, 0 oldest. Strings valid until the next call that changes the
 * history. Returns 0 or OA_ERR_INVALID. May be called from a hook. */
int oa_history_get(const oa_client *c, size_t i, oa_message *m);

/* ------------------------------------------------------------------------
 * Modules
 *
 * The sections below need a module: one .c file each, compiled into the
 * full library and the amalgamation dist/openagent.c, left out of the
 * core alone (dist/core/openagent.c). The options that need a module
 * say so where they are declared; oa_init() refuses them, naming the
 * file, in a build without it.
 * ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------
 * Context: estimating, truncating, saving and loading the history
 * (module context.c)
 *
 * Nothing here runs by itself: the caller decides when to measure, cut or
 * save. Each function that changes the history needs the client between
 * turns (not streaming, no tool calls waiting) and returns OA_ERR_STATE
 * otherwise.
 * ------------------------------------------------------------------------ */

/* An estimate of the tokens in s[0..n) (see README.md for how close it
 * gets on prose, code and non-Latin text). */
size_t oa_estimate_text_tokens(const char *s, size_t n);
/* An estimate of the tokens the next request's messages take: the system
 * prompt and the whole history, with a per-message overhead. */
size_t oa_estimate_tokens(const oa_client *c);
/* Keep the system prompt and only the last keep messages. An assistant
 * message with tool calls and the tool results after it are kept or
 * dropped together: the cut moves earlier, never splitting them.
 * Returns 0, OA_ERR_STATE. */
int oa_truncate(oa_client *c, size_t keep);
/* Write the history (not the system prompt) to path as JSON, atomically:
 * a temporary file in the same directory, fsync, rename. A failure
 * leaves the previous file as it was. Returns 0, OA_ERR_STATE or
 * OA_ERR_FILE (with the path and the system's reason in the detail). */
int oa_history_save(const oa_client *c, const char *path);
/* Replace the history with the one saved at path. A missing, corrupt or
 * foreign file, or one larger than max_history_bytes (refused from its
 * size, unread), is OA_ERR_FILE and leaves the history unchanged. */
int oa_history_load(oa_client *c, const char *path);

/* ------------------------------------------------------------------------
 * Images (module images.c)
 * ------------------------------------------------------------------------ */

/*
 * oa_query() with images, for vision models (LLaVA, Qwen-VL, Gemma 3 on
 * Ollama, LM Studio, llama.cpp with a projector). Each of the n images is
 * an http(s):// or data: URL, sent as it is, or the path of a local PNG,
 * JPEG, GIF or WebP file, sent as a base64 data: URL with its MIME type.
 * The message goes out as content parts: the text, then the images.
 * Returns what oa_query() does, or OA_ERR_FILE (a file that cannot be
 * read, is not one of those formats, or is larger than max_image_bytes),
 * with the history unchanged.
 */
int oa_query_images(oa_client *c, const char *prompt,
                    const char *const *images, size_t n);

/* ------------------------------------------------------------------------
 * Configuration (module config.c)
 *
 * Optional helpers that resolve settings the way open-agent-sdk does:
 * the environment (OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL,
 * OPEN_AGENT_API_KEY, then OPENAI_BASE_URL and OPENAI_API_KEY as most
 * OpenAI-compatible tools read them), then the configuration file, then
 * the fallback the program passes in, then the provider's default. An
 * empty string counts as unset wherever it comes from. With
 * prefer_fallback set, a non-empty fallback wins over everything.
 *
 * The configuration file is a flat subset of YAML, read line by line:
 *   - blank lines and lines whose first non-blank is '#' are skipped;
 *   - every other line is "key: value"; spaces and tabs around the key
 *     and the value are trimmed, and a line end of CR LF is accepted;
 *   - an unquoted value ends at " #" (a blank then '#': a comment);
 *   - a value in '...' is taken as is; in "..." only \" and \\ are
 *     escapes (any other backslash stays); after the closing quote only
 *     blanks or a comment may follow;
 *   - an empty value leaves the key unset;
 *   - keys: base_url, model, api_key (strings that fit their fields),
 *     temperature (a plain decimal number from 0 to 2), max_tokens (an
 *     integer >= 0; 0 is kept, and means "send no limit" to oa). A
 *     repeated key: the last one wins.
 * Everything else is an error: an unknown or misspelt key (the message
 * lists the known ones), a line without ':', an unterminated quote,
 * a bad number, a value too long for its field, a NUL byte, a line longer
 * than 4096 bytes. The file is looked up at ./open-agent.yaml,
 * $HOME/.config/open-agent/config.yaml, $HOME/.open-agent.yaml; the first
 * that exists wins.
 * ------------------------------------------------------------------------ */

/* "lmstudio", "ollama", "llamacpp", "vllm" → the server's default base URL
 * (http://localhost:1234/v1, :11434/v1, :8080/v1, :8000/v1), else NULL. */
const char *oa_provider_url(const char *provider);

typedef struct oa_config {
	char base_url[512];
	char model[256];
	char api_key[512];
	double temperature; /* valid when has_temperature */
	int max_tokens;     /* valid when has_max_tokens */
	int has_temperature;
	int has_max_tokens;
	char path[512];     /* the file read, "" when none was found */
	char error[256];    /* why oa_config_load() failed */
} oa_config;

/*
 * Read a configuration file: path, or when path is NULL the first file of
 * the search list that exists (none existing is not an error). An
 * unknown key is an error, as a misspelt one would otherwise be lost.
 * cfg is zeroed first; cfg->path is the file read ("" when none).
 * Returns 0; OA_ERR_CONFIG with cfg->error "PATH:LINE: what is wrong",
 * or "PATH: <strerror>" when a named file cannot be opened (a file of
 * the search list that exists but cannot be read is an error too);
 * OA_ERR_INVALID when cfg is NULL.
 */
int oa_config_load(oa_config *cfg, const char *path);

/* Resolve one setting in the order above. cfg may be NULL; provider only
 * matters for the base URL, whose last resort is LM Studio's default.
 * Each returns a pointer into the environment, cfg, fallback or a static
 * string; NULL when nothing provides a model or key. */
const char *oa_config_base_url(const oa_config *cfg, const char *fallback,
                               const char *provider, int prefer_fallback);
const char *oa_config_model(const oa_config *cfg, const char *fallback,
                            int prefer_fallback);
const char *oa_config_api_key(const oa_config *cfg, const char *fallback,
                              int prefer_fallback);

/* ------------------------------------------------------------------------
 * Models (module models.c)
 *
 * The models a server offers, from GET base_url + "/models", which
 * llama-server, Ollama, LM Studio and vLLM all answer with
 * {"object":"list","data":[{"id":"NAME",...},...]} plus members of their
 * own. Needs models.c (part of the library and of the amalgamation).
 * ------------------------------------------------------------------------ */

/*
 * Ask the server for its model list, over the client's connection and
 * with its key, proxy, TLS settings and timeouts; only between turns.
 * *json is the body exactly as the server sent it (at most 4 MiB), owned
 * by the client and valid until the next call on it; *len may be NULL.
 * Returns 0; OA_ERR_STATE during a turn; OA_ERR_HTTP for a non-2xx
 * status (oa_errmsg has it and the start of the body); OA_ERR_PROTOCOL
 * when the reply is not JSON (the detail names its Content-Type);
 * OA_ERR_LIMIT; or a connection error as for oa_next().
 */
int oa_models(oa_client *c, const char **json, size_t *len);

/* ------------------------------------------------------------------------
 * MCP: tools from Model Context Protocol servers (module mcp.c)
 *
 * Needs mcp.c, an optional module (it is part of libopenagent.a; leave the
 * file out and nothing else changes: the core never calls it).
 *
 * Connect to a server -- a command the library starts itself (stdio) or a
 * URL (Streamable HTTP) -- and its tools come back as oa_tool entries to
 * put into oa_options.tools next to your own. Each tool's handler calls
 * tools/call on the server, so argument checks against the server's
 * inputSchema, hooks (a PRE_TOOL_USE hook may refuse an MCP tool), manual
 * and auto mode all work as for any tool:
 *
 *     const char *argv[] = {"mcp-server-filesystem", "/srv/docs", NULL};
 *     oa_mcp *m;
 *     const oa_tool *tools;
 *     if (oa_mcp_connect(&m, argv, NULL) != 0) { ... oa_mcp_errmsg(m) ... }
 *     opt.ntools = oa_mcp_tools(m, &tools);
 *     opt.tools = tools;
 *     opt.auto_execute_tools = 1;
 *     oa_init(&c, &opt);
 *     oa_mcp_watch(m, &c);          so oa_interrupt() stops a call
 *     ... oa_query / oa_next ...
 *     oa_free(&c);
 *     oa_mcp_close(m);
 *
 * One oa_mcp is used by one thread at a time (the one running the client
 * whose tools it serves); it holds one server connection and makes one
 * request at a time. Tool results: the text items of the content, joined
 * with newlines; any other item (image, audio, resource, resource_link)
 * as "[type mime uri, N bytes of base64] " and its JSON; then
 * structuredContent, when present, as "structuredContent: " and its JSON
 * (left out when a text item already is exactly that JSON, as the spec
 * asks servers to add); isError: true and a JSON-RPC error make the
 * handler fail, so the model sees "error: ...". See docs/mcp.md.
 * ------------------------------------------------------------------------ */

/* The protocol version offered; servers answering 2025-06-18 or
 * 2025-03-26 are accepted too. */
#define OA_MCP_PROTOCOL_VERSION "2025-11-25"
/* Each request (initialize, tools/list, tools/call) waits this long for
 * its response, then sends notifications/cancelled and fails. */
#define OA_MCP_DEFAULT_CALL_TIMEOUT_MS 60000
/* One JSON-RPC message from the server: a stdio line, a JSON body, an
 * event. Longer is OA_ERR_LIMIT (the rest of such a line is skipped). */
#define OA_MCP_MAX_MESSAGE_BYTES (4 * 1024 * 1024)

/* A connection to one MCP server. Opaque; allocated by oa_mcp_connect*()
 * (with net->allocator when given) and released by oa_mcp_close(). */
typedef struct oa_mcp oa_mcp;

/* Zero every field for the defaults. Read only during oa_mcp_connect*();
 * nothing here is kept (name is copied). */
typedef struct oa_mcp_options {
	/* The server's name, used as the prefix of tools whose own name is
	 * invalid or taken ("<name>_<tool>"). NULL: serverInfo.name. */
	const char *name;
	/* Per request, in ms; 0: OA_MCP_DEFAULT_CALL_TIMEOUT_MS, < 0: none. */
	int call_timeout_ms;
	/* 0: OA_MCP_MAX_MESSAGE_BYTES. */
	size_t max_message_bytes;
	/* stdio: the child's stderr. 0 (default): inherited, so its messages
	 * appear on ours; else a descriptor the child's stderr is dup2()ed
	 * from (e.g. one opened on /dev/null); the caller keeps and closes
	 * it. */
	int stderr_fd;
	/* HTTP: timeouts, proxy, TLS (ca_file, insecure), retries, debug and
	 * max_header_bytes as for the chat endpoint; for both transports the
	 * allocator. NULL: the defaults. Not kept. */
	const oa_options *net;
} oa_mcp_options;

/*
 * Start the server argv[0] (looked up in PATH) with arguments argv[1..],
 * argv ending with NULL -- no shell is involved -- in its own process
 * group, with a socket as its stdin and stdout, and run initialize,
 * notifications/initialized and tools/list (every page).
 * Returns 0, or an oa_err: OA_ERR_FILE (the command cannot be run),
 * OA_ERR_IO (it exited or closed its output), OA_ERR_READ_TIMEOUT,
 * OA_ERR_SERVER (an unsupported protocol version, a JSON-RPC error),
 * OA_ERR_STREAM, OA_ERR_LIMIT, OA_ERR_INVALID (a tool name that cannot be
 * offered), OA_ERR_NOMEM. In every case *m is
 * set (NULL only when even it could not be allocated): read
 * oa_mcp_errmsg(*m), then call oa_mcp_close(*m).
 */
int oa_mcp_connect(oa_mcp **m, const char *const *argv,
                   const oa_mcp_options *o);
/* The same over Streamable HTTP: url is the MCP endpoint, e.g.
 * "http://127.0.0.1:3001/mcp". Adds OA_ERR_URL, OA_ERR_CONNECT,
 * OA_ERR_HTTP and the other network errors to the list above. */
int oa_mcp_connect_url(oa_mcp **m, const char *url, const oa_mcp_options *o);

/* Why the last call on m failed; "" when it did not. Owned by m, valid
 * until the next call on it. NULL m: "out of memory". */
const char *oa_mcp_errmsg(const oa_mcp *m);
/* The name given in the options or the server's own; owned by m. */
const char *oa_mcp_name(const oa_mcp *m);

/*
 * The server's tools: *tools points to an array owned by m, with the
 * names, descriptions and schemas in m too; valid until oa_mcp_close().
 * A tool's name is the server's, or "<server>_<tool>" (other bytes as
 * '_', cut to 64) when that is not [A-Za-z0-9_-]{1,64} or collides; its
 * parameters are the server's inputSchema. The handlers' ctx is m's: hand
 * the entries to oa_options.tools as they are (oa_init copies the table,
 * not what ctx points to, so m must outlive the client's use of them).
 */
size_t oa_mcp_tools(const oa_mcp *m, const oa_tool **tools);

/* Let oa_interrupt(c) stop a call in progress on m: the call sends
 * notifications/cancelled and returns at once. c must be set up by
 * oa_init() and outlive m's use; NULL stops watching. */
void oa_mcp_watch(oa_mcp *m, const oa_client *c);

/*
 * Call a tool directly, by the server's name for it, with args_json (a
 * JSON object text; NULL: {}). Returns 0 with *text the result as
 * described above, 1 when the tool failed (isError, or a JSON-RPC error:
 * *text says which), or a negative oa_err with *text the detail. *text is
 * owned by m and valid until the next call on it; len may be NULL.
 */
int oa_mcp_call(oa_mcp *m, const char *tool, const char *args_json,
                const char **text, size_t *len);

/* Shut the server down and free m: stdio closes the server's stdin and
 * waits up to 2 s, then SIGTERM, 2 s more, then SIGKILL, and reaps it;
 * HTTP sends DELETE for the session. NULL is a no-op. */
void oa_mcp_close(oa_mcp *m);


#ifdef __cplusplus
}
#endif

#endif

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
	 * (https:// needs a build with TLS). */
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
	/* A configuration file could not be read or has a malformed line. */
	OA_ERR_CONFIG = -20,
	/* max_turns requests were made for one query without reaching an end. */
	OA_ERR_MAX_TURNS = -21
} oa_err;

/* A static English name for an oa_err value; never NULL. */
const char *oa_strerror(int err);

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

/* An allocator. All three functions or none; each gets ctx. realloc(ctx,
 * NULL, n) must behave as malloc. The library checks n * size overflow
 * itself before calling. */
typedef struct oa_allocator {
	void *(*malloc)(void *ctx, size_t n);
	void *(*realloc)(void *ctx, void *p, size_t n);
	void (*free)(void *ctx, void *p);
	void *ctx;
} oa_allocator;

typedef struct oa_options {
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
	/* 0: OA_DEFAULT_TEMPERATURE; OA_OMIT: not sent; OA_ZERO: sends 0. */
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
	/* All zero: the C library's malloc, realloc and free. */
	oa_allocator allocator;
} oa_options;

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
	/* A tool call that cannot be run: id, name, text (why) and raw (the
	 * arguments as received). */
	OA_BLOCK_TOOL_USE_ERROR = 4,
	/* The result of a tool the library ran: id, text. */
	OA_BLOCK_TOOL_RESULT = 5,
	/* The reply is complete: finish_reason and usage. The next oa_next()
	 * returns 0. */
	OA_BLOCK_TURN_END = 6
} oa_block_type;

typedef struct oa_usage {
	long long prompt_tokens;
	long long completion_tokens;
	long long total_tokens;
	int present; /* 0 when the server sent no usage */
} oa_usage;

/* Filled by oa_next(). Fields a type does not use are NULL (strings) or 0.
 * Every string is NUL-terminated, owned by the client, and valid until the
 * next call on the client. */
typedef struct oa_block {
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
} oa_block;

/* ------------------------------------------------------------------------
 * The client
 *
 * Storage is the caller's: declare an oa_client anywhere. It holds one
 * pointer to state allocated by oa_init() with the options' allocator, so
 * it may be moved (memcpy to a new place, then use only the new one) but
 * never copied and used twice. Its field is private.
 * ------------------------------------------------------------------------ */
typedef struct oa_client {
	struct oa__client *p; /* private */
} oa_client;

/*
 * Set up a client. Copies the options; connects to nothing yet.
 * Returns 0, OA_ERR_INVALID (NULL pointer, no base_url, an option out of
 * range), OA_ERR_URL (base_url malformed or https:// in a build without
 * TLS) or OA_ERR_NOMEM. Whatever it returns, oa_errmsg() explains a
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
 * it to its end or call oa_interrupt() first), OA_ERR_LIMIT (history too
 * large) or OA_ERR_NOMEM. A new query clears the previous turn's error.
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
 * Ask the running turn to stop. Safe from another thread and from a signal
 * handler; the blocked oa_next() returns OA_ERR_INTERRUPTED promptly. The
 * partial text stays in history.
 */
void oa_interrupt(oa_client *c);

/* The detail of the last error on this client: the server's message, the
 * limit hit, the resolver's text. "" when there was none. Owned by the
 * client; valid until the next call on it. */
const char *oa_errmsg(const oa_client *c);

/* The HTTP status of the last response, or 0 before any. */
int oa_http_status(const oa_client *c);

/*
 * One prompt in, the whole reply text out: oa_query() then oa_next() until
 * the end, joining the text blocks. *text is owned by the client and valid
 * until the next call on it; *len may be NULL. Returns 0 or an oa_err.
 */
int oa_ask(oa_client *c, const char *prompt, const char **text, size_t *len);

/* ------------------------------------------------------------------------
 * Configuration
 *
 * Optional helpers that resolve settings the way open-agent-sdk does:
 * the environment (OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL,
 * OPEN_AGENT_API_KEY), then the configuration file, then the fallback the
 * program passes in, then the provider's default. An empty string counts
 * as unset wherever it comes from. With prefer_fallback set, a non-empty
 * fallback wins over everything.
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
 *     temperature (a plain decimal number from 0 to 2), max_tokens (a
 *     positive integer). Other keys are ignored. A repeated key: the last
 *     one wins.
 * Everything else is an error: a line without ':', an unterminated quote,
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
 * the search list that exists (none existing is not an error). Unknown
 * keys are ignored, so files shared with open-agent-sdk keep working.
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

#ifdef __cplusplus
}
#endif

#endif

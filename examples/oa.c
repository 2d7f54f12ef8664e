/*
 * oa.c -- talk to a local LLM server from the command line.
 *
 *     oa "Why is the sky blue?"          one question, the reply streamed
 *     git diff | oa "review this"        the prompt, a blank line, stdin
 *     oa                                 a chat (stdin is a terminal)
 *     oa --models                        the server's models
 *
 * This is the whole of a real openagent program, and it uses only the
 * public API in openagent.h, as any program would:
 *
 *   1. Read the command line.
 *   2. Fill the gaps from the environment and the configuration file
 *      (oa_config_load and the oa_config_* resolvers).
 *   3. Read the prompt, and what a pipe or file on stdin carries.
 *   4. Set up a client and let Ctrl-C interrupt it.
 *   5. Run the canonical loop: oa_query() once, then oa_next() until it
 *      returns 0 (a clean end) or a negative oa_err (a failure).
 *   6. Say what went wrong, if anything, and exit with a status that tells
 *      a script what happened.
 *
 * Exit status: 0 the reply was complete (also when the server cut it at
 * the length limit: the reply is what the server sent, a note on stderr
 * says so and --jsonl's turn_end carries finish_reason "length"); 1 an
 * error (network, server, configuration, files, or standard output going
 * away); 2 a usage error; 130 interrupted by Ctrl-C (128 + SIGINT).
 *
 * Output. By default the reply text goes to standard output byte for
 * byte as it arrives, and the model's reasoning to standard error, dimmed
 * (unless NO_COLOR is set), only when that is a terminal. With --jsonl
 * every block becomes one JSON object on one line, in valid UTF-8:
 *   {"type":"text","text":"..."}
 *   {"type":"thinking","text":"..."}
 *   {"type":"tool_use","id":"...","name":"...","input":{...}}
 *   {"type":"tool_use_error","id":"...","name":"...","error":"...","raw":"..."}
 *   {"type":"tool_result","id":"...","content":"..."}
 *   {"type":"turn_end","finish_reason":"...","usage":{"prompt_tokens":N,
 *    "completion_tokens":N,"total_tokens":N}}     (usage only when sent)
 * Keys come in exactly this order, with no spaces; this format is a
 * contract, so change it only by adding new types. Without --jsonl, tool
 * blocks print as lines of their own, with what the server sent escaped:
 *   [tool_use ID] NAME INPUT
 *   [tool_use_error ID] NAME: REASON
 *   [tool_result ID] RESULT
 *
 * Tools: see oa_tools.c. Conversations: --save FILE keeps the
 * conversation once the turn ends cleanly, --resume FILE puts it back
 * before the prompt (a missing FILE is a fresh start when --save names the
 * same FILE). The system prompt is not saved: give --system again.
 */
/* sigaction, poll, clock_gettime, strdup, realpath: POSIX and X/Open. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oa.h"

static const char usage[] =
	"usage: oa [options] [PROMPT]\n"
	"Send PROMPT to an OpenAI-compatible chat-completions server and "
	"print the\n"
	"reply as it streams in. Without PROMPT on a terminal: a chat. "
	"PROMPT \"-\":\n"
	"read it from standard input. With PROMPT, a file or pipe on "
	"standard input\n"
	"is sent too: PROMPT, a blank line, then its text.\n"
	"\n"
	"  --base-url URL     server, e.g. http://localhost:8080/v1\n"
	"  --provider P       lmstudio, ollama, llamacpp or vllm: its default "
	"URL\n"
	"  --model M          model name\n"
	"  --models           list the server's models (GET /models) and "
	"exit\n"
	"  --api-key K        sent as \"Authorization: Bearer K\"\n"
	"  --system S         system prompt\n"
	"  --chat             a chat, also when standard input is not a "
	"terminal\n"
	"  --max-tokens N     reply length limit (0: do not send one)\n"
	"  --temperature T    0 to 2\n"
	"  --top-p P          nucleus sampling, 0 to 1\n"
	"  --seed N           a fixed seed, for repeatable replies\n"
	"  --stop S           stop at S (may be given up to 16 times)\n"
	"  --presence-penalty X, --frequency-penalty X   -2 to 2\n"
	"  --tool-choice C    auto, none, required, or a tool's name\n"
	"  --parallel-tool-calls on|off   allow several calls at once\n"
	"  --extra-json JSON  more request fields, a JSON object, or @FILE\n"
	"  --image FILE|URL   send an image with the prompt, for vision "
	"models\n"
	"                     (PNG, JPEG, GIF, WebP; up to 8)\n"
	"  --json-schema FILE ask for JSON following the schema in FILE\n"
	"                     (\"json_object\": any JSON object)\n"
	"  --no-stream        ask for the whole reply at once\n"
	"  --parse-text-tools tool calls written as text (<tool_call>, "
	"[TOOL_CALLS])\n"
	"                     become tool calls, for servers without a "
	"tool parser\n"
	"  --think-tags       <think>...</think> in the text becomes "
	"thinking\n"
	"  --lenient-args     repair almost-JSON tool arguments (trailing "
	"commas,\n"
	"                     single quotes, a code fence, a cut-off end)\n"
	"  --tools-json FILE  offer the tools of FILE (an OpenAI-format "
	"tools array);\n"
	"                     oa runs none: it prints the calls and stops\n"
	"  --demo-tools       offer and run built-in tools: calculator, "
	"current_time,\n"
	"                     read_file (a text file in the current "
	"directory)\n"
	"  --mcp 'CMD ARG...' run an MCP server (no shell; \"...\" groups) and "
	"offer\n"
	"                     its tools, run automatically (repeatable)\n"
	"  --mcp-url URL      the same for a Streamable HTTP MCP server\n"
	"  --mcp-list         print the MCP servers' tools and exit\n"
	"  --max-tool-iterations N   tool rounds per prompt (default 5)\n"
	"  --timeout MS       give up when the server is silent this long\n"
	"                     (default 300000; negative: never)\n"
	"  --connect-timeout MS   give up connecting after MS (default "
	"10000)\n"
	"  --deadline MS      give up when a request takes longer than MS\n"
	"  --retries N        retries of a refused connection or 429/503 "
	"(default 2)\n"
	"  --proxy URL        HTTP proxy (\"\": none; default: http_proxy "
	"etc.)\n"
	"  --ca-file FILE     trust the CA certificates (PEM) of FILE for "
	"https://\n"
	"  --insecure         skip https:// certificate checks (also\n"
	"                     OPEN_AGENT_INSECURE=1); for test servers only\n"
	"  --debug            trace the HTTP exchange to stderr (key "
	"redacted)\n"
	"  --jsonl            one JSON object per block, one per line\n"
	"  --usage            tokens and tokens per second on stderr after "
	"the reply\n"
	"  --no-stdin         never read standard input for the prompt\n"
	"  --stdin-max N      most bytes read from standard input (default "
	"1048576)\n"
	"  --resume FILE      continue the conversation saved in FILE\n"
	"  --save FILE        once the reply is complete, save the "
	"conversation\n"
	"                     to FILE (the same FILE as --resume carries "
	"it on)\n"
	"  --max-history-bytes N   the largest history (default 67108864)\n"
	"  --help, --version\n"
	"\n"
	"Settings not given come from OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL,\n"
	"OPEN_AGENT_API_KEY (then OPENAI_BASE_URL, OPENAI_API_KEY), then the "
	"first\n"
	"of ./open-agent.yaml, ~/.config/open-agent/config.yaml, "
	"~/.open-agent.yaml;\n"
	"the URL defaults to LM Studio's http://localhost:1234/v1.\n"
	"In a chat, /help lists its commands.\n"
	"Exit status: 0 done, 1 error, 2 usage error, 130 interrupted.\n";

/* On a terminal, silence from the server this long gets a line saying
 * what oa is waiting for. */
#define WAIT_NOTE_S 5

oa_client client;
volatile sig_atomic_t interrupted;
volatile sig_atomic_t in_turn;

/* What report_turn needs to give a hint. */
static struct {
	const char *base_url;
	int url_is_default;
	int has_key;
	int max_tokens;
	int timeout_ms;
	char endpoint[1100];    /* base_url + "/chat/completions" */
} ctx;

/* ------------------------------------------------------------ signals */

/* Ctrl-C: in a turn, interrupt it (oa_interrupt is async-signal-safe: a
 * flag and a write); the oa_next() in progress returns
 * OA_ERR_INTERRUPTED with the partial reply kept. */
static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
	if (in_turn)
		oa_interrupt(&client);
}

/* The waiting note, formatted before the alarm is set, since only
 * write(2) may run in the handler. */
static char wait_note[512];
static size_t wait_note_len;

static void
on_sigalrm(int sig)
{
	ssize_t w;

	(void)sig;
	w = write(STDERR_FILENO, wait_note, wait_note_len);
	(void)w;
}

static void
handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* ------------------------------------------------------------- a turn */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --usage: the turn's tokens, and the speed from the first token on. */
static void
put_usage(const oa_usage *u, double t0, double t_first, double t_end)
{
	double gen = t_end - (t_first > 0 ? t_first : t0);

	if (!u->present) {
		fprintf(stderr, "oa: usage: the server sent none (%.1f s)\n",
		        t_end - t0);
		return;
	}
	fprintf(stderr, "oa: usage: %lld prompt + %lld completion = %lld "
	        "tokens in %.1f s", u->prompt_tokens, u->completion_tokens,
	        u->total_tokens, t_end - t0);
	if (gen > 0 && u->completion_tokens > 0)
		fprintf(stderr, ", %.1f tokens/s", u->completion_tokens / gen);
	fputc('\n', stderr);
}

int
run_turn(const struct view *v, const char *prompt,
         const char *const *images, size_t nimages, oa_usage *last,
         int *out_errno)
{
	int text_open = 0, thinking_open = 0, r, waiting;
	double t0 = now_s(), t_first = 0;
	oa_block b;

	*out_errno = 0;
	memset(last, 0, sizeof *last);
	interrupted = 0;
	in_turn = 1;
	waiting = wait_note_len > 0;
	if (waiting)
		alarm(WAIT_NOTE_S);
	r = nimages ? oa_query_images(&client, prompt, images, nimages)
	            : oa_query(&client, prompt);
	while (r >= 0 && (r = oa_next(&client, &b)) > 0) {
		if (waiting) {
			alarm(0);
			waiting = 0;
		}
		if (t_first == 0 && (b.type == OA_BLOCK_TEXT ||
		                     b.type == OA_BLOCK_THINKING))
			t_first = now_s();
		if (v->jsonl) {
			put_block_json(&b);
		} else if (b.type == OA_BLOCK_TEXT && b.text_len > 0) {
			/* After reasoning, end its line on the terminal. */
			if (thinking_open) {
				fputs("\n", stderr);
				thinking_open = 0;
			}
			fwrite(b.text, 1, b.text_len, stdout);
			text_open = b.text[b.text_len - 1] != '\n';
		} else if (b.type == OA_BLOCK_THINKING && v->dim) {
			fputs(v->color ? "\033[2m" : "", stderr);
			fwrite(b.text, 1, b.text_len, stderr);
			fputs(v->color ? "\033[0m" : "", stderr);
			thinking_open = 1;
		} else if (b.type == OA_BLOCK_TURN_END) {
			*last = b.usage;
			if (b.finish_reason &&
			    strcmp(b.finish_reason, "length") == 0) {
				if (text_open)
					putchar('\n');
				text_open = 0;
				fflush(stdout);
				fprintf(stderr, "oa: note: the reply was cut at "
				        "the length limit (finish_reason "
				        "\"length\"); ");
				if (ctx.max_tokens > 0)
					fprintf(stderr, "raise --max-tokens "
					        "(now %d)\n", ctx.max_tokens);
				else
					fputs("the server's own limit, or the "
					      "context is full\n", stderr);
			}
		} else if (b.type != OA_BLOCK_THINKING) {
			/* A tool block: a line of its own, after the text. */
			if (text_open)
				putchar('\n');
			text_open = 0;
			put_block_text(&b);
		}
		if (b.type == OA_BLOCK_TURN_END && v->jsonl)
			*last = b.usage;
		/* Flush before every wait, so the reply appears as it is
		 * written, but not after each of the blocks that arrived
		 * together. A failed write (EPIPE: the reader left) ends the
		 * turn: there is no one left to read the rest. */
		if (!oa_ready(&client) && fflush(stdout) != 0) {
			*out_errno = errno;
			break;
		}
	}
	if (waiting)
		alarm(0);
	in_turn = 0;
	if (thinking_open)
		fputs("\n", stderr);
	if (text_open && *out_errno == 0) {
		putchar('\n');
		if (fflush(stdout) != 0)
			*out_errno = errno;
	}
	if (r == 0 && v->usage)
		put_usage(last, t0, t_first, now_s());
	if (*out_errno != 0)
		return 1;
	return r;
}

/* Whether s holds w, ignoring ASCII case. */
static int
has_word(const char *s, const char *w)
{
	size_t n = strlen(w), i;

	for (; *s; s++) {
		for (i = 0; i < n; i++) {
			char a = s[i], b = w[i];
			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (a != b)
				break;
		}
		if (i == n)
			return 1;
	}
	return 0;
}

void
report_turn(int r, const char *request)
{
	const char *msg = oa_errmsg(&client), *hint = NULL;
	char where[1200];
	int st = oa_http_status(&client);

	if (request != NULL)
		snprintf(where, sizeof where, "%s", request);
	else
		snprintf(where, sizeof where, "POST %s", ctx.endpoint);
	switch (r) {
	case OA_ERR_CONNECT:
	case OA_ERR_RESOLVE:
	case OA_ERR_CONNECT_TIMEOUT:
		if (ctx.url_is_default)
			hint = "that is LM Studio's default URL: start the "
			       "server, or give --base-url URL (or "
			       "OPEN_AGENT_BASE_URL), or --provider ollama, "
			       "llamacpp or vllm";
		break;
	case OA_ERR_TLS:
		if (strstr(msg, "certificate") || strstr(msg, "CA file"))
			hint = "--ca-file FILE trusts the server's CA "
			       "(--insecure skips the checks, for test "
			       "servers only)";
		else
			hint = "if the server speaks plain HTTP on that port, "
			       "use http://";
		break;
	case OA_ERR_HTTP:
		if (st == 401 || st == 403)
			hint = ctx.has_key ? "check the key of --api-key or "
			                     "OPEN_AGENT_API_KEY"
			                   : "the server wants a key: give "
			                     "--api-key KEY or "
			                     "OPEN_AGENT_API_KEY";
		else if (st == 404 && !strstr(ctx.base_url, "/v1"))
			hint = "the URL has no /v1; most servers want "
			       "--base-url http://HOST:PORT/v1";
		else if ((st == 404 || st == 400) && has_word(msg, "model"))
			hint = "list the server's models with oa --models";
		break;
	case OA_ERR_READ_TIMEOUT:
		hint = "a model may still be loading: raise --timeout MS";
		break;
	case OA_ERR_DEADLINE:
		hint = "raise --deadline MS";
		break;
	case OA_ERR_IO:
	case OA_ERR_PROTOCOL:
	case OA_ERR_STREAM:
	case OA_ERR_TRUNCATED:
	case OA_ERR_SERVER:
	case OA_ERR_LIMIT:
		break;
	default:
		report(r, msg);
		return;
	}
	report_at(r, msg, where, hint);
}

/* ------------------------------------------------------- small inputs */

/* A whole decimal integer in [min, max]. */
static int
parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* A number in [min, max]. */
static int
parse_num(const char *s, double min, double max, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return end == s || *end != '\0' || !(*out >= min && *out <= max)
	       ? -1 : 0;
}

int
reinit(const oa_options *opt)
{
	char tmp[] = "/tmp/oa-history.XXXXXX";
	int fd, r, keep = oa_history_count(&client) > 0;

	if (keep) {
		if ((fd = mkstemp(tmp)) < 0)
			return OA_ERR_FILE;
		close(fd);
		if ((r = oa_history_save(&client, tmp)) < 0) {
			unlink(tmp);
			return r;
		}
	}
	oa_free(&client);
	r = oa_init(&client, opt);
	if (r == 0)
		mcp_watch(&client);
	if (r == 0 && keep)
		r = oa_history_load(&client, tmp);
	if (keep)
		unlink(tmp);
	return r;
}

/* ----------------------------------------------------------------- main */

enum { BASE_URL, PROVIDER, MODEL, API_KEY, SYSTEM, MAX_TOKENS, TEMPERATURE,
       TIMEOUT, TOOLS_JSON, CA_FILE, TOP_P, SEED, TOOL_CHOICE, EXTRA_JSON,
       SAVE, RESUME, JSON_SCHEMA, MAX_TOOL_ITER, DEADLINE, CONNECT_TIMEOUT,
       PRESENCE, FREQUENCY, RETRIES, PROXY, STDIN_MAX, MAX_HISTORY,
       PARALLEL, NOPTS };

static const char *const names[NOPTS] = {
	"--base-url", "--provider", "--model", "--api-key", "--system",
	"--max-tokens", "--temperature", "--timeout", "--tools-json",
	"--ca-file", "--top-p", "--seed", "--tool-choice", "--extra-json",
	"--save", "--resume", "--json-schema", "--max-tool-iterations",
	"--deadline", "--connect-timeout", "--presence-penalty",
	"--frequency-penalty", "--retries", "--proxy", "--stdin-max",
	"--max-history-bytes", "--parallel-tool-calls",
};

enum { F_JSONL, F_DEMO, F_INSECURE, F_TEXT_TOOLS, F_THINK_TAGS, F_LENIENT,
       F_CHAT, F_MODELS, F_NO_STDIN, F_USAGE, F_NO_STREAM, F_DEBUG, NFLAGS };

static const char *const flag_names[NFLAGS] = {
	"--jsonl", "--demo-tools", "--insecure", "--parse-text-tools",
	"--think-tags", "--lenient-args", "--chat", "--models", "--no-stdin",
	"--usage", "--no-stream", "--debug",
};

/* --stop and --image may be given several times. */
#define MAX_STOPS 16
#define MAX_IMAGES 8

/* Everything main() allocates, freed in one place. */
static struct {
	char *input, *piped, *extra, *schema;
	struct toolfile tf;
} own;

static int
done(int status)
{
	oa_free(&client);
	toolfile_free(&own.tf);
	free(own.input);
	free(own.piped);
	free(own.extra);
	free(own.schema);
	return status;
}

/* An oa_init() failure: a bad --extra-json or --json-schema is a usage
 * error and is named by its flag, not by the library's field. */
static int
init_failed(int r)
{
	const char *m = oa_errmsg(&client);

	if (r == OA_ERR_INVALID && strncmp(m, "extra ", 6) == 0)
		return usage_error("--extra-json: %s", m + 6);
	if (r == OA_ERR_INVALID && strncmp(m, "response_format ", 16) == 0)
		return usage_error("--json-schema: %s", m + 16);
	report(r, m);
	return 1;
}

/* Whether a URL starts with https:// (any case). */
static int
is_https(const char *u)
{
	static const char h[] = "https://";
	size_t i;

	for (i = 0; h[i]; i++)
		if (u[i] == '\0' || (u[i] | 0x20) != h[i])
			return 0;
	return 1;
}

int
main(int argc, char **argv)
{
	const char *val[NOPTS] = {0};
	int flag[NFLAGS] = {0};
	const char *stops[MAX_STOPS], *images[MAX_IMAGES];
	size_t nstops = 0, nimages = 0, stdin_max = 1u << 20, n, plen;
	const char *prompt = NULL, *fallback, *ins;
	int dashdash = 0, i, j, r, status, out_errno, v_int;
	long long ll;
	double d;
	oa_options opt;
	oa_config cfg;
	oa_usage last;
	struct view view;
	struct stat st;

	/*
	 * SIGPIPE is ignored on purpose. When the reader of our output goes
	 * away (oa ... | head -1), the default action would kill us silently
	 * in the middle of a write; ignored, the write fails with EPIPE and
	 * we stop like any other end, closing the connection to the server
	 * so it stops generating.
	 */
	signal(SIGPIPE, SIG_IGN);
	memset(&opt, 0, sizeof opt);

	/* 1. The command line. Options take their value as the next word or
	 * after '=' (--model=qwen); after "--" everything is the prompt. */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (dashdash || a[0] != '-' || a[1] == '\0') {
			if (prompt != NULL)
				return usage_error("one PROMPT only, quoted");
			prompt = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			printf("oa %s\n", oa_version());
			return 0;
		}
		if ((r = mcp_flag(argc, argv, &i)) != 0) {
			if (r < 0)
				return 2;
			continue;
		}
		for (j = 0; j < NFLAGS && strcmp(a, flag_names[j]) != 0; j++)
			;
		if (j < NFLAGS) {
			flag[j] = 1;
			continue;
		}
		if (strncmp(a, "--image", 7) == 0 &&
		    (a[7] == '\0' || a[7] == '=')) {
			if (nimages == MAX_IMAGES)
				return usage_error("at most %d --image",
				                   MAX_IMAGES);
			if (a[7] == '=')
				images[nimages++] = a + 8;
			else if (i + 1 < argc)
				images[nimages++] = argv[++i];
			else
				return usage_error("--image needs a value");
			continue;
		}
		if (strncmp(a, "--stop", 6) == 0 &&
		    (a[6] == '\0' || a[6] == '=')) {
			if (nstops == MAX_STOPS)
				return usage_error("at most %d --stop",
				                   MAX_STOPS);
			if (a[6] == '=')
				stops[nstops++] = a + 7;
			else if (i + 1 < argc)
				stops[nstops++] = argv[++i];
			else
				return usage_error("--stop needs a value");
			continue;
		}
		for (j = 0; j < NOPTS; j++) {
			n = strlen(names[j]);
			if (strncmp(a, names[j], n) != 0 ||
			    (a[n] != '\0' && a[n] != '='))
				continue;
			if (a[n] == '=')
				val[j] = a + n + 1;
			else if (i + 1 < argc)
				val[j] = argv[++i];
			else
				return usage_error("%s needs a value", a);
			break;
		}
		if (j == NOPTS)
			return usage_error("unknown option '%s'", a);
	}
	if (flag[F_DEMO] && val[TOOLS_JSON])
		return usage_error("--tools-json and --demo-tools do not go "
		                   "together");
	if (prompt != NULL && prompt[0] == '\0')
		return usage_error("the PROMPT is empty");
	if (flag[F_MODELS] && prompt != NULL)
		return usage_error("--models takes no PROMPT");
	if (nimages > 0 && (prompt == NULL || flag[F_CHAT]))
		return usage_error("--image goes with a PROMPT, outside a chat");

	if (val[MAX_TOKENS] &&
	    parse_int(val[MAX_TOKENS], 0, INT_MAX, &opt.max_tokens) != 0)
		return usage_error("--max-tokens wants an integer >= 0, not "
		                   "'%s'", val[MAX_TOKENS]);
	if (val[TIMEOUT] && parse_int(val[TIMEOUT], INT_MIN, INT_MAX,
	                              &opt.read_timeout_ms) != 0)
		return usage_error("--timeout wants milliseconds, not '%s'",
		                   val[TIMEOUT]);
	if (val[CONNECT_TIMEOUT] &&
	    parse_int(val[CONNECT_TIMEOUT], 1, INT_MAX,
	              &opt.connect_timeout_ms) != 0)
		return usage_error("--connect-timeout wants milliseconds > 0, "
		                   "not '%s'", val[CONNECT_TIMEOUT]);
	if (val[DEADLINE] && parse_int(val[DEADLINE], 1, INT_MAX,
	                               &opt.request_timeout_ms) != 0)
		return usage_error("--deadline wants milliseconds > 0, not "
		                   "'%s'", val[DEADLINE]);
	if (val[MAX_TOOL_ITER] &&
	    parse_int(val[MAX_TOOL_ITER], 1, 1000,
	              &opt.max_tool_iterations) != 0)
		return usage_error("--max-tool-iterations wants 1 to 1000, not "
		                   "'%s'", val[MAX_TOOL_ITER]);
	if (val[RETRIES]) {
		if (parse_int(val[RETRIES], 0, 10, &v_int) != 0)
			return usage_error("--retries wants 0 to 10, not '%s'",
			                   val[RETRIES]);
		opt.max_retries = v_int ? v_int : OA_OMIT;
	}
	if (val[STDIN_MAX] && parse_int(val[STDIN_MAX], 0, INT_MAX,
	                                &v_int) == 0)
		stdin_max = (size_t)v_int;
	else if (val[STDIN_MAX])
		return usage_error("--stdin-max wants bytes, not '%s'",
		                   val[STDIN_MAX]);
	if (val[MAX_HISTORY]) {
		if (parse_int(val[MAX_HISTORY], 1024, INT_MAX, &v_int) != 0)
			return usage_error("--max-history-bytes wants bytes "
			                   "(at least 1024), not '%s'",
			                   val[MAX_HISTORY]);
		opt.max_history_bytes = (size_t)v_int;
	}
	if (val[TEMPERATURE] && parse_num(val[TEMPERATURE], 0, 2,
	                                  &opt.temperature) != 0)
		return usage_error("--temperature wants a number from 0 to 2, "
		                   "not '%s'", val[TEMPERATURE]);
	if (val[TOP_P] && (parse_num(val[TOP_P], 0, 1, &opt.top_p) != 0 ||
	                   opt.top_p == 0))
		return usage_error("--top-p wants a number above 0 and at most "
		                   "1, not '%s'", val[TOP_P]);
	if (val[PRESENCE] && (parse_num(val[PRESENCE], -2, 2, &d) != 0))
		return usage_error("--presence-penalty wants -2 to 2, not '%s'",
		                   val[PRESENCE]);
	opt.presence_penalty = val[PRESENCE] ? d : 0;
	if (val[FREQUENCY] && (parse_num(val[FREQUENCY], -2, 2, &d) != 0))
		return usage_error("--frequency-penalty wants -2 to 2, not "
		                   "'%s'", val[FREQUENCY]);
	opt.frequency_penalty = val[FREQUENCY] ? d : 0;
	if (val[PARALLEL]) {
		if (strcmp(val[PARALLEL], "on") != 0 &&
		    strcmp(val[PARALLEL], "off") != 0)
			return usage_error("--parallel-tool-calls wants on or "
			                   "off, not '%s'", val[PARALLEL]);
		opt.parallel_tool_calls = val[PARALLEL][1] == 'n' ? 1 : -1;
	}
	if (val[SEED]) {
		char *end;
		errno = 0;
		ll = strtoll(val[SEED], &end, 10);
		if (end == val[SEED] || *end != '\0' || errno != 0)
			return usage_error("--seed wants an integer, not '%s'",
			                   val[SEED]);
		opt.seed = ll;
		opt.send_seed = 1; /* a seed of 0 is a seed too */
	}
	opt.stop = stops;
	opt.nstop = nstops;
	opt.tool_choice = val[TOOL_CHOICE];
	opt.proxy = val[PROXY];
	opt.no_stream = flag[F_NO_STREAM];
	opt.debug = flag[F_DEBUG];
	if (val[PROVIDER] && oa_provider_url(val[PROVIDER]) == NULL)
		return usage_error("unknown provider '%s' (lmstudio, ollama, "
		                   "llamacpp, vllm)", val[PROVIDER]);

	/* 2. Fill the gaps. What the command line says wins; then the
	 * environment, then the configuration file, then (for the URL) LM
	 * Studio's default. A --provider counts as saying the URL. A broken
	 * configuration file is an error, not something to guess around. */
	r = oa_config_load(&cfg, NULL);
	if (r < 0) {
		report(r, cfg.error);
		return 1;
	}
	fallback = val[BASE_URL];
	if (fallback == NULL)
		fallback = oa_provider_url(val[PROVIDER]);
	opt.base_url = oa_config_base_url(&cfg, fallback, val[PROVIDER],
	                                  fallback != NULL);
	opt.model = oa_config_model(&cfg, val[MODEL], val[MODEL] != NULL);
	opt.api_key = oa_config_api_key(&cfg, val[API_KEY],
	                                 val[API_KEY] != NULL);
	opt.system_prompt = val[SYSTEM];
	if (!val[MAX_TOKENS] && cfg.has_max_tokens)
		opt.max_tokens = cfg.max_tokens;
	if (!val[TEMPERATURE] && cfg.has_temperature)
		opt.temperature = cfg.temperature;
	/* 0 means "the default" in oa_options; on our command line and in
	 * the file it means what it says, so map it to the markers. */
	if ((val[MAX_TOKENS] || cfg.has_max_tokens) && opt.max_tokens == 0)
		opt.max_tokens = OA_OMIT;
	if ((val[TEMPERATURE] || cfg.has_temperature) && opt.temperature == 0)
		opt.temperature = OA_ZERO;
	ctx.base_url = opt.base_url;
	ctx.url_is_default = fallback == NULL &&
	                     strcmp(opt.base_url,
	                            oa_provider_url("lmstudio")) == 0;
	ctx.has_key = opt.api_key != NULL;
	ctx.max_tokens = opt.max_tokens == OA_OMIT ? 0
	                 : opt.max_tokens ? opt.max_tokens
	                                  : OA_DEFAULT_MAX_TOKENS;
	snprintf(ctx.endpoint, sizeof ctx.endpoint, "%s%schat/completions",
	         opt.base_url, opt.base_url[0] &&
	         opt.base_url[strlen(opt.base_url) - 1] == '/' ? "" : "/");

	/* 3. The prompt. "-" is all of standard input; with another PROMPT
	 * a pipe or file on standard input is sent too, after a blank line.
	 * Without PROMPT: a chat, on a terminal or with --chat. */
	if (prompt != NULL && strcmp(prompt, "-") == 0) {
		if ((own.input = read_all(stdin, stdin_max, &n)) == NULL) {
			if (errno == E2BIG)
				fprintf(stderr, "oa: standard input holds more "
				        "than %zu bytes: raise --stdin-max\n",
				        stdin_max);
			else
				fprintf(stderr, "oa: cannot read standard "
				        "input: %s\n", strerror(errno));
			return 1;
		}
		prompt = own.input;
	} else if (prompt != NULL && !flag[F_NO_STDIN] && !flag[F_CHAT]) {
		if ((r = read_stdin(stdin_max, &own.piped, &n)) != 0)
			return done(r);
		if (own.piped != NULL && n > 0) {
			plen = strlen(prompt);
			if ((own.input = malloc(plen + 2 + n + 1)) == NULL) {
				fputs("oa: out of memory\n", stderr);
				return done(1);
			}
			memcpy(own.input, prompt, plen);
			memcpy(own.input + plen, "\n\n", 2);
			memcpy(own.input + plen + 2, own.piped, n + 1);
			prompt = own.input;
			n += plen + 2;
		}
	} else if (prompt == NULL && !flag[F_MODELS] && !flag[F_CHAT] &&
	           !mcp_listing() && !isatty(STDIN_FILENO)) {
		return usage_error("no PROMPT given (give --chat to chat over "
		                   "a pipe, or \"-\" to read the prompt from "
		                   "it)");
	}
	if (own.input != NULL) {
		if (strlen(own.input) != n) {
			fprintf(stderr, "oa: standard input holds a NUL byte "
			        "(at byte %zu): the prompt must be text\n",
			        strlen(own.input));
			return done(1);
		}
		if (n == 0) {
			fputs("oa: standard input is empty: nothing to send\n",
			      stderr);
			return done(2);
		}
	}

	/* 3b. The tools. Those of a file have no handlers, so the library
	 * only announces the calls and ends the turn; the demo tools have
	 * handlers and auto mode runs them, sends the results back and
	 * streams the model's answer within this one turn. */
	if (val[TOOLS_JSON]) {
		if (toolfile_load(&own.tf, val[TOOLS_JSON]) != 0)
			return done(1);
		opt.tools = own.tf.v;
		opt.ntools = own.tf.n;
	} else if (flag[F_DEMO]) {
		opt.tools = demo_tools;
		opt.ntools = demo_ntools;
		opt.auto_execute_tools = 1;
	}

	/* 4. The client. oa_init() copies every option, so the strings above
	 * need not outlive it. */
	opt.ca_file = val[CA_FILE];
	opt.insecure = flag[F_INSECURE];
	ins = getenv("OPEN_AGENT_INSECURE");
	if (is_https(opt.base_url) &&
	    (opt.insecure || (ins && strcmp(ins, "") != 0 &&
	                      strcmp(ins, "0") != 0)))
		fputs("oa: warning: TLS certificate checks are off; anyone "
		      "on the network path can read and alter this "
		      "conversation\n", stderr);
	opt.extra = val[EXTRA_JSON];
	if (opt.extra && opt.extra[0] == '@') {
		if ((own.extra = slurp(opt.extra + 1)) == NULL)
			return done(1);
		opt.extra = own.extra;
	}
	opt.response_format = val[JSON_SCHEMA];
	if (opt.response_format &&
	    strcmp(opt.response_format, "json_object") != 0) {
		if ((own.schema = slurp(opt.response_format)) == NULL)
			return done(1);
		opt.response_format = own.schema;
	}
	opt.parse_text_tools = flag[F_TEXT_TOOLS];
	opt.think_tags = flag[F_THINK_TAGS];
	opt.lenient_tool_args = flag[F_LENIENT];
	if (val[SAVE] && check_save(val[SAVE]) != 0)
		return done(1);
	if ((r = mcp_start(&opt)) >= 0)
		return done(r);
	if ((r = oa_init(&client, &opt)) < 0)
		return done(init_failed(r));
	mcp_watch(&client);

	if (flag[F_MODELS]) {
		const char *json;
		size_t len;
		char where[1200];
		snprintf(where, sizeof where, "GET %s%smodels", opt.base_url,
		         opt.base_url[strlen(opt.base_url) - 1] == '/' ? ""
		                                                      : "/");
		if ((r = oa_models(&client, &json, &len)) < 0) {
			report_turn(r, where);
			return done(1);
		}
		r = print_models(json, len, flag[F_JSONL]);
		return done(r != 0 || fflush(stdout) != 0);
	}

	/* 4b. A conversation saved by an earlier run goes back into the
	 * history, so the prompt continues it. A corrupt or foreign file is
	 * an error, better than silently starting afresh; a missing one is a
	 * first run when --save names the same file. */
	if (val[RESUME]) {
		size_t max = opt.max_history_bytes ? opt.max_history_bytes
		                                   : OA_MAX_HISTORY_BYTES;
		int sr = stat(val[RESUME], &st);
		if (sr != 0 && errno == ENOENT && val[SAVE] &&
		    strcmp(val[SAVE], val[RESUME]) == 0) {
			/* a new conversation */
		} else if (sr == 0 && (uintmax_t)st.st_size > max) {
			fprintf(stderr, "oa: file error: %s: %jd bytes, more "
			        "than the history limit of %zu bytes; raise "
			        "it with --max-history-bytes\n", val[RESUME],
			        (intmax_t)st.st_size, max);
			return done(1);
		} else if ((r = oa_history_load(&client, val[RESUME])) < 0) {
			report(r, oa_errmsg(&client));
			return done(1);
		}
	}

	view.jsonl = flag[F_JSONL];
	view.color = getenv("NO_COLOR") == NULL || !getenv("NO_COLOR")[0];
	view.usage = flag[F_USAGE];
	view.url = ctx.endpoint;
	view.save = val[SAVE];
	view.chat = prompt == NULL || flag[F_CHAT];
	/* The reasoning goes to stderr, and only when that is a terminal:
	 * a log or a pipe gets the reply alone. */
	view.dim = !view.jsonl && isatty(STDERR_FILENO);
	if (isatty(STDERR_FILENO)) {
		wait_note_len = (size_t)snprintf(wait_note, sizeof wait_note,
		        "oa: waiting for %s: no answer after %d s (a model "
		        "may be loading, or the server asked to retry later); "
		        "oa gives up after %d ms of silence (--timeout)\n",
		        ctx.endpoint, WAIT_NOTE_S,
		        opt.read_timeout_ms ? opt.read_timeout_ms
		                            : OA_DEFAULT_READ_TIMEOUT_MS);
		if (wait_note_len >= sizeof wait_note)
			wait_note_len = sizeof wait_note - 1;
		handle(SIGALRM, on_sigalrm, SA_RESTART);
	}
	if (view.chat) {
		handle(SIGINT, on_sigint, SA_RESTART);
		status = chat(&view, &opt, prompt);
		return done(status);
	}
	/* Once the client exists, Ctrl-C interrupts it; the handler is
	 * reset after one use so a second Ctrl-C kills at once. SA_RESTART
	 * keeps our own writes from failing with EINTR; the library wakes
	 * through its own channel, not through EINTR. */
	handle(SIGINT, on_sigint, SA_RESTART | SA_RESETHAND);

	/* 5. The turn, and 6. a clean end or an error. Whatever text arrived
	 * before an error has been printed and stays valid output. */
	r = run_turn(&view, prompt, images, nimages, &last, &out_errno);
	status = 0;
	if (out_errno != 0) {
		/* The reader going away is an ordinary way for a pipeline to
		 * end: no message, but status 1 since the reply was not
		 * delivered. Any other write error is worth a word. */
		if (out_errno != EPIPE)
			fprintf(stderr, "oa: cannot write standard output: "
			        "%s\n", strerror(out_errno));
		status = 1;
	} else if (r < 0) {
		report_turn(r, NULL);
		status = 1;
	} else if (val[SAVE] &&
	           (r = oa_history_save(&client, val[SAVE])) < 0) {
		/* Only a complete turn is saved; the save is atomic, so a
		 * failure leaves the file of the last good run. */
		fprintf(stderr, "oa: cannot save the conversation to %s: ",
		        val[SAVE]);
		put_safe(stderr, oa_errmsg(&client),
		         strlen(oa_errmsg(&client)));
		fputc('\n', stderr);
		status = 1;
	}
	if (interrupted)
		status = 130;
	return done(status);
}

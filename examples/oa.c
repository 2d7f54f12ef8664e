/*
 * oa.c -- ask a local LLM server one question from the command line.
 *
 *     oa "Why is the sky blue?"
 *     echo "Summarise this" | oa --model qwen2.5 -
 *     oa --provider ollama --jsonl "hi"
 *
 * This is the whole of a real openagent program, narrated step by step,
 * and it uses only the public API in openagent.h, as any program would:
 *
 *   1. Read the command line.
 *   2. Fill the gaps from the environment and the configuration file
 *      (oa_config_load and the oa_config_* resolvers).
 *   3. Read the prompt (from standard input when it is "-").
 *   4. Set up a client and let Ctrl-C interrupt it.
 *   5. Run the canonical loop: oa_query() once, then oa_next() until it
 *      returns 0 (a clean end) or a negative oa_err (a failure).
 *   6. Say what went wrong, if anything, and exit with a status that tells
 *      a script what happened.
 *
 * Exit status: 0 the reply was complete; 1 an error (network, server,
 * configuration, or standard output going away); 2 a usage error; 130
 * interrupted by Ctrl-C (128 + SIGINT, as a shell reports it).
 *
 * Output. By default the reply text goes to standard output as it arrives,
 * and the model's reasoning goes to standard error, dimmed, only when that
 * is a terminal. With --jsonl every block becomes one JSON object on one
 * line, for other programs to read:
 *   {"type":"text","text":"..."}
 *   {"type":"thinking","text":"..."}
 *   {"type":"tool_use","id":"...","name":"...","input":{...}}
 *   {"type":"tool_use_error","id":"...","name":"...","error":"...","raw":"..."}
 *   {"type":"tool_result","id":"...","content":"..."}
 *   {"type":"turn_end","finish_reason":"...","usage":{"prompt_tokens":N,
 *    "completion_tokens":N,"total_tokens":N}}     (usage only when sent)
 * Keys come in exactly this order, with no spaces; this format is a
 * contract, so change it only by adding new types.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openagent.h"

static const char usage[] =
	"usage: oa [options] PROMPT\n"
	"Send PROMPT (\"-\": read it from standard input) to an "
	"OpenAI-compatible\n"
	"chat-completions server and print the reply as it streams in.\n"
	"\n"
	"  --base-url URL     server, e.g. http://localhost:8080/v1\n"
	"  --provider P       lmstudio, ollama, llamacpp or vllm: its default "
	"URL\n"
	"  --model M          model name\n"
	"  --api-key K        sent as \"Authorization: Bearer K\"\n"
	"  --system S         system prompt\n"
	"  --max-tokens N     reply length limit (0: do not send one)\n"
	"  --temperature T    0 to 2\n"
	"  --timeout MS       give up when the server is silent this long\n"
	"                     (default 300000; negative: never)\n"
	"  --jsonl            one JSON object per block, one per line\n"
	"  --help, --version\n"
	"\n"
	"Settings not given come from OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL,\n"
	"OPEN_AGENT_API_KEY, then the first of ./open-agent.yaml,\n"
	"~/.config/open-agent/config.yaml, ~/.open-agent.yaml; the URL "
	"defaults\n"
	"to LM Studio's http://localhost:1234/v1.\n"
	"Exit status: 0 done, 1 error, 2 usage error, 130 interrupted.\n";

/* ------------------------------------------------------------ messages */

/* A usage error: one line saying what, one pointing at --help. Returns the
 * exit status for it. */
static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("oa: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'oa --help' for more information.\n", stderr);
	return 2;
}

/* Every failure is exactly one line, "oa: <kind>: <detail>", so a script
 * can read it; a control character in the detail (a server's message may
 * hold anything) is shown as a space to keep it one line, and a detail
 * that only repeats the kind is left out. */
static void
report(int err, const char *detail)
{
	fprintf(stderr, "oa: %s", oa_strerror(err));
	if (detail != NULL && detail[0] != '\0' &&
	    strcmp(detail, oa_strerror(err)) != 0) {
		fputs(": ", stderr);
		for (; *detail; detail++)
			putc((unsigned char)*detail < 0x20 ? ' ' : *detail,
			     stderr);
	}
	putc('\n', stderr);
}

/* ------------------------------------------------------------ JSON out */

/* A JSON string literal: '"', '\' and control characters escaped, every
 * other byte (UTF-8 included) passed through as it is. */
static void
put_json(const char *s, size_t n)
{
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\b': fputs("\\b", stdout); break;
		case '\f': fputs("\\f", stdout); break;
		default:
			if (ch < 0x20)
				printf("\\u%04x", ch);
			else
				putchar(ch);
		}
	}
	putchar('"');
}

/* One block as one line of --jsonl. */
static void
put_block_json(const oa_block *b)
{
	switch (b->type) {
	case OA_BLOCK_TEXT:
	case OA_BLOCK_THINKING:
		printf("{\"type\":\"%s\",\"text\":",
		       b->type == OA_BLOCK_TEXT ? "text" : "thinking");
		put_json(b->text, b->text_len);
		break;
	case OA_BLOCK_TOOL_USE:
		fputs("{\"type\":\"tool_use\",\"id\":", stdout);
		put_json(b->id, b->id_len);
		fputs(",\"name\":", stdout);
		put_json(b->name, b->name_len);
		/* The arguments are already a JSON object: copy them. */
		fputs(",\"input\":", stdout);
		if (b->input_len > 0)
			fwrite(b->input, 1, b->input_len, stdout);
		else
			fputs("{}", stdout);
		break;
	case OA_BLOCK_TOOL_USE_ERROR:
		fputs("{\"type\":\"tool_use_error\",\"id\":", stdout);
		put_json(b->id, b->id_len);
		fputs(",\"name\":", stdout);
		put_json(b->name, b->name_len);
		fputs(",\"error\":", stdout);
		put_json(b->text, b->text_len);
		fputs(",\"raw\":", stdout);
		put_json(b->raw, b->raw_len);
		break;
	case OA_BLOCK_TOOL_RESULT:
		fputs("{\"type\":\"tool_result\",\"id\":", stdout);
		put_json(b->id, b->id_len);
		fputs(",\"content\":", stdout);
		put_json(b->text, b->text_len);
		break;
	case OA_BLOCK_TURN_END:
		fputs("{\"type\":\"turn_end\",\"finish_reason\":", stdout);
		put_json(b->finish_reason ? b->finish_reason : "",
		         b->finish_reason ? strlen(b->finish_reason) : 0);
		if (b->usage.present)
			printf(",\"usage\":{\"prompt_tokens\":%lld,"
			       "\"completion_tokens\":%lld,"
			       "\"total_tokens\":%lld}",
			       b->usage.prompt_tokens,
			       b->usage.completion_tokens,
			       b->usage.total_tokens);
		break;
	}
	fputs("}\n", stdout);
}

/* --------------------------------------------------------- small inputs */

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

/* All of standard input, NUL-terminated; NULL with errno set on failure.
 * The buffer doubles, so a prompt of any size costs O(n). */
static char *
read_all(FILE *f)
{
	size_t len = 0, cap = 0, ncap, n;
	char *p = NULL, *q;
	int e;

	for (;;) {
		if (cap - len < 4096) {
			ncap = cap ? cap * 2 : 65536;
			if (ncap < cap || (q = realloc(p, ncap)) == NULL) {
				free(p);
				errno = ENOMEM;
				return NULL;
			}
			p = q;
			cap = ncap;
		}
		if ((n = fread(p + len, 1, cap - len - 1, f)) == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		e = errno;
		free(p);
		errno = e;
		return NULL;
	}
	p[len] = '\0';
	return p;
}

/* --------------------------------------------------------------- Ctrl-C */

/*
 * The client lives at file scope only so that the SIGINT handler can
 * reach it. oa_interrupt() is async-signal-safe: it sets a flag and wakes
 * the blocked read, and the oa_next() in progress returns
 * OA_ERR_INTERRUPTED with the partial reply kept.
 */
static oa_client client;
static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
	oa_interrupt(&client);
}

/* ----------------------------------------------------------------- main */

enum { BASE_URL, PROVIDER, MODEL, API_KEY, SYSTEM, MAX_TOKENS, TEMPERATURE,
       TIMEOUT, NOPTS };

static const char *const names[NOPTS] = {
	"--base-url", "--provider", "--model", "--api-key", "--system",
	"--max-tokens", "--temperature", "--timeout",
};

int
main(int argc, char **argv)
{
	const char *val[NOPTS] = {0};
	const char *prompt = NULL, *fallback;
	char *input = NULL;
	int jsonl = 0, dashdash = 0, i, j, r, status;
	int text_open = 0, thinking_open = 0;
	int dim, out_errno = 0;
	oa_options opt;
	oa_config cfg;
	oa_block b;
	struct sigaction sa;

	/*
	 * SIGPIPE is ignored on purpose. When the reader of our output goes
	 * away (oa ... | head -1), the default action would kill us silently
	 * in the middle of a write; ignored, the write fails with EPIPE and
	 * we stop like any other end, closing the connection to the server
	 * so it stops generating. It also keeps a server that hangs up while
	 * the request is being sent from killing us: the library then gets
	 * EPIPE and reports an error like any other.
	 */
	signal(SIGPIPE, SIG_IGN);

	/* 1. The command line. Options take their value as the next word or
	 * after '=' (--model=qwen); after "--" everything is the prompt. */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (dashdash || a[0] != '-' || a[1] == '\0') {
			if (prompt != NULL)
				return usage_error("one PROMPT only, "
				                   "quoted");
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
		if (strcmp(a, "--jsonl") == 0) {
			jsonl = 1;
			continue;
		}
		for (j = 0; j < NOPTS; j++) {
			size_t n = strlen(names[j]);
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
	if (prompt == NULL)
		return usage_error("no PROMPT given");

	memset(&opt, 0, sizeof opt);
	if (val[MAX_TOKENS] &&
	    parse_int(val[MAX_TOKENS], 0, INT_MAX, &opt.max_tokens) != 0)
		return usage_error("--max-tokens wants an integer >= 0, not "
		                   "'%s'", val[MAX_TOKENS]);
	if (val[TIMEOUT] && parse_int(val[TIMEOUT], INT_MIN, INT_MAX,
	                              &opt.read_timeout_ms) != 0)
		return usage_error("--timeout wants milliseconds, not '%s'",
		                   val[TIMEOUT]);
	if (val[TEMPERATURE]) {
		char *end;
		opt.temperature = strtod(val[TEMPERATURE], &end);
		if (end == val[TEMPERATURE] || *end != '\0' ||
		    !(opt.temperature >= 0 && opt.temperature <= 2))
			return usage_error("--temperature wants a number from "
			                   "0 to 2, not '%s'",
			                   val[TEMPERATURE]);
	}
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
	/* 0 means "the default" in oa_options; on our command line it means
	 * what it says, so map it to the explicit markers. */
	if (val[MAX_TOKENS] && opt.max_tokens == 0)
		opt.max_tokens = OA_OMIT;
	if ((val[TEMPERATURE] || cfg.has_temperature) && opt.temperature == 0)
		opt.temperature = OA_ZERO;

	/* 3. The prompt. "-" reads all of standard input first, so a piped
	 * file of any size becomes one user message. */
	if (strcmp(prompt, "-") == 0) {
		if ((input = read_all(stdin)) == NULL) {
			fprintf(stderr, "oa: cannot read standard input: %s\n",
			        strerror(errno));
			return 1;
		}
		prompt = input;
	}

	/* 4. The client. oa_init() copies every option, so the strings above
	 * need not outlive it. Once it exists, Ctrl-C interrupts it; the
	 * handler is reset after one use so a second Ctrl-C kills at once.
	 * SA_RESTART keeps our own writes from failing with EINTR; the
	 * library wakes through its own channel, not through EINTR. */
	r = oa_init(&client, &opt);
	if (r < 0) {
		report(r, oa_errmsg(&client));
		oa_free(&client);
		free(input);
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);

	/* 5. The canonical loop. oa_query() only prepares the request;
	 * each oa_next() reads as far as the next block and returns its type
	 * (> 0), 0 after the turn-end block, or an error (< 0). */
	dim = !jsonl && isatty(STDERR_FILENO);
	r = oa_query(&client, prompt);
	while (r >= 0 && (r = oa_next(&client, &b)) > 0) {
		if (jsonl) {
			put_block_json(&b);
		} else if (b.type == OA_BLOCK_TEXT && b.text_len > 0) {
			/* After reasoning, end its line on the terminal. */
			if (thinking_open) {
				fputs("\n", stderr);
				thinking_open = 0;
			}
			fwrite(b.text, 1, b.text_len, stdout);
			text_open = b.text[b.text_len - 1] != '\n';
		} else if (b.type == OA_BLOCK_THINKING && dim) {
			fputs("\033[2m", stderr);
			fwrite(b.text, 1, b.text_len, stderr);
			fputs("\033[0m", stderr);
			thinking_open = 1;
		}
		/* Other blocks need no output here: oa registers no tools,
		 * and the turn-end block is followed by 0. */

		/* Flush after every block so the reply appears as it is
		 * written. A failed write (EPIPE: the reader left) ends the
		 * turn: there is no one left to read the rest. */
		if (fflush(stdout) != 0) {
			out_errno = errno;
			break;
		}
	}
	if (thinking_open)
		fputs("\n", stderr);
	if (text_open && out_errno == 0) {
		putchar('\n');
		if (fflush(stdout) != 0)
			out_errno = errno;
	}

	/* 6. A clean end or an error. r == 0 is the only clean end; a negative
	 * r is an oa_err and oa_errmsg() has the detail (the server's own
	 * message, the HTTP status, the limit hit). Whatever text arrived
	 * before an error has been printed above and stays valid output. */
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
		report(r, oa_errmsg(&client));
		status = 1;
	}
	if (interrupted)
		status = 130;
	oa_free(&client);
	free(input);
	return status;
}

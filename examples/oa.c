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
 *
 * Tools. --tools-json FILE offers the model the tools of FILE, an
 * OpenAI-format tools array exactly as a request carries it:
 *   [{"type":"function","function":{"name":"get_weather",
 *     "description":"...","parameters":{...a JSON Schema object...}}}]
 * "type" may be left out but is otherwise "function"; "description" and
 * "parameters" may be left out; other members are ignored. oa runs none
 * of these tools: it prints the calls the model makes and the turn ends,
 * which shows what a server does with tools. --demo-tools offers three
 * built-in tools instead, and runs them: calculator (a op b), current_time
 * (ISO 8601, UTC) and read_file (a text file of at most 64 KB inside the
 * current directory; no absolute paths, no "..", no way out through a
 * symbolic link). Without --jsonl, tool blocks print as lines of their own:
 *   [tool_use ID] NAME INPUT
 *   [tool_use_error ID] NAME: REASON
 *   [tool_result ID] RESULT
 *
 * Conversations. Each run is one turn; --save FILE keeps the conversation
 * once the turn ends cleanly, and --resume FILE puts it back before the
 * prompt, so a chat can go on over several runs:
 *   oa --save chat.json "My name is Ada."
 *   oa --resume chat.json --save chat.json "What is my name?"
 * The system prompt is not saved: give --system again on every run.
 */
/* realpath(), for read_file of --demo-tools, is an X/Open function. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	"  --top-p P          nucleus sampling, 0 to 1\n"
	"  --seed N           a fixed seed, for repeatable replies\n"
	"  --stop S           stop at S (may be given up to 16 times)\n"
	"  --tool-choice C    auto, none, required, or a tool's name\n"
	"  --extra-json JSON  more request fields, a JSON object, or @FILE\n"
	"  --image FILE|URL   send an image with the prompt, for vision "
	"models\n"
	"                     (PNG, JPEG, GIF, WebP; up to 8)\n"
	"  --json-schema FILE ask for JSON following the schema in FILE\n"
	"                     (\"json_object\": any JSON object)\n"
	"  --parse-text-tools tool calls written as text (<tool_call>, "
	"[TOOL_CALLS])\n"
	"                     become tool calls, for servers without a "
	"tool parser\n"
	"  --think-tags       <think>...</think> in the text becomes "
	"thinking\n"
	"  --lenient-args     repair almost-JSON tool arguments\n"
	"                     (e.g. '{\"top_k\":40}', Ollama's "
	"'{\"options\":{...}}')\n"
	"  --timeout MS       give up when the server is silent this long\n"
	"                     (default 300000; negative: never)\n"
	"  --ca-file FILE     trust the CA certificates (PEM) of FILE for "
	"https://\n"
	"  --insecure         skip https:// certificate checks (also\n"
	"                     OPEN_AGENT_INSECURE=1); for test servers only\n"
	"  --jsonl            one JSON object per block, one per line\n"
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
	"  --resume FILE      continue the conversation saved in FILE\n"
	"  --save FILE        once the reply is complete, save the "
	"conversation\n"
	"                     to FILE (the same FILE as --resume carries "
	"it on)\n"
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

/* --------------------------------------------------------- --tools-json */

/*
 * The public API has no JSON parser, so oa carries a small one of its
 * own: it checks the whole file is well-formed JSON, decodes the names
 * and descriptions, and hands each "parameters" object on as its text
 * (the library sends a schema that starts with '{' as given). Strings are
 * decoded in place, which is safe because a decoded string is never longer
 * than its JSON form; the tools point into the file's buffer.
 */
#define TOOLS_FILE_MAX (1024 * 1024)
#define JSON_DEPTH_MAX 64

struct reader {
	char *s;          /* the whole text, NUL-terminated */
	char *p;          /* the next byte to read */
	const char *err;  /* what is wrong, once a function returned -1 */
};

static int
fail(struct reader *r, const char *what)
{
	r->err = what;
	return -1;
}

static void
skip_ws(struct reader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

static int
hex4(const char *p, unsigned *v)
{
	int i;

	for (*v = 0, i = 0; i < 4; i++, p++) {
		*v <<= 4;
		if (*p >= '0' && *p <= '9')
			*v |= (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			*v |= (unsigned)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			*v |= (unsigned)(*p - 'A' + 10);
		else
			return -1; /* the NUL at the end stops here too */
	}
	return 0;
}

/* Code point u as UTF-8 at w; returns the byte after it. */
static char *
put_utf8(char *w, unsigned u)
{
	static const unsigned char lead[4] = {0x00, 0xc0, 0xe0, 0xf0};
	int n = u < 0x80 ? 0 : u < 0x800 ? 1 : u < 0x10000 ? 2 : 3;

	*w++ = (char)(lead[n] | u >> (6 * n));
	while (n-- > 0)
		*w++ = (char)(0x80 | (u >> (6 * n) & 0x3f));
	return w;
}

/* The string at r->p (its opening quote). With out, it is decoded in
 * place to UTF-8 and *out points at it; without, it is only checked. */
static int
read_string(struct reader *r, char **out)
{
	char *start = ++r->p, *w = start;
	unsigned u, lo;
	unsigned char ch;

	while ((ch = (unsigned char)*r->p++) != '"') {
		if (ch == '\0')
			return fail(r, "a string without its closing quote");
		if (ch < 0x20)
			return fail(r, "a control character in a string");
		if (ch == '\\') {
			switch (ch = (unsigned char)*r->p++) {
			case '"': case '\\': case '/': break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'u':
				if (hex4(r->p, &u) != 0 || u == 0)
					return fail(r, "a bad \\u escape");
				r->p += 4;
				if (u >= 0xdc00 && u <= 0xdfff)
					return fail(r, "a lone \\u surrogate");
				if (u >= 0xd800 && u <= 0xdbff) {
					if (r->p[0] != '\\' || r->p[1] != 'u' ||
					    hex4(r->p + 2, &lo) != 0 ||
					    lo < 0xdc00 || lo > 0xdfff)
						return fail(r, "a lone \\u "
						            "surrogate");
					r->p += 6;
					u = 0x10000 + ((u - 0xd800) << 10) +
					    (lo - 0xdc00);
				}
				if (out != NULL)
					w = put_utf8(w, u);
				continue;
			default:
				return fail(r, "a bad escape in a string");
			}
		}
		if (out != NULL)
			*w++ = (char)ch;
	}
	if (out != NULL) {
		*w = '\0';
		*out = start;
	}
	return 0;
}

/*
 * Step through an object ('{') or array ('['): each call moves to the next
 * member (an object's key is checked, and decoded into *key when key is
 * not NULL) and leaves r->p at its value. *first starts at 1. Returns 1
 * for a member, 0 after the closing bracket, -1 on an error.
 */
static int
next_member(struct reader *r, int *first, char open, char **key)
{
	char close = open == '{' ? '}' : ']';

	skip_ws(r);
	if (*first) {
		if (*r->p != open)
			return fail(r, open == '{' ? "expected an object"
			                           : "expected an array");
		r->p++;
		skip_ws(r);
		*first = 0;
		if (*r->p == close) {
			r->p++;
			return 0;
		}
	} else if (*r->p == close) {
		r->p++;
		return 0;
	} else if (*r->p++ != ',') {
		return fail(r, open == '{' ? "expected ',' or '}'"
		                           : "expected ',' or ']'");
	} else {
		skip_ws(r);
	}
	if (open == '{') {
		if (*r->p != '"')
			return fail(r, "expected a member name in quotes");
		if (read_string(r, key) != 0)
			return -1;
		skip_ws(r);
		if (*r->p++ != ':')
			return fail(r, "expected ':'");
		skip_ws(r);
	}
	return 1;
}

/* Check one value of any kind and step over it. */
static int
skip_value(struct reader *r, int depth)
{
	const char *q;
	int first = 1, k;

	skip_ws(r);
	if (depth > JSON_DEPTH_MAX)
		return fail(r, "nested too deeply");
	if (*r->p == '"')
		return read_string(r, NULL);
	if (*r->p == '{' || *r->p == '[') {
		char open = *r->p;
		while ((k = next_member(r, &first, open, NULL)) == 1)
			if (skip_value(r, depth + 1) != 0)
				return -1;
		return k;
	}
	if (strncmp(r->p, "true", 4) == 0 || strncmp(r->p, "null", 4) == 0) {
		r->p += 4;
		return 0;
	}
	if (strncmp(r->p, "false", 5) == 0) {
		r->p += 5;
		return 0;
	}
	/* A number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
	q = r->p + (*r->p == '-');
	if (*q < '0' || *q > '9')
		return fail(r, "expected a value");
	if (*q == '0')
		q++;
	else
		while (*q >= '0' && *q <= '9')
			q++;
	if (*q == '.') {
		if (*++q < '0' || *q > '9')
			return fail(r, "a bad number");
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		q += q[1] == '+' || q[1] == '-';
		if (*++q < '0' || *q > '9')
			return fail(r, "a bad number");
		while (*q >= '0' && *q <= '9')
			q++;
	}
	r->p += q - r->p;
	return 0;
}

/* One element of the tools array into t; *end is where its parameters
 * text ends (NULL when it has none). */
static int
read_tool(struct reader *r, oa_tool *t, char **end)
{
	int first = 1, inner, k, j;
	char *key, *s;

	while ((k = next_member(r, &first, '{', &key)) == 1) {
		if (strcmp(key, "type") == 0) {
			if (*r->p != '"' || read_string(r, &s) != 0 ||
			    strcmp(s, "function") != 0)
				return fail(r, "\"type\" must be \"function\"");
			continue;
		}
		if (strcmp(key, "function") != 0) {
			if (skip_value(r, 1) != 0)
				return -1;
			continue;
		}
		inner = 1;
		while ((j = next_member(r, &inner, '{', &key)) == 1) {
			if (strcmp(key, "name") == 0 ||
			    strcmp(key, "description") == 0) {
				if (*r->p != '"')
					return fail(r, "name and description "
					            "must be strings");
				if (read_string(r, &s) != 0)
					return -1;
				if (key[0] == 'n')
					t->name = s;
				else
					t->description = s;
			} else if (strcmp(key, "parameters") == 0) {
				if (*r->p != '{')
					return fail(r, "\"parameters\" must be "
					            "a JSON Schema object");
				t->parameters = r->p;
				if (skip_value(r, 2) != 0)
					return -1;
				*end = r->p;
			} else if (skip_value(r, 2) != 0) {
				return -1;
			}
		}
		if (j < 0)
			return -1;
	}
	if (k < 0)
		return -1;
	if (t->name == NULL)
		return fail(r, "a tool without \"function\":{\"name\":...}");
	return 0;
}

/* The tools of a --tools-json file, and the memory they point into. */
struct toolfile {
	char *buf;
	oa_tool *v;
	char **end;
	size_t n;
};

static void
toolfile_free(struct toolfile *tf)
{
	free(tf->buf);
	free(tf->v);
	free(tf->end);
	memset(tf, 0, sizeof *tf);
}

/* Read path into tf. Returns 0, or -1 with a one-line message printed. */
static int
toolfile_load(struct toolfile *tf, const char *path)
{
	struct reader r;
	size_t n, cap = 0, i;
	int first = 1, k;
	FILE *f;
	void *v, *e;

	memset(tf, 0, sizeof *tf);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "oa: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((tf->buf = malloc(TOOLS_FILE_MAX + 2)) == NULL) {
		fclose(f);
		fprintf(stderr, "oa: %s: out of memory\n", path);
		return -1;
	}
	n = fread(tf->buf, 1, TOOLS_FILE_MAX + 1, f);
	k = ferror(f) ? errno : 0;
	fclose(f);
	r.err = NULL;
	if (k != 0)
		r.err = strerror(k);
	else if (n > TOOLS_FILE_MAX)
		r.err = "larger than 1 MB";
	else if (memchr(tf->buf, '\0', n) != NULL)
		r.err = "holds a NUL byte";
	if (r.err != NULL) {
		fprintf(stderr, "oa: %s: %s\n", path, r.err);
		toolfile_free(tf);
		return -1;
	}
	tf->buf[n] = '\0';

	r.s = r.p = tf->buf;
	while ((k = next_member(&r, &first, '[', NULL)) == 1) {
		if (tf->n == cap) {
			cap = cap ? cap * 2 : 8;
			v = realloc(tf->v, cap * sizeof *tf->v);
			if (v != NULL)
				tf->v = v;
			e = realloc(tf->end, cap * sizeof *tf->end);
			if (e != NULL)
				tf->end = e;
			if (v == NULL || e == NULL) {
				r.err = "out of memory";
				break;
			}
		}
		memset(&tf->v[tf->n], 0, sizeof tf->v[tf->n]);
		tf->end[tf->n] = NULL;
		if ((k = read_tool(&r, &tf->v[tf->n], &tf->end[tf->n])) != 0)
			break;
		tf->n++;
	}
	if (k == 0) {
		skip_ws(&r);
		if (*r.p != '\0')
			k = fail(&r, "text after the tools array");
	}
	if (k != 0 || r.err != NULL) {
		fprintf(stderr, "oa: %s: at byte %ld: %s\n", path,
		        (long)(r.p - r.s), r.err);
		toolfile_free(tf);
		return -1;
	}
	/* Only now, with the parse done, end each parameters text. */
	for (i = 0; i < tf->n; i++)
		if (tf->end[i] != NULL)
			*tf->end[i] = '\0';
	return 0;
}

/* --------------------------------------------------------- --demo-tools */

/* The handlers oa runs itself. Whatever goes wrong is written to out and
 * returned as non-zero: the model gets "error: ..." and can try again. */

static int
demo_calculator(void *ctx, oa_args *args, oa_result *out)
{
	const char *op;
	size_t n;
	double a, b, v;

	(void)ctx;
	if (oa_args_number(args, "a", &a) != 0 ||
	    oa_args_number(args, "b", &b) != 0 ||
	    oa_args_string(args, "op", &op, &n) != 0 || n != 1 ||
	    strchr("+-*/", op[0]) == NULL) {
		oa_result_puts(out, "want numbers a and b and op one of "
		                    "+ - * /");
		return 1;
	}
	if (op[0] == '/' && b == 0) {
		oa_result_puts(out, "division by zero");
		return 1;
	}
	v = op[0] == '+' ? a + b : op[0] == '-' ? a - b :
	    op[0] == '*' ? a * b : a / b;
	return oa_result_printf(out, "%.15g", v) != 0;
}

static int
demo_current_time(void *ctx, oa_args *args, oa_result *out)
{
	char s[32];
	time_t t = time(NULL);
	struct tm tm;

	(void)ctx;
	(void)args;
	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		oa_result_puts(out, "the clock is not available");
		return 1;
	}
	return oa_result_puts(out, s) != 0;
}

#define READ_FILE_MAX (64 * 1024)

/* Whether a path component is "..". */
static int
has_dotdot(const char *p)
{
	size_t n;

	for (;; p += n + 1) {
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		if (p[n] == '\0')
			return 0;
	}
}

/* Whether the resolved path lies under the resolved directory dir. */
static int
is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/*
 * read_file, confined to the current directory. The cheap checks on the
 * text come first (absolute, ".."); then both the directory and the file
 * are resolved with realpath(), which follows every symbolic link, and the
 * file must lie under the directory. The file is opened by its resolved
 * name, without following a link and without blocking (a FIFO would wait
 * for a writer), and must be a regular file of at most 64 KB with no NUL
 * byte. Nothing here starts a shell or any other program.
 */
static int
demo_read_file(void *ctx, oa_args *args, oa_result *out)
{
	const char *path, *why = NULL;
	char *here = NULL, *real = NULL, *buf = NULL;
	size_t len, n = 0;
	ssize_t got;
	struct stat st;
	int fd = -1;

	(void)ctx;
	if (oa_args_string(args, "path", &path, &len) != 0) {
		oa_result_puts(out, "path must be a string");
		return 1;
	}
	if (len == 0 || strlen(path) != len)
		why = "not a file name";
	else if (path[0] == '/')
		why = "absolute paths are not allowed; give a path relative "
		      "to the current directory";
	else if (has_dotdot(path))
		why = "\"..\" is not allowed";
	else if ((here = realpath(".", NULL)) == NULL ||
	         (real = realpath(path, NULL)) == NULL)
		why = strerror(errno);
	else if (!is_under(real, here))
		why = "it lies outside the current directory";
	else if ((fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)) < 0 ||
	         fstat(fd, &st) != 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_size > READ_FILE_MAX)
		why = "larger than 64 KB";
	else if ((buf = malloc(READ_FILE_MAX + 1)) == NULL)
		why = "out of memory";
	else {
		/* Read to the end, in case the file grew since fstat(). */
		while (n <= READ_FILE_MAX &&
		       ((got = read(fd, buf + n, READ_FILE_MAX + 1 - n)) > 0 ||
		        (got < 0 && errno == EINTR)))
			n += got > 0 ? (size_t)got : 0;
		if (got < 0)
			why = strerror(errno);
		else if (n > READ_FILE_MAX)
			why = "larger than 64 KB";
		else if (memchr(buf, '\0', n) != NULL)
			why = "not a text file";
	}
	if (why != NULL)
		oa_result_printf(out, "cannot read %s: %s", path, why);
	else
		oa_result_write(out, buf, n);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(real);
	free(here);
	return why != NULL;
}

static const oa_tool demo_tools[] = {
	{"calculator", "Arithmetic on two numbers: a op b.",
	 "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},"
	 "\"b\":{\"type\":\"number\"},\"op\":{\"type\":\"string\","
	 "\"enum\":[\"+\",\"-\",\"*\",\"/\"]}},\"required\":[\"a\",\"b\","
	 "\"op\"]}", demo_calculator, NULL},
	{"current_time", "The current date and time in UTC, ISO 8601.", NULL,
	 demo_current_time, NULL},
	{"read_file", "Read a text file (at most 64 KB) in the current "
	 "directory.", "path:string", demo_read_file, NULL},
};

/* A tool block as a line of its own, when the output is not --jsonl. */
static void
put_block_text(const oa_block *b)
{
	if (b->type == OA_BLOCK_TOOL_USE)
		printf("[tool_use %s] %s %s\n", b->id, b->name, b->input);
	else if (b->type == OA_BLOCK_TOOL_USE_ERROR)
		printf("[tool_use_error %s] %s: %s\n", b->id, b->name,
		       b->text);
	else if (b->type == OA_BLOCK_TOOL_RESULT)
		printf("[tool_result %s] %s\n", b->id, b->text);
}

/* ---------------------------------------------------------------- --mcp */

/*
 * --mcp 'COMMAND ARG...' and --mcp-url URL (each up to MAX_MCP times) add
 * the tools of MCP servers (mcp.c), which auto mode runs; --mcp-list
 * prints them instead of asking. The servers stay connected until exit:
 * atexit() closes them (stdin closed, then SIGTERM, then SIGKILL) however
 * main returns.
 */
#define MAX_MCP 16
#define MAX_MCP_ARGS 64

static struct {
	const char *arg[MAX_MCP]; /* a --mcp string or an --mcp-url URL */
	int url[MAX_MCP];
	size_t n;
	int list;
	oa_mcp *m[MAX_MCP];
	oa_tool *tools;
} mcps;

static void
mcp_close_all(void)
{
	size_t i;

	for (i = 0; i < mcps.n; i++)
		oa_mcp_close(mcps.m[i]);
	free(mcps.tools);
}

/* One of the flags at argv[*i]: 1 taken, 0 not ours, -1 a usage error
 * (reported). */
static int
mcp_flag(int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	int url = strncmp(a, "--mcp-url", 9) == 0, n = url ? 9 : 5;

	if (strcmp(a, "--mcp-list") == 0)
		return mcps.list = 1;
	if (strncmp(a, "--mcp", 5) != 0 || (a[n] != '\0' && a[n] != '='))
		return 0;
	if (mcps.n == MAX_MCP || (a[n] == '\0' && *i + 1 == argc)) {
		usage_error(mcps.n == MAX_MCP ? "at most 16 MCP servers" :
		            "%s needs a value", a);
		return -1;
	}
	mcps.url[mcps.n] = url;
	mcps.arg[mcps.n++] = a[n] == '=' ? a + n + 1 : argv[++*i];
	return 1;
}

/* Split s into words in buf: white space separates, "..." groups, and inside
 * quotes a backslash keeps the next character. No shell is involved, so
 * nothing else is special. Returns the number of words, or -1. */
static int
mcp_split(const char *s, char *buf, const char **w)
{
	int n = 0, q;

	for (;;) {
		while (*s && strchr(" \t\n\r", *s))
			s++;
		if (*s == '\0')
			break;
		if (n == MAX_MCP_ARGS)
			return -1;
		w[n++] = buf;
		for (q = 0; *s && (q || !strchr(" \t\n\r", *s)); s++) {
			if (*s == '"')
				q = !q;
			else if (q && *s == '\\' && s[1])
				*buf++ = *++s;
			else
				*buf++ = *s;
		}
		*buf++ = '\0';
		if (q)
			return -1;
	}
	w[n] = NULL;
	return n;
}

/* Connect every server and add their tools to opt's (the demo tools, if
 * any), in auto mode. Returns -1 to go on, or the exit status: 0 after
 * --mcp-list, 1 for a server that failed, 2 for a usage error. */
static int
mcp_start(oa_options *opt)
{
	oa_mcp_options mo;
	const oa_tool *t;
	const char *w[MAX_MCP_ARGS + 1];
	char *buf;
	size_t i, k, n, total = opt->ntools;
	int r;

	if (mcps.n == 0)
		return mcps.list ? usage_error("--mcp-list needs --mcp or "
		                               "--mcp-url") : -1;
	if (opt->ntools && !opt->auto_execute_tools)
		return usage_error("--tools-json and --mcp do not go together");
	atexit(mcp_close_all);
	memset(&mo, 0, sizeof mo);
	mo.net = opt; /* timeouts, TLS settings, proxy */
	for (i = 0; i < mcps.n; i++) {
		if (mcps.url[i]) {
			r = oa_mcp_connect_url(&mcps.m[i], mcps.arg[i], &mo);
		} else {
			if ((buf = malloc(strlen(mcps.arg[i]) + 1)) == NULL)
				return report(OA_ERR_NOMEM, NULL), 1;
			if (mcp_split(mcps.arg[i], buf, w) < 1) {
				free(buf);
				return usage_error("--mcp '%s': no command, "
				                   "an open quote, or over %d "
				                   "words", mcps.arg[i],
				                   MAX_MCP_ARGS);
			}
			r = oa_mcp_connect(&mcps.m[i], w, &mo);
			free(buf);
		}
		if (r < 0) {
			char detail[400];

			snprintf(detail, sizeof detail, "MCP server '%s': %s",
			         mcps.arg[i], oa_mcp_errmsg(mcps.m[i]));
			report(r, detail);
			return 1;
		}
		total += oa_mcp_tools(mcps.m[i], NULL);
	}
	if (mcps.list) {
		for (i = 0; i < mcps.n; i++)
			for (k = 0, n = oa_mcp_tools(mcps.m[i], &t); k < n;
			     k++) {
				const char *d = t[k].description;

				printf("%s\t", t[k].name);
				for (; *d; d++) /* one line per tool */
					putchar((unsigned char)*d < ' ' ? ' ' :
					        *d);
				putchar('\n');
			}
		return fflush(stdout) != 0;
	}
	if ((mcps.tools = malloc((total + 1) * sizeof *mcps.tools)) == NULL)
		return report(OA_ERR_NOMEM, NULL), 1;
	if (opt->ntools) /* the demo tools */
		memcpy(mcps.tools, opt->tools,
		       opt->ntools * sizeof *opt->tools);
	for (total = opt->ntools, i = 0; i < mcps.n; i++) {
		n = oa_mcp_tools(mcps.m[i], &t);
		memcpy(mcps.tools + total, t, n * sizeof *t);
		total += n;
	}
	opt->tools = mcps.tools;
	opt->ntools = total;
	opt->auto_execute_tools = 1;
	return -1;
}

/* Ctrl-C reaches a call an MCP server is working on. */
static void
mcp_watch(const oa_client *c)
{
	size_t i;

	for (i = 0; i < mcps.n; i++)
		oa_mcp_watch(mcps.m[i], c);
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
       TIMEOUT, TOOLS_JSON, CA_FILE, TOP_P, SEED, TOOL_CHOICE, EXTRA_JSON,
       SAVE, RESUME, JSON_SCHEMA, NOPTS };

static const char *const names[NOPTS] = {
	"--base-url", "--provider", "--model", "--api-key", "--system",
	"--max-tokens", "--temperature", "--timeout", "--tools-json",
	"--ca-file", "--top-p", "--seed", "--tool-choice", "--extra-json",
	"--save", "--resume", "--json-schema",
};

/* --stop and --image may be given several times. */
#define MAX_STOPS 16
#define MAX_IMAGES 8

int
main(int argc, char **argv)
{
	const char *val[NOPTS] = {0};
	const char *stops[MAX_STOPS];
	size_t nstops = 0;
	const char *images[MAX_IMAGES];
	size_t nimages = 0;
	char *extra = NULL, *schema = NULL;
	int text_tools = 0, think_tags = 0, lenient = 0;
	const char *prompt = NULL, *fallback;
	char *input = NULL;
	int jsonl = 0, demo = 0, dashdash = 0, i, j, r, status;
	int insecure = 0;
	int text_open = 0, thinking_open = 0;
	struct toolfile tf = {0};
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
		if ((r = mcp_flag(argc, argv, &i)) != 0) {
			if (r < 0)
				return 2;
			continue;
		}
		if (strcmp(a, "--jsonl") == 0) {
			jsonl = 1;
			continue;
		}
		if (strcmp(a, "--demo-tools") == 0) {
			demo = 1;
			continue;
		}
		if (strcmp(a, "--insecure") == 0) {
			insecure = 1;
			continue;
		}
		if (strcmp(a, "--parse-text-tools") == 0) {
			text_tools = 1;
			continue;
		}
		if (strcmp(a, "--think-tags") == 0) {
			think_tags = 1;
			continue;
		}
		if (strcmp(a, "--lenient-args") == 0) {
			lenient = 1;
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
	if (prompt == NULL && mcps.list)
		prompt = ""; /* no question: only the tools are listed */
	if (prompt == NULL)
		return usage_error("no PROMPT given");
	if (demo && val[TOOLS_JSON])
		return usage_error("--tools-json and --demo-tools do not go "
		                   "together");

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
	if (val[TOP_P]) {
		char *end;
		opt.top_p = strtod(val[TOP_P], &end);
		if (end == val[TOP_P] || *end != '\0' ||
		    !(opt.top_p > 0 && opt.top_p <= 1))
			return usage_error("--top-p wants a number above 0 and "
			                   "at most 1, not '%s'", val[TOP_P]);
	}
	if (val[SEED]) {
		char *end;
		errno = 0;
		opt.seed = strtoll(val[SEED], &end, 10);
		if (end == val[SEED] || *end != '\0' || errno != 0 ||
		    opt.seed == 0)
			return usage_error("--seed wants a non-zero integer, "
			                   "not '%s'", val[SEED]);
	}
	opt.stop = stops;
	opt.nstop = nstops;
	opt.tool_choice = val[TOOL_CHOICE];
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

	/* 3b. The tools. Those of a file have no handlers, so the library
	 * only announces the calls and ends the turn; the demo tools have
	 * handlers and auto mode runs them, sends the results back and
	 * streams the model's answer within this one turn. */
	if (val[TOOLS_JSON]) {
		if (toolfile_load(&tf, val[TOOLS_JSON]) != 0) {
			free(input);
			return 1;
		}
		opt.tools = tf.v;
		opt.ntools = tf.n;
	} else if (demo) {
		opt.tools = demo_tools;
		opt.ntools = sizeof demo_tools / sizeof demo_tools[0];
		opt.auto_execute_tools = 1;
	}

	/* 4. The client. oa_init() copies every option, so the strings above
	 * need not outlive it. Once it exists, Ctrl-C interrupts it; the
	 * handler is reset after one use so a second Ctrl-C kills at once.
	 * SA_RESTART keeps our own writes from failing with EINTR; the
	 * library wakes through its own channel, not through EINTR. */
	opt.ca_file = val[CA_FILE];
	opt.insecure = insecure;
	if (insecure || (getenv("OPEN_AGENT_INSECURE") &&
	                 strcmp(getenv("OPEN_AGENT_INSECURE"), "") != 0 &&
	                 strcmp(getenv("OPEN_AGENT_INSECURE"), "0") != 0))
		fputs("oa: warning: TLS certificate checks are off; anyone "
		      "on the network path can read and alter this "
		      "conversation\n", stderr);
	opt.extra = val[EXTRA_JSON];
	if (opt.extra && opt.extra[0] == '@') {
		FILE *f = fopen(opt.extra + 1, "rb");
		if (f == NULL || (extra = read_all(f)) == NULL) {
			fprintf(stderr, "oa: %s: %s\n", opt.extra + 1,
			        strerror(errno));
			if (f)
				fclose(f);
			toolfile_free(&tf);
			free(input);
			return 1;
		}
		fclose(f);
		opt.extra = extra;
	}
	opt.response_format = val[JSON_SCHEMA];
	if (opt.response_format &&
	    strcmp(opt.response_format, "json_object") != 0) {
		FILE *f = fopen(opt.response_format, "rb");
		if (f == NULL || (schema = read_all(f)) == NULL) {
			fprintf(stderr, "oa: %s: %s\n", opt.response_format,
			        strerror(errno));
			if (f)
				fclose(f);
			free(extra);
			toolfile_free(&tf);
			free(input);
			return 1;
		}
		fclose(f);
		opt.response_format = schema;
	}
	opt.parse_text_tools = text_tools;
	opt.think_tags = think_tags;
	opt.lenient_tool_args = lenient;
	if ((r = mcp_start(&opt)) >= 0) {
		free(extra);
		free(schema);
		free(input);
		return r;
	}
	r = oa_init(&client, &opt);
	free(extra); /* copied by oa_init, like every option */
	free(schema);
	if (r < 0) {
		report(r, oa_errmsg(&client));
		oa_free(&client);
		toolfile_free(&tf);
		free(input);
		return 1;
	}
	/* 4b. A conversation saved by an earlier run goes back into the
	 * history, so the prompt continues it. A missing, corrupt or foreign
	 * file is an error: better than silently starting afresh. */
	if (val[RESUME] && (r = oa_history_load(&client, val[RESUME])) < 0) {
		report(r, oa_errmsg(&client));
		oa_free(&client);
		toolfile_free(&tf);
		free(input);
		return 1;
	}
	mcp_watch(&client);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);

	/* 5. The canonical loop. oa_query() only prepares the request;
	 * each oa_next() reads as far as the next block and returns its type
	 * (> 0), 0 after the turn-end block, or an error (< 0). */
	dim = !jsonl && isatty(STDERR_FILENO);
	r = nimages ? oa_query_images(&client, prompt, images, nimages)
	            : oa_query(&client, prompt);
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
		} else if (b.type != OA_BLOCK_TURN_END &&
		           b.type != OA_BLOCK_THINKING) {
			/* A tool block: a line of its own, after the text. */
			if (text_open)
				putchar('\n');
			text_open = 0;
			put_block_text(&b);
		}
		/* The turn-end block needs no output here: 0 follows it. */

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
	} else if (val[SAVE] &&
	           (r = oa_history_save(&client, val[SAVE])) < 0) {
		/* Only a complete turn is saved; the save is atomic, so a
		 * failure leaves the file of the last good run. */
		report(r, oa_errmsg(&client));
		status = 1;
	}
	if (interrupted)
		status = 130;
	oa_free(&client);
	toolfile_free(&tf);
	free(input);
	return status;
}

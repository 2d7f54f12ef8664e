/*
 * manual_tools.c -- the caller runs the tools itself.
 *
 *     manual_tools [BASE_URL [MODEL [PROMPT]]]
 *
 * The model gets a get_weather tool with no handler, so the library never
 * runs it: a reply that asks for tools ends its turn with a tool-use block
 * per call and finish reason "tool_calls". The program then does what an
 * agent loop does:
 *
 *   1. Declare the tool: name, description, schema, and no handler.
 *   2. Ask, and read the turn to its end, keeping a copy of each call
 *      (block strings are only lent until the next call on the client).
 *   3. Run each call and hand its result back with oa_add_tool_result().
 *   4. oa_continue() sends the results; the model's next reply streams
 *      exactly like a new turn. Back to 2, until a turn ends without tool
 *      calls.
 *   5. Tell a clean end from an error.
 *
 * BASE_URL, MODEL and the API key not given come from
 * OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL and OPEN_AGENT_API_KEY, then the
 * configuration file, then (the URL) LM Studio's
 * http://localhost:1234/v1, as in every example. Exit status 0 when the
 * conversation ended cleanly, 1 on an error, 2 on a usage error.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openagent.h"

#define USAGE "usage: manual_tools [BASE_URL [MODEL [PROMPT]]]\n"
#define SETTINGS \
	"BASE_URL, MODEL and the API key not given here come from\n" \
	"OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL, OPEN_AGENT_API_KEY,\n" \
	"then the first of ./open-agent.yaml, " \
	"~/.config/open-agent/config.yaml,\n" \
	"~/.open-agent.yaml; the URL defaults to LM Studio's\n" \
	"http://localhost:1234/v1.\n"

/* --help: the usage on standard output, status 0; a wrong argument: what
 * is wrong and the usage on standard error, status 2. */
static int
usage(const char *why, const char *arg)
{
	if (why == NULL) {
		fputs(USAGE "Ask PROMPT (by default the weather in two "
		      "cities) with a get_weather tool\nthis program runs "
		      "itself.\n" SETTINGS, stdout);
		return 0;
	}
	fprintf(stderr, "manual_tools: %s%s\n" USAGE, why, arg);
	return 2;
}

/* A model that keeps asking for tools is stopped after this many rounds. */
#define MAX_ROUNDS 5

/* ------------------------------------------------------- the tool itself */

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* The JSON string whose opening quote is just before p, copied into out
 * (or only skipped when out is NULL). Returns the byte after the closing
 * quote, or NULL when it is malformed, too long, or uses an escape this
 * little reader does not decode (\b \f \r \u). */
static const char *
read_string(const char *p, char *out, size_t outsz)
{
	size_t n = 0;
	char ch;

	for (; *p != '"'; p++) {
		if ((unsigned char)(ch = *p) < 0x20)
			return NULL; /* the end of the text, or a raw control */
		if (ch == '\\') {
			switch (*++p) {
			case '"': case '\\': case '/': ch = *p; break;
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			default: return NULL;
			}
		}
		if (out != NULL) {
			if (n + 1 >= outsz)
				return NULL;
			out[n++] = ch;
		}
	}
	if (out != NULL)
		out[n] = '\0';
	return p + 1;
}

/*
 * The string member key of a flat JSON object text such as
 * {"city":"Paris"}, copied into out. The library hands tool arguments over
 * as a JSON object text; a real program reads them with its own JSON
 * parser, and this small reader only covers what this example needs.
 * Returns 0, or -1 when there is no such string member.
 */
static int
json_string(const char *json, const char *key, char *out, size_t outsz)
{
	char name[64];
	const char *p = skip_ws(json);

	if (*p++ != '{')
		return -1;
	for (;;) {
		p = skip_ws(p);
		if (*p++ != '"' ||
		    (p = read_string(p, name, sizeof name)) == NULL)
			return -1;
		p = skip_ws(p);
		if (*p++ != ':')
			return -1;
		p = skip_ws(p);
		if (strcmp(name, key) == 0)
			return *p == '"' &&
			       read_string(p + 1, out, outsz) != NULL ? 0 : -1;
		/* Another member: step over its value (flat values only). */
		if (*p == '"')
			p = read_string(p + 1, NULL, 0);
		else
			p += strcspn(p, ",{}[]");
		if (p == NULL || *(p = skip_ws(p)) != ',')
			return -1;
		p++;
	}
}

/* The tool: canned weather, so the example needs no network of its own.
 * Whatever goes wrong becomes the result text, which the model reads. */
static void
get_weather(const char *input, char *out, size_t outsz)
{
	static const char *const table[][2] = {
		{"Paris", "18 C, cloudy"},
		{"Tokyo", "24 C, sunny"},
		{"Oslo", "3 C, snow"},
	};
	char city[64];
	size_t i;

	if (json_string(input, "city", city, sizeof city) != 0) {
		snprintf(out, outsz, "error: give the city as a string");
		return;
	}
	for (i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(city, table[i][0]) == 0) {
			snprintf(out, outsz, "%s: %s", city, table[i][1]);
			return;
		}
	snprintf(out, outsz, "no weather data for %s", city);
}

/* --------------------------------------------------------- pending calls */

/* The calls of one reply, copied out of the blocks. */
struct call {
	char *id, *name, *input;
};

struct calls {
	struct call *v;
	size_t n, cap;
};

static char *
copy(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	return p != NULL ? memcpy(p, s, n) : NULL;
}

/* Forget the last call kept. */
static void
calls_pop(struct calls *cs)
{
	struct call *k = &cs->v[--cs->n];

	free(k->id);
	free(k->name);
	free(k->input);
}

static void
calls_clear(struct calls *cs)
{
	while (cs->n > 0)
		calls_pop(cs);
}

/* Keep a copy of a tool-use block. Returns 0, or -1 when out of memory. */
static int
calls_add(struct calls *cs, const oa_block *b)
{
	struct call *k;

	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 8;
		struct call *v = realloc(cs->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		cs->v = v;
		cs->cap = cap;
	}
	k = &cs->v[cs->n];
	k->id = copy(b->id);
	k->name = copy(b->name);
	k->input = copy(b->input);
	cs->n++;
	if (k->id == NULL || k->name == NULL || k->input == NULL)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- output */

static void
print_block(const oa_block *b, int *text_open)
{
	if (b->type == OA_BLOCK_TEXT) {
		fwrite(b->text, 1, b->text_len, stdout);
		if (b->text_len > 0)
			*text_open = b->text[b->text_len - 1] != '\n';
		return;
	}
	if (b->type == OA_BLOCK_THINKING)
		return;
	if (*text_open)
		putchar('\n');
	*text_open = 0;
	switch (b->type) {
	case OA_BLOCK_TOOL_USE:
		printf("[tool_use %s] %s %s\n", b->id, b->name, b->input);
		break;
	case OA_BLOCK_TOOL_USE_ERROR:
		printf("[tool_use_error %s] %s: %s\n", b->id, b->name, b->text);
		break;
	case OA_BLOCK_TOOL_RESULT:
		printf("[tool_result %s] %s\n", b->id, b->text);
		break;
	case OA_BLOCK_TURN_END:
		printf("[turn_end] %s\n", b->finish_reason);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ main */

int
main(int argc, char **argv)
{
	/* 1. The tool. handler is NULL: the library only announces calls. */
	const oa_tool tools[1] = {
		{"get_weather", "The current weather in a city.", "city:string",
		 NULL, NULL},
	};
	const char *prompt = "What is the weather in Paris and in Tokyo?";
	const char *pos[3] = {NULL, NULL, NULL};
	int npos = 0;
	oa_config cfg;
	struct calls calls = {NULL, 0, 0};
	char result[256];
	oa_options opt = {0};
	oa_client c;
	oa_block b;
	int r, round, text_open = 0, asked = 0, status = 1;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return usage(NULL, NULL);
		if (argv[i][0] == '-')
			return usage("unknown option ", argv[i]);
		if (npos == 3)
			return usage("too many arguments: ", argv[i]);
		pos[npos++] = argv[i];
	}
	if ((r = oa_config_load(&cfg, NULL)) != 0) {
		fprintf(stderr, "manual_tools: %s: %s\n", oa_strerror(r),
		        cfg.error);
		return 1;
	}
	opt.base_url = oa_config_base_url(&cfg, pos[0], NULL, pos[0] != NULL);
	opt.model = oa_config_model(&cfg, pos[1], pos[1] != NULL);
	opt.api_key = oa_config_api_key(&cfg, NULL, 0);
	if (pos[2] != NULL)
		prompt = pos[2];
	opt.tools = tools;
	opt.ntools = 1;
	if ((r = oa_init(&c, &opt)) != 0) {
		fprintf(stderr, "manual_tools: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
		oa_free(&c);
		return 1;
	}

	r = oa_query(&c, prompt);
	for (round = 1; r == 0; round++) {
		/* 2. Read the turn to its end. Tool-use blocks come after the
		 * reply text, once each call is complete. */
		while ((r = oa_next(&c, &b)) > 0) {
			print_block(&b, &text_open);
			/* The turn ends with "tool_calls" whenever the model
			 * asked for tools, whatever the server said. */
			if (b.type == OA_BLOCK_TURN_END)
				asked = strcmp(b.finish_reason,
				               "tool_calls") == 0;
			if (b.type == OA_BLOCK_TOOL_USE &&
			    calls_add(&calls, &b) != 0) {
				fputs("manual_tools: out of memory\n", stderr);
				goto out;
			}
			/* A tool-use-error block (unknown tool, broken
			 * arguments, a call a hook blocked) was answered
			 * by the library, so it is never kept: only
			 * tool-use blocks wait for a result. */
		}
		if (text_open)
			putchar('\n');
		text_open = 0;
		/* An error, or a turn that asked for no tools: done. A turn
		 * whose calls the library answered all by itself (errors,
		 * blocked calls) still goes on, so the model sees why. */
		if (r < 0 || !asked)
			break;
		if (round == MAX_ROUNDS) {
			fprintf(stderr, "manual_tools: still asking for tools "
			        "after %d rounds; giving up\n", round);
			goto out;
		}

		/* 3. Run every call, in order, and give each its result. The
		 * id ties the result to its call; the library copies it. */
		for (i = 0; i < calls.n && r == 0; i++) {
			if (strcmp(calls.v[i].name, "get_weather") == 0)
				get_weather(calls.v[i].input, result,
				            sizeof result);
			else
				snprintf(result, sizeof result,
				         "error: no tool named %s",
				         calls.v[i].name);
			printf("[result %s] %s\n", calls.v[i].id, result);
			r = oa_add_tool_result(&c, calls.v[i].id, result);
		}
		calls_clear(&calls);

		/* 4. Send the results; oa_next() streams the answer. */
		if (r == 0)
			r = oa_continue(&c);
	}

	/* 5. r == 0: the last turn ended cleanly. r < 0: an oa_err. */
	if (r < 0)
		fprintf(stderr, "manual_tools: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
	else
		status = 0;
out:
	calls_clear(&calls);
	free(calls.v);
	oa_free(&c);
	return status;
}

/*
 * calculator.c -- a model that does arithmetic with tools the library runs.
 *
 *     calculator [BASE_URL [MODEL [PROMPT]]]
 *
 * The model gets four tools, add, subtract, multiply and divide, and the
 * library runs them itself (auto mode): when the model asks for one, the
 * library checks the arguments against the tool's schema, calls our
 * handler, sends the result back and streams the model's next answer, all
 * inside one oa_query(). We only watch the blocks go by:
 *
 *   1. Declare the tools: a name, a description, a schema, a handler.
 *   2. Set up a client in auto mode.
 *   3. Ask, and print every block as it arrives.
 *   4. Tell a clean end from an error.
 *
 * BASE_URL, MODEL and the API key not given come from
 * OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL and OPEN_AGENT_API_KEY, then the
 * configuration file, then (the URL) LM Studio's
 * http://localhost:1234/v1, as in every example. Exit status 0 when the
 * turn ended cleanly, 1 on an error, 2 on a usage error.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "openagent.h"

#define USAGE "usage: calculator [BASE_URL [MODEL [PROMPT]]]\n"
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
		fputs(USAGE "Ask PROMPT (by default a sum and a division) "
		      "with four arithmetic tools\nthe library runs "
		      "itself.\n" SETTINGS, stdout);
		return 0;
	}
	fprintf(stderr, "calculator: %s%s\n" USAGE, why, arg);
	return 2;
}

/*
 * 1a. The handler. One function serves all four tools; the tool's ctx
 * pointer says which operation it is. The library has already checked the
 * arguments against the schema "a:number b:number" (both present, both
 * numbers) before calling, so reading them cannot fail here, but a handler
 * that checks anyway costs two lines.
 *
 * Returning non-zero reports a failure: the model then gets "error: " and
 * what we wrote, as the tool result, and can correct itself. Dividing by
 * zero is such a failure, not a crash and not an end of the turn.
 */
static int
calculate(void *ctx, oa_args *args, oa_result *out)
{
	int op = *(const int *)ctx;
	double a, b, v;

	if (oa_args_number(args, "a", &a) != 0 ||
	    oa_args_number(args, "b", &b) != 0) {
		oa_result_puts(out, "a and b must be numbers");
		return 1;
	}
	switch (op) {
	case '+': v = a + b; break;
	case '-': v = a - b; break;
	case '*': v = a * b; break;
	default:
		if (b == 0) {
			oa_result_puts(out, "division by zero");
			return 1;
		}
		v = a / b;
	}
	/* %.15g: as many digits as a double reliably holds, and "5", not
	 * "5.000000", for whole numbers. */
	return oa_result_printf(out, "%.15g", v) != 0;
}

/* 3a. Every block on its own line, except text, which streams as it
 * comes. text_open remembers whether a text line still needs its end. */
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
		return; /* the model's reasoning; not shown here */
	if (*text_open)
		putchar('\n');
	*text_open = 0;
	switch (b->type) {
	case OA_BLOCK_TOOL_USE:
		printf("[tool_use %s] %s %s\n", b->id, b->name, b->input);
		break;
	case OA_BLOCK_TOOL_USE_ERROR:
		/* Unknown tool, arguments that are not JSON, or arguments the
		 * schema rejects: the library did not run it, and has already
		 * told the model why. */
		printf("[tool_use_error %s] %s: %s\n", b->id, b->name, b->text);
		break;
	case OA_BLOCK_TOOL_RESULT:
		printf("[tool_result %s] %s\n", b->id, b->text);
		break;
	case OA_BLOCK_TURN_END:
		/* Usage is summed over every request of the turn: here, one
		 * per round of tool calls plus the final answer. */
		printf("[turn_end] %s", b->finish_reason);
		if (b->usage.present)
			printf(", %lld tokens", b->usage.total_tokens);
		putchar('\n');
		break;
	default:
		break;
	}
}

int
main(int argc, char **argv)
{
	static int ops[4] = {'+', '-', '*', '/'};
	/* 1b. The tools. "a:number b:number" is the shorthand for a JSON
	 * Schema object whose members are all required; a full JSON Schema
	 * text (starting with '{') would be sent as given instead. ctx is
	 * handed back to the handler untouched. */
	const oa_tool tools[4] = {
		{"add", "Add two numbers: a + b.",
		 "a:number b:number", calculate, &ops[0]},
		{"subtract", "Subtract two numbers: a - b.",
		 "a:number b:number", calculate, &ops[1]},
		{"multiply", "Multiply two numbers: a * b.",
		 "a:number b:number", calculate, &ops[2]},
		{"divide", "Divide two numbers: a / b.",
		 "a:number b:number", calculate, &ops[3]},
	};
	const char *prompt = "What is 2 + 3, and what is 1 / 0?";
	const char *pos[3] = {NULL, NULL, NULL};
	oa_options opt = {0};
	oa_config cfg;
	oa_client c;
	oa_block b;
	int r, i, npos = 0, text_open = 0;

	/* A reader that goes away (calculator | head -1) makes writes fail
	 * with EPIPE instead of killing us in the middle of a turn. */
	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return usage(NULL, NULL);
		if (argv[i][0] == '-')
			return usage("unknown option ", argv[i]);
		if (npos == 3)
			return usage("too many arguments: ", argv[i]);
		pos[npos++] = argv[i];
	}

	/* 2. The client. The command line wins, then the environment, then
	 * the configuration file, then LM Studio's default URL.
	 * auto_execute_tools is what makes the library run the handlers;
	 * max_tool_iterations (default 5) bounds how many rounds of tool
	 * calls one oa_query() may take. */
	if ((r = oa_config_load(&cfg, NULL)) != 0) {
		fprintf(stderr, "calculator: %s: %s\n", oa_strerror(r),
		        cfg.error);
		return 1;
	}
	opt.base_url = oa_config_base_url(&cfg, pos[0], NULL, pos[0] != NULL);
	opt.model = oa_config_model(&cfg, pos[1], pos[1] != NULL);
	opt.api_key = oa_config_api_key(&cfg, NULL, 0);
	if (pos[2] != NULL)
		prompt = pos[2];
	opt.system_prompt = "Use the tools for every calculation.";
	opt.tools = tools;
	opt.ntools = sizeof tools / sizeof tools[0];
	opt.auto_execute_tools = 1;
	if ((r = oa_init(&c, &opt)) != 0) {
		fprintf(stderr, "calculator: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
		oa_free(&c);
		return 1;
	}

	/* 3. One question. The loop is the same as for a plain chat: the
	 * tool-use and tool-result blocks simply appear between the text
	 * blocks, and the model's final answer follows them. */
	r = oa_query(&c, prompt);
	while (r >= 0 && (r = oa_next(&c, &b)) > 0)
		print_block(&b, &text_open);
	if (text_open)
		putchar('\n');

	/* 4. r == 0: the turn ended after its turn-end block. r < 0: an
	 * oa_err, with the detail in oa_errmsg(). */
	if (r < 0)
		fprintf(stderr, "calculator: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
	oa_free(&c);
	return r < 0;
}

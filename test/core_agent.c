/*
 * core_agent.c -- a program written against the public API alone, built
 * by test_package.py with the core amalgamation (dist/core/openagent.c):
 * it streams the reply and runs a tool automatically.
 *
 *     core_agent BASE_URL [PROMPT]
 *
 * Prints text as it arrives, each tool call as "[tool_use NAME INPUT]"
 * and each result as "[tool_result TEXT]"; on an error, one line on
 * stderr and exit status 1.
 */
#include <stdio.h>

#include "openagent.h"

static int
add(void *ctx, oa_args *args, oa_result *out)
{
	double a, b;

	(void)ctx;
	if (oa_args_number(args, "a", &a) || oa_args_number(args, "b", &b)) {
		oa_result_puts(out, "a and b must be numbers");
		return 1;
	}
	return oa_result_printf(out, "%g", a + b);
}

int
main(int argc, char **argv)
{
	oa_tool tool = {"add", "Add two numbers.",
	                "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
	                "\"number\"},\"b\":{\"type\":\"number\"}},\"required\":"
	                "[\"a\",\"b\"]}", add, NULL};
	oa_options opt = {0};
	oa_client c;
	oa_block b;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: core_agent BASE_URL [PROMPT]\n");
		return 2;
	}
	opt.base_url = argv[1];
	opt.model = "m";
	opt.tools = &tool;
	opt.ntools = 1;
	opt.auto_execute_tools = 1;
	if ((r = oa_init(&c, &opt)) == 0 &&
	    (r = oa_query(&c, argc > 2 ? argv[2] : "What is 2 + 3?")) == 0) {
		while ((r = oa_next(&c, &b)) > 0) {
			if (b.type == OA_BLOCK_TEXT)
				fwrite(b.text, 1, b.text_len, stdout);
			else if (b.type == OA_BLOCK_TOOL_USE)
				printf("[tool_use %s %s]\n", b.name, b.input);
			else if (b.type == OA_BLOCK_TOOL_RESULT)
				printf("[tool_result %s]\n", b.text);
		}
		printf("\n");
	}
	if (r < 0)
		fprintf(stderr, "core_agent: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
	oa_free(&c);
	return r < 0;
}

/*
 * mcp_agent.c -- an agent whose tools come from an MCP server: the
 * filesystem server, on one directory, reads allowed and writes refused.
 *
 *     mcp_agent DIR [PROMPT]
 *
 * Exit status 0 when the turn ended cleanly, 1 on an error, 2 on a usage
 * error.
 *
 * The steps:
 *   1. Start the server, "mcp-server-filesystem DIR" (found in PATH, or
 *      the program OA_MCP_FILESYSTEM names), and take its tools. The
 *      library starts it itself, with no shell, and shuts it down at the
 *      end. Install it with npm install @modelcontextprotocol/server-
 *      filesystem.
 *   2. Put the tools into the options, like tools of your own, with a
 *      PRE_TOOL_USE hook that refuses every tool that writes, moves or
 *      creates: the model is told why, as the tool result.
 *   3. Let oa_interrupt() (Ctrl-C) stop a call the server is working on.
 *   4. Ask once in auto mode and print the blocks.
 *
 * The model's base URL, name and API key come from the environment or
 * the configuration file, as for every example (see --help).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openagent.h"

#define USAGE "usage: mcp_agent DIR [PROMPT]\n"
#define SETTINGS \
	"BASE_URL, MODEL and the API key not given here come from\n" \
	"OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL, OPEN_AGENT_API_KEY,\n" \
	"then the first of ./open-agent.yaml, " \
	"~/.config/open-agent/config.yaml,\n" \
	"~/.open-agent.yaml; the URL defaults to LM Studio's\n" \
	"http://localhost:1234/v1.\n"

static oa_client client;

/* --help: the usage on standard output, status 0; a wrong argument: what
 * is wrong and the usage on standard error, status 2. */
static int
usage(const char *why, const char *arg)
{
	if (why == NULL) {
		fputs(USAGE "Ask PROMPT about the files in DIR, with the tools "
		      "of the MCP\nfilesystem server (mcp-server-filesystem in "
		      "PATH, or the program\nOA_MCP_FILESYSTEM names); tools "
		      "that write are refused.\n" SETTINGS, stdout);
		return 0;
	}
	fprintf(stderr, "mcp_agent: %s%s\n" USAGE, why, arg);
	return 2;
}

static void
on_sigint(int sig)
{
	(void)sig;
	oa_interrupt(&client);
}

/* 2a. The gate: the filesystem server's tools that change anything. */
static oa_hook_decision
refuse_writes(void *ctx, const oa_hook_event *ev, oa_hook_reply *reply)
{
	static const char *const writers[] = {
		"write_file", "edit_file", "create_directory", "move_file"
	};
	size_t i;

	(void)ctx;
	for (i = 0; i < sizeof writers / sizeof *writers; i++)
		if (strcmp(ev->tool_name, writers[i]) == 0) {
			reply->text = "this agent may only read files";
			return OA_HOOK_BLOCK;
		}
	return OA_HOOK_ALLOW;
}

int
main(int argc, char **argv)
{
	const char *server = getenv("OA_MCP_FILESYSTEM");
	const char *srv_argv[3];
	const char *prompt;
	oa_mcp *m;
	const oa_tool *tools;
	oa_options opt = {0};
	oa_hook hook = {OA_HOOK_PRE_TOOL_USE, refuse_writes, NULL};
	oa_block b;
	int r, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return usage(NULL, NULL);
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage("unknown option ", argv[i]);
		if (i > 2)
			return usage("too many arguments: ", argv[i]);
	}
	if (argc < 2)
		return usage("no directory given", "");
	prompt = argc > 2 ? argv[2] : "List the files and summarize them.";

	/* 1. The server and its tools. */
	srv_argv[0] = server && *server ? server : "mcp-server-filesystem";
	srv_argv[1] = argv[1];
	srv_argv[2] = NULL;
	if ((r = oa_mcp_connect(&m, srv_argv, NULL)) != 0) {
		fprintf(stderr, "mcp_agent: %s: %s\n", srv_argv[0],
		        oa_mcp_errmsg(m));
		oa_mcp_close(m);
		return 1;
	}

	/* 2. The tools, auto mode, the gate. */
	opt.base_url = oa_config_base_url(NULL, NULL, NULL, 0);
	opt.model = oa_config_model(NULL, NULL, 0);
	opt.api_key = oa_config_api_key(NULL, NULL, 0);
	opt.system_prompt = "You help with the files of one directory, using "
	                    "the tools you are given.";
	opt.ntools = oa_mcp_tools(m, &tools);
	opt.tools = tools;
	opt.auto_execute_tools = 1;
	opt.hooks = &hook;
	opt.nhooks = 1;
	if ((r = oa_init(&client, &opt)) != 0) {
		fprintf(stderr, "mcp_agent: %s\n", oa_errmsg(&client));
		oa_free(&client);
		oa_mcp_close(m);
		return 1;
	}

	/* 3. Ctrl-C reaches a call in progress. */
	oa_mcp_watch(m, &client);
	signal(SIGINT, on_sigint);

	/* 4. One question; tool calls and results are shown as they run. */
	if ((r = oa_query(&client, prompt)) == 0)
		while ((r = oa_next(&client, &b)) > 0) {
			if (b.type == OA_BLOCK_TEXT)
				fwrite(b.text, 1, b.text_len, stdout);
			else if (b.type == OA_BLOCK_TOOL_USE)
				printf("\n[tool %s %s]\n", b.name, b.input);
			else if (b.type == OA_BLOCK_TOOL_RESULT)
				printf("[result] %s\n", b.text);
		}
	printf("\n");
	if (r < 0)
		fprintf(stderr, "mcp_agent: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&client));
	oa_free(&client);
	oa_mcp_close(m);
	return r < 0;
}

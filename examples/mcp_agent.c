/*
 * mcp_agent.c -- an agent whose tools come from an MCP server: the
 * filesystem server, on one directory, reads allowed and writes refused.
 *
 *     mcp_agent DIR [PROMPT]
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
 * The model's base URL and name come from OPEN_AGENT_BASE_URL and
 * OPEN_AGENT_MODEL (then LM Studio's http://localhost:1234/v1).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openagent.h"

static oa_client client;

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
	int r;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: mcp_agent DIR [PROMPT]\n");
		return 2;
	}
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

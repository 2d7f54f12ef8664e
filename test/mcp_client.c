/*
 * mcp_client -- an MCP client on the public API, for the tests and the
 * official conformance suite.
 *
 *     mcp_client [-t MS] [-m BYTES] [-n] [-c TOOL JSON]... URL
 *     mcp_client [-t MS] [-m BYTES] [-n] [-c TOOL JSON]... -- COMMAND ARG...
 *
 * Connects, prints "tool NAME: DESCRIPTION" for every tool, then runs
 * each -c call and prints "call TOOL: RC: TEXT" (RC 0 success, 1 tool
 * error, < 0 an oa_err). -n sends the child's stderr to /dev/null.
 * With MCP_CONFORMANCE_SCENARIO set (the conformance suite sets it) and
 * no -c, the call that scenario expects is made. Exits 0 when connecting
 * and every call returned >= 0.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openagent.h"

int
main(int argc, char **argv)
{
	oa_mcp_options o;
	oa_mcp *m;
	const oa_tool *tools;
	const char *calls[64][2], *text, *sc;
	size_t n, i, ncalls = 0, len;
	int a, r, status = 0;

	memset(&o, 0, sizeof o);
	for (a = 1; a < argc && argv[a][0] == '-' && strcmp(argv[a], "--");
	     a++) {
		if (strcmp(argv[a], "-t") == 0 && a + 1 < argc)
			o.call_timeout_ms = atoi(argv[++a]);
		else if (strcmp(argv[a], "-m") == 0 && a + 1 < argc)
			o.max_message_bytes = (size_t)atol(argv[++a]);
		else if (strcmp(argv[a], "-n") == 0)
			o.stderr_fd = open("/dev/null", O_WRONLY);
		else if (strcmp(argv[a], "-c") == 0 && a + 2 < argc &&
		         ncalls < 64) {
			calls[ncalls][0] = argv[++a];
			calls[ncalls++][1] = argv[++a];
		} else {
			fprintf(stderr, "usage: mcp_client [-t MS] [-m BYTES] "
			        "[-n] [-c TOOL JSON]... (URL | -- COMMAND "
			        "ARG...)\n");
			return 2;
		}
	}
	sc = getenv("MCP_CONFORMANCE_SCENARIO");
	if (ncalls == 0 && sc && strcmp(sc, "tools_call") == 0) {
		calls[0][0] = "add_numbers";
		calls[ncalls++][1] = "{\"a\":5,\"b\":3}";
	} else if (ncalls == 0 && sc && strcmp(sc, "sse-retry") == 0) {
		calls[0][0] = "test_reconnection";
		calls[ncalls++][1] = "{}";
	}
	if (a < argc && strcmp(argv[a], "--") == 0)
		r = oa_mcp_connect(&m, (const char *const *)(argv + a + 1), &o);
	else if (a + 1 == argc)
		r = oa_mcp_connect_url(&m, argv[a], &o);
	else
		r = OA_ERR_INVALID, m = NULL;
	if (r != 0) {
		fprintf(stderr, "mcp_client: %s: %s\n", oa_strerror(r),
		        m ? oa_mcp_errmsg(m) : "bad arguments");
		oa_mcp_close(m);
		return 1;
	}
	n = oa_mcp_tools(m, &tools);
	printf("server %s, %zu tools\n", oa_mcp_name(m), n);
	for (i = 0; i < n; i++)
		printf("tool %s: %s\n", tools[i].name, tools[i].description);
	for (i = 0; i < ncalls; i++) {
		r = oa_mcp_call(m, calls[i][0], calls[i][1], &text, &len);
		printf("call %s: %d: %.*s\n", calls[i][0], r, (int)len, text);
		if (r < 0)
			status = 1;
	}
	fflush(stdout);
	oa_mcp_close(m);
	if (o.stderr_fd > 0)
		close(o.stderr_fd);
	return status;
}

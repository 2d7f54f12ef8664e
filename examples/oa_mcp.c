/*
 * oa_mcp.c -- oa's --mcp, --mcp-url and --mcp-list: the tools of MCP
 * servers (mcp.c), which auto mode runs, in one-shot runs and in chat;
 * --mcp-list prints them instead of asking.
 *
 * The servers stay connected until exit: atexit() closes them (stdin
 * closed, then SIGTERM, then SIGKILL) however main returns.
 */
#include <stdlib.h>
#include <string.h>

#include "oa.h"

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

int
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

int
mcp_listing(void)
{
	return mcps.list;
}

/* Split s into words in buf: white space separates, "..." groups, and
 * inside quotes a backslash keeps the next character. No shell is
 * involved, so nothing else is special. Returns the number of words, or
 * -1. */
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

/* Print the servers' tools, a line each: name, a tab, the description. */
static int
mcp_list(void)
{
	const oa_tool *t;
	size_t i, k, n;

	for (i = 0; i < mcps.n; i++)
		for (k = 0, n = oa_mcp_tools(mcps.m[i], &t); k < n; k++) {
			put_safe(stdout, t[k].name, strlen(t[k].name));
			putchar('\t');
			put_safe(stdout, t[k].description,
			         strlen(t[k].description));
			putchar('\n');
		}
	return fflush(stdout) != 0;
}

int
mcp_start(oa_options *opt)
{
	oa_mcp_options mo;
	const oa_tool *t;
	const char *w[MAX_MCP_ARGS + 1];
	char *buf;
	size_t i, n, total = opt->ntools;
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
	if (mcps.list)
		return mcp_list();
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

void
mcp_watch(const oa_client *c)
{
	size_t i;

	for (i = 0; i < mcps.n; i++)
		oa_mcp_watch(mcps.m[i], c);
}

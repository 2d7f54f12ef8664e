/*
 * test_mcp.c -- the MCP client against a scripted server (test/mcp_server.py,
 * over stdio and Streamable HTTP on 127.0.0.1) for every fault it must
 * survive, and against real servers from npm (server-everything over
 * stdio and HTTP, server-filesystem), installed by test/mcp_setup.sh.
 *
 * Environment: OA_MCP_SERVER (default test/mcp_server.py) and OA_NPM_BIN
 * (default build/npm/node_modules/.bin). Without the npm servers the real
 * server tests fail under CI=true and are skipped, saying so, elsewhere.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char *server_py;
static char npm_bin[1024];
static char logpath[256];
/* The scripted server's stderr goes to /dev/null unless a test wants it. */
static int quiet = 1;
static int devnull = -1;

/* The log of the scripted server, read whole. */
static char logbuf[1 << 20];

static const char *
read_log(void)
{
	FILE *f = fopen(logpath, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(logbuf, 1, sizeof logbuf - 1, f);
		fclose(f);
	}
	logbuf[n] = '\0';
	return logbuf;
}

static void
fresh_log(void)
{
	snprintf(logpath, sizeof logpath, "/tmp/oa_mcp_log_%d.jsonl",
	         (int)getpid());
	unlink(logpath);
}

/* Connect over stdio to the scripted server with extra arguments. */
static int
scripted(oa_mcp **m, const char *a1, const char *a2, oa_mcp_options *o)
{
	const char *argv[10];
	oa_mcp_options q;
	int n = 0;

	fresh_log();
	if (quiet && (o == NULL || o->stderr_fd == 0)) {
		memset(&q, 0, sizeof q);
		if (o != NULL)
			q = *o;
		q.stderr_fd = devnull;
		o = &q;
	}
	argv[n++] = "python3";
	argv[n++] = server_py;
	argv[n++] = "--log";
	argv[n++] = logpath;
	if (a1)
		argv[n++] = a1;
	if (a2)
		argv[n++] = a2;
	argv[n] = NULL;
	return oa_mcp_connect(m, argv, o);
}

/* The scripted server in HTTP mode: its pid, and the URL in url. */
/* The read end of its stdout, open while it runs: closed early, its
 * last write of the port line could fail and end its main thread. */
static int http_out = -1;

static pid_t
http_server(char *url, size_t len, const char *extra)
{
	int p[2];
	char line[32] = "";
	ssize_t n;
	pid_t pid;

	fresh_log();
	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(devnull, 2);
		close(p[0]);
		close(p[1]);
		execlp("python3", "python3", server_py, "--http", "--log",
		       logpath, extra, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	http_out = p[0];
	n = read(p[0], line, sizeof line - 1);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	snprintf(url, len, "http://127.0.0.1:%s/mcp", line);
	return pid;
}

static void
stop_http(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	if (http_out >= 0)
		close(http_out);
	http_out = -1;
}

static int
has_tool(oa_mcp *m, const char *name)
{
	const oa_tool *t;
	size_t n = oa_mcp_tools(m, &t), i;

	for (i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------- stdio */

static void
test_stdio_lifecycle(void)
{
	oa_mcp *m;
	const char *text, *log;
	size_t len;

	CHECK_INT(scripted(&m, NULL, NULL, NULL), 0);
	CHECK_STR(oa_mcp_name(m), "scripted mcp");
	CHECK_INT(oa_mcp_tools(m, NULL), 12);
	CHECK(has_tool(m, "echo") && has_tool(m, "huge"));
	CHECK_INT(oa_mcp_call(m, "echo", "{\"text\":\"hi \\u00e9\"}", &text,
	                      &len), 0);
	CHECK_STR(text, "hi \xc3\xa9");
	CHECK_INT(len, 5);
	oa_mcp_close(m);
	log = read_log();
	CHECK_HAS(log, "\"method\": \"initialize\"");
	CHECK_HAS(log, "\"protocolVersion\": \"2025-11-25\"");
	CHECK_HAS(log, "\"clientInfo\": {\"name\": \"openagent\"");
	CHECK(strstr(log, "notifications/initialized") >
	      strstr(log, "\"initialize\""));
	CHECK_HAS(log, "{\"stdin\": \"closed\"}");
}

static void
test_stdio_pages(void)
{
	oa_mcp *m;

	CHECK_INT(scripted(&m, "--page", "5", NULL), 0);
	CHECK_INT(oa_mcp_tools(m, NULL), 12);
	CHECK(has_tool(m, "echo") && has_tool(m, "huge"));
	oa_mcp_close(m);
	CHECK_HAS(read_log(), "\"cursor\": \"10\"");
}

static void
test_versions(void)
{
	oa_mcp *m;

	CHECK_INT(scripted(&m, "--version", "2025-06-18", NULL), 0);
	oa_mcp_close(m);
	CHECK_INT(scripted(&m, "--version", "2025-03-26", NULL), 0);
	oa_mcp_close(m);
	CHECK_INT(scripted(&m, "--version", "1999-01-01", NULL),
	          OA_ERR_SERVER);
	CHECK_HAS(oa_mcp_errmsg(m), "\"1999-01-01\"");
	oa_mcp_close(m);
}

/* Notifications, a stale response and the server's own requests before
 * the response: ping answered {}, the rest "method not found". */
static void
test_interleaved(void)
{
	oa_mcp *m;
	const char *text;

	CHECK_INT(scripted(&m, NULL, NULL, NULL), 0);
	CHECK_INT(oa_mcp_call(m, "interleave", NULL, &text, NULL), 0);
	CHECK_HAS(text, "\"p-1\": {}");
	CHECK_HAS(text, "\"501\": {\"code\": -32601");
	CHECK_HAS(text, "\"502\": {\"code\": -32601");
	CHECK_HAS(text, "\"503\": {\"code\": -32601");
	CHECK(strstr(text, "stale") == NULL);
	oa_mcp_close(m);
}

static void
test_junk_lines(void)
{
	oa_mcp *m;
	const char *text;

	CHECK_INT(scripted(&m, NULL, NULL, NULL), 0);
	CHECK_INT(oa_mcp_call(m, "junk", "{}", &text, NULL), 0);
	CHECK_STR(text, "after junk");
	oa_mcp_close(m);
}

static void
test_exit_mid_call(void)
{
	oa_mcp *m;
	const char *text;

	CHECK_INT(scripted(&m, NULL, NULL, NULL), 0);
	CHECK_INT(oa_mcp_call(m, "die", "{}", &text, NULL), OA_ERR_IO);
	CHECK_HAS(text, "exited with status 3");
	oa_mcp_close(m);
}

static void
test_timeout(void)
{
	oa_mcp_options o = {0};
	oa_mcp *m;
	const char *text;

	o.call_timeout_ms = 1000;
	CHECK_INT(scripted(&m, NULL, NULL, &o), 0);
	CHECK_INT(oa_mcp_call(m, "silent", "{}", &text, NULL),
	          OA_ERR_READ_TIMEOUT);
	CHECK_HAS(text, "within 1000 ms");
	/* The server is told, and the next call works. */
	CHECK_INT(oa_mcp_call(m, "echo", "{\"text\":\"still\"}", &text,
	                      NULL), 0);
	CHECK_STR(text, "still");
	oa_mcp_close(m);
	CHECK_HAS(read_log(), "\"method\": \"notifications/cancelled\", "
	          "\"params\": {\"requestId\": 3, \"reason\": \"timed out\"}");
}

static void
test_huge_line(void)
{
	oa_mcp_options o = {0};
	oa_mcp *m;
	const char *text;

	o.max_message_bytes = 1 << 20;
	CHECK_INT(scripted(&m, NULL, NULL, &o), 0);
	CHECK_INT(oa_mcp_call(m, "huge", "{\"bytes\":10485760}", &text,
	                      NULL), OA_ERR_LIMIT);
	CHECK_HAS(text, "max_message_bytes (1048576)");
	CHECK_INT(oa_mcp_call(m, "echo", "{\"text\":\"after\"}", &text,
	                      NULL), 0);
	CHECK_STR(text, "after");
	oa_mcp_close(m);
}

static void
test_stderr(void)
{
	oa_mcp_options o = {0};
	oa_mcp *m;
	char path[64], buf[256] = "";
	int fd, saved;
	ssize_t n;

	/* Redirected by the caller. */
	snprintf(path, sizeof path, "/tmp/oa_mcp_err_%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	o.stderr_fd = fd;
	CHECK_INT(scripted(&m, NULL, NULL, &o), 0);
	oa_mcp_close(m);
	n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	CHECK(n > 0);
	CHECK_HAS(buf, "mcp_server: started");
	/* By default it is ours: catch our own stderr for a moment. */
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	quiet = 0;
	n = scripted(&m, NULL, NULL, NULL);
	quiet = 1;
	oa_mcp_close(m);
	dup2(saved, 2);
	close(saved);
	CHECK_INT(n, 0);
	memset(buf, 0, sizeof buf);
	n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	unlink(path);
	CHECK_HAS(buf, "mcp_server: started");
}

struct later {
	oa_client *c;
	int ms;
};

static void *
interrupt_later(void *arg)
{
	struct later *l = arg;
	struct timespec ts;

	ts.tv_sec = l->ms / 1000;
	ts.tv_nsec = (l->ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	oa_interrupt(l->c);
	return NULL;
}

/* oa_interrupt() on the watched client ends a call at once: the result
 * is the interrupt, not the answer due ten seconds later, and the server
 * gets notifications/cancelled. */
static void
interrupt_call(oa_mcp *m)
{
	oa_options opt = {0};
	oa_client c;
	pthread_t th;
	struct later l;
	const char *text;
	int r;

	opt.base_url = "http://127.0.0.1:9/v1";
	CHECK_INT(oa_init(&c, &opt), 0);
	CHECK(oa_interrupt_fd(&c) >= 0);
	oa_mcp_watch(m, &c);
	l.c = &c;
	l.ms = 300;
	CHECK_INT(pthread_create(&th, NULL, interrupt_later, &l), 0);
	r = oa_mcp_call(m, "slow", "{\"ms\":10000}", &text, NULL);
	pthread_join(th, NULL);
	oa_mcp_watch(m, NULL);
	oa_free(&c);
	CHECK_INT(r, OA_ERR_INTERRUPTED);
	CHECK_HAS(text, "interrupt");
}

static void
test_interrupt(void)
{
	oa_mcp *m;

	CHECK_INT(scripted(&m, NULL, NULL, NULL), 0);
	interrupt_call(m);
	oa_mcp_close(m);
	CHECK(!test_failed_);
	CHECK_HAS(read_log(), "\"reason\": \"interrupted\"");
	CHECK(strstr(read_log(), "slept 10000") == NULL);
}

static void
test_results(void)
{
	oa_mcp *m;
	const char *text;

	CHECK_INT(scripted(&m, NULL, NULL, NULL), 0);
	CHECK_INT(oa_mcp_call(m, "mixed", "{}", &text, NULL), 0);
	CHECK(strncmp(text, "one\ntwo\n[image image/png, 96 bytes of base64] "
	              "{\"type\": \"image\"", 61) == 0);
	CHECK_HAS(text, "\n[audio audio/wav, 8 bytes of base64] {\"type\": "
	          "\"audio\", \"data\": \"UklGRg==\"");
	CHECK_HAS(text, "\n[resource file:///a.txt] {\"type\": \"resource\"");
	CHECK_HAS(text, "\n[resource_link file:///b.txt] {\"type\": "
	          "\"resource_link\"");
	CHECK_HAS(text, "\nstructuredContent: {\"n\": 2}");
	CHECK_INT(oa_mcp_call(m, "fail", "{}", &text, NULL), 1);
	CHECK_STR(text, "the disk is full");
	CHECK_INT(oa_mcp_call(m, "rpcerr", "{}", &text, NULL), 1);
	CHECK_STR(text, "MCP error -32602: bad arguments");
	oa_mcp_close(m);
}

static void
test_tool_names(void)
{
	oa_mcp_options o = {0};
	oa_options opt = {0};
	oa_client c;
	oa_mcp *m;
	const oa_tool *t;
	size_t n;
	char want[80];

	o.name = "my server";
	CHECK_INT(scripted(&m, "--odd-names", NULL, &o), 0);
	n = oa_mcp_tools(m, &t);
	CHECK_INT(n, 15);
	CHECK_STR(t[12].name, "my_server_read_file");
	CHECK_STR(t[13].name, "my_server_echo");
	snprintf(want, sizeof want, "my_server_%.54s",
	         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	CHECK_STR(t[14].name, want);
	CHECK_STR(t[14].parameters, "{\"type\":\"object\"}");
	/* The schema the server gave is what the model gets. */
	CHECK_HAS(t[0].parameters, "\"required\": [\"text\"]");
	opt.base_url = "http://127.0.0.1:9/v1";
	opt.tools = t;
	opt.ntools = n;
	CHECK_INT(oa_init(&c, &opt), 0);
	oa_free(&c);
	oa_mcp_close(m);
}

static void
test_cannot_run(void)
{
	const char *argv[] = {"/nonexistent/mcp-server", NULL};
	oa_mcp *m;

	CHECK_INT(oa_mcp_connect(&m, argv, NULL), OA_ERR_FILE);
	CHECK_HAS(oa_mcp_errmsg(m), "cannot run \"/nonexistent/mcp-server\": "
	          "No such file");
	oa_mcp_close(m);
	CHECK_INT(oa_mcp_connect(&m, NULL, NULL), OA_ERR_INVALID);
	oa_mcp_close(m);
}

/* A server that ignores the end of its input and SIGTERM is killed, and
 * reaped: no zombie is left. */
static void
test_close_stubborn(void)
{
	oa_mcp *m;
	const char *p;
	long pid;

	CHECK_INT(scripted(&m, "--stubborn", NULL, NULL), 0);
	p = strstr(read_log(), "{\"pid\": ");
	CHECK(p != NULL);
	pid = strtol(p + 8, NULL, 10);
	CHECK(pid > 0 && kill((pid_t)pid, 0) == 0);
	oa_mcp_close(m);
	CHECK(kill((pid_t)pid, 0) == -1 && errno == ESRCH);
}

/* -------------------------------------------------------------- HTTP */

static void
test_http_session(void)
{
	char url[64];
	pid_t pid = http_server(url, sizeof url, NULL);
	oa_mcp *m;
	const char *text, *log, *list;
	int r;

	CHECK(pid > 0);
	r = oa_mcp_connect_url(&m, url, NULL);
	if (r != 0)
		fprintf(stderr, "%s\n", oa_mcp_errmsg(m));
	if (r == 0)
		r = oa_mcp_call(m, "echo", "{\"text\":\"over http\"}", &text,
		                NULL);
	CHECK_INT(r, 0);
	CHECK_STR(text, "over http");
	CHECK_INT(oa_mcp_tools(m, NULL), 12);
	oa_mcp_close(m);
	stop_http(pid);
	log = read_log();
	/* initialize goes without a session; everything after carries it
	 * and the protocol version. */
	CHECK_HAS(log, "\"accept\": \"application/json, text/event-stream\"");
	list = strstr(log, "\"tools/list\"");
	CHECK(list != NULL);
	CHECK(strstr(log, "mcp-session-id") != NULL);
	CHECK(strstr(log, "\"mcp-protocol-version\": \"2025-11-25\"") <
	      list);
	CHECK_HAS(log, "{\"http\": \"DELETE\"");
	CHECK_HAS(strstr(log, "{\"http\": \"DELETE\""), "mcp-session-id");
}

static void
test_http_faults(void)
{
	char url[64];
	pid_t pid = http_server(url, sizeof url, NULL);
	oa_mcp_options o = {0};
	oa_mcp *m;
	const char *text;
	int r;

	CHECK(pid > 0);
	o.call_timeout_ms = 2000;
	o.max_message_bytes = 1 << 20;
	r = oa_mcp_connect_url(&m, url, &o);
	if (r != 0)
		fprintf(stderr, "%s\n", oa_mcp_errmsg(m));
	CHECK_INT(r, 0);
	/* Server requests on the stream, answered by POST. */
	CHECK_INT(oa_mcp_call(m, "interleave", NULL, &text, NULL), 0);
	CHECK_HAS(text, "\"p-1\": {}");
	CHECK_HAS(text, "\"503\": {\"code\": -32601");
	/* A stream that ends early is resumed with GET and Last-Event-ID. */
	CHECK_INT(oa_mcp_call(m, "drop", NULL, &text, NULL), 0);
	CHECK_STR(text, "drop");
	CHECK_HAS(read_log(), "\"last-event-id\": \"p0\"");
	/* A stale session (404): initialize again, once, and go on. */
	CHECK_INT(oa_mcp_call(m, "expire", NULL, &text, NULL), 0);
	CHECK_INT(oa_mcp_call(m, "echo", "{\"text\":\"again\"}", &text,
	                      NULL), 0);
	CHECK_STR(text, "again");
	CHECK_HAS(read_log(), "\"status\": 404");
	/* Too large an event. */
	CHECK_INT(oa_mcp_call(m, "huge", "{\"bytes\":3000000}", &text, NULL),
	          OA_ERR_LIMIT);
	/* No answer. */
	CHECK_INT(oa_mcp_call(m, "silent", NULL, &text, NULL),
	          OA_ERR_READ_TIMEOUT);
	CHECK_HAS(text, "within 2000 ms");
	CHECK_INT(oa_mcp_call(m, "fail", NULL, &text, NULL), 1);
	interrupt_call(m);
	oa_mcp_close(m);
	stop_http(pid);
	CHECK_HAS(read_log(), "\"reason\": \"timed out\"");
	CHECK_HAS(read_log(), "\"reason\": \"interrupted\"");
}

static void
test_http_refused(void)
{
	oa_mcp *m;

	CHECK_INT(oa_mcp_connect_url(&m, "http://127.0.0.1:9/mcp", NULL),
	          OA_ERR_CONNECT);
	oa_mcp_close(m);
	CHECK_INT(oa_mcp_connect_url(&m, "ftp://x/", NULL), OA_ERR_URL);
	oa_mcp_close(m);
}

/* Manual mode: the turn hands out the MCP tool's call, the program runs
 * it with oa_mcp_call() and sends the result with oa_add_tool_result();
 * the follow-up request carries it. The model is test/server.py. */
static void
test_manual_mode(void)
{
	char result[64] = "";
	oa_options opt;
	oa_client c;
	oa_block b;
	oa_mcp *m;
	const oa_tool *t;
	const char *text;
	int r, uses = 0;

	CHECK(start("[{'events':[{'choices':[{'index':0,'delta':{'tool_calls':"
	            "[{'index':0,'id':'c1','type':'function','function':{"
	            "'name':'echo','arguments':'{\\'text\\':\\'manual\\'}'}}]},"
	            "'finish_reason':'tool_calls'}]}," DONE "]}," OK "]") == 0);
	r = scripted(&m, NULL, NULL, NULL);
	if (r == 0) {
		options(&opt);
		opt.ntools = oa_mcp_tools(m, &t);
		opt.tools = t;
		r = oa_init(&c, &opt);
		if (r == 0)
			r = oa_query(&c, "echo manual");
		/* The call is run as its block comes; its result is given
		 * once the turn has ended. */
		while (r >= 0 && (r = oa_next(&c, &b)) > 0)
			if (b.type == OA_BLOCK_TOOL_USE && uses++ == 0 &&
			    oa_mcp_call(m, b.name, b.input, &text, NULL) == 0)
				snprintf(result, sizeof result, "%s", text);
		if (r == 0 && uses == 1 &&
		    (r = oa_add_tool_result(&c, "c1", result)) == 0 &&
		    (r = oa_continue(&c)) == 0)
			while ((r = oa_next(&c, &b)) > 0)
				;
		oa_free(&c);
	}
	oa_mcp_close(m);
	stop();
	CHECK_INT(r, 0);
	CHECK_INT(uses, 1);
	/* The second request carries the result as the tool message. */
	CHECK_HAS(request_body(1), "{\"role\":\"tool\",\"tool_call_id\":"
	          "\"c1\",\"content\":\"manual\"}");
}

/* ------------------------------------------------------- real servers */

/* The npm servers are there, or (outside CI) the test says it skips. */
static int
npm_ready(const char *bin)
{
	char path[1200];

	snprintf(path, sizeof path, "%s/%s", npm_bin, bin);
	if (access(path, X_OK) == 0)
		return 1;
	if (getenv("CI") && strcmp(getenv("CI"), "true") == 0) {
		fprintf(stderr, "%s is missing: run test/mcp_setup.sh\n", path);
		return -1;
	}
	printf("skip (%s missing; test/mcp_setup.sh installs it)\n", path);
	return 0;
}

static void
everything_calls(oa_mcp *m)
{
	const char *text;

	CHECK(has_tool(m, "echo") && has_tool(m, "get-sum") &&
	      has_tool(m, "get-structured-content") &&
	      has_tool(m, "get-tiny-image"));
	CHECK_INT(oa_mcp_call(m, "echo", "{\"message\":\"hello\"}", &text,
	                      NULL), 0);
	CHECK_STR(text, "Echo: hello");
	CHECK_INT(oa_mcp_call(m, "get-sum", "{\"a\":2,\"b\":40}", &text,
	                      NULL), 0);
	CHECK_HAS(text, "42");
	CHECK_INT(oa_mcp_call(m, "get-structured-content",
	                      "{\"location\":\"Chicago\"}", &text, NULL), 0);
	/* Its text is the structuredContent's JSON: given once. */
	CHECK(text[0] == '{' && strstr(text, "\"temperature\":") != NULL);
	CHECK(strstr(text, "structuredContent") == NULL);
	CHECK_INT(oa_mcp_call(m, "get-tiny-image", "{}", &text, NULL), 0);
	CHECK_HAS(text, "[image image/png, ");
	CHECK_HAS(text, "bytes of base64] {\"type\":\"image\"");
}

static void
test_everything_stdio(void)
{
	const char *argv[] = {"mcp-server-everything", NULL};
	char path[1200];
	oa_mcp *m;
	int ok = npm_ready(argv[0]);

	CHECK(ok >= 0);
	if (ok == 0)
		return;
	snprintf(path, sizeof path, "%s/%s", npm_bin, argv[0]);
	argv[0] = path;
	CHECK_INT(oa_mcp_connect(&m, argv, NULL), 0);
	everything_calls(m);
	oa_mcp_close(m);
}

static void
test_everything_http(void)
{
	char path[1200], url[64], port[16];
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	oa_mcp *m = NULL;
	pid_t pid;
	int ok = npm_ready("mcp-server-everything"), s, i, r = -1;

	CHECK(ok >= 0);
	if (ok == 0)
		return;
	/* A free port: bind to 0, read it, let it go. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(s, (struct sockaddr *)&sa, sizeof sa);
	getsockname(s, (struct sockaddr *)&sa, &sl);
	close(s);
	snprintf(port, sizeof port, "%d", ntohs(sa.sin_port));
	snprintf(url, sizeof url, "http://127.0.0.1:%s/mcp", port);
	snprintf(path, sizeof path, "%s/mcp-server-everything", npm_bin);
	pid = fork();
	if (pid == 0) {
		setenv("PORT", port, 1);
		freopen("/dev/null", "w", stdout);
		execl(path, path, "streamableHttp", (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0);
	/* It listens once node has loaded it. */
	for (i = 0; i < 300 && r != 0; i++) {
		oa_mcp_close(m);
		m = NULL;
		if ((r = oa_mcp_connect_url(&m, url, NULL)) == OA_ERR_CONNECT)
			poll(NULL, 0, 50);
		else
			break;
	}
	if (r != 0)
		fprintf(stderr, "%s\n", oa_mcp_errmsg(m));
	if (r == 0)
		everything_calls(m);
	oa_mcp_close(m);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	CHECK_INT(r, 0);
}

static void
test_filesystem(void)
{
	char dir[] = "/tmp/oa_mcp_fs_XXXXXX", path[1200], file[64];
	const char *argv[] = {path, dir, NULL};
	const char *text;
	char args[256];
	oa_mcp *m;
	FILE *f;
	int ok = npm_ready("mcp-server-filesystem");

	CHECK(ok >= 0);
	if (ok == 0)
		return;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/mcp-server-filesystem", npm_bin);
	snprintf(file, sizeof file, "%s/note.txt", dir);
	f = fopen(file, "w");
	CHECK(f != NULL);
	fputs("twelve apples\n", f);
	fclose(f);
	CHECK_INT(oa_mcp_connect(&m, argv, NULL), 0);
	CHECK(has_tool(m, "read_text_file") && has_tool(m, "write_file") &&
	      has_tool(m, "list_directory"));
	snprintf(args, sizeof args, "{\"path\":\"%s\"}", file);
	CHECK_INT(oa_mcp_call(m, "read_text_file", args, &text, NULL), 0);
	CHECK_HAS(text, "twelve apples");
	snprintf(args, sizeof args, "{\"path\":\"%s\"}", dir);
	CHECK_INT(oa_mcp_call(m, "list_directory", args, &text, NULL), 0);
	CHECK_HAS(text, "[FILE] note.txt");
	/* Outside the allowed directory: the server's own refusal. */
	CHECK_INT(oa_mcp_call(m, "read_text_file", "{\"path\":\"/etc/"
	                      "passwd\"}", &text, NULL), 1);
	CHECK_HAS(text, "denied");
	oa_mcp_close(m);
	unlink(file);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
		{"stdio_lifecycle", test_stdio_lifecycle},
		{"stdio_pages", test_stdio_pages},
		{"versions", test_versions},
		{"interleaved", test_interleaved},
		{"junk_lines", test_junk_lines},
		{"exit_mid_call", test_exit_mid_call},
		{"timeout", test_timeout},
		{"huge_line", test_huge_line},
		{"stderr", test_stderr},
		{"interrupt", test_interrupt},
		{"results", test_results},
		{"tool_names", test_tool_names},
		{"cannot_run", test_cannot_run},
		{"close_stubborn", test_close_stubborn},
		{"http_session", test_http_session},
		{"http_faults", test_http_faults},
		{"http_refused", test_http_refused},
		{"manual_mode", test_manual_mode},
		{"everything_stdio", test_everything_stdio},
		{"everything_http", test_everything_http},
		{"filesystem", test_filesystem},
		{NULL, NULL}
	};
	const char *b = getenv("OA_NPM_BIN");
	char *path;
	size_t n;
	int r;

	signal(SIGPIPE, SIG_IGN);
	devnull = open("/dev/null", O_WRONLY);
	server_py = getenv("OA_MCP_SERVER") ? getenv("OA_MCP_SERVER") :
	            "test/mcp_server.py";
	if (realpath(b ? b : "build/npm/node_modules/.bin", npm_bin) == NULL)
		snprintf(npm_bin, sizeof npm_bin, "%s",
		         b ? b : "build/npm/node_modules/.bin");
	/* The servers' "#!/usr/bin/env node" finds node 22 there first. */
	n = strlen(npm_bin) + strlen(getenv("PATH") ? getenv("PATH") : "") + 2;
	path = malloc(n);
	if (path == NULL)
		return 1;
	snprintf(path, n, "%s:%s", npm_bin, getenv("PATH") ? getenv("PATH") :
	         "");
	setenv("PATH", path, 1);
	free(path);
	r = harness_main("test_mcp", argc, argv, tests);
	unlink(logpath);
	return r;
}

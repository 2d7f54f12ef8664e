/*
 * harness.h -- what the tests against test/server.py share: the server
 * started with a scenario on 127.0.0.1, the requests it recorded and
 * checks of their bodies, the options every test starts from, the
 * common pieces of a scenario, and a main around test_main (test.h).
 *
 * Scenarios and expected bodies are written in C with ' for " (start()
 * and q() swap them back), so {'reply':'ok'} is the JSON {"reply":"ok"};
 * \\' is an escaped quote inside a JSON string. The scenario format is
 * documented in server.py.
 *
 * The functions are static inline only so that a test that does not use
 * one of them is not warned about it.
 */
#ifndef OA_TEST_HARNESS_H
#define OA_TEST_HARNESS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "openagent.h"
#include "test.h"

/* ------------------------------------------------------ the scripted server */

static char tmpdir[64];
static int nstarted;
static struct {
	pid_t pid;
	int in;          /* its stdin; closing it also ends the server */
	int port;
	char url[64];
	char scen[128];
	char rec[128];
} srv = {-1, -1, 0, "", "", ""};

/* Stop the running server. Its scenario and record stay in tmpdir, which
 * harness_main removes, so a test can read the record after stop(). */
static inline void
stop(void)
{
	if (srv.pid > 0) {
		kill(srv.pid, SIGTERM);
		waitpid(srv.pid, NULL, 0);
		close(srv.in);
	}
	srv.pid = -1;
}

/* Start the server with a scenario (' for "), on port if not 0; stops
 * the one running. Fills srv.url. Returns 0 or -1. */
static inline int
start_on(const char *scenario, int port)
{
	const char *script = getenv("OA_TEST_SERVER");
	const char *p;
	char portarg[16], line[32];
	int in[2], out[2];
	size_t n = 0;
	FILE *f;

	stop();
	if (script == NULL || *script == '\0')
		script = "test/server.py";
	nstarted++;
	snprintf(srv.scen, sizeof srv.scen, "%s/scenario%d.json", tmpdir,
	         nstarted);
	snprintf(srv.rec, sizeof srv.rec, "%s/requests%d.jsonl", tmpdir,
	         nstarted);
	snprintf(portarg, sizeof portarg, "%d", port);
	if ((f = fopen(srv.scen, "w")) == NULL)
		return -1;
	for (p = scenario; *p; p++)
		fputc(*p == '\'' ? '"' : *p, f);
	fclose(f);
	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	if ((srv.pid = fork()) == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		execlp("python3", "python3", script, srv.scen, "--record",
		       srv.rec, "--port", portarg, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	srv.in = in[1];
	while (n < sizeof line - 1 && read(out[0], line + n, 1) == 1 &&
	       line[n] != '\n')
		n++;
	close(out[0]);
	line[n] = '\0';
	srv.port = atoi(line);
	if (srv.pid < 0 || srv.port <= 0) {
		fprintf(stderr, "server did not start: \"%s\"\n", line);
		stop();
		return -1;
	}
	snprintf(srv.url, sizeof srv.url, "http://127.0.0.1:%d/v1", srv.port);
	return 0;
}

static inline int
start(const char *scenario)
{
	return start_on(scenario, 0);
}

/* A port nobody listens on (bound, then closed), or -1. */
static inline int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* ------------------------------------------------- the recorded requests */

/* Line n (from 0) of the record file, in a static buffer; NULL if the
 * server has not recorded that many requests. */
static inline const char *
request(int n)
{
	static char line[256 * 1024];
	FILE *f = fopen(srv.rec, "r");
	int i = 0;

	if (f == NULL)
		return NULL;
	while (fgets(line, sizeof line, f) != NULL)
		if (i++ == n) {
			fclose(f);
			return line;
		}
	fclose(f);
	return NULL;
}

/* The number of requests recorded: the lines of the record file. */
static inline int
request_count(void)
{
	FILE *f = fopen(srv.rec, "r");
	int n = 0, ch;

	if (f == NULL)
		return 0;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* The connection request n came on (server.py's "conn"), or -1. */
static inline int
conn_of(int n)
{
	const char *s = request(n);

	if (s == NULL || (s = strstr(s, "\"conn\":")) == NULL)
		return -1;
	return atoi(s + 7);
}

static inline int
hex(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* The raw body of request n: the "body_raw" string of its record line,
 * unescaped, in a static buffer, or NULL. The server writes it with
 * Python's json.dumps, which escapes only ", \ and control characters
 * there. */
static inline const char *
request_body(int n)
{
	static char body[256 * 1024];
	const char *s = request(n), *key = "\"body_raw\":\"";
	size_t o = 0;

	if (s == NULL || (s = strstr(s, key)) == NULL)
		return NULL;
	for (s += strlen(key); *s && *s != '"' && o < sizeof body - 1; s++) {
		if (*s != '\\') {
			body[o++] = *s;
			continue;
		}
		switch (*++s) {
		case 'n': body[o++] = '\n'; break;
		case 'r': body[o++] = '\r'; break;
		case 't': body[o++] = '\t'; break;
		case 'b': body[o++] = '\b'; break;
		case 'f': body[o++] = '\f'; break;
		case 'u': /* only control characters come as \u00XX */
			body[o++] = (char)(hex(s[3]) << 4 | hex(s[4]));
			s += 4;
			break;
		default: body[o++] = *s; break;
		}
	}
	body[o] = '\0';
	return body;
}

/* s with ' turned into ", in one of a few rotating buffers. */
static inline const char *
q(const char *s)
{
	static char buf[8][32 * 1024];
	static int next;
	char *o = buf[next++ % 8];
	size_t i;

	for (i = 0; s[i] && i < sizeof buf[0] - 1; i++)
		o[i] = s[i] == '\'' ? '"' : s[i];
	o[i] = '\0';
	return o;
}

/* Request n's body is exactly expect; prints both when not. */
static inline int
body_eq(int n, const char *expect)
{
	const char *got = request_body(n);

	if (got != NULL && strcmp(got, expect) == 0)
		return 1;
	fprintf(stderr, "request %d body:\n  got  %s\n  want %s\n", n,
	        got ? got : "(none)", expect);
	return 0;
}

/* The same with expect written with ' for ". */
static inline int
body_is(int n, const char *expect)
{
	return body_eq(n, q(expect));
}

/* ------------------------------------------------------- the client side */

/* The options every test starts from: the running server, model "test". */
static inline void
options(oa_options *o)
{
	memset(o, 0, sizeof *o);
	o->base_url = srv.url;
	o->model = "test";
	o->connect_timeout_ms = 5000;
	o->read_timeout_ms = 20000;
}

static inline int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* test_main in a fresh temporary directory, removed afterwards with the
 * server. */
static inline int
harness_main(const char *suite, int argc, char **argv, const struct test *t)
{
	char cmd[128];
	int r;

	/* a write to a connection the server already reset must be an
	 * error, not the end of the test binary */
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof tmpdir, "/tmp/oa_%s.XXXXXX", suite);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	r = test_main(suite, argc, argv, t);
	stop();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return r;
}

/* ------------------------------------------------------ scenario building */

/* A chunk shaped like llama.cpp's; delta and finish are JSON text. A test
 * whose scenarios need another shape defines CHUNK before this file. */
#ifndef CHUNK
#define CHUNK(delta, finish)                                                 \
	"{'choices':[{'finish_reason':" finish ",'index':0,'delta':" delta  \
	"}],'created':1700000000,'id':'chatcmpl-1','model':'test',"        \
	"'object':'chat.completion.chunk'}"
#endif
#define ROLE CHUNK("{'role':'assistant','content':null}", "null")
#define TEXT(s) CHUNK("{'content':'" s "'}", "null")
#define FINISH(r) CHUNK("{}", "'" r "'")
#define DONE "'data: [DONE]\\n\\n'"
#define USAGE(p, c, t)                                                       \
	"'usage':{'prompt_tokens':" #p ",'completion_tokens':" #c            \
	",'total_tokens':" #t "}"
/* The normal reply. */
#define OK "{'reply':'ok'}"
/* A message of an expected body. */
#define MSG(role, text) "{'role':'" role "','content':'" text "'}"

#endif

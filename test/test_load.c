/*
 * test_load.c -- many clients at once: 32 threads, each running 200
 * conversations of three tool-using turns against one local server.
 *
 * The server is a thread of this program on 127.0.0.1, one thread per
 * connection, keep-alive. It answers from the last message of each
 * request: a user message "add A B" gets a streamed call of the tool add
 * with {"a":A,"b":B}; a tool message with result S gets the streamed text
 * "sum S". Every client runs the tool itself (auto mode), so each turn is
 * two requests, and the text it ends with proves the right arguments went
 * out and the right result came back. Each conversation has a client of
 * its own with a counting allocator, which must be back to zero after
 * oa_free(). Built with -fsanitize=thread (make tsan), the same run looks
 * for data races: clients share nothing, so there must be none.
 *
 * OA_LOAD_THREADS and OA_LOAD_CONVERSATIONS change the size of the run
 * (defaults 32 and 200); CI's ThreadSanitizer run uses fewer.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "openagent.h"
#include "test.h"

static int port;

/* ---------------------------------------------------------------- server */

/* Read one request into *buf (grown as needed); its body starts at *body.
 * Returns 0, or -1 when the client closed the connection. */
static int
read_request(int fd, char **buf, size_t *cap, char **body)
{
	size_t have = 0, need = 0;
	char *end, *cl;
	ssize_t r;

	for (;;) {
		if (have + 1 >= *cap) {
			*cap = *cap ? *cap * 2 : 65536;
			if ((*buf = realloc(*buf, *cap)) == NULL)
				return -1;
		}
		if ((r = recv(fd, *buf + have, *cap - have - 1, 0)) <= 0)
			return -1;
		have += (size_t)r;
		(*buf)[have] = '\0';
		if (need == 0 && (end = strstr(*buf, "\r\n\r\n")) != NULL) {
			cl = strstr(*buf, "Content-Length: ");
			*body = end + 4;
			need = (size_t)(end + 4 - *buf) +
			       (cl ? (size_t)atol(cl + 16) : 0);
		}
		if (need != 0 && have >= need)
			return 0;
	}
}

/* Send one SSE event as one HTTP chunk, in one write. */
static void
event(int fd, const char *data)
{
	char buf[1024], size[9];
	int n = snprintf(buf + 8, sizeof buf - 16, "data: %s\n\n", data);

	snprintf(size, sizeof size, "%06x\r\n", n);
	memcpy(buf, size, 8);
	memcpy(buf + 8 + n, "\r\n", 2);
	send(fd, buf, (size_t)n + 10, MSG_NOSIGNAL);
}

static void *
serve(void *arg)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: "
	                           "text/event-stream\r\nTransfer-Encoding: "
	                           "chunked\r\n\r\n";
	int fd = (int)(long)arg, calls = 0;
	char *buf = NULL, *body = NULL, *m, *c, ev[512];
	size_t cap = 0;
	long a, b;

	while (read_request(fd, &buf, &cap, &body) == 0) {
		/* the last message of the request */
		for (m = NULL, c = body; (c = strstr(c, "{\"role\":\"")); c++)
			m = c;
		c = m ? strstr(m, "\"content\":\"") : NULL;
		send(fd, head, sizeof head - 1, MSG_NOSIGNAL);
		if (m && strncmp(m + 9, "user", 4) == 0 && c &&
		    sscanf(c + 11, "add %ld %ld", &a, &b) == 2) {
			snprintf(ev, sizeof ev, "{\"choices\":[{\"index\":0,"
			         "\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":"
			         "\"call_%d\",\"type\":\"function\",\"function\":{"
			         "\"name\":\"add\",\"arguments\":\"{\\\"a\\\":%ld,"
			         "\\\"b\\\":%ld}\"}}]}}]}", calls++, a, b);
			event(fd, ev);
			event(fd, "{\"choices\":[{\"index\":0,\"delta\":{},"
			      "\"finish_reason\":\"tool_calls\"}]}");
		} else if (m && strncmp(m + 9, "tool", 4) == 0 && c) {
			event(fd, "{\"choices\":[{\"index\":0,\"delta\":"
			      "{\"content\":\"sum \"}}]}");
			snprintf(ev, sizeof ev, "{\"choices\":[{\"index\":0,"
			         "\"delta\":{\"content\":\"%.*s\"},"
			         "\"finish_reason\":\"stop\"}]}",
			         (int)strcspn(c + 11, "\""), c + 11);
			event(fd, ev);
		} else {
			event(fd, "{\"error\":{\"message\":\"unexpected request\"}}");
		}
		event(fd, "[DONE]");
		send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
	}
	free(buf);
	close(fd);
	return NULL;
}

static void *
listener(void *arg)
{
	int ls = *(int *)arg, fd, one = 1;
	pthread_t t;

	for (;;) {
		if ((fd = accept(ls, NULL, NULL)) < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (pthread_create(&t, NULL, serve, (void *)(long)fd) != 0) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static int
start_server(void)
{
	static int ls;
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	pthread_t t;

	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(ls, 128) != 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &len) != 0)
		return -1;
	port = ntohs(a.sin_port);
	if (pthread_create(&t, NULL, listener, &ls) != 0)
		return -1;
	pthread_detach(t);
	return 0;
}

/* ---------------------------------------------------------------- clients */

/* A counting allocator, one per thread (ctx). */
static void *
c_malloc(void *ctx, size_t n)
{
	void *p = malloc(n);

	if (p)
		(*(long *)ctx)++;
	return p;
}

static void *
c_realloc(void *ctx, void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q && !p)
		(*(long *)ctx)++;
	return q;
}

static void
c_free(void *ctx, void *p)
{
	if (p)
		(*(long *)ctx)--;
	free(p);
}

static int
add(void *ctx, oa_args *args, oa_result *out)
{
	long long a, b;

	(void)ctx;
	if (oa_args_int(args, "a", &a) || oa_args_int(args, "b", &b)) {
		oa_result_puts(out, "bad arguments");
		return 1;
	}
	return oa_result_printf(out, "%lld", a + b);
}

struct worker {
	int id, conversations;
	long live;             /* the allocator's count */
	int done;              /* conversations that went right */
	char why[256];         /* the first thing that went wrong */
};

static int
conversation(struct worker *w, int n)
{
	static const oa_tool tool = { "add", "Add two integers",
#ifdef OA_NO_SHORTHAND
		"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
		"\"integer\"},\"b\":{\"type\":\"integer\"}},\"required\":"
		"[\"a\",\"b\"]}",
#else
		"a:integer b:integer",
#endif
		add, NULL };
	char url[64], prompt[64], want[64], got[64];
	oa_options o;
	oa_client c;
	oa_block b;
	int t, r;
	size_t len;

	memset(&o, 0, sizeof o);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
	o.base_url = url;
	o.model = "load";
	o.tools = &tool;
	o.ntools = 1;
	o.auto_execute_tools = 1;
	o.read_timeout_ms = 30000;
	o.allocator.malloc = c_malloc;
	o.allocator.realloc = c_realloc;
	o.allocator.free = c_free;
	o.allocator.ctx = &w->live;
	if ((r = oa_init(&c, &o)) != 0) {
		snprintf(w->why, sizeof w->why, "oa_init: %d", r);
		oa_free(&c);
		return -1;
	}
	for (t = 0; t < 3; t++) {
		snprintf(prompt, sizeof prompt, "add %d %d", w->id * 1000 + n,
		         t * 7 + 1);
		snprintf(want, sizeof want, "sum %d", w->id * 1000 + n + t * 7 +
		         1);
		got[0] = '\0';
		if ((r = oa_query(&c, prompt)) != 0)
			break;
		while ((r = oa_next(&c, &b)) > 0) {
			len = strlen(got);
			if (b.type == OA_BLOCK_TEXT &&
			    len + b.text_len < sizeof got)
				memcpy(got + len, b.text, b.text_len + 1);
		}
		if (r != 0 || strcmp(got, want) != 0 ||
		    oa_history_count(&c) != (size_t)(t + 1) * 4) {
			snprintf(w->why, sizeof w->why, "thread %d conversation "
			         "%d turn %d: r=%d (%s) text \"%s\", expected "
			         "\"%s\", %zu messages", w->id, n, t, r,
			         oa_errmsg(&c), got, want, oa_history_count(&c));
			r = -1;
			break;
		}
	}
	oa_free(&c);
	if (r == 0 && w->live != 0) {
		snprintf(w->why, sizeof w->why, "thread %d: %ld blocks leaked",
		         w->id, w->live);
		r = -1;
	}
	return r;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	int n;

	for (n = 0; n < w->conversations; n++) {
		if (conversation(w, n) != 0)
			break;
		w->done++;
	}
	return NULL;
}

static int
env_int(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v && atoi(v) > 0 ? atoi(v) : dflt;
}

static void
load(void)
{
	int nthreads = env_int("OA_LOAD_THREADS", 32);
	int nconv = env_int("OA_LOAD_CONVERSATIONS", 200);
	struct worker *w = calloc((size_t)nthreads, sizeof *w);
	pthread_t *t = calloc((size_t)nthreads, sizeof *t);
	int i, done = 0, started = 0;

	CHECK(w != NULL && t != NULL);
	CHECK_INT(start_server(), 0);
	for (i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].conversations = nconv;
		if (pthread_create(&t[i], NULL, work, &w[i]) == 0)
			started++;
		else
			break;
	}
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < nthreads; i++) {
		done += w[i].done;
		if (w[i].why[0])
			fprintf(stderr, "%s\n", w[i].why);
	}
	free(w);
	free(t);
	CHECK_INT(started, nthreads);
	CHECK_INT(done, nthreads * nconv);
}

static const struct test tests[] = {
	{ "load", load },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return test_main("test_load", argc, argv, tests);
}

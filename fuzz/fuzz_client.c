/*
 * fuzz_client.c -- the whole client, public API only, fed arbitrary
 * server bytes through a real loopback connection.
 *
 * A server thread listens on 127.0.0.1. For each connection it reads one
 * request (head and Content-Length body), writes the next response of the
 * current input, shuts down its side and closes. Responses are the input
 * after its option bytes, cut at each "\n--next--\n"; request i gets
 * response i (the last one repeats). Every write and the close happen
 * after the whole request was read, so the client sees the same bytes in
 * the same order on every run.
 *
 * Option bytes: 0 flags (auto-execute tools, no_stream, small limits, a
 * blocking or replacing hook, manual results with oa_continue, a second
 * turn), 1 the read size limit. Checks: blocks are well formed, errors
 * stick and have a message, the history reads back, and once oa_free()
 * has run the counting allocator holds nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../openagent.h"

#define FUZZ_NAME "client"
#include "fuzz.h"

#define SEP "\n--next--\n"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	pthread_once_t once;
	int port;
	const char *data;   /* the responses, SEP between them */
	size_t len;
	int served;         /* requests answered for this input */
	int busy;           /* a connection is being served */
} srv = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          PTHREAD_ONCE_INIT, 0, NULL, 0, 0, 0 };

/* Response i of the current input (the last one when there are fewer). */
static void
response(int i, const char **p, size_t *n)
{
	const char *s = srv.data, *e = s + srv.len, *cut;

	for (;;) {
		cut = NULL;
		if (s != NULL && (size_t)(e - s) >= sizeof SEP - 1) {
			const char *q;
			for (q = s; q + sizeof SEP - 1 <= e; q++)
				if (memcmp(q, SEP, sizeof SEP - 1) == 0) {
					cut = q;
					break;
				}
		}
		if (cut == NULL || i == 0) {
			*p = s ? s : "";
			*n = cut ? (size_t)(cut - s) : (size_t)(e - s);
			if (s == NULL)
				*n = 0;
			return;
		}
		s = cut + sizeof SEP - 1;
		i--;
	}
}

/* Read one request: its head, then Content-Length bytes of body. */
static int
read_request(int fd)
{
	char buf[65536];
	size_t have = 0, need = (size_t)-1;
	const char *cl, *end;
	ssize_t r;

	for (;;) {
		if (have == sizeof buf - 1) {
			/* a big body: count it, keep the head */
			if (need == (size_t)-1)
				return -1;
			need -= have;
			have = 0;
		}
		r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
		if (r <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = '\0';
		if (need == (size_t)-1 &&
		    (end = strstr(buf, "\r\n\r\n")) != NULL) {
			cl = strstr(buf, "Content-Length: ");
			need = (size_t)(end + 4 - buf) +
			       (cl ? (size_t)atol(cl + 16) : 0);
		}
		if (need != (size_t)-1 && have >= need)
			return 0;
	}
}

static void *
serve(void *arg)
{
	int ls = *(int *)arg, fd;
	const char *p;
	size_t n, off;
	ssize_t w;

	for (;;) {
		if ((fd = accept(ls, NULL, NULL)) < 0)
			continue;
		pthread_mutex_lock(&srv.lock);
		srv.busy = 1;
		pthread_mutex_unlock(&srv.lock);
		/* One request per connection: the FIN follows the response
		 * at once, so the client never reuses the connection. */
		if (read_request(fd) == 0) {
			pthread_mutex_lock(&srv.lock);
			response(srv.served++, &p, &n);
			pthread_mutex_unlock(&srv.lock);
			for (off = 0; off < n; off += (size_t)w)
				if ((w = send(fd, p + off, n - off,
				              MSG_NOSIGNAL)) <= 0)
					break;
			shutdown(fd, SHUT_WR);
		}
		close(fd);
		pthread_mutex_lock(&srv.lock);
		srv.busy = 0;
		pthread_cond_broadcast(&srv.idle);
		pthread_mutex_unlock(&srv.lock);
	}
	return NULL;
}

static void
start(void)
{
	static int ls;
	struct sockaddr_in a;
	socklen_t alen = sizeof a;
	pthread_t t;
	int one = 1;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	FUZZ_CHECK(ls >= 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	FUZZ_CHECK(bind(ls, (struct sockaddr *)&a, sizeof a) == 0);
	FUZZ_CHECK(listen(ls, 16) == 0);
	FUZZ_CHECK(getsockname(ls, (struct sockaddr *)&a, &alen) == 0);
	srv.port = ntohs(a.sin_port);
	FUZZ_CHECK(pthread_create(&t, NULL, serve, &ls) == 0);
	pthread_detach(t);
}

/* ---------------------------------------------------------------- client */

static int
add(void *ctx, oa_args *args, oa_result *out)
{
	double a = 0, b = 0;
	const char *s;
	size_t n;

	(void)ctx;
	oa_args_number(args, "a", &a);
	oa_args_number(args, "b", &b);
	if (oa_args_string(args, "note", &s, &n) == 0)
		FUZZ_CHECK(s[n] == '\0');
	FUZZ_CHECK(oa_args_json(args, &n) != NULL);
	if (a < 0) {
		oa_result_puts(out, "negative");
		return 1;
	}
	return oa_result_printf(out, "%g", a + b);
}

static oa_hook_decision
gate(void *ctx, const oa_hook_event *ev, oa_hook_reply *reply)
{
	int mode = *(int *)ctx;

	FUZZ_CHECK(ev->kind == OA_HOOK_PRE_TOOL_USE);
	FUZZ_CHECK(ev->tool_id != NULL && ev->input != NULL);
	if (mode == 1) {
		reply->text = "not today";
		return OA_HOOK_BLOCK;
	}
	reply->text = "{\"a\":1,\"b\":2}";
	return OA_HOOK_REPLACE;
}

static void
check_block(const oa_block *b, int r)
{
	FUZZ_CHECK(r >= OA_BLOCK_TEXT && r <= OA_BLOCK_TURN_END);
	FUZZ_CHECK((int)b->type == r);
	if (b->text != NULL)
		FUZZ_CHECK(b->text[b->text_len] == '\0');
	if (b->type == OA_BLOCK_TEXT || b->type == OA_BLOCK_THINKING)
		FUZZ_CHECK(b->text != NULL && b->text_len > 0);
	if (b->type == OA_BLOCK_TOOL_USE)
		FUZZ_CHECK(b->id != NULL && b->id[b->id_len] == '\0' &&
		           b->name != NULL && b->input != NULL &&
		           b->input[b->input_len] == '\0');
	if (b->type == OA_BLOCK_TURN_END)
		FUZZ_CHECK(b->finish_reason != NULL &&
		           strlen(b->finish_reason) < 32);
}

/* Read a turn to its end; answer manual tool calls and continue once. */
static int
drain(oa_client *c, int manual)
{
	char ids[4][64];
	int r, nids = 0, i, rounds = 0;
	oa_block b;

	for (;;) {
		while ((r = oa_next(c, &b)) > 0) {
			check_block(&b, r);
			if (b.type == OA_BLOCK_TOOL_USE && nids < 4 &&
			    b.id_len < sizeof ids[0])
				memcpy(ids[nids++], b.id, b.id_len + 1);
		}
		if (r < 0) {
			FUZZ_CHECK(oa_next(c, &b) == r); /* errors stick */
			FUZZ_CHECK(oa_errmsg(c)[0] != '\0');
			return r;
		}
		if (!manual || nids == 0 || rounds++ > 0)
			return 0;
		for (i = 0; i < nids; i++)
			oa_add_tool_result(c, ids[i], "42");
		nids = 0;
		if (oa_continue(c) != 0)
			return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fuzz_heap heap;
	unsigned flags = fuzz_byte(&in), limits = fuzz_byte(&in);
	int hook_mode = flags >> 4 & 3;
	oa_tool tool = { "add", "Add two numbers",
	                 "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
	                 "\"number\"},\"b\":{\"type\":\"number\"},\"note\":"
	                 "{\"type\":\"string\"}},\"required\":[\"a\"]}",
	                 add, NULL };
	oa_hook hook = { OA_HOOK_PRE_TOOL_USE, gate, &hook_mode };
	oa_options o;
	oa_client c;
	oa_message m;
	char url[64];
	size_t i, k;

	pthread_once(&srv.once, start);
	pthread_mutex_lock(&srv.lock);
	srv.data = (const char *)in.p;
	srv.len = in.n;
	srv.served = 0;
	pthread_mutex_unlock(&srv.lock);

	memset(&o, 0, sizeof o);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", srv.port);
	o.base_url = url;
	o.model = "m";
	o.system_prompt = "sys";
	o.connect_timeout_ms = 5000;
	o.read_timeout_ms = 5000;
	o.max_retries = OA_OMIT;
	o.allocator = fuzz_allocator(&heap);
	o.tools = &tool;
	o.ntools = 1;
	o.auto_execute_tools = flags & 1;
	o.no_stream = flags >> 1 & 1;
	if (hook_mode != 0) {
		o.hooks = &hook;
		o.nhooks = 1;
	}
	if (flags & 4) {
		o.max_event_bytes = 64 + (limits & 15) * 64;
		o.max_response_bytes = 32 + (limits >> 4) * 32;
		o.max_tool_calls = 1 + (limits & 3);
		o.max_json_tokens = 16 + (limits >> 2) * 4;
		o.max_header_bytes = 64 + limits * 8;
	}
	FUZZ_CHECK(oa_init(&c, &o) == 0);
	FUZZ_CHECK(oa_query(&c, "hi") == 0);
	drain(&c, flags >> 6 & 1);
	if (flags & 8) {
		/* the client stays usable whatever happened; only tool calls
		 * still waiting for results make oa_query() refuse, naming
		 * them (manual mode) */
		int r = oa_query(&c, "again");
		if (r == OA_ERR_STATE) {
			FUZZ_CHECK(strstr(oa_errmsg(&c), "no result for tool "
			                  "call") != NULL);
		} else {
			FUZZ_CHECK(r == 0);
			drain(&c, 0);
		}
	}
	k = oa_history_count(&c);
	for (i = 0; i < k; i++) {
		FUZZ_CHECK(oa_history_get(&c, i, &m) == 0);
		FUZZ_CHECK(m.role != NULL && m.content != NULL);
		FUZZ_CHECK(m.content[m.content_len] == '\0');
	}
	FUZZ_CHECK(oa_history_get(&c, k, &m) == OA_ERR_INVALID);
	oa_free(&c);
	FUZZ_CHECK(heap.live == 0);
	/* the server reads the input: let it finish before it goes away */
	pthread_mutex_lock(&srv.lock);
	while (srv.busy)
		pthread_cond_wait(&srv.idle, &srv.lock);
	srv.data = NULL;
	srv.len = 0;
	pthread_mutex_unlock(&srv.lock);
	return 0;
}

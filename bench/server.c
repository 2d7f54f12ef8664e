/*
 * server.c -- the benchmark's loopback server: an OpenAI-compatible
 * chat-completions endpoint that streams pre-generated replies as fast as
 * the socket takes them, so that what is measured is the client.
 *
 *     server [-p PORT] [-d DELAY_MS] [-x DIR]
 *
 * It prints "port N" on standard output once it listens on 127.0.0.1.
 * With -x it first writes the expected client output of every workload
 * into DIR (WORKLOAD.txt) and the size of each de-chunked body
 * (WORKLOAD.bytes), so that no client can win by being wrong.
 *
 * A request names its workload and framing in the path:
 *     POST /WORKLOAD/MODE/v1/chat/completions
 * WORKLOAD is text100k, text1m (content deltas), args100k (one tool call
 * whose arguments arrive in 100,000 fragments), tools1000 (a tool call per
 * request until 1,000 results came back, then a text answer), empty (one
 * delta: a client's start-up cost) or lat (40 deltas whose text is the
 * CLOCK_MONOTONIC nanosecond at which the event was written).
 * MODE is ev (one SSE event per HTTP chunk, as real servers send them),
 * big (64 KB HTTP chunks holding many events) or lat (one event per
 * chunk, each written at once, DELAY_MS apart; default 50).
 *
 * The round of tools1000 is the number of "tool_call_id" keys in the
 * request body (counted as `_call_id"`: every client serialises that key
 * the same way, and '_' is rare in a body, so the search is quick), or the
 * X-Round header when a client cannot run tools (curl).
 *
 * States: the parent only accepts; each connection gets a forked child
 * that serves requests on it until the peer closes (keep-alive), then
 * reports "conn PID requests N" on standard error.
 *
 * Buffers: the request grows in one heap buffer (at most REQ_MAX); replies
 * are staged in a fixed 256 KB buffer and written in large writes, except
 * in lat mode where every event is written alone.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define STAGE_MAX (256 * 1024)
#define BIG_CHUNK (64 * 1024)
#define REQ_MAX (64 * 1024 * 1024)
#define TOOL_ROUNDS 1000
#define LAT_EVENTS 40

enum { MODE_EV, MODE_BIG, MODE_LAT };

/* ------------------------------------------------------------ the words */

/* Deltas as a real model streams them: mostly short words with a leading
 * space, some escapes, some UTF-8 sent raw and some as \u escapes. Each is
 * given as its JSON string body and as the bytes it decodes to. */
static const struct word {
	const char *json, *text;
} words[] = {
	{" the", " the"}, {" of", " of"}, {" model", " model"},
	{" stream", " stream"}, {" token", " token"}, {",", ","},
	{".", "."}, {"\\n", "\n"}, {"\\n\\n", "\n\n"}, {" a", " a"},
	{" is", " is"}, {" server", " server"}, {" \\\"quoted\\\"", " \"quoted\""},
	{" back\\\\slash", " back\\slash"}, {"\\ttab", "\ttab"},
	{" caf\\u00e9", " caf\xc3\xa9"}, {" caf\xc3\xa9", " caf\xc3\xa9"},
	{" na\xc3\xafve", " na\xc3\xafve"}, {" \xe4\xb8\x96\xe7\x95\x8c",
	" \xe4\xb8\x96\xe7\x95\x8c"}, {" \\ud83d\\ude42", " \xf0\x9f\x99\x82"},
	{" \xf0\x9f\x9a\x80", " \xf0\x9f\x9a\x80"}, {" Stra\xc3\x9f" "e",
	" Stra\xc3\x9f" "e"}, {" </tag>", " </tag>"}, {" x\\/y", " x/y"},
	{" 42", " 42"}, {" and", " and"}, {" to", " to"}, {" in", " in"},
	{" with", " with"}, {" agent", " agent"}, {" tool", " tool"},
	{" \xce\xbb", " \xce\xbb"},
};
#define NWORDS (sizeof words / sizeof words[0])

/* The word of delta i: a fixed pseudo-random sequence. */
static const struct word *
word_at(uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return &words[x % NWORDS];
}

/* ----------------------------------------------------------- the output */

struct out {
	int fd;
	int mode;
	int delay_ms;
	int failed;            /* a write failed: stop producing */
	uint64_t body;         /* de-chunked bytes produced */
	size_t len;
	char buf[STAGE_MAX];
};

static void
write_all(struct out *o, const char *p, size_t n)
{
	ssize_t w;

	if (o->fd < 0)
		return; /* only counting the body (-x) */
	while (n > 0 && !o->failed) {
		w = write(o->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			o->failed = 1;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Big mode keeps 16 bytes free at the front of buf for the chunk size
 * line, so a chunk goes out in one write without moving the data. */
static void
flush(struct out *o)
{
	char head[16];
	int k;

	if (o->mode == MODE_BIG) {
		if (o->len <= 16)
			return;
		k = snprintf(head, sizeof head, "%zx\r\n", o->len - 16);
		memcpy(o->buf + 16 - k, head, (size_t)k);
		memcpy(o->buf + o->len, "\r\n", 2);
		write_all(o, o->buf + 16 - k, o->len - 16 + (size_t)k + 2);
		o->len = 16;
		return;
	}
	write_all(o, o->buf, o->len);
	o->len = 0;
}

/* Append raw bytes to the stage (headers, the last chunk). */
static void
put_raw(struct out *o, const char *s, size_t n)
{
	if (o->len + n > STAGE_MAX) {
		flush(o);
		if (n > STAGE_MAX) {
			write_all(o, s, n);
			return;
		}
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* One SSE event: "data: " payload "\n\n", framed for the mode. */
static void
event(struct out *o, const char *payload, size_t n)
{
	char head[24];
	int k;

	o->body += n + 8;
	if (o->mode == MODE_BIG) {
		if (o->len + n + 8 + 2 > STAGE_MAX || o->len - 16 >= BIG_CHUNK)
			flush(o);
		memcpy(o->buf + o->len, "data: ", 6);
		memcpy(o->buf + o->len + 6, payload, n);
		memcpy(o->buf + o->len + 6 + n, "\n\n", 2);
		o->len += n + 8;
		return;
	}
	if (o->len + n + 32 > STAGE_MAX)
		flush(o);
	k = snprintf(head, sizeof head, "%zx\r\ndata: ", n + 8);
	memcpy(o->buf + o->len, head, (size_t)k);
	memcpy(o->buf + o->len + k, payload, n);
	memcpy(o->buf + o->len + k + n, "\n\n\r\n", 4);
	o->len += (size_t)k + n + 4;
	if (o->mode == MODE_LAT)
		flush(o);
}

/* ---------------------------------------------------------- the chunks */

#define CHUNK_HEAD "{\"id\":\"chatcmpl-9f2c1a7b3e4d5a60\"," \
	"\"object\":\"chat.completion.chunk\",\"created\":1732579200," \
	"\"model\":\"qwen2.5-7b-instruct-q4_k_m\"," \
	"\"system_fingerprint\":\"b4200-3f1ac2e\",\"choices\":[{\"index\":0,"

static char scratch[4096];

static void
chunk(struct out *o, const char *delta, const char *finish)
{
	int k = snprintf(scratch, sizeof scratch,
	                 CHUNK_HEAD "\"delta\":%s,\"logprobs\":null,"
	                 "\"finish_reason\":%s}]}", delta, finish);
	event(o, scratch, (size_t)k);
}

static void
content(struct out *o, const char *json)
{
	char d[256];

	snprintf(d, sizeof d, "{\"content\":\"%s\"}", json);
	chunk(o, d, "null");
}

static void
finish(struct out *o, const char *reason, int usage)
{
	char f[32];
	int k;

	snprintf(f, sizeof f, "\"%s\"", reason);
	chunk(o, "{}", f);
	if (usage) {
		k = snprintf(scratch, sizeof scratch,
		             "{\"id\":\"chatcmpl-9f2c1a7b3e4d5a60\",\"object\":"
		             "\"chat.completion.chunk\",\"created\":1732579200,"
		             "\"model\":\"qwen2.5-7b-instruct-q4_k_m\","
		             "\"choices\":[],\"usage\":{\"prompt_tokens\":"
		             "%d,\"completion_tokens\":%d,\"total_tokens\":%d}}",
		             usage, usage, 2 * usage);
		event(o, scratch, (size_t)k);
	}
	event(o, "[DONE]", 6);
}

/* A tool-call delta: the header (id, name) when id is not NULL, else an
 * arguments fragment, given as its JSON string body. */
static void
tool_delta(struct out *o, const char *id, const char *name, const char *args)
{
	char d[512];

	if (id != NULL)
		snprintf(d, sizeof d, "{\"role\":\"assistant\",\"content\":null,"
		         "\"tool_calls\":[{\"index\":0,\"id\":\"%s\",\"type\":"
		         "\"function\",\"function\":{\"name\":\"%s\","
		         "\"arguments\":\"\"}}]}", id, name);
	else
		snprintf(d, sizeof d, "{\"tool_calls\":[{\"index\":0,"
		         "\"function\":{\"arguments\":\"%s\"}}]}", args);
	chunk(o, d, "null");
}

/* A JSON string body as the body of a JSON string literal once more: the
 * arguments are JSON text carried inside a JSON string. */
static void
escape_again(char *dst, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 3 < cap; s++) {
		if (*s == '"' || *s == '\\')
			dst[n++] = '\\';
		dst[n++] = *s;
	}
	dst[n] = '\0';
}

#define ARGS_HEAD "{\"path\":\"notes/bench.txt\",\"content\":\""

static void
stream_text(struct out *o, uint64_t n)
{
	uint64_t i;

	chunk(o, "{\"role\":\"assistant\",\"content\":\"\"}", "null");
	for (i = 0; i < n && !o->failed; i++)
		content(o, word_at(i)->json);
	finish(o, "stop", (int)n);
}

static void
stream_args(struct out *o, uint64_t n)
{
	char frag[256];
	uint64_t i;

	tool_delta(o, "call_Xk29fQ", "write_file", NULL);
	escape_again(frag, sizeof frag, ARGS_HEAD);
	tool_delta(o, NULL, NULL, frag);
	for (i = 0; i + 2 < n && !o->failed; i++) {
		escape_again(frag, sizeof frag, word_at(i)->json);
		tool_delta(o, NULL, NULL, frag);
	}
	tool_delta(o, NULL, NULL, "\\\"}");
	finish(o, "tool_calls", (int)n);
}

static void
stream_round(struct out *o, long round)
{
	char id[32], frag[32];

	if (round >= TOOL_ROUNDS) {
		chunk(o, "{\"role\":\"assistant\",\"content\":\"\"}", "null");
		content(o, "All 1000 tool calls returned.");
		finish(o, "stop", 7);
		return;
	}
	snprintf(id, sizeof id, "call_%ld", round);
	tool_delta(o, id, "add", NULL);
	tool_delta(o, NULL, NULL, "{\\\"a\\\":");
	snprintf(frag, sizeof frag, "%ld", round);
	tool_delta(o, NULL, NULL, frag);
	tool_delta(o, NULL, NULL, ",\\\"b\\\":1}");
	finish(o, "tool_calls", 12);
}

static void
stream_lat(struct out *o)
{
	struct timespec ts, d;
	char s[32];
	int i;

	d.tv_sec = o->delay_ms / 1000;
	d.tv_nsec = (long)(o->delay_ms % 1000) * 1000000L;
	chunk(o, "{\"role\":\"assistant\",\"content\":\"\"}", "null");
	flush(o);
	for (i = 0; i < LAT_EVENTS && !o->failed; i++) {
		nanosleep(&d, NULL);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(s, sizeof s, "%lld ", (long long)ts.tv_sec *
		         1000000000LL + ts.tv_nsec);
		content(o, s);
	}
	finish(o, "stop", LAT_EVENTS);
}

/* ------------------------------------------------------- the workloads */

static const struct workload {
	const char *name;
	int kind;              /* 't' text, 'a' arguments, 'r' rounds, 'l' */
	uint64_t n;
} workloads[] = {
	{"text100k", 't', 100000}, {"text1m", 't', 1000000},
	{"args100k", 'a', 100000}, {"tools1000", 'r', TOOL_ROUNDS},
	{"empty", 't', 1}, {"lat", 'l', LAT_EVENTS},
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

static void
stream(struct out *o, const struct workload *w, long round)
{
	switch (w->kind) {
	case 't': stream_text(o, w->n); break;
	case 'a': stream_args(o, w->n); break;
	case 'r': stream_round(o, round); break;
	default: stream_lat(o); break;
	}
	flush(o);
	if (o->mode == MODE_BIG)
		write_all(o, "0\r\n\r\n", 5);
	else {
		put_raw(o, "0\r\n\r\n", 5);
		flush(o);
	}
}

/* Write what a correct client prints for w: the text, the arguments, or
 * one "NAME ARGS" line per tool call and then the text. Also the size of
 * the de-chunked body, for curl. */
static int
write_expected(const char *dir, const struct workload *w)
{
	char path[1024];
	struct out *o;
	uint64_t i;
	long r;
	FILE *f;

	if (w->kind == 'l')
		return 0;
	snprintf(path, sizeof path, "%s/%s.txt", dir, w->name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	if (w->kind == 'a')
		fputs(ARGS_HEAD, f);
	for (i = 0; w->kind != 'r' && i + (w->kind == 'a' ? 2 : 0) < w->n;
	     i++)
		fputs(w->kind == 'a' ? word_at(i)->json : word_at(i)->text, f);
	if (w->kind == 'a')
		fputs("\"}", f);
	if (w->kind == 'r') {
		for (r = 0; r < TOOL_ROUNDS; r++)
			fprintf(f, "add {\"a\":%ld,\"b\":1}\n", r);
		fputs("All 1000 tool calls returned.", f);
	}
	if (fclose(f) != 0)
		return -1;

	/* The body size: produce the stream into a closed descriptor. */
	if ((o = calloc(1, sizeof *o)) == NULL)
		return -1;
	o->fd = -1;
	o->mode = MODE_EV;
	for (r = 0; r < (w->kind == 'r' ? TOOL_ROUNDS + 1 : 1); r++)
		stream(o, w, r);
	snprintf(path, sizeof path, "%s/%s.bytes", dir, w->name);
	if ((f = fopen(path, "w")) == NULL) {
		free(o);
		return -1;
	}
	fprintf(f, "%llu\n", (unsigned long long)o->body);
	free(o);
	return fclose(f) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------- the server */

/* A header's value in the head (lines after the first), or NULL. */
static const char *
header(const char *head, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
			return p + 3 + n;
	return NULL;
}

/* The offset of the first what[0..k) in s[0..n), or -1 (memmem is not
 * POSIX). Fast when what[0] is rare in s: '_' in a JSON body. */
static long
find(const char *s, size_t n, const char *what, size_t k)
{
	const char *p = s, *end = s + n;

	for (; (size_t)(end - p) >= k; p++) {
		p = memchr(p, what[0], (size_t)(end - p) - k + 1);
		if (p == NULL)
			return -1;
		if (memcmp(p, what, k) == 0)
			return (long)(p - s);
	}
	return -1;
}

static long
count(const char *s, size_t n, const char *what)
{
	size_t k = strlen(what);
	long c = 0, at;

	while ((at = find(s, n, what, k)) >= 0) {
		c++;
		s += (size_t)at + k;
		n -= (size_t)at + k;
	}
	return c;
}

static void
reply_error(int fd, const char *status)
{
	char s[256];
	int k = snprintf(s, sizeof s, "HTTP/1.1 %s\r\nContent-Type: text/plain"
	                 "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n"
	                 "%s\n", status, strlen(status) + 1, status);
	if (write(fd, s, (size_t)k) < 0)
		return;
}

/* Serve requests on fd until the peer closes; returns how many. */
static long
serve(int fd, int delay_ms)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: "
		"text/event-stream\r\nCache-Control: no-cache\r\n"
		"Transfer-Encoding: chunked\r\n\r\n";
	size_t cap = 65536, len = 0, need, i, body;
	char *req = malloc(cap), *tmp, wname[32], mname[8];
	long head;
	const char *v;
	struct out *o = malloc(sizeof *o);
	long requests = 0, round;
	ssize_t got;

	if (req == NULL || o == NULL)
		goto out;
	for (;;) {
		/* The head, then Content-Length bytes of body. */
		while ((head = find(req, len, "\r\n\r\n", 4)) < 0) {
			if (len == cap || (got = read(fd, req + len,
			                              cap - len)) <= 0)
				goto out;
			len += (size_t)got;
		}
		req[head] = '\0';
		body = (size_t)head + 4;
		v = header(req, "Content-Length");
		if (v == NULL) {
			reply_error(fd, "411 Length Required");
			goto out;
		}
		need = body + strtoul(v, NULL, 10);
		if (need > REQ_MAX) {
			reply_error(fd, "413 Content Too Large");
			goto out;
		}
		if ((v = header(req, "Expect")) != NULL &&
		    write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
			goto out;
		if (need > cap) {
			if ((tmp = realloc(req, need)) == NULL)
				goto out;
			req = tmp;
			cap = need;
		}
		while (len < need) {
			if ((got = read(fd, req + len, cap - len)) <= 0)
				goto out;
			len += (size_t)got;
		}
		requests++;

		if (sscanf(req, "POST /%31[a-z0-9]/%7[a-z]/", wname, mname)
		    != 2) {
			reply_error(fd, "404 Not Found");
			goto out;
		}
		for (i = 0; i < NWORKLOADS; i++)
			if (strcmp(workloads[i].name, wname) == 0)
				break;
		memset(o, 0, offsetof(struct out, buf));
		o->fd = fd;
		o->delay_ms = delay_ms;
		o->mode = strcmp(mname, "big") == 0 ? MODE_BIG :
		          strcmp(mname, "lat") == 0 ? MODE_LAT : MODE_EV;
		o->len = o->mode == MODE_BIG ? 16 : 0;
		if (i == NWORKLOADS || (strcmp(mname, "ev") != 0 &&
		                        o->mode == MODE_EV)) {
			reply_error(fd, "404 Not Found");
			goto out;
		}
		round = (v = header(req, "X-Round")) != NULL
		        ? strtol(v, NULL, 10)
		        : count(req + body, need - body, "_call_id\"");
		/* In big mode the head goes alone, so that every chunk is
		 * framed in place. */
		if (o->mode == MODE_BIG)
			write_all(o, ok, sizeof ok - 1);
		else
			put_raw(o, ok, sizeof ok - 1);
		stream(o, &workloads[i], round);
		if (o->failed)
			goto out;
		memmove(req, req + need, len - need);
		len -= need;
	}
out:
	free(req);
	free(o);
	return requests;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof a;
	int port = 0, delay_ms = 50, s, fd, one = 1, c;
	const char *dir = NULL;
	size_t i;
	long n;

	while ((c = getopt(argc, argv, "p:d:x:")) != -1) {
		if (c == 'p')
			port = atoi(optarg);
		else if (c == 'd')
			delay_ms = atoi(optarg);
		else if (c == 'x')
			dir = optarg;
		else {
			fprintf(stderr, "usage: server [-p PORT] [-d DELAY_MS] "
			        "[-x DIR]\n");
			return 2;
		}
	}
	if (dir != NULL) {
		mkdir(dir, 0755);
		for (i = 0; i < NWORKLOADS; i++)
			if (write_expected(dir, &workloads[i]) != 0) {
				perror(dir);
				return 1;
			}
	}

	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN); /* children reap themselves */
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(s, 64) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) != 0) {
		perror("server: 127.0.0.1");
		return 1;
	}
	printf("port %d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		if ((fd = accept(s, NULL, NULL)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("server: accept");
			return 1;
		}
		if (fork() == 0) {
			close(s);
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			           sizeof one);
			n = serve(fd, delay_ms);
			fprintf(stderr, "conn %ld requests %ld\n",
			        (long)getpid(), n);
			_exit(0);
		}
		close(fd);
	}
}

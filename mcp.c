/*
 * mcp.c -- tools from Model Context Protocol servers (an optional module).
 *
 * A client of MCP 2025-11-25 over two transports: newline-delimited
 * JSON-RPC on a child process's stdin/stdout (the library starts it with
 * posix_spawnp, never a shell), and Streamable HTTP (POST answered with
 * JSON or an event stream, resumed with GET and Last-Event-ID). It runs
 * the lifecycle, lists the tools and hands them out as oa_tool entries
 * whose handlers call tools/call, so they pass through the core's argument
 * checks, hooks and auto/manual modes like any other tool. The core never
 * calls this file; it reaches the client only through oa_interrupt_fd().
 *
 * One request is in flight at a time: a call writes its request, then
 * reads messages until the response with its id, answering the server's
 * own requests (ping: {}, anything else: "method not found") and
 * skipping notifications, stale responses and lines that are not JSON on
 * the way.
 */
#include "oa_private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* How long oa_mcp_close() waits for the server after closing its input,
 * and again after SIGTERM, before SIGKILL. */
#define MCP_CLOSE_WAIT_MS 2000
/* Tools one server may list, and tools/list pages followed. */
#define MCP_MAX_TOOLS 4096
#define MCP_MAX_PAGES 256
/* A stream that ends before the answer is resumed at most this often. */
#define MCP_MAX_RESUMES 16
/* The reconnection delay when the server gave no retry: field. */
#define MCP_DEFAULT_RETRY_MS 1000
#define MCP_ACCEPT "application/json, text/event-stream"

/* One listed tool: what its handler needs. */
struct mcp_tool {
	oa_mcp *m;
	char *remote; /* the server's name for it; one allocation holding
	                 it, then the exposed name, description, schema */
};

struct oa_mcp {
	oa_allocator alloc;
	char err[OA__ERRLEN];
	char *name;             /* the server's name, the renaming prefix */
	char version[16];       /* the protocol version agreed on */
	int timeout_ms;         /* per request; < 0: none */
	size_t max_msg;
	int wake;               /* oa_interrupt_fd() of the watched client */
	long long next_id;
	int http;
	/* stdio */
	pid_t pid;              /* 0: none or already reaped */
	int fd;                 /* our end of the child's stdin and stdout */
	int status;             /* the child's wait status once reaped */
	int skipping;           /* dropping the rest of an oversized line */
	/* Streamable HTTP: h carries requests and their streams; side sends
	 * answers, cancellations and DELETE while h is busy or cancelled. */
	oa__http h, side;
	const char *path;       /* the endpoint's path */
	char session[256];
	int reinit;             /* re-initializing after a 404 */
	oa__sse sse;
	/* in: bytes read that end no line yet; out: the request being
	 * sent; reply: an answer or notification; msg: the message looked
	 * at, parsed by json; text: a call's result; raw: a JSON copy */
	oa__buf in, out, reply, msg, text, raw;
	oa__json json;
	struct mcp_tool *mt;
	oa_tool *tools;
	size_t ntools;
};

static int
mcp_nomem(oa_mcp *m)
{
	return oa__fail(m->err, OA_ERR_NOMEM, "out of memory");
}

static int
mcp_timed_out(oa_mcp *m)
{
	return oa__fail(m->err, OA_ERR_READ_TIMEOUT, "no answer from the MCP "
	                "server within %d ms", m->timeout_ms);
}

static int
mcp_too_long(oa_mcp *m)
{
	return oa__fail(m->err, OA_ERR_LIMIT, "a message from the MCP server "
	                "is longer than max_message_bytes (%zu)", m->max_msg);
}

static int64_t
mcp_deadline(const oa_mcp *m)
{
	return m->timeout_ms > 0 ? oa__now_ms() + m->timeout_ms : 0;
}

/* ---------------------------------------------------------------- stdio */

/* Collect the child's status if it has ended; 1 when it has. */
static int
mcp_reap(oa_mcp *m, int block)
{
	pid_t r;

	if (m->pid <= 0)
		return 1;
	do
		r = waitpid(m->pid, &m->status, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	m->pid = 0;
	return 1;
}

/* Wait up to ms for the child to end; 1 when it has. */
static int
mcp_await_exit(oa_mcp *m, int ms)
{
	int64_t until = oa__now_ms() + ms;

	while (!mcp_reap(m, 0) && oa__now_ms() < until)
		poll(NULL, 0, 10);
	return m->pid == 0;
}

static int
mcp_gone(oa_mcp *m)
{
	char how[40] = "closed its output";

	/* It is usually exiting: a moment lets the message say how. */
	mcp_await_exit(m, 500);
	if (m->pid == 0 && WIFEXITED(m->status))
		snprintf(how, sizeof how, "exited with status %d",
		         WEXITSTATUS(m->status));
	else if (m->pid == 0 && WIFSIGNALED(m->status))
		snprintf(how, sizeof how, "was killed by signal %d",
		         WTERMSIG(m->status));
	return oa__fail(m->err, OA_ERR_IO, "the MCP server %s before "
	                "answering", how);
}

/* Wait until fd (-1: none) is ready for ev, the deadline (0: none)
 * passes or the watched client is interrupted. */
static int
mcp_wait_fd(oa_mcp *m, int fd, short ev, int64_t deadline)
{
	struct pollfd pf[2];
	int64_t left;
	int r;

	do {
		left = deadline ? deadline - oa__now_ms() : -1;
		pf[0].fd = fd;
		pf[0].events = ev;
		pf[1].fd = m->wake;
		pf[1].events = POLLIN;
		pf[0].revents = pf[1].revents = 0;
		r = poll(pf, m->wake >= 0 ? 2 : 1, left < 0 && deadline ? 0 :
		         (int)left);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return oa__fail(m->err, OA_ERR_IO, "poll: %s", strerror(errno));
	if (pf[1].revents)
		return oa__fail(m->err, OA_ERR_INTERRUPTED, "oa_interrupt() "
		                "was called");
	return r == 0 ? mcp_timed_out(m) : 0;
}

static int
mcp_stdio_write(oa_mcp *m, const oa__buf *b, int64_t deadline)
{
	size_t off = 0;
	ssize_t n;
	int r;

	while (off < b->len) {
		n = send(m->fd, b->p + off, b->len - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = mcp_wait_fd(m, m->fd, POLLOUT, deadline)) != 0)
				return r;
		} else if (n == 0 || errno != EINTR)
			return mcp_gone(m);
	}
	return 0;
}

/* The next line from the server into m->msg. A line longer than the
 * limit fails once; its rest is skipped as it arrives. */
static int
mcp_stdio_line(oa_mcp *m, int64_t deadline)
{
	char *nl;
	ssize_t n;
	size_t len;
	int r;

	for (;;) {
		nl = m->in.len ? memchr(m->in.p, '\n', m->in.len) : NULL;
		if (nl != NULL) {
			len = (size_t)(nl - m->in.p);
			oa__buf_reset(&m->msg);
			oa__buf_append(&m->msg, m->in.p, m->skipping ? 0 : len);
			m->in.len -= len + 1;
			memmove(m->in.p, nl + 1, m->in.len);
			if (!m->skipping)
				return m->msg.err ? mcp_nomem(m) : 0;
			m->skipping = 0;
			continue;
		}
		if (m->in.len > m->max_msg || (m->skipping && m->in.len)) {
			m->in.len = 0;
			if (!m->skipping)
				return m->skipping = 1, mcp_too_long(m);
		}
		if (oa__buf_reserve(&m->in, 65536) != 0)
			return mcp_nomem(m);
		n = read(m->fd, m->in.p + m->in.len, 65536);
		if (n > 0)
			m->in.len += (size_t)n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = mcp_wait_fd(m, m->fd, POLLIN, deadline)) != 0)
				return r;
		} else if (n == 0 || errno != EINTR)
			return mcp_gone(m);
	}
}

/* Start the server: its stdin and stdout one end of a socket pair (send()
 * with MSG_NOSIGNAL: no SIGPIPE when it dies), stderr ours or the
 * caller's, and its own process group, so a Ctrl-C at the terminal
 * interrupts the agent, which cancels the call, not the server. */
static int
mcp_spawn(oa_mcp *m, const char *const *argv, int stderr_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char *const *av;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return oa__fail(m->err, OA_ERR_IO, "socketpair: %s",
		                strerror(errno));
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	fcntl(sv[1], F_SETFD, FD_CLOEXEC); /* its dup2() copies stay */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	if (stderr_fd > 0)
		posix_spawn_file_actions_adddup2(&fa, stderr_fd, 2);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	memcpy(&av, &argv, sizeof av); /* the historical prototype */
	r = posix_spawnp(&m->pid, argv[0], &fa, &at, av, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(sv[1]);
	m->fd = sv[0];
	fcntl(m->fd, F_SETFL, fcntl(m->fd, F_GETFL) | O_NONBLOCK);
	if (r != 0)
		m->pid = 0;
	return r == 0 ? 0 : oa__fail(m->err, OA_ERR_FILE, "cannot run "
	                             "\"%s\": %s", argv[0], strerror(r));
}

/* ----------------------------------------------------------- messages */

/* Start a message in b: {"jsonrpc":"2.0", then the caller's members. */
static void
mcp_begin(oa__buf *b)
{
	oa__buf_reset(b);
	oa__buf_puts(b, "{\"jsonrpc\":\"2.0\"");
}

static int mcp_http_post(oa_mcp *m, oa__http *h, const oa__buf *b,
                         long long id, int64_t deadline);

/* Send m->reply, which expects no response: a notification or an
 * answer to a server's request. */
static int
mcp_send_reply(oa_mcp *m)
{
	int wake = m->wake, r;

	if (m->reply.err)
		return mcp_nomem(m);
	if (m->http)
		return mcp_http_post(m, &m->side, &m->reply, 0,
		                     mcp_deadline(m));
	/* Sent even after an interrupt: it is how the server learns of it. */
	m->wake = -1;
	oa__buf_append(&m->reply, "\n", 1);
	r = m->reply.err ? mcp_nomem(m) :
	    mcp_stdio_write(m, &m->reply, mcp_deadline(m));
	m->wake = wake;
	return r;
}

/* A notification; params is a JSON object text or NULL. */
static int
mcp_notify(oa_mcp *m, const char *method, const char *params)
{
	mcp_begin(&m->reply);
	oa__buf_printf(&m->reply, ",\"method\":\"%s\"%s%s}", method,
	               params ? ",\"params\":" : "", params ? params : "");
	return mcp_send_reply(m);
}

/* Look at the message in m->msg. Returns 1 when it is the response to
 * want, 0 when it was something else (handled or skipped), or
 * OA_ERR_STREAM when it is not JSON (err says so). */
static int
mcp_take(oa_mcp *m, long long want)
{
	oa__json *j = &m->json;
	long long id = -1;
	int t, method, str;
	char q[100] = "";
	const char *raw;
	size_t n;

	if (oa__json_parse(j, m->msg.p, m->msg.len, NULL) != 0 ||
	    oa__json_type(j, 0) != OA__JSON_OBJECT) {
		oa__quote(q, sizeof q, m->msg.p, m->msg.len, 60);
		return oa__fail(m->err, OA_ERR_STREAM, "the MCP server sent "
		                "something that is not a JSON-RPC message: %s",
		                q);
	}
	t = oa__json_get(j, 0, "id");
	method = oa__json_get(j, 0, "method");
	if (method < 0) /* a response: ours, or a late one given up on */
		return oa__json_int(j, t, &id) == 0 && id == want;
	if (t < 0)
		return 0; /* a notification: nothing to do */
	/* A request from the server: ping is answered, nothing else is
	 * supported (no sampling, elicitation or roots capability). */
	raw = oa__json_raw(j, t, &n); /* a string's still escaped */
	str = oa__json_type(j, t) == OA__JSON_STRING;
	mcp_begin(&m->reply);
	oa__buf_printf(&m->reply, ",\"id\":%s%.*s%s", str ? "\"" : "",
	               (int)n, raw, str ? "\"" : "");
	oa__buf_puts(&m->reply, oa__json_eq(j, method, "ping") ?
	             ",\"result\":{}}" : ",\"error\":{\"code\":-32601,"
	             "\"message\":\"method not found\"}}");
	/* A failed answer is not the call's failure: a server that is gone
	 * shows when its response does not come. */
	if (mcp_send_reply(m) != 0)
		m->err[0] = '\0';
	return 0;
}

/* ------------------------------------------------------ Streamable HTTP */

/* Send a request on h with the session's headers. */
static int
mcp_request(oa_mcp *m, oa__http *h, const char *method, const char *accept,
            const char *last_id, const oa__buf *body, int64_t deadline)
{
	oa__buf hb;
	int r;

	memset(&hb, 0, sizeof hb);
	hb.alloc = &m->alloc;
	oa__buf_printf(&hb, "Accept: %s\r\n", accept);
	if (m->session[0])
		oa__buf_printf(&hb, "Mcp-Session-Id: %s\r\n", m->session);
	if (m->version[0])
		oa__buf_printf(&hb, "MCP-Protocol-Version: %s\r\n", m->version);
	if (last_id)
		oa__buf_printf(&hb, "Last-Event-ID: %s\r\n", last_id);
	h->deadline = deadline;
	r = hb.err ? mcp_nomem(m) : oa__http_request(h, method, m->path,
	                                             hb.p, body ? body->p :
	                                             NULL, body ? body->len :
	                                             0, m->err);
	oa__buf_free(&hb);
	return r;
}

/* Read a whole (bounded) body into m->msg. */
static int
mcp_read_body(oa_mcp *m, oa__http *h)
{
	size_t got;
	int r;

	oa__buf_reset(&m->msg);
	for (;;) {
		if (m->msg.len >= m->max_msg)
			return mcp_too_long(m);
		if (oa__buf_reserve(&m->msg, 16384) != 0)
			return mcp_nomem(m);
		r = oa__http_read(h, m->msg.p + m->msg.len, 16384, &got,
		                  m->err);
		if (r != 0 || got == 0)
			return r;
		m->msg.len += got;
		m->msg.p[m->msg.len] = '\0';
	}
}

/* Read the event stream on h until the response to want. When it ends
 * first, wait the retry: delay and resume it with GET and Last-Event-ID. */
static int
mcp_read_stream(oa_mcp *m, oa__http *h, long long want, int64_t deadline)
{
	oa__sse_event ev;
	char last[128], *dst;
	size_t room, got;
	int r, resumes = 0;
	int64_t at;

	oa__sse_reset(&m->sse);
	for (;;) {
		if ((r = oa__sse_next(&m->sse, &ev, m->err)) > 0) {
			if (ev.len == 0)
				continue; /* a priming event: only an id */
			oa__buf_reset(&m->msg);
			if (oa__buf_append(&m->msg, ev.data, ev.len) != 0)
				r = mcp_nomem(m);
			else if ((r = mcp_take(m, want)) == 0)
				continue;
			break;
		}
		if (r < 0 ||
		    (r = oa__sse_space(&m->sse, &dst, &room, m->err)) != 0 ||
		    (r = oa__http_read(h, dst, room, &got, m->err)) != 0)
			break;
		if (got > 0) {
			oa__sse_ack(&m->sse, got);
			continue;
		}
		/* The stream ended before the response. */
		if (m->sse.id[0] == '\0' || ++resumes > MCP_MAX_RESUMES) {
			r = oa__fail(m->err, OA_ERR_TRUNCATED, "the MCP server "
			             "ended the event stream before answering");
			break;
		}
		snprintf(last, sizeof last, "%s", m->sse.id);
		at = oa__now_ms() + (m->sse.retry_ms >= 0 ? m->sse.retry_ms :
		                     MCP_DEFAULT_RETRY_MS);
		if (deadline && at >= deadline) {
			r = mcp_timed_out(m);
			break;
		}
		if ((r = mcp_wait_fd(m, -1, 0, at)) != OA_ERR_READ_TIMEOUT)
			break;
		m->err[0] = '\0';
		r = mcp_request(m, h, "GET", "text/event-stream", last, NULL,
		                deadline);
		if (r == 0 && (h->status != 200 ||
		    strcmp(h->content_type, "text/event-stream") != 0))
			r = oa__fail(m->err, OA_ERR_HTTP, "the MCP server did "
			             "not resume the event stream (GET: HTTP "
			             "%d)", h->status);
		if (r != 0)
			break;
		oa__sse_reset(&m->sse);
	}
	if (!h->body_done)
		oa__http_close(h); /* a stream the server keeps open */
	return r > 0 ? 0 : r;
}

/* POST b on h. With want != 0, read until its response (in m->json);
 * 1 means HTTP 404 on a session: it is gone. */
static int
mcp_http_post(oa_mcp *m, oa__http *h, const oa__buf *b, long long want,
              int64_t deadline)
{
	char q[200] = "";
	int r;

	r = mcp_request(m, h, "POST", MCP_ACCEPT, NULL, b, deadline);
	if (r != 0)
		return r;
	if (h->captured[0])
		snprintf(m->session, sizeof m->session, "%s", h->captured);
	if (h->status == 404 && m->session[0] && want)
		return 1;
	if (h->status < 200 || h->status > 299) {
		if (mcp_read_body(m, h) == 0)
			oa__quote(q, sizeof q, m->msg.p, m->msg.len, 150);
		m->err[0] = '\0';
		return oa__fail(m->err, OA_ERR_HTTP, "the MCP server answered "
		                "HTTP %d %s", h->status, q);
	}
	if (want == 0 || h->status == 202 || h->status == 204) {
		r = mcp_read_body(m, h); /* nothing expected: drained */
		return want == 0 ? r : oa__fail(m->err, OA_ERR_STREAM, "the "
		                                "MCP server answered HTTP %d "
		                                "and no response", h->status);
	}
	if (strcmp(h->content_type, "text/event-stream") == 0)
		return mcp_read_stream(m, h, want, deadline);
	if ((r = mcp_read_body(m, h)) != 0 || (r = mcp_take(m, want)) != 0)
		return r > 0 ? 0 : r;
	return oa__fail(m->err, OA_ERR_STREAM, "the MCP server answered with "
	                "JSON that is not the response");
}

/* ----------------------------------------------------------------- RPC */

static int mcp_init_session(oa_mcp *m);

/* Send request method with params (JSON text; NULL: none) and wait for
 * its response, parsed in m->json. Returns 0 with *res the result token,
 * 1 for a JSON-RPC error (err holds its code and message), or a negative
 * oa_err. A stale HTTP session is replaced once. */
static int
mcp_rpc(oa_mcp *m, const char *method, const char *params, int *res)
{
	oa__json *j = &m->json;
	int64_t deadline;
	long long id, code = 0;
	int r, e;
	const char *msg;

again:
	id = ++m->next_id;
	mcp_begin(&m->out);
	oa__buf_printf(&m->out, ",\"id\":%lld,\"method\":\"%s\"%s%s}", id,
	               method, params ? ",\"params\":" : "",
	               params ? params : "");
	deadline = mcp_deadline(m);
	if (m->out.err) {
		r = mcp_nomem(m);
	} else if (m->http) {
		r = mcp_http_post(m, &m->h, &m->out, id, deadline);
		if (r == 1 && !m->reinit) {
			/* The session expired: a new one, once. */
			m->session[0] = m->version[0] = '\0';
			m->reinit = 1;
			r = mcp_init_session(m);
			m->reinit = 0;
			if (r == 0)
				goto again;
		} else if (r == 1) {
			r = oa__fail(m->err, OA_ERR_HTTP, "the MCP server "
			             "answered HTTP 404");
		}
	} else {
		oa__buf_append(&m->out, "\n", 1);
		r = mcp_stdio_write(m, &m->out, deadline);
		while (r == 0 && (r = mcp_stdio_line(m, deadline)) == 0 &&
		       (e = mcp_take(m, id)) != 1)
			if (e == OA_ERR_STREAM)
				m->err[0] = '\0'; /* junk: skipped */
	}
	if (r == OA_ERR_DEADLINE) {
		m->err[0] = '\0';
		r = mcp_timed_out(m);
	}
	if (r == OA_ERR_INTERRUPTED || r == OA_ERR_READ_TIMEOUT) {
		char p[96], save[OA__ERRLEN];

		/* The server may stop working on it (best effort). */
		snprintf(p, sizeof p, "{\"requestId\":%lld,\"reason\":\"%s\"}",
		         id, r == OA_ERR_READ_TIMEOUT ? "timed out" :
		         "interrupted");
		memcpy(save, m->err, sizeof save);
		m->err[0] = '\0';
		mcp_notify(m, "notifications/cancelled", p);
		memcpy(m->err, save, sizeof save);
	}
	if (r != 0)
		return r;
	if ((e = oa__json_get(j, 0, "error")) >= 0) {
		oa__json_int(j, oa__json_get(j, e, "code"), &code);
		msg = oa__json_str(j, oa__json_get(j, e, "message"), NULL);
		oa__fail(m->err, OA_ERR_SERVER, "MCP error %lld: %s", code,
		         msg ? msg : "(no message)");
		return 1;
	}
	*res = oa__json_get(j, 0, "result");
	if (oa__json_type(j, *res) != OA__JSON_OBJECT)
		return oa__fail(m->err, OA_ERR_STREAM, "the MCP server's "
		                "response to %s has no result object", method);
	return 0;
}

/* initialize, then notifications/initialized. */
static int
mcp_init_session(oa_mcp *m)
{
	oa__json *j = &m->json;
	static const char known[] = "2025-11-25 2025-06-18 2025-03-26";
	const char *v, *name, *k;
	size_t n;
	int res, r;

	r = mcp_rpc(m, "initialize", "{\"protocolVersion\":\""
	            OA_MCP_PROTOCOL_VERSION "\",\"capabilities\":{},"
	            "\"clientInfo\":{\"name\":\"openagent\",\"version\":\""
	            OA_VERSION "\"}}", &res);
	if (r != 0)
		return r < 0 ? r : OA_ERR_SERVER;
	v = oa__json_str(j, oa__json_get(j, res, "protocolVersion"), &n);
	if (v == NULL || n != 10 || (k = strstr(known, v)) == NULL ||
	    (k - known) % 11 != 0)
		return oa__fail(m->err, OA_ERR_SERVER, "the MCP server speaks "
		                "protocol version \"%.40s\"; this client "
		                "speaks 2025-11-25, 2025-06-18 and 2025-03-26",
		                v ? v : "(none)");
	memcpy(m->version, v, n + 1);
	name = oa__json_str(j, oa__json_get(j, oa__json_get(j, res,
	                    "serverInfo"), "name"), &n);
	if (m->name == NULL && name != NULL && n > 0)
		m->name = oa__strndup(&m->alloc, name, n);
	else if (m->name == NULL)
		m->name = oa__strndup(&m->alloc, "mcp", 3);
	if (m->name == NULL)
		return mcp_nomem(m);
	return mcp_notify(m, "notifications/initialized", NULL);
}

/* ---------------------------------------------------------------- tools */

static const char mcp_name_chars[] = "abcdefghijklmnopqrstuvwxyz"
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

/* s is [A-Za-z0-9_-]{1,64} and no tool has it yet. */
static int
mcp_name_ok(const oa_mcp *m, const char *s)
{
	size_t n = strspn(s, mcp_name_chars), i;

	for (i = 0; i < m->ntools; i++)
		if (strcmp(m->mt[i].remote + strlen(m->mt[i].remote) + 1, s)
		    == 0)
			return 0; /* taken */
	return n > 0 && n <= 64 && s[n] == '\0';
}

/* The name the model sees, into buf (65 bytes): the tool's own when it is
 * valid and free, else <server>_<tool> with every other byte made '_',
 * cut to 64. */
static int
mcp_expose(oa_mcp *m, const char *remote, char *buf)
{
	size_t k;

	if (mcp_name_ok(m, remote)) {
		snprintf(buf, 65, "%s", remote);
		return 0;
	}
	snprintf(buf, 65, "%s_%s", m->name, remote);
	for (k = 0; buf[k]; k++)
		if (strchr(mcp_name_chars, buf[k]) == NULL)
			buf[k] = '_';
	if (mcp_name_ok(m, buf))
		return 0;
	return oa__fail(m->err, OA_ERR_INVALID, "MCP server %s: the tool "
	                "\"%.64s\" cannot be offered: its name is not "
	                "[A-Za-z0-9_-]{1,64} or is taken, and \"%s\" is taken "
	                "too", m->name, remote, buf);
}

/* One element of tools/list's tools array. */
static int
mcp_add_tool(oa_mcp *m, int t)
{
	oa__json *j = &m->json;
	struct mcp_tool *v;
	const char *s[4];
	size_t n[4], i, total = 0;
	char name[65], *p;
	int sch = oa__json_get(j, t, "inputSchema"), r;

	if (m->ntools == MCP_MAX_TOOLS)
		return oa__fail(m->err, OA_ERR_LIMIT, "the MCP server lists "
		                "more than %d tools", MCP_MAX_TOOLS);
	/* The schema's raw text first: reading strings unescapes them. */
	s[3] = "{\"type\":\"object\"}";
	n[3] = 17;
	if (oa__json_type(j, sch) == OA__JSON_OBJECT)
		s[3] = oa__json_raw(j, sch, &n[3]);
	s[0] = oa__json_str(j, oa__json_get(j, t, "name"), &n[0]);
	if (s[0] == NULL || n[0] == 0 || memchr(s[0], '\0', n[0]))
		return oa__fail(m->err, OA_ERR_STREAM, "the MCP server lists a "
		                "tool without a name");
	s[2] = oa__json_str(j, oa__json_get(j, t, "description"), &n[2]);
	if (s[2] == NULL)
		s[2] = "", n[2] = 0;
	if ((r = mcp_expose(m, s[0], name)) != 0)
		return r;
	s[1] = name;
	n[1] = strlen(name);
	for (i = 0; i < 4; i++)
		total += n[i] + 1;
	v = oa__realloc(&m->alloc, m->mt, (m->ntools + 1) * sizeof *v);
	if (v == NULL)
		return mcp_nomem(m);
	m->mt = v;
	if ((p = oa__malloc(&m->alloc, total)) == NULL)
		return mcp_nomem(m);
	v[m->ntools].m = m;
	v[m->ntools++].remote = p;
	for (i = 0; i < 4; p += n[i++] + 1) {
		memcpy(p, s[i], n[i]);
		p[n[i]] = '\0';
	}
	return 0;
}

static int mcp_tool_handler(void *ctx, oa_args *args, oa_result *out);

/* tools/list, every page, then the oa_tool table. */
static int
mcp_list_tools(oa_mcp *m)
{
	oa__json *j = &m->json;
	const char *s, *p;
	size_t n, i;
	int res, r = 0, pages, t;

	oa__buf_reset(&m->raw);
	for (pages = 0; r == 0 && pages < MCP_MAX_PAGES; pages++) {
		if ((r = mcp_rpc(m, "tools/list", m->raw.len ? m->raw.p : "{}",
		                 &res)) != 0)
			return r < 0 ? r : OA_ERR_SERVER;
		for (i = 0; r == 0 && (t = oa__json_at(j, oa__json_get(j, res,
		            "tools"), (int)i)) >= 0; i++)
			r = mcp_add_tool(m, t);
		s = oa__json_str(j, oa__json_get(j, res, "nextCursor"), &n);
		if (s == NULL || n == 0)
			break;
		oa__buf_reset(&m->raw);
		oa__buf_puts(&m->raw, "{\"cursor\":");
		oa__json_put_str(&m->raw, s, n);
		oa__buf_puts(&m->raw, "}");
		if (m->raw.err)
			r = mcp_nomem(m);
	}
	if (r == 0 && pages == MCP_MAX_PAGES)
		r = oa__fail(m->err, OA_ERR_LIMIT, "tools/list goes on for "
		             "more than %d pages", MCP_MAX_PAGES);
	if (r != 0)
		return r;
	m->tools = oa__mallocarray(&m->alloc, m->ntools + 1, sizeof *m->tools);
	if (m->tools == NULL)
		return mcp_nomem(m);
	for (i = 0; i < m->ntools; i++) {
		p = m->mt[i].remote;
		m->tools[i].name = p += strlen(p) + 1;
		m->tools[i].description = p += strlen(p) + 1;
		m->tools[i].parameters = p + strlen(p) + 1;
		m->tools[i].handler = mcp_tool_handler;
		m->tools[i].ctx = &m->mt[i];
	}
	return 0;
}

/* ------------------------------------------------------------ results */

/* A content item that is not text: what it is, then its JSON (m->raw),
 * so the model sees it and nothing is dropped. */
static void
mcp_describe(oa_mcp *m, int item)
{
	oa__json *j = &m->json;
	const char *type, *mime, *uri;
	size_t dn = 0;

	oa__json_raw(j, oa__json_get(j, item, "data"), &dn);
	type = oa__json_str(j, oa__json_get(j, item, "type"), NULL);
	mime = oa__json_str(j, oa__json_get(j, item, "mimeType"), NULL);
	uri = oa__json_str(j, oa__json_get(j, oa__json_get(j, item,
	                   "resource"), "uri"), NULL);
	if (uri == NULL)
		uri = oa__json_str(j, oa__json_get(j, item, "uri"), NULL);
	oa__buf_printf(&m->text, "[%s%s%s%s%s", type ? type : "content",
	               mime ? " " : "", mime ? mime : "", uri ? " " : "",
	               uri ? uri : "");
	if (dn)
		oa__buf_printf(&m->text, ", %zu bytes of base64", dn);
	oa__buf_puts(&m->text, "] ");
	oa__buf_append(&m->text, m->raw.p, m->raw.len);
}

/* tools/call's result into m->text; 1 when it is an error result. */
static int
mcp_format_result(oa_mcp *m, int res)
{
	oa__json *j = &m->json;
	oa__buf sc;
	const char *s;
	size_t n, i;
	int content = oa__json_get(j, res, "content"), item;
	int st = oa__json_get(j, res, "structuredContent");

	memset(&sc, 0, sizeof sc);
	sc.alloc = &m->alloc;
	oa__buf_reset(&m->text);
	if (st >= 0) { /* copied before any string inside is read */
		s = oa__json_raw(j, st, &n);
		oa__buf_append(&sc, s, n);
	}
	for (i = 0; (item = oa__json_at(j, content, (int)i)) >= 0; i++) {
		if (i > 0)
			oa__buf_puts(&m->text, "\n");
		/* Its JSON is copied before any string in it is read: reading
		 * unescapes and NUL-terminates strings in place. */
		s = oa__json_raw(j, item, &n);
		oa__buf_reset(&m->raw);
		oa__buf_append(&m->raw, s, n);
		if (!oa__json_eq(j, oa__json_get(j, item, "type"), "text")) {
			mcp_describe(m, item);
			continue;
		}
		s = oa__json_str(j, oa__json_get(j, item, "text"), &n);
		oa__buf_append(&m->text, s ? s : "", s ? n : 0);
		/* The serialized copy the spec asks servers to add. */
		if (s && st >= 0 && n == sc.len && memcmp(s, sc.p, n) == 0)
			st = -1;
	}
	if (st >= 0) {
		oa__buf_puts(&m->text, i ? "\nstructuredContent: " : "");
		oa__buf_append(&m->text, sc.p, sc.len);
	}
	oa__buf_free(&sc);
	if (m->text.err || m->raw.err)
		return oa__fail(m->err, OA_ERR_NOMEM, "out of memory for the "
		                "tool result");
	return oa__json_bool(j, oa__json_get(j, res, "isError")) == 1;
}

/* tools/call: 0 or 1 (a failed tool) with m->text, or an oa_err. */
static int
mcp_call(oa_mcp *m, const char *tool, const char *args, size_t len)
{
	oa__buf params;
	int r, res = -1;

	m->err[0] = '\0';
	memset(&params, 0, sizeof params);
	params.alloc = &m->alloc;
	oa__buf_puts(&params, "{\"name\":");
	oa__json_put_str(&params, tool, strlen(tool));
	oa__buf_printf(&params, ",\"arguments\":%.*s}", (int)len, args);
	r = params.err ? mcp_nomem(m) : mcp_rpc(m, "tools/call", params.p,
	                                        &res);
	oa__buf_free(&params);
	oa__buf_reset(&m->text);
	if (r == 1) {
		oa__buf_puts(&m->text, m->err);
		return m->text.err ? mcp_nomem(m) : 1;
	}
	return r != 0 ? r : mcp_format_result(m, res);
}

/* The handler behind every MCP tool: the core has checked the arguments
 * against the server's inputSchema already. */
static int
mcp_tool_handler(void *ctx, oa_args *args, oa_result *out)
{
	struct mcp_tool *k = ctx;
	const char *a;
	size_t n;
	int r;

	a = oa_args_json(args, &n);
	r = mcp_call(k->m, k->remote, a ? a : "{}", a ? n : 2);
	if (r < 0)
		oa_result_printf(out, "MCP server %s: %s", k->m->name,
		                 k->m->err);
	else
		oa_result_write(out, k->m->text.p ? k->m->text.p : "",
		                k->m->text.len);
	return r < 0 ? 1 : r;
}

/* ------------------------------------------------------------- public */

/* see openagent.h */
int
oa_mcp_call(oa_mcp *m, const char *tool, const char *args_json,
            const char **text, size_t *len)
{
	int r;

	if (m == NULL || tool == NULL || text == NULL)
		return OA_ERR_INVALID;
	if (args_json == NULL)
		args_json = "{}";
	r = mcp_call(m, tool, args_json, strlen(args_json));
	*text = r < 0 ? m->err : m->text.p ? m->text.p : "";
	if (len)
		*len = r < 0 ? strlen(m->err) : m->text.len;
	return r;
}

/* The common start of both connects: *out set, even on failure. */
static int
mcp_open(oa_mcp **out, const oa_mcp_options *o, const void *target)
{
	oa_allocator al = {0};
	oa__buf *bufs[6];
	oa_mcp *m;
	int i;

	if (out == NULL)
		return OA_ERR_INVALID;
	if (o && o->net)
		al = o->net->allocator;
	if ((*out = m = oa__malloc(&al, sizeof *m)) == NULL)
		return OA_ERR_NOMEM;
	memset(m, 0, sizeof *m);
	m->alloc = al;
	m->fd = m->wake = -1;
	m->timeout_ms = OA_MCP_DEFAULT_CALL_TIMEOUT_MS;
	if (o && o->call_timeout_ms)
		m->timeout_ms = o->call_timeout_ms < 0 ? -1 :
		                o->call_timeout_ms;
	m->max_msg = o && o->max_message_bytes ? o->max_message_bytes :
	             OA_MCP_MAX_MESSAGE_BYTES;
	bufs[0] = &m->in, bufs[1] = &m->out, bufs[2] = &m->reply;
	bufs[3] = &m->msg, bufs[4] = &m->text, bufs[5] = &m->raw;
	for (i = 0; i < 6; i++)
		bufs[i]->alloc = &m->alloc;
	m->json.alloc = &m->alloc;
	oa__http_init(&m->h);
	oa__http_init(&m->side);
	oa__sse_init(&m->sse, &m->alloc, m->max_msg);
	if (o && o->name && (m->name = oa__strndup(&m->alloc, o->name,
	                                             strlen(o->name))) == NULL)
		return mcp_nomem(m);
	if (target == NULL)
		return oa__fail(m->err, OA_ERR_INVALID, "no MCP server command "
		                "or URL");
	return 0;
}

static int
mcp_start(oa_mcp *m)
{
	int r = mcp_init_session(m);

	return r != 0 ? r : mcp_list_tools(m);
}

/* see openagent.h */
int
oa_mcp_connect(oa_mcp **out, const char *const *argv,
               const oa_mcp_options *o)
{
	int ok = argv != NULL && argv[0] != NULL && argv[0][0] != '\0';
	int r = mcp_open(out, o, ok ? argv : NULL);

	if (r == 0 && ok)
		r = mcp_spawn(*out, argv, o ? o->stderr_fd : 0);
	return r != 0 ? r : mcp_start(*out);
}

/* see openagent.h */
int
oa_mcp_connect_url(oa_mcp **out, const char *url, const oa_mcp_options *o)
{
	static const oa_options none;
	oa_mcp *m;
	int r = mcp_open(out, o, url), i;

	for (i = 0; r == 0 && i < 2; i++) {
		oa__http *h = i ? &(*out)->side : &(*out)->h;

		m = *out;
		m->http = 1;
		h->alloc = &m->alloc;
		if ((r = oa__url_parse(&h->url, url, m->err)) == 0)
			r = oa__http_configure(h, o && o->net ? o->net : &none,
			                       m->err);
		h->request_timeout_ms = 0; /* the call timeout bounds it */
		h->capture = "mcp-session-id";
		m->path = h->url.path[0] ? h->url.path : "/";
	}
	return r != 0 ? r : mcp_start(*out);
}

/* see openagent.h */
const char *
oa_mcp_errmsg(const oa_mcp *m)
{
	return m == NULL ? "out of memory" : m->err;
}

/* see openagent.h */
const char *
oa_mcp_name(const oa_mcp *m)
{
	return m && m->name ? m->name : "";
}

/* see openagent.h */
size_t
oa_mcp_tools(const oa_mcp *m, const oa_tool **tools)
{
	if (tools)
		*tools = m ? m->tools : NULL;
	return m && m->tools ? m->ntools : 0;
}

/* see openagent.h */
void
oa_mcp_watch(oa_mcp *m, const oa_client *c)
{
	if (m != NULL)
		m->h.cancel_fd = m->wake = c ? oa_interrupt_fd(c) : -1;
}

/* see openagent.h */
void
oa_mcp_close(oa_mcp *m)
{
	size_t i;

	if (m == NULL)
		return;
	if (m->fd >= 0)
		close(m->fd); /* the server's stdin ends */
	if (m->pid > 0 && !mcp_await_exit(m, MCP_CLOSE_WAIT_MS)) {
		kill(-m->pid, SIGTERM); /* its process group */
		if (!mcp_await_exit(m, MCP_CLOSE_WAIT_MS)) {
			kill(-m->pid, SIGKILL);
			mcp_reap(m, 1);
		}
	}
	/* End the session; a server may refuse (405): no matter. */
	if (m->http && m->session[0])
		mcp_request(m, &m->side, "DELETE", MCP_ACCEPT, NULL, NULL,
		            oa__now_ms() + MCP_CLOSE_WAIT_MS);
	oa__http_free(&m->h);
	oa__http_free(&m->side);
	oa__sse_free(&m->sse);
	for (i = 0; i < m->ntools; i++)
		oa__free(&m->alloc, m->mt[i].remote);
	oa__free(&m->alloc, m->mt);
	oa__free(&m->alloc, m->tools);
	oa__free(&m->alloc, m->name);
	oa__buf_free(&m->in);
	oa__buf_free(&m->out);
	oa__buf_free(&m->reply);
	oa__buf_free(&m->msg);
	oa__buf_free(&m->text);
	oa__buf_free(&m->raw);
	oa__json_free(&m->json);
	oa__free(&m->alloc, m);
}

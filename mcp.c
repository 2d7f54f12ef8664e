/*
 * mcp.c -- tools from Model Context Protocol servers (an optional module).
 *
 * A client of MCP 2025-11-25 over two transports: newline-delimited
 * JSON-RPC on a child process's stdin/stdout (the library starts it with
 * fork/exec, never a shell), and Streamable HTTP (POST answered with JSON
 * or an event stream, resumed with GET and Last-Event-ID). It runs the
 * lifecycle, lists the tools and hands them out as oa_tool entries whose
 * handlers call tools/call, so they pass through the core's argument
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

/* One listed tool: what the handler needs to call it back. */
struct mcp_tool {
	oa_mcp *m;
	char *remote;   /* the server's name for it */
	char *name;     /* the name the model sees */
	char *desc;
	char *schema;
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
	oa__buf in;             /* bytes read that end no line yet */
	int skipping;           /* dropping the rest of an oversized line */
	/* Streamable HTTP: h carries requests and their streams; side sends
	 * answers, cancellations and DELETE while h is busy or cancelled. */
	oa__http h, side;
	char session[256];
	int reinit;             /* re-initializing after a 404 */
	oa__sse sse;
	/* messages */
	oa__buf out;            /* the request being sent */
	oa__buf reply;          /* an answer to a server's request */
	oa__buf msg;            /* the message being looked at, parsed by json */
	oa__json json;
	oa__buf text;           /* a call's result text */
	/* tools */
	struct mcp_tool *mt;
	oa_tool *tools;
	size_t ntools;
};

static const char *const mcp_versions[] = {
	"2025-11-25", "2025-06-18", "2025-03-26"
};

static int64_t
mcp_left_ms(int64_t deadline)
{
	int64_t now;

	if (deadline == 0)
		return -1;
	now = oa__now_ms();
	return deadline > now ? deadline - now : 0;
}

static void
mcp_buf_init(oa_mcp *m, oa__buf *b)
{
	memset(b, 0, sizeof *b);
	b->alloc = &m->alloc;
}

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

static int
mcp_gone(oa_mcp *m, const char *what)
{
	char how[40] = "closed its output";
	int i;

	/* It is usually exiting: a moment lets the message say how. */
	for (i = 0; i < 50 && !mcp_reap(m, 0); i++)
		poll(NULL, 0, 10);
	if (m->pid == 0 && WIFEXITED(m->status))
		snprintf(how, sizeof how, "exited with status %d",
		         WEXITSTATUS(m->status));
	else if (m->pid == 0 && WIFSIGNALED(m->status))
		snprintf(how, sizeof how, "was killed by signal %d",
		         WTERMSIG(m->status));
	return oa__fail(m->err, OA_ERR_IO, "the MCP server %s %s", how, what);
}

/* Wait until fd is ready for ev, the deadline passes or the watched client
 * is interrupted. */
static int
mcp_wait_fd(oa_mcp *m, int fd, short ev, int64_t deadline)
{
	struct pollfd pf[2];
	int r;

	for (;;) {
		pf[0].fd = fd;
		pf[0].events = ev;
		pf[1].fd = m->wake;
		pf[1].events = POLLIN;
		pf[0].revents = pf[1].revents = 0;
		r = poll(pf, m->wake >= 0 ? 2 : 1, (int)mcp_left_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return oa__fail(m->err, OA_ERR_IO, "poll: %s",
			                strerror(errno));
		if (pf[1].revents)
			return oa__fail(m->err, OA_ERR_INTERRUPTED,
			                "oa_interrupt() was called");
		return r == 0 ? mcp_timed_out(m) : 0;
	}
}

static int
mcp_stdio_write(oa_mcp *m, const oa__buf *b, int64_t deadline)
{
	size_t off = 0;
	ssize_t n;
	int r;

	while (off < b->len) {
		n = send(m->fd, b->p + off, b->len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = mcp_wait_fd(m, m->fd, POLLOUT, deadline)) != 0)
				return r;
		} else {
			return mcp_gone(m, "before reading the request");
		}
	}
	return 0;
}

/* The next line from the server into m->msg. */
static int
mcp_stdio_line(oa_mcp *m, int64_t deadline)
{
	char *nl, *dst;
	ssize_t n;
	size_t len;
	int r;

	for (;;) {
		nl = m->in.len ? memchr(m->in.p, '\n', m->in.len) : NULL;
		if (nl != NULL) {
			len = (size_t)(nl - m->in.p);
			oa__buf_reset(&m->msg);
			if (!m->skipping)
				oa__buf_append(&m->msg, m->in.p, len);
			m->in.len -= len + 1;
			memmove(m->in.p, nl + 1, m->in.len);
			if (m->skipping) {
				m->skipping = 0;
				continue;
			}
			return m->msg.err ? mcp_nomem(m) : 0;
		}
		if (m->in.len > m->max_msg || (m->skipping && m->in.len)) {
			m->in.len = 0;
			if (!m->skipping)
				return m->skipping = 1, mcp_too_long(m);
		}
		if (oa__buf_reserve(&m->in, 65536) != 0)
			return mcp_nomem(m);
		dst = m->in.p + m->in.len;
		n = read(m->fd, dst, 65536);
		if (n > 0) {
			m->in.len += (size_t)n;
		} else if (n == 0) {
			return mcp_gone(m, "before answering");
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((r = mcp_wait_fd(m, m->fd, POLLIN, deadline)) != 0)
				return r;
		} else if (errno != EINTR) {
			return mcp_gone(m, "before answering");
		}
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
	if (r != 0) {
		m->pid = 0;
		return oa__fail(m->err, OA_ERR_FILE, "cannot run \"%s\": %s",
		                argv[0], strerror(r));
	}
	return 0;
}

/* ----------------------------------------------------------- messages */

/* Start a message in b: {"jsonrpc":"2.0", then the caller's members. */
static void
mcp_begin(oa__buf *b)
{
	oa__buf_reset(b);
	oa__buf_puts(b, "{\"jsonrpc\":\"2.0\"");
}

static int mcp_http_post(oa_mcp *m, oa__http *h, const oa__buf *b, long long id,
                     int64_t deadline);

/* Send a message that expects no response: a notification or an answer. */
static int
mcp_send_only(oa_mcp *m, oa__buf *b)
{
	int64_t deadline = m->timeout_ms > 0 ? oa__now_ms() + m->timeout_ms :
	                   0;
	int wake = m->wake, r;

	if (b->err)
		return oa__fail(m->err, b->err, "out of memory for a message");
	if (m->http)
		return mcp_http_post(m, &m->side, b, 0, deadline);
	/* Sent even after an interrupt: it is how the server learns of it. */
	m->wake = -1;
	r = oa__buf_append(b, "\n", 1) != 0 ?
	    mcp_nomem(m) :
	    mcp_stdio_write(m, b, deadline);
	m->wake = wake;
	return r;
}

/* Tell the server the request id is abandoned (best effort). */
static void
mcp_cancel(oa_mcp *m, long long id, const char *why)
{
	char save[OA__ERRLEN];

	memcpy(save, m->err, sizeof save);
	mcp_begin(&m->reply);
	oa__buf_printf(&m->reply, ",\"method\":\"notifications/cancelled\","
	               "\"params\":{\"requestId\":%lld,\"reason\":", id);
	oa__json_put_str(&m->reply, why, strlen(why));
	oa__buf_puts(&m->reply, "}}");
	m->err[0] = '\0';
	mcp_send_only(m, &m->reply);
	memcpy(m->err, save, sizeof save);
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
	if (method < 0) {
		/* A response: ours, or a late one for a cancelled request. */
		return oa__json_int(j, t, &id) == 0 && id == want;
	}
	if (t < 0)
		return 0; /* a notification: nothing to do */
	/* A request from the server: ping is answered, nothing else is
	 * supported (no sampling, elicitation or roots capability). */
	raw = oa__json_raw(j, t, &n); /* a string's still escaped */
	str = oa__json_type(j, t) == OA__JSON_STRING;
	mcp_begin(&m->reply);
	oa__buf_printf(&m->reply, ",\"id\":%s%.*s%s", str ? "\"" : "",
	               (int)n, raw, str ? "\"" : "");
	if (oa__json_eq(j, method, "ping"))
		oa__buf_puts(&m->reply, ",\"result\":{}}");
	else
		oa__buf_puts(&m->reply, ",\"error\":{\"code\":-32601,"
		             "\"message\":\"method not found\"}}");
	/* A failed answer is not the call's failure: a server that is gone
	 * shows when its response does not come. */
	if (mcp_send_only(m, &m->reply) != 0)
		m->err[0] = '\0';
	return 0;
}

/* ------------------------------------------------------ Streamable HTTP */

static int
mcp_headers(oa_mcp *m, oa__buf *b, const char *accept, const char *last_id)
{
	oa__buf_reset(b);
	oa__buf_printf(b, "Accept: %s\r\n", accept);
	if (m->session[0])
		oa__buf_printf(b, "Mcp-Session-Id: %s\r\n", m->session);
	if (m->version[0])
		oa__buf_printf(b, "MCP-Protocol-Version: %s\r\n", m->version);
	if (last_id && last_id[0])
		oa__buf_printf(b, "Last-Event-ID: %s\r\n", last_id);
	return b->err ? mcp_nomem(m) : 0;
}

/* Read a whole (bounded) body into m->msg. */
static int
mcp_read_body(oa_mcp *m, oa__http *h, size_t max)
{
	size_t got;
	int r;

	oa__buf_reset(&m->msg);
	for (;;) {
		if (m->msg.len >= max)
			return mcp_too_long(m);
		if (oa__buf_reserve(&m->msg, 16384) != 0)
			return mcp_nomem(m);
		r = oa__http_read(h, m->msg.p + m->msg.len, 16384, &got,
		                  m->err);
		if (r != 0)
			return r;
		if (got == 0)
			return 0;
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
	oa__buf hb;
	char last[128], *dst;
	size_t room, got;
	int r, resumes = 0;
	long wait;

	mcp_buf_init(m, &hb);
	oa__sse_reset(&m->sse);
	for (;;) {
		r = oa__sse_next(&m->sse, &ev, m->err);
		if (r < 0)
			break;
		if (r > 0) {
			if (ev.len == 0)
				continue; /* a priming event: only an id */
			oa__buf_reset(&m->msg);
			if (oa__buf_append(&m->msg, ev.data, ev.len) != 0) {
				r = mcp_nomem(m);
				break;
			}
			if ((r = mcp_take(m, want)) != 0)
				break;
			continue;
		}
		if ((r = oa__sse_space(&m->sse, &dst, &room, m->err)) != 0)
			break;
		if ((r = oa__http_read(h, dst, room, &got, m->err)) != 0)
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
		wait = m->sse.retry_ms >= 0 ? m->sse.retry_ms :
		       MCP_DEFAULT_RETRY_MS;
		if (deadline && oa__now_ms() + wait > deadline)
			wait = (long)mcp_left_ms(deadline);
		if ((r = mcp_wait_fd(m, -1, 0, oa__now_ms() + wait)) !=
		    OA_ERR_READ_TIMEOUT)
			break;
		m->err[0] = '\0';
		if (deadline && mcp_left_ms(deadline) == 0) {
			r = mcp_timed_out(m);
			break;
		}
		if ((r = mcp_headers(m, &hb, "text/event-stream", last)) != 0)
			break;
		h->deadline = deadline;
		r = oa__http_request(h, "GET", h->url.path[0] ? h->url.path :
		                     "/", hb.p, NULL, 0, m->err);
		if (r != 0)
			break;
		if (h->status != 200 ||
		    strcmp(h->content_type, "text/event-stream") != 0) {
			r = oa__fail(m->err, OA_ERR_HTTP, "the MCP server ended "
			             "the event stream before answering and "
			             "did not resume it (GET: HTTP %d)",
			             h->status);
			break;
		}
		oa__sse_reset(&m->sse);
	}
	oa__buf_free(&hb);
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
	oa__buf hb;
	char q[200];
	int r;

	mcp_buf_init(m, &hb);
	if ((r = mcp_headers(m, &hb, "application/json, text/event-stream",
	                 NULL)) != 0)
		return r;
	h->deadline = deadline;
	r = oa__http_request(h, "POST", h->url.path[0] ? h->url.path : "/",
	                     hb.p, b->p, b->len, m->err);
	oa__buf_free(&hb);
	if (r != 0)
		return r;
	if (h->captured[0])
		snprintf(m->session, sizeof m->session, "%s", h->captured);
	if (h->status == 404 && m->session[0] && want)
		return 1;
	if (h->status < 200 || h->status > 299) {
		q[0] = '\0';
		if (mcp_read_body(m, h, 4096) == 0)
			oa__quote(q, sizeof q, m->msg.p, m->msg.len, 150);
		m->err[0] = '\0';
		return oa__fail(m->err, OA_ERR_HTTP, "the MCP server answered "
		                "HTTP %d %s", h->status, q);
	}
	if (want == 0 || h->status == 202 || h->status == 204) {
		r = mcp_read_body(m, h, 4096); /* nothing expected: drained */
		return want == 0 ? r : oa__fail(m->err, OA_ERR_STREAM, "the "
		                                "MCP server answered a "
		                                "request with HTTP %d and no "
		                                "response", h->status);
	}
	if (strcmp(h->content_type, "text/event-stream") == 0)
		return mcp_read_stream(m, h, want, deadline);
	if ((r = mcp_read_body(m, h, m->max_msg)) != 0)
		return r;
	r = mcp_take(m, want);
	if (r == 0)
		return oa__fail(m->err, OA_ERR_STREAM, "the MCP server answered "
		                "with JSON that is not the response");
	return r > 0 ? 0 : r;
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
	long long id;
	int r, e;

	for (;;) {
		id = ++m->next_id;
		mcp_begin(&m->out);
		oa__buf_printf(&m->out, ",\"id\":%lld,\"method\":\"%s\"", id,
		               method);
		if (params != NULL)
			oa__buf_printf(&m->out, ",\"params\":%s", params);
		oa__buf_puts(&m->out, "}");
		if (m->out.err)
			return oa__fail(m->err, m->out.err, "out of memory "
			                "for the request");
		deadline = m->timeout_ms > 0 ? oa__now_ms() + m->timeout_ms :
		           0;
		if (m->http) {
			r = mcp_http_post(m, &m->h, &m->out, id, deadline);
			if (r == 1 && !m->reinit) {
				/* The session expired: a new one, once. */
				m->session[0] = m->version[0] = '\0';
				m->reinit = 1;
				r = mcp_init_session(m);
				m->reinit = 0;
				if (r != 0)
					return r;
				continue;
			}
			if (r == 1)
				r = oa__fail(m->err, OA_ERR_HTTP, "the MCP "
				             "server answered HTTP 404");
		} else {
			oa__buf_append(&m->out, "\n", 1);
			r = mcp_stdio_write(m, &m->out, deadline);
			while (r == 0 && (r = mcp_stdio_line(m, deadline)) == 0) {
				int t = mcp_take(m, id);

				if (t == 1)
					break;
				if (t == OA_ERR_STREAM)
					m->err[0] = '\0'; /* junk: skipped */
			}
		}
		break;
	}
	if (r == OA_ERR_INTERRUPTED || r == OA_ERR_READ_TIMEOUT ||
	    r == OA_ERR_DEADLINE)
		mcp_cancel(m, id, r == OA_ERR_INTERRUPTED ? "interrupted" :
		       "timed out");
	if (r == OA_ERR_DEADLINE) {
		m->err[0] = '\0';
		r = mcp_timed_out(m);
	}
	if (r != 0)
		return r;
	if ((e = oa__json_get(j, 0, "error")) >= 0) {
		long long code = 0;
		const char *msg;

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

/* A notification (no id, no response). */
static int
mcp_notify(oa_mcp *m, const char *method)
{
	mcp_begin(&m->reply);
	oa__buf_printf(&m->reply, ",\"method\":\"%s\"}", method);
	return mcp_send_only(m, &m->reply);
}

/* initialize, then notifications/initialized. */
static int
mcp_init_session(oa_mcp *m)
{
	oa__json *j = &m->json;
	const char *v, *name;
	size_t i, n;
	int res, r;

	r = mcp_rpc(m, "initialize", "{\"protocolVersion\":\"2025-11-25\","
	        "\"capabilities\":{},\"clientInfo\":{\"name\":\"openagent\","
	        "\"version\":\"" OA_VERSION "\"}}", &res);
	if (r != 0)
		return r < 0 ? r : OA_ERR_SERVER;
	v = oa__json_str(j, oa__json_get(j, res, "protocolVersion"), &n);
	for (i = 0; v != NULL && i < sizeof mcp_versions / sizeof *mcp_versions; i++)
		if (strcmp(v, mcp_versions[i]) == 0)
			break;
	if (v == NULL || i == sizeof mcp_versions / sizeof *mcp_versions)
		return oa__fail(m->err, OA_ERR_SERVER, "the MCP server speaks "
		                "protocol version \"%.40s\"; this client "
		                "speaks 2025-11-25, 2025-06-18 and 2025-03-26",
		                v ? v : "(none)");
	memcpy(m->version, v, n + 1);
	name = oa__json_str(j, oa__json_get(j, oa__json_get(j, res,
	                    "serverInfo"), "name"), &n);
	if (m->name == NULL)
		m->name = oa__strndup(&m->alloc, name && n ? name : "mcp",
		                      name && n ? n : 3);
	if (m->name == NULL)
		return mcp_nomem(m);
	return mcp_notify(m, "notifications/initialized");
}

static int
mcp_name_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
	                  "VWXYZ0123456789_-");

	return n > 0 && n <= 64 && s[n] == '\0';
}

static int
mcp_name_taken(const oa_mcp *m, const char *s)
{
	size_t i;

	for (i = 0; i < m->ntools; i++)
		if (strcmp(m->mt[i].name, s) == 0)
			return 1;
	return 0;
}

/* The name the model sees: the tool's own when it is valid and free,
 * else <server>_<tool> with every other byte made '_', cut to 64. */
static char *
mcp_expose(oa_mcp *m, const char *remote)
{
	char buf[65];
	size_t i, k = 0;
	const char *parts[2];
	int p;

	if (mcp_name_ok(remote) && !mcp_name_taken(m, remote))
		return oa__strndup(&m->alloc, remote, strlen(remote));
	parts[0] = m->name;
	parts[1] = remote;
	for (p = 0; p < 2; p++) {
		for (i = 0; parts[p][i] && k < 64; i++)
			buf[k++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
			                  "KLMNOPQRSTUVWXYZ0123456789-",
			                  parts[p][i]) ? parts[p][i] : '_';
		if (p == 0 && k < 64)
			buf[k++] = '_';
	}
	buf[k] = '\0';
	if (!mcp_name_ok(buf) || mcp_name_taken(m, buf)) {
		oa__fail(m->err, OA_ERR_INVALID, "MCP server %s: the tool "
		         "\"%.64s\" cannot be offered: its name is not "
		         "[A-Za-z0-9_-]{1,64} or is taken, and \"%s\" is taken "
		         "too", m->name, remote, buf);
		return NULL;
	}
	return oa__strndup(&m->alloc, buf, k);
}

/* One element of tools/list's tools array. */
static int
mcp_add_tool(oa_mcp *m, int t)
{
	oa__json *j = &m->json;
	struct mcp_tool *k, *v;
	const char *s, *raw;
	size_t n;
	int sch = oa__json_get(j, t, "inputSchema");

	if (m->ntools == MCP_MAX_TOOLS)
		return oa__fail(m->err, OA_ERR_LIMIT, "the MCP server lists "
		                "more than %d tools", MCP_MAX_TOOLS);
	v = oa__realloc(&m->alloc, m->mt, (m->ntools + 1) * sizeof *v);
	if (v == NULL)
		return mcp_nomem(m);
	m->mt = v;
	k = &v[m->ntools];
	memset(k, 0, sizeof *k);
	k->m = m;
	/* The schema's raw text first: reading strings unescapes them. */
	if (oa__json_type(j, sch) == OA__JSON_OBJECT) {
		raw = oa__json_raw(j, sch, &n);
		k->schema = oa__strndup(&m->alloc, raw, n);
	} else {
		k->schema = oa__strndup(&m->alloc, "{\"type\":\"object\"}", 17);
	}
	s = oa__json_str(j, oa__json_get(j, t, "name"), &n);
	if (s == NULL || n == 0 || memchr(s, '\0', n)) {
		oa__free(&m->alloc, k->schema);
		return oa__fail(m->err, OA_ERR_STREAM, "the MCP server lists a "
		                "tool without a name");
	}
	k->remote = oa__strndup(&m->alloc, s, n);
	s = oa__json_str(j, oa__json_get(j, t, "description"), &n);
	k->desc = oa__strndup(&m->alloc, s ? s : "", s ? n : 0);
	if (k->remote != NULL)
		k->name = mcp_expose(m, k->remote);
	m->ntools++; /* freed with the rest even when incomplete */
	if (k->schema == NULL || k->remote == NULL || k->desc == NULL)
		return mcp_nomem(m);
	return k->name == NULL ? mcp_nomem(m) : 0;
}

static int mcp_tool_handler(void *ctx, oa_args *args, oa_result *out);

/* tools/list, every page, then the oa_tool table. */
static int
mcp_list_tools(oa_mcp *m)
{
	oa__json *j = &m->json;
	oa__buf params, cursor;
	const char *s;
	size_t n, i;
	int res, r = 0, pages, a, t;

	mcp_buf_init(m, &params);
	mcp_buf_init(m, &cursor);
	for (pages = 0; r == 0; pages++) {
		oa__buf_reset(&params);
		oa__buf_puts(&params, "{");
		if (cursor.len) {
			oa__buf_puts(&params, "\"cursor\":");
			oa__json_put_str(&params, cursor.p, cursor.len);
		}
		oa__buf_puts(&params, "}");
		if (pages == MCP_MAX_PAGES) {
			r = oa__fail(m->err, OA_ERR_LIMIT, "tools/list goes on "
			             "for more than %d pages", MCP_MAX_PAGES);
			break;
		}
		if (params.err) {
			r = mcp_nomem(m);
			break;
		}
		if ((r = mcp_rpc(m, "tools/list", params.p, &res)) != 0) {
			r = r < 0 ? r : OA_ERR_SERVER;
			break;
		}
		a = oa__json_get(j, res, "tools");
		for (i = 0; r == 0 && (t = oa__json_at(j, a, (int)i)) >= 0;
		     i++)
			r = mcp_add_tool(m, t);
		s = oa__json_str(j, oa__json_get(j, res, "nextCursor"), &n);
		if (s == NULL || n == 0)
			break;
		oa__buf_reset(&cursor);
		oa__buf_append(&cursor, s, n);
	}
	oa__buf_free(&params);
	oa__buf_free(&cursor);
	if (r != 0)
		return r;
	m->tools = oa__mallocarray(&m->alloc, m->ntools ? m->ntools : 1,
	                           sizeof *m->tools);
	if (m->tools == NULL)
		return mcp_nomem(m);
	for (i = 0; i < m->ntools; i++) {
		m->tools[i].name = m->mt[i].name;
		m->tools[i].description = m->mt[i].desc;
		m->tools[i].parameters = m->mt[i].schema;
		m->tools[i].handler = mcp_tool_handler;
		m->tools[i].ctx = &m->mt[i];
	}
	return 0;
}

/* ------------------------------------------------------------ results */

/* A content item that is not text: what it is, then its JSON, so the
 * model sees it and nothing is dropped. */
static void
mcp_describe(oa_mcp *m, int item)
{
	oa__json *j = &m->json;
	const char *type, *mime, *uri;
	size_t dn = 0;

	oa__buf_puts(&m->text, "[");
	oa__json_raw(j, oa__json_get(j, item, "data"), &dn);
	type = oa__json_str(j, oa__json_get(j, item, "type"), NULL);
	mime = oa__json_str(j, oa__json_get(j, item, "mimeType"), NULL);
	uri = oa__json_str(j, oa__json_get(j, oa__json_get(j, item,
	                   "resource"), "uri"), NULL);
	if (uri == NULL)
		uri = oa__json_str(j, oa__json_get(j, item, "uri"), NULL);
	oa__buf_puts(&m->text, type ? type : "content");
	if (mime)
		oa__buf_printf(&m->text, " %s", mime);
	if (uri)
		oa__buf_printf(&m->text, " %s", uri);
	if (dn)
		oa__buf_printf(&m->text, ", %zu bytes of base64", dn);
	oa__buf_puts(&m->text, "] ");
}

/* tools/call's result into m->text; 1 when it is an error result. */
static int
mcp_format_result(oa_mcp *m, int res)
{
	oa__json *j = &m->json;
	oa__buf raw, scj;
	const char *s;
	size_t n, i;
	int content = oa__json_get(j, res, "content"), item, pieces = 0;
	int sc = oa__json_get(j, res, "structuredContent");

	mcp_buf_init(m, &raw);
	mcp_buf_init(m, &scj);
	oa__buf_reset(&m->text);
	/* Raw copies of containers are taken before any string inside them
	 * is read: reading unescapes and NUL-terminates it in place. */
	if (sc >= 0) {
		s = oa__json_raw(j, sc, &n);
		oa__buf_append(&scj, s, n);
	}
	for (i = 0; (item = oa__json_at(j, content, (int)i)) >= 0; i++) {
		oa__buf_reset(&raw);
		s = oa__json_raw(j, item, &n);
		oa__buf_append(&raw, s, n); /* before its strings change */
		if (pieces++)
			oa__buf_puts(&m->text, "\n");
		if (oa__json_eq(j, oa__json_get(j, item, "type"), "text")) {
			s = oa__json_str(j, oa__json_get(j, item, "text"), &n);
			oa__buf_append(&m->text, s ? s : "", s ? n : 0);
			/* The serialized copy the spec asks servers to add. */
			if (s && sc >= 0 && n == scj.len &&
			    memcmp(s, scj.p, n) == 0)
				sc = -1;
		} else {
			mcp_describe(m, item);
			oa__buf_append(&m->text, raw.p, raw.len);
		}
	}
	if (sc >= 0) {
		if (pieces++)
			oa__buf_puts(&m->text, "\nstructuredContent: ");
		oa__buf_append(&m->text, scj.p, scj.len);
	}
	oa__buf_free(&raw);
	oa__buf_free(&scj);
	if (m->text.err)
		return oa__fail(m->err, m->text.err, "the tool result is too "
		                "large or memory ran out");
	return oa__json_bool(j, oa__json_get(j, res, "isError")) == 1;
}

/* ------------------------------------------------------------- public */

static int
mcp_call(oa_mcp *m, const char *tool, const char *args, size_t len)
{
	oa__buf params;
	int r, res;

	m->err[0] = '\0';
	mcp_buf_init(m, &params);
	oa__buf_puts(&params, "{\"name\":");
	oa__json_put_str(&params, tool, strlen(tool));
	oa__buf_puts(&params, ",\"arguments\":");
	oa__buf_append(&params, args, len);
	oa__buf_puts(&params, "}");
	r = params.err ? mcp_nomem(m) :
	    mcp_rpc(m, "tools/call", params.p, &res);
	oa__buf_free(&params);
	oa__buf_reset(&m->text);
	if (r == 1) {
		oa__buf_puts(&m->text, m->err);
		return m->text.err ? OA_ERR_NOMEM : 1;
	}
	return r != 0 ? r : mcp_format_result(m, res);
}

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
	*text = r >= 0 && m->text.p ? m->text.p : r >= 0 ? "" : m->err;
	if (len)
		*len = r >= 0 ? m->text.len : strlen(m->err);
	return r;
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
	if (r < 0) {
		oa_result_printf(out, "MCP server %s: %s", k->m->name,
		                 k->m->err);
		return 1;
	}
	oa_result_write(out, k->m->text.p ? k->m->text.p : "",
	                k->m->text.len);
	return r;
}

static oa_mcp *
mcp_create(const oa_mcp_options *o)
{
	oa_allocator al = {0};
	oa_mcp *m;

	if (o && o->net)
		al = o->net->allocator;
	m = oa__malloc(&al, sizeof *m);
	if (m == NULL)
		return NULL;
	memset(m, 0, sizeof *m);
	m->alloc = al;
	m->fd = m->wake = -1;
	m->timeout_ms = OA_MCP_DEFAULT_CALL_TIMEOUT_MS;
	m->max_msg = OA_MCP_MAX_MESSAGE_BYTES;
	if (o && o->call_timeout_ms)
		m->timeout_ms = o->call_timeout_ms < 0 ? -1 :
		                o->call_timeout_ms;
	if (o && o->max_message_bytes)
		m->max_msg = o->max_message_bytes;
	mcp_buf_init(m, &m->in);
	mcp_buf_init(m, &m->out);
	mcp_buf_init(m, &m->reply);
	mcp_buf_init(m, &m->msg);
	mcp_buf_init(m, &m->text);
	m->json.alloc = &m->alloc;
	oa__http_init(&m->h);
	oa__http_init(&m->side);
	oa__sse_init(&m->sse, &m->alloc, m->max_msg);
	if (o && o->name && (m->name = oa__strndup(&m->alloc, o->name,
	                                             strlen(o->name))) == NULL)
		mcp_nomem(m);
	return m;
}

static int
mcp_start(oa_mcp *m)
{
	int r;

	if (m->err[0])
		return OA_ERR_NOMEM;
	if ((r = mcp_init_session(m)) != 0)
		return r;
	return mcp_list_tools(m);
}

/* see openagent.h */
int
oa_mcp_connect(oa_mcp **out, const char *const *argv,
               const oa_mcp_options *o)
{
	oa_mcp *m;
	int r;

	if (out == NULL)
		return OA_ERR_INVALID;
	if ((*out = m = mcp_create(o)) == NULL)
		return OA_ERR_NOMEM;
	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
		return oa__fail(m->err, OA_ERR_INVALID, "no command to run the "
		                "MCP server");
	if ((r = mcp_spawn(m, argv, o ? o->stderr_fd : 0)) != 0)
		return r;
	return mcp_start(m);
}

/* see openagent.h */
int
oa_mcp_connect_url(oa_mcp **out, const char *url, const oa_mcp_options *o)
{
	static const oa_options none;
	const oa_options *net = o && o->net ? o->net : &none;
	oa_mcp *m;
	int r, i;

	if (out == NULL)
		return OA_ERR_INVALID;
	if ((*out = m = mcp_create(o)) == NULL)
		return OA_ERR_NOMEM;
	if (url == NULL)
		return oa__fail(m->err, OA_ERR_INVALID, "no MCP server URL");
	m->http = 1;
	for (i = 0; i < 2; i++) {
		oa__http *h = i ? &m->side : &m->h;

		if ((r = oa__url_parse(&h->url, url, m->err)) != 0)
			return r;
		h->alloc = &m->alloc;
		if ((r = oa__http_configure(h, net, m->err)) != 0)
			return r;
		h->request_timeout_ms = 0; /* the call timeout bounds it */
		h->capture = "mcp-session-id";
	}
	return mcp_start(m);
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
	if (m == NULL)
		return;
	m->wake = c ? oa_interrupt_fd(c) : -1;
	m->h.cancel_fd = m->wake;
}

/* Wait up to ms for the child to end. */
static int
mcp_await_exit(oa_mcp *m, int ms)
{
	int64_t until = oa__now_ms() + ms;

	while (!mcp_reap(m, 0)) {
		if (oa__now_ms() >= until)
			return 0;
		poll(NULL, 0, 10);
	}
	return 1;
}

/* see openagent.h */
void
oa_mcp_close(oa_mcp *m)
{
	size_t i;
	oa__buf hb;

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
	if (m->http && m->session[0]) {
		/* End the session; a server may refuse (405): no matter. */
		mcp_buf_init(m, &hb);
		if (mcp_headers(m, &hb, "application/json, text/event-stream",
		            NULL) == 0) {
			m->side.deadline = oa__now_ms() + MCP_CLOSE_WAIT_MS;
			oa__http_request(&m->side, "DELETE", m->side.url.path[0]
			                 ? m->side.url.path : "/", hb.p, NULL,
			                 0, NULL);
		}
		oa__buf_free(&hb);
	}
	oa__http_free(&m->h);
	oa__http_free(&m->side);
	oa__sse_free(&m->sse);
	for (i = 0; i < m->ntools; i++) {
		oa__free(&m->alloc, m->mt[i].remote);
		oa__free(&m->alloc, m->mt[i].name);
		oa__free(&m->alloc, m->mt[i].desc);
		oa__free(&m->alloc, m->mt[i].schema);
	}
	oa__free(&m->alloc, m->mt);
	oa__free(&m->alloc, m->tools);
	oa__free(&m->alloc, m->name);
	oa__buf_free(&m->in);
	oa__buf_free(&m->out);
	oa__buf_free(&m->reply);
	oa__buf_free(&m->msg);
	oa__buf_free(&m->text);
	oa__json_free(&m->json);
	oa__free(&m->alloc, m);
}

/*
 * test_net.c -- the network layer against real servers on 127.0.0.1:
 * TLS (right CA, unknown CA, wrong name, expired, insecure), keep-alive,
 * the stale-connection retry, draining an unread body end, retries for
 * refused connections and 429/503, the three timeouts, proxies (forward
 * and CONNECT), and tracing with the key redacted.
 *
 * The servers are test/net_server.py (OA_NET_SERVER overrides the path),
 * started once; it makes the certificates with the openssl command in a
 * temporary directory. Most tests drive oa__http directly; the
 * conversation tests go through the public API.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oa_private.h"
#include "test.h"

static struct {
	int started, ok;
	pid_t pid;
	FILE *to, *from;
	char dir[64];
	int plain, tls, wrong, expired, unknown, proxy, authproxy, backlog;
} srv;

/* The number after "key": in the helper's JSON line. */
static int
port_of(const char *json, const char *key)
{
	char k[32];
	const char *p;

	snprintf(k, sizeof k, "\"%s\": ", key);
	p = strstr(json, k);
	return p ? atoi(p + strlen(k)) : 0;
}

static int
server(void)
{
	int in[2], out[2];
	char line[512];
	const char *script = getenv("OA_NET_SERVER");

	if (srv.started)
		return srv.ok;
	srv.started = 1;
	strcpy(srv.dir, "/tmp/oa_test_net.XXXXXX");
	if (mkdtemp(srv.dir) == NULL || pipe(in) != 0 || pipe(out) != 0)
		return 0;
	if ((srv.pid = fork()) == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execlp("python3", "python3", script ? script :
		       "test/net_server.py", srv.dir, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	srv.to = fdopen(in[1], "w");
	srv.from = fdopen(out[0], "r");
	if (srv.pid < 0 || !srv.to || !srv.from ||
	    !fgets(line, sizeof line, srv.from)) {
		fprintf(stderr, "test_net: net_server.py did not start\n");
		return 0;
	}
	srv.plain = port_of(line, "plain");
	srv.tls = port_of(line, "tls");
	srv.wrong = port_of(line, "wrong");
	srv.expired = port_of(line, "expired");
	srv.unknown = port_of(line, "unknown");
	srv.proxy = port_of(line, "proxy");
	srv.authproxy = port_of(line, "authproxy");
	srv.backlog = port_of(line, "backlog");
	srv.ok = srv.plain && srv.backlog;
	return srv.ok;
}

static void
server_stop(void)
{
	char cmd[128];

	if (srv.to)
		fclose(srv.to);
	if (srv.from)
		fclose(srv.from);
	if (srv.pid > 0) {
		kill(srv.pid, SIGTERM);
		waitpid(srv.pid, NULL, 0);
	}
	if (srv.dir[0] && strlen(srv.dir) > 10) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", srv.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_net: could not remove %s\n",
			        srv.dir);
	}
}

static const char *
file(const char *name)
{
	static char path[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof path[i], "%s/%s", srv.dir, name);
	return path[i];
}

/* Options with no proxy from the environment and the test CA. */
static oa_options
opts(void)
{
	oa_options o;

	memset(&o, 0, sizeof o);
	o.proxy = "";
	o.ca_file = file("bundle.pem");
	return o;
}

static int
setup(oa__http *h, const char *scheme_host, int port, const oa_options *o,
      char *err)
{
	char url[128];
	int r;

	snprintf(url, sizeof url, "%s:%d", scheme_host, port);
	oa__http_init(h);
	err[0] = '\0';
	if ((r = oa__url_parse(&h->url, url, err)) != 0)
		return r;
	return oa__http_configure(h, o, err);
}

/* POST to path and read the whole body into out. */
static int
fetch(oa__http *h, const char *path, char *out, size_t cap, char *err)
{
	size_t len = 0, got;
	int r;

	out[0] = '\0';
	err[0] = '\0';
	if ((r = oa__http_request(h, "POST", path, NULL, "{}", 2, err)) != 0)
		return r;
	do {
		r = oa__http_read(h, out + len, cap - 1 - len, &got, err);
		len += got;
		out[len] = '\0';
	} while (r == 0 && got > 0 && len + 1 < cap);
	return r;
}

/* The "conn=" number of an echo body. */
static int
conn_of(const char *body)
{
	const char *p = strstr(body, "conn=");

	return p ? atoi(p + 5) : -1;
}

static int64_t
ms_since(int64_t t0)
{
	return oa__now_ms() - t0;
}

/* ---------------------------------------------------------------- TLS */

#ifndef OA_NO_TLS
static void
tls_two_turns(void)
{
	oa_options o = opts();
	oa_client c;
	const char *text;
	char url[128], first[64];
	int conn = -1;

	CHECK(server());
	snprintf(url, sizeof url, "https://127.0.0.1:%d/v1", srv.tls);
	o.base_url = url;
	o.model = "m";
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(oa_ask(&c, "one", &text, NULL), 0);
	snprintf(first, sizeof first, "%s", text);
	CHECK_INT(oa_ask(&c, "two", &text, NULL), 0);
	sscanf(first, "conn=%d", &conn);
	CHECK(conn > 0);
	snprintf(url, sizeof url, "conn=%d req=1", conn);
	CHECK_STR(first, url);
	/* the second turn on the same connection */
	snprintf(url, sizeof url, "conn=%d req=2", conn);
	CHECK_STR(text, url);
	oa_free(&c);
}

static void
tls_keep_alive(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256], want[64];
	int i, conn;

	CHECK(server());
	CHECK_INT(setup(&h, "https://localhost", srv.tls, &o, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	conn = conn_of(body);
	for (i = 2; i <= 4; i++) {
		CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
		snprintf(want, sizeof want, "conn=%d req=%d ", conn, i);
		CHECK_HAS(body, want);
	}
	oa__http_free(&h);
}

/* A TLS failure: the error and its message. */
static void
tls_expect(const char *host, int port, const char *ca, int insecure,
           const char *msg)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256];

	o.ca_file = file(ca);
	o.insecure = insecure;
	CHECK_INT(setup(&h, host, port, &o, err), 0);
	if (msg == NULL) {
		CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
		CHECK_HAS(body, "conn=");
	} else {
		CHECK_INT(fetch(&h, "/echo", body, sizeof body, err),
		          OA_ERR_TLS);
		CHECK_HAS(err, msg);
		CHECK_HAS(err, "BearSSL error");
	}
	oa__http_free(&h);
}

static void
tls_unknown_ca(void)
{
	CHECK(server());
	tls_expect("https://127.0.0.1", srv.unknown, "ca.pem", 0,
	           "unknown authority");
}

static void
tls_wrong_name(void)
{
	CHECK(server());
	/* an IP literal: our iPAddress check; a name: BearSSL's */
	tls_expect("https://127.0.0.1", srv.wrong, "ca.pem", 0,
	           "name mismatch");
	CHECK(!test_failed_);
	tls_expect("https://localhost", srv.wrong, "ca.pem", 0,
	           "name mismatch");
}

static void
tls_expired(void)
{
	CHECK(server());
	tls_expect("https://127.0.0.1", srv.expired, "ca.pem", 0,
	           "expired");
}

static void
tls_insecure(void)
{
	CHECK(server());
	tls_expect("https://127.0.0.1", srv.unknown, "ca.pem", 1, NULL);
	CHECK(!test_failed_);
	tls_expect("https://127.0.0.1", srv.expired, "ca.pem", 1, NULL);
	CHECK(!test_failed_);
	/* the environment switch */
	setenv("OPEN_AGENT_INSECURE", "1", 1);
	tls_expect("https://127.0.0.1", srv.wrong, "ca.pem", 0, NULL);
	unsetenv("OPEN_AGENT_INSECURE");
}

static void
tls_ca_file(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256];
	FILE *f;

	CHECK(server());
	o.ca_file = file("missing.pem");
	CHECK_INT(setup(&h, "https://127.0.0.1", srv.tls, &o, err),
	          OA_ERR_TLS);
	CHECK_HAS(err, "cannot read the CA file");
	CHECK_HAS(err, "missing.pem");
	oa__http_free(&h);

	f = fopen(file("empty.pem"), "w");
	CHECK(f != NULL);
	fputs("no certificates here\n", f);
	fclose(f);
	o.ca_file = file("empty.pem");
	CHECK_INT(setup(&h, "https://127.0.0.1", srv.tls, &o, err),
	          OA_ERR_TLS);
	CHECK_HAS(err, "holds no certificate");
	oa__http_free(&h);

	/* http:// loads nothing, so a bad CA file does not matter */
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	oa__http_free(&h);

	/* SSL_CERT_FILE when no ca_file is given */
	o.ca_file = NULL;
	setenv("SSL_CERT_FILE", file("ca.pem"), 1);
	CHECK_INT(setup(&h, "https://127.0.0.1", srv.tls, &o, err), 0);
	unsetenv("SSL_CERT_FILE");
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK_HAS(body, "req=1 ");
	oa__http_free(&h);
}

static void
tls_conversation_errors(void)
{
	oa_options o = opts();
	oa_client c;
	const char *text;
	char url[128];

	CHECK(server());
	snprintf(url, sizeof url, "https://127.0.0.1:%d/v1", srv.expired);
	o.base_url = url;
	o.ca_file = file("ca.pem");
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(oa_ask(&c, "hi", &text, NULL), OA_ERR_TLS);
	CHECK_HAS(oa_errmsg(&c), "expired");
	oa_free(&c);
}

static void
proxy_connect(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256], px[64];

	CHECK(server());
	snprintf(px, sizeof px, "http://127.0.0.1:%d", srv.proxy);
	o.proxy = px;
	/* model.test does not resolve: only the proxy can reach it */
	CHECK_INT(setup(&h, "https://model.test", srv.tls, &o, err), 0);
	CHECK(h.use_proxy);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK_HAS(body, "req=1 ");
	CHECK_HAS(body, "abs=0 via=-");
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK_HAS(body, "req=2 ");
	oa__http_free(&h);
}
#else
static void
no_tls_build(void)
{
	oa_options o;
	oa__http h;
	char err[OA__ERRLEN];

	memset(&o, 0, sizeof o);
	CHECK_INT(setup(&h, "https://127.0.0.1", 443, &o, err), OA_ERR_URL);
	CHECK_STR(err, "https:// needs a build with TLS");
	oa__http_free(&h);
}
#endif

/* ---------------------------------------------------------------- reuse */

static void
keep_alive_many(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256], want[64];
	int i, conn;

	CHECK(server());
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	conn = conn_of(body);
	CHECK(conn > 0);
	for (i = 2; i <= 10; i++) {
		CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
		snprintf(want, sizeof want, "conn=%d req=%d ", conn, i);
		CHECK_HAS(body, want);
	}
	oa__http_free(&h);
}

static void
keep_alive_refused(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256];
	int conn;

	CHECK(server());
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	/* Connection: close */
	CHECK_INT(fetch(&h, "/close", body, sizeof body, err), 0);
	conn = conn_of(body);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK(conn_of(body) != conn);
	CHECK_HAS(body, "req=1 ");
	/* HTTP/1.0: not reused although the server keeps it open */
	CHECK_INT(fetch(&h, "/http10", body, sizeof body, err), 0);
	conn = conn_of(body);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK(conn_of(body) != conn);
	CHECK_HAS(body, "req=1 ");
	oa__http_free(&h);
}

static void
stale_connection(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256], log[8192];
	const char *path = file("stale.txt"), *resend;
	int conn, fd, saved, r;
	size_t n;
	FILE *f;

	CHECK(server());
	o.max_retries = OA_OMIT; /* the stale retry is not one of these */
	o.debug = 1;
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	close(fd);
	r = fetch(&h, "/drop-second", body, sizeof body, err);
	conn = conn_of(body);
	/* the server drops the pooled connection on this request; the
	 * trace says why the request goes out twice */
	if (r == 0 && strstr(body, "req=1 ") != NULL)
		r = fetch(&h, "/drop-second", body, sizeof body, err);
	else
		r = -1;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	CHECK_INT(r, 0);
	CHECK((f = fopen(path, "r")) != NULL);
	n = fread(log, 1, sizeof log - 1, f);
	fclose(f);
	log[n] = '\0';
	resend = strstr(log, "oa: * the kept-alive connection was closed "
	                "before an answer: sending the request again on a "
	                "new one\n");
	CHECK(resend != NULL);
	CHECK(strstr(log, "oa: > POST /drop-second") < resend);
	CHECK_HAS(resend, "oa: > POST /drop-second");
	CHECK_STR(err, "");
	CHECK(conn_of(body) != conn);
	CHECK_HAS(body, "req=1 ");
	oa__http_free(&h);
}

/* Read until the body holds [DONE], as the client does, then stop. */
static int
read_to_done(oa__http *h, char *err)
{
	char body[512];
	size_t len = 0, got;
	int r;

	body[0] = '\0';
	while (strstr(body, "[DONE]") == NULL) {
		r = oa__http_read(h, body + len, sizeof body - 1 - len, &got,
		                  err);
		if (r != 0 || got == 0)
			return -1;
		len += got;
		body[len] = '\0';
	}
	return 0;
}

static void
drain_unread_end(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256];
	struct timespec ts = { 0, 300 * 1000000L };
	int conn;

	CHECK(server());
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	conn = conn_of(body);
	/* the last chunk follows 50 ms after [DONE]: here by the next
	 * request, so the connection is reused */
	CHECK_INT(oa__http_request(&h, "POST", "/sse/50", NULL, "", 0, err),
	          0);
	CHECK_INT(read_to_done(&h, err), 0);
	CHECK(!h.body_done);
	nanosleep(&ts, NULL);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK_INT(conn_of(body), conn);
	CHECK_HAS(body, "req=3 ");
	/* 1.5 s later: not waited for; a new connection */
	CHECK_INT(oa__http_request(&h, "POST", "/sse/1500", NULL, "", 0,
	                           err), 0);
	CHECK_INT(read_to_done(&h, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK(conn_of(body) != conn);
	CHECK_HAS(body, "req=1 ");
	oa__http_free(&h);
}

/* ---------------------------------------------------------------- retries */

static void
retry_429_after(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256];
	int64_t t0;

	CHECK(server());
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	t0 = oa__now_ms();
	CHECK_INT(fetch(&h, "/r429/a", body, sizeof body, err), 0);
	CHECK_INT(h.status, 200);
	CHECK_HAS(body, "n=2 ");
	/* Retry-After: 1 was honoured (a lower bound, not a speed) */
	CHECK(ms_since(t0) >= 950);
	oa__http_free(&h);
}

/* Retry-After: 3600 waits only max_retry_after_ms. The request deadline
 * (5 s) shows which cap applied: the retry is made only when its pause
 * ends before the deadline, and otherwise the 429 is the answer. */
static void
retry_after_cap(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256];
	int64_t t0;

	CHECK(server());
	o.request_timeout_ms = 5000;
	o.max_retry_after_ms = 200;
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	t0 = oa__now_ms();
	CHECK_INT(fetch(&h, "/r429hour/a", body, sizeof body, err), 0);
	CHECK_INT(h.status, 200);
	CHECK_HAS(body, "n=2 ");
	CHECK(ms_since(t0) >= 190);
	oa__http_free(&h);

	/* the default cap, 30 s, does not fit in 5 s: the 429 comes back */
	o.max_retry_after_ms = 0;
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	CHECK_INT(fetch(&h, "/r429hour/b", body, sizeof body, err), 0);
	CHECK_INT(h.status, 429);
	CHECK_HAS(body, "come back later");
	oa__http_free(&h);

	o.max_retry_after_ms = -1;
	oa__http_init(&h);
	CHECK_INT(oa__url_parse(&h.url, "http://127.0.0.1:1", err), 0);
	err[0] = '\0';
	CHECK_INT(oa__http_configure(&h, &o, err), OA_ERR_INVALID);
	CHECK_STR(err, "max_retry_after_ms must be 0 (the default) or "
	          "positive");
	oa__http_free(&h);
}

static void
retry_503(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256];

	CHECK(server());
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	CHECK_INT(fetch(&h, "/r503/a", body, sizeof body, err), 0);
	CHECK_INT(h.status, 200);
	CHECK_HAS(body, "n=2 ");
	oa__http_free(&h);
}

static void
retry_exhausted(void)
{
	oa_options o = opts();
	oa__http h;
	oa_client c;
	const char *text;
	char err[OA__ERRLEN], body[256], url[128];

	CHECK(server());
	o.max_retries = 3;
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	CHECK_INT(fetch(&h, "/always429/a", body, sizeof body, err), 0);
	CHECK_INT(h.status, 429);
	CHECK_STR(body, "{\"error\":{\"message\":\"slow down (attempt 4)\"}}");
	oa__http_free(&h);

	o.max_retries = OA_OMIT;
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	CHECK_INT(fetch(&h, "/always429/b", body, sizeof body, err), 0);
	CHECK_INT(h.status, 429);
	CHECK_HAS(body, "(attempt 1)");
	oa__http_free(&h);

	/* through the client: the server's message, after the default 2 */
	o = opts();
	snprintf(url, sizeof url, "http://127.0.0.1:%d/always429/c",
	         srv.plain);
	o.base_url = url;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(oa_ask(&c, "hi", &text, NULL), OA_ERR_HTTP);
	CHECK_INT(oa_http_status(&c), 429);
	CHECK_HAS(oa_errmsg(&c), "slow down (attempt 3)");
	oa_free(&c);
}

static void
retry_refused(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256], line[32];
	int port;

	CHECK(server());
	/* nothing listens for 600 ms, as while a server starts */
	fputs("later 600\n", srv.to);
	fflush(srv.to);
	CHECK(fgets(line, sizeof line, srv.from) != NULL);
	port = atoi(line);
	CHECK(port > 0);
	o.max_retries = 5;
	CHECK_INT(setup(&h, "http://127.0.0.1", port, &o, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK_HAS(body, "conn=1 req=1 ");
	CHECK_STR(err, "");
	oa__http_free(&h);

	/* without retries a refusal is final */
	fputs("later 5000\n", srv.to);
	fflush(srv.to);
	CHECK(fgets(line, sizeof line, srv.from) != NULL);
	o.max_retries = OA_OMIT;
	CHECK_INT(setup(&h, "http://127.0.0.1", atoi(line), &o, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), OA_ERR_CONNECT);
	CHECK_HAS(err, "Connection refused");
	oa__http_free(&h);
}

static int cancel_pipe[2];

static void *
cancel_later(void *arg)
{
	struct timespec ts = { 0, 150 * 1000000L };

	(void)arg;
	nanosleep(&ts, NULL);
	if (write(cancel_pipe[1], "x", 1) != 1)
		perror("write");
	return NULL;
}

static void
retry_interrupted(void)
{
	oa_options o = opts();
	oa__http h;
	pthread_t t;
	char err[OA__ERRLEN], body[256];

	CHECK(server());
	CHECK(pipe(cancel_pipe) == 0);
	o.max_retries = 5;
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	h.cancel_fd = cancel_pipe[0];
	CHECK(pthread_create(&t, NULL, cancel_later, NULL) == 0);
	/* the first pause is at least 250 ms; the interrupt comes first */
	CHECK_INT(fetch(&h, "/always503/a", body, sizeof body, err),
	          OA_ERR_INTERRUPTED);
	pthread_join(t, NULL);
	close(cancel_pipe[0]);
	close(cancel_pipe[1]);
	oa__http_free(&h);
}

/* ---------------------------------------------------------------- timeouts */

static void
timeout_connect(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256];

	CHECK(server());
	o.connect_timeout_ms = 300;
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.backlog, &o, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err),
	          OA_ERR_CONNECT_TIMEOUT);
	snprintf(body, sizeof body, "no connection to 127.0.0.1:%d within "
	         "300 ms", srv.backlog);
	CHECK_STR(err, body);
	oa__http_free(&h);
}

static void
timeout_read(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256];

	CHECK(server());
	o.read_timeout_ms = 200;
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	CHECK_INT(fetch(&h, "/slow", body, sizeof body, err),
	          OA_ERR_READ_TIMEOUT);
	CHECK_STR(err, "no data from the server for 200 ms");
	oa__http_free(&h);
}

static void
timeout_deadline(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256];
	size_t got, total = 0;
	int r;

	CHECK(server());
	o.read_timeout_ms = 1000;
	o.request_timeout_ms = 400;
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	err[0] = '\0';
	CHECK_INT(oa__http_request(&h, "POST", "/trickle", NULL, "", 0, err),
	          0);
	/* bytes keep coming, so only the deadline can end it */
	while ((r = oa__http_read(&h, body, sizeof body, &got, err)) == 0 &&
	       got > 0)
		total += got;
	CHECK_INT(r, OA_ERR_DEADLINE);
	CHECK(total > 0 && total < 20);
	CHECK_STR(err, "the request ran past its time limit (400 ms)");
	oa__http_free(&h);
}

/* ---------------------------------------------------------------- proxies */

static void
proxy_forward(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256], px[64];

	CHECK(server());
	snprintf(px, sizeof px, "http://127.0.0.1:%d", srv.proxy);
	o.proxy = px;
	CHECK_INT(setup(&h, "http://model.test", srv.plain, &o, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK_HAS(body, "abs=1 via=test-proxy");
	oa__http_free(&h);

	/* from the environment, scheme optional */
	o.proxy = NULL;
	setenv("http_proxy", px + 7, 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	CHECK_INT(setup(&h, "http://model.test", srv.plain, &o, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK_HAS(body, "abs=1 via=test-proxy");
	oa__http_free(&h);
	unsetenv("http_proxy");
}

/* Whether a request to url would go through the proxy in the environment,
 * with no_proxy set to np. */
static int
proxied(const char *url, const char *np)
{
	oa_options o;
	oa__http h;
	char err[OA__ERRLEN] = "";
	int r;

	memset(&o, 0, sizeof o);
	o.insecure = 1;
	setenv("http_proxy", "http://proxy.example:3128", 1);
	setenv("https_proxy", "http://tls-proxy.example:3129", 1);
	if (np)
		setenv("no_proxy", np, 1);
	else
		unsetenv("no_proxy");
	oa__http_init(&h);
	r = oa__url_parse(&h.url, url, err) == 0 &&
	    oa__http_configure(&h, &o, err) == 0 ? h.use_proxy : -1;
	if (r == 1 && strcmp(h.proxy.host, url[4] == 's' ?
	                     "tls-proxy.example" : "proxy.example") != 0)
		r = -2;
	oa__http_free(&h);
	unsetenv("http_proxy");
	unsetenv("https_proxy");
	unsetenv("no_proxy");
	return r;
}

static void
proxy_rules(void)
{
	oa_options o;
	oa__http h;
	char err[OA__ERRLEN];

	unsetenv("HTTP_PROXY");
	unsetenv("HTTPS_PROXY");
	unsetenv("NO_PROXY");
	CHECK_INT(proxied("http://model.test:1", NULL), 1);
#ifndef OA_NO_TLS
	CHECK_INT(proxied("https://model.test:1", NULL), 1);
#endif
	/* loopback never */
	CHECK_INT(proxied("http://localhost:1", NULL), 0);
	CHECK_INT(proxied("http://127.0.0.5:1", NULL), 0);
	CHECK_INT(proxied("http://[::1]:1", NULL), 0);
	/* no_proxy: suffixes at a dot, leading dot optional, ports and
	 * blanks ignored, "*" for all */
	CHECK_INT(proxied("http://model.test:1", "*"), 0);
	CHECK_INT(proxied("http://model.test:1", "a.b, model.test:8080"), 0);
	CHECK_INT(proxied("http://api.model.test:1", ".model.test"), 0);
	CHECK_INT(proxied("http://api.model.test:1", "test"), 0);
	CHECK_INT(proxied("http://MODEL.test:1", "model.TEST"), 0);
	CHECK_INT(proxied("http://model.test:1", "odel.test"), 1);
	CHECK_INT(proxied("http://model.test:1", "other.test,,"), 1);
	CHECK_INT(proxied("http://[fd00::1]:1", "[fd00::1]"), 0);
	CHECK_INT(proxied("http://10.0.0.1:1", "10.0.0.1"), 0);

	/* only http://host:port proxies; the option's fault, not the base
	 * URL's */
	memset(&o, 0, sizeof o);
	o.proxy = "https://p.example:1";
	err[0] = '\0';
	oa__http_init(&h);
	CHECK_INT(oa__url_parse(&h.url, "http://model.test", err), 0);
	CHECK_INT(oa__http_configure(&h, &o, err), OA_ERR_INVALID);
	CHECK_HAS(err, "only http://[user:password@]host:port proxies");
	err[0] = '\0';
	o.proxy = "socks5://p.example:1";
	CHECK_INT(oa__http_configure(&h, &o, err), OA_ERR_INVALID);
	CHECK_STR(err, "oa_options.proxy \"socks5://p.example:1\" is not a "
	          "usable proxy: unsupported URL scheme \"socks5\": use "
	          "http:// or https://");
	/* "" means none, whatever the environment says */
	setenv("http_proxy", "http://proxy.example:3128", 1);
	o.proxy = "";
	CHECK_INT(oa__http_configure(&h, &o, err), 0);
	CHECK_INT(h.use_proxy, 0);
	unsetenv("http_proxy");
	o.proxy = NULL;
	o.max_retries = -3;
	err[0] = '\0';
	CHECK_INT(oa__http_configure(&h, &o, err), OA_ERR_INVALID);
	oa__http_free(&h);
}

/* A bad proxy in the environment: OA_ERR_CONFIG naming the variable, the
 * password never shown, in any part of the message. */
static void
proxy_secret(void)
{
	static const struct {
		const char *var, *value, *want;
	} cases[] = {
		{ "http_proxy", "http://user:hunter2@127.0.0.1:99999",
		  "http_proxy \"http://***@127.0.0.1:99999\" is not a usable "
		  "proxy: bad port \"99999\" in URL: expected a number from 1 "
		  "to 65535" },
		{ "HTTP_PROXY", "user:hunter2@proxy.example:3128/path",
		  "HTTP_PROXY \"***@proxy.example:3128/path\" is not a usable "
		  "proxy: only http://[user:password@]host:port proxies are "
		  "supported" },
		{ "http_proxy", "http://user:hun/ter2@p.example:1",
		  "http_proxy \"http://***@p.example:1\" is not a usable proxy: "
		  "an '@' after the host (write '@' and '/' in a password as "
		  "%40 and %2F)" },
		{ "http_proxy", "ftp://user:hunter2@p.example:1",
		  "http_proxy \"ftp://***@p.example:1\" is not a usable proxy: "
		  "unsupported URL scheme \"ftp\": use http:// or https://" },
	};
	oa_options o;
	oa_client c;
	oa__http h;
	char err[OA__ERRLEN];
	size_t i;

	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	memset(&o, 0, sizeof o);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		setenv(cases[i].var, cases[i].value, 1);
		oa__http_init(&h);
		err[0] = '\0';
		CHECK_INT(oa__url_parse(&h.url, "http://model.test", err), 0);
		CHECK_INT(oa__http_configure(&h, &o, err), OA_ERR_CONFIG);
		unsetenv(cases[i].var);
		oa__http_free(&h);
		CHECK_STR(err, cases[i].want);
	}
	/* through oa_init: "bad configuration", not "bad base URL" */
	setenv("http_proxy", "http://user:hunter2@127.0.0.1:99999", 1);
	o.base_url = "http://model.test/v1";
	CHECK_INT(oa_init(&c, &o), OA_ERR_CONFIG);
	unsetenv("http_proxy");
	CHECK(strstr(oa_errmsg(&c), "hunter2") == NULL);
	CHECK_STR(oa_strerror(OA_ERR_CONFIG), "bad configuration");
	oa_free(&c);
	/* nor does a base URL show one */
	o.base_url = "user:hunter2@localhost:8080/v1";
	CHECK_INT(oa_init(&c, &o), OA_ERR_URL);
	CHECK_STR(oa_errmsg(&c), "no scheme in URL \"***@localhost:8080/v1\": "
	          "expected http://host[:port][/path]");
	oa_free(&c);
	/* a '/' in the password: "pa" is no port, and is not shown */
	o.base_url = "http://user:pa/ss@localhost/v1";
	CHECK_INT(oa_init(&c, &o), OA_ERR_URL);
	CHECK_STR(oa_errmsg(&c), "bad port in URL \"http://***@localhost/v1\": "
	          "expected a number from 1 to 65535");
	oa_free(&c);
}

/* user:password@ in the proxy URL becomes Proxy-Authorization: Basic,
 * percent-decoded as curl does: on every request through a forward
 * proxy and on CONNECT; wrong credentials are a 407 that says so, and
 * the trace shows the scheme only. */
static void
proxy_auth(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256], px[96], log[8192];
	const char *path;
	int fd, saved, r;
	size_t n;
	FILE *f;

	CHECK(server());
	snprintf(px, sizeof px, "http://alice:p%%40ss:w0rd@127.0.0.1:%d",
	         srv.authproxy);
	o.proxy = px;
	o.debug = 1;
	path = file("proxy-trace.txt");
	CHECK_INT(setup(&h, "http://model.test", srv.plain, &o, err), 0);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	close(fd);
	r = fetch(&h, "/echo", body, sizeof body, err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	CHECK_INT(r, 0);
	CHECK_INT(h.status, 200);
	CHECK_HAS(body, "abs=1 via=test-proxy-auth");
	oa__http_free(&h);
	CHECK((f = fopen(path, "r")) != NULL);
	n = fread(log, 1, sizeof log - 1, f);
	fclose(f);
	log[n] = '\0';
	CHECK_HAS(log, "oa: > Proxy-Authorization: Basic [redacted]\n");
	CHECK(strstr(log, "YWxpY2") == NULL); /* base64 of "alice" */
	CHECK(strstr(log, "w0rd") == NULL);
	o.debug = 0;

	/* a wrong password: the proxy's 407 */
	snprintf(px, sizeof px, "http://alice:wrong@127.0.0.1:%d",
	         srv.authproxy);
	CHECK_INT(setup(&h, "http://model.test", srv.plain, &o, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK_INT(h.status, 407);
	oa__http_free(&h);
#ifndef OA_NO_TLS
	/* CONNECT carries them too */
	snprintf(px, sizeof px, "http://alice:p%%40ss:w0rd@127.0.0.1:%d",
	         srv.authproxy);
	CHECK_INT(setup(&h, "https://model.test", srv.tls, &o, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), 0);
	CHECK_HAS(body, "req=1 ");
	oa__http_free(&h);
	snprintf(px, sizeof px, "http://127.0.0.1:%d", srv.authproxy);
	CHECK_INT(setup(&h, "https://model.test", srv.tls, &o, err), 0);
	CHECK_INT(fetch(&h, "/echo", body, sizeof body, err), OA_ERR_CONNECT);
	CHECK_HAS(err, "HTTP 407 (it wants a user:password in the proxy URL)");
	oa__http_free(&h);
#endif
}

/* ---------------------------------------------------------------- tracing */

static void
trace_redacted(void)
{
	oa_options o = opts();
	oa__http h;
	char err[OA__ERRLEN], body[256], log[8192];
	const char *path;
	size_t got, n;
	int fd, saved, r;
	FILE *f;

	CHECK(server());
	path = file("trace.txt");
	o.debug = 1;
	CHECK_INT(setup(&h, "http://127.0.0.1", srv.plain, &o, err), 0);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	close(fd);
	r = oa__http_request(&h, "POST", "/echo", "Authorization: Bearer "
	                     "sk-secret-42\r\n", "{\"q\":1}", 7, err);
	while (r == 0 && (r = oa__http_read(&h, body, sizeof body, &got,
	                                    err)) == 0 && got > 0)
		;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	CHECK_INT(r, 0);
	CHECK((f = fopen(path, "r")) != NULL);
	n = fread(log, 1, sizeof log - 1, f);
	fclose(f);
	log[n] = '\0';
	CHECK_HAS(log, "oa: > POST /echo HTTP/1.1\n");
	CHECK_HAS(log, "oa: > Authorization: Bearer [redacted]\n");
	CHECK_HAS(log, "oa: > {\"q\":1}\n");
	CHECK_HAS(log, "oa: < HTTP/1.1 200 OK\n");
	CHECK_HAS(log, "oa: < Content-Length: ");
	CHECK_HAS(log, "oa: < conn=");
	CHECK(strstr(log, "sk-secret-42") == NULL);
	CHECK_STR(err, "");
	oa__http_free(&h);
}

static const struct test tests[] = {
#ifndef OA_NO_TLS
	{ "tls_two_turns", tls_two_turns },
	{ "tls_keep_alive", tls_keep_alive },
	{ "tls_unknown_ca", tls_unknown_ca },
	{ "tls_wrong_name", tls_wrong_name },
	{ "tls_expired", tls_expired },
	{ "tls_insecure", tls_insecure },
	{ "tls_ca_file", tls_ca_file },
	{ "tls_conversation_errors", tls_conversation_errors },
	{ "proxy_connect", proxy_connect },
#else
	{ "no_tls_build", no_tls_build },
#endif
	{ "keep_alive_many", keep_alive_many },
	{ "keep_alive_refused", keep_alive_refused },
	{ "stale_connection", stale_connection },
	{ "drain_unread_end", drain_unread_end },
	{ "retry_429_after", retry_429_after },
	{ "retry_after_cap", retry_after_cap },
	{ "retry_503", retry_503 },
	{ "retry_exhausted", retry_exhausted },
	{ "retry_refused", retry_refused },
	{ "retry_interrupted", retry_interrupted },
	{ "timeout_connect", timeout_connect },
	{ "timeout_read", timeout_read },
	{ "timeout_deadline", timeout_deadline },
	{ "proxy_forward", proxy_forward },
	{ "proxy_rules", proxy_rules },
	{ "proxy_secret", proxy_secret },
	{ "proxy_auth", proxy_auth },
	{ "trace_redacted", trace_redacted },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	int r;

	signal(SIGPIPE, SIG_IGN);
	server();
	r = test_main("test_net", argc, argv, tests);
	server_stop();
	return r;
}

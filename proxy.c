/*
 * proxy.c -- the proxy module: HTTP proxies, chosen as curl chooses them.
 *
 * Optional: without this file the environment's http_proxy and friends
 * are not read and oa_options.proxy is refused. http.c reaches it through
 * oa__modules.proxy (modules.c): pick() at oa_init, tunnel() for each new
 * https:// connection. Plain http:// goes through the proxy with the whole
 * URL in the request line (http.c); https:// through a CONNECT tunnel.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oa_private.h"

static int
is_loopback(const char *host)
{
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (strncmp(host, "127.", 4) == 0 && inet_pton(AF_INET, host, &a6) == 1)
		return 1;
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	       memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
}

/* Does host match the no_proxy list? As curl reads it: comma-separated
 * names, each matching itself and its subdomains, a leading dot optional,
 * a ":port" ignored; "*" matches every host. */
static int
no_proxy_match(const char *list, const char *host)
{
	const char *s = list, *e, *c;
	size_t n, hn = strlen(host);

	while (s != NULL && *s != '\0') {
		s += strspn(s, " \t,");
		n = strcspn(s, ",");
		e = s;
		s += n;
		while (n > 0 && (e[n - 1] == ' ' || e[n - 1] == '\t'))
			n--;
		if (n == 1 && e[0] == '*')
			return 1;
		if (n > 0 && e[0] == '[' && (c = memchr(e, ']', n)) != NULL) {
			e++;
			n = (size_t)(c - e);
		} else if ((c = memchr(e, ':', n)) != NULL &&
		           !memchr(c + 1, ':', n - (size_t)(c + 1 - e))) {
			n = (size_t)(c - e);
		}
		if (n > 0 && e[0] == '.')
			e++, n--;
		if (n > 0 && n <= hn &&
		    strncasecmp(host + hn - n, e, n) == 0 &&
		    (n == hn || host[hn - n - 1] == '.'))
			return 1;
	}
	return 0;
}

/* Choose the proxy as curl does: the option, else http_proxy or
 * https_proxy by the URL's scheme (lower case first), unless the host is
 * loopback or matches no_proxy. Only http://host[:port] proxies. */
static int
pick_proxy(oa__http *h, const char *proxy, char *err)
{
	const char *np = NULL;
	char url[600], msg[OA__ERRLEN] = "", q[80] = "";

	h->use_proxy = 0;
	if (proxy == NULL) {
		proxy = getenv(h->url.tls ? "https_proxy" : "http_proxy");
		if (proxy == NULL || proxy[0] == '\0')
			proxy = getenv(h->url.tls ? "HTTPS_PROXY" :
			               "HTTP_PROXY");
		np = getenv("no_proxy");
		if (np == NULL || np[0] == '\0')
			np = getenv("NO_PROXY");
	}
	if (proxy == NULL || proxy[0] == '\0' || is_loopback(h->url.host) ||
	    no_proxy_match(np, h->url.host))
		return 0;
	oa__quote(q, sizeof q, proxy, strlen(proxy), 60);
	if (snprintf(url, sizeof url, "%s%s", strstr(proxy, "://") ? "" :
	             "http://", proxy) >= (int)sizeof url)
		return oa__fail(err, OA_ERR_URL, "the proxy URL is too long");
	if (oa__url_parse(&h->proxy, url, msg) != 0)
		return oa__fail(err, OA_ERR_URL, "bad proxy \"%s\": %s", q,
		                msg);
	if (h->proxy.tls || h->proxy.path[0] != '\0')
		return oa__fail(err, OA_ERR_URL, "unsupported proxy \"%s\": "
		                "only http://host:port proxies are", q);
	h->use_proxy = 1;
	return 0;
}

/* Ask the proxy for a tunnel to the server; TLS then runs inside it. */
static int
tunnel(oa__http *h, char *err)
{
	char hp[280], px[280], line[640];
	size_t seen = 0;
	int r, n;

	oa__host_port(&h->url, 0, hp, sizeof hp);
	oa__host_port(&h->proxy, 0, px, sizeof px);
	n = snprintf(line, sizeof line, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n"
	             "User-Agent: openagent/" OA_VERSION "\r\n\r\n", hp, hp);
	if (h->debug)
		oa__modules.trace('>', line, (size_t)n, 1);
	h->head_len = h->head_off = 0;
	if ((r = oa__http_send(h, line, (size_t)n, err)) != 0 ||
	    (r = oa__http_head(h, 1, &seen, err)) != 0)
		return r;
	if (h->status < 200 || h->status > 299)
		return oa__fail(err, OA_ERR_CONNECT, "the proxy %s refused a "
		                "tunnel to %s: HTTP %d", px, hp, h->status);
	if (h->head_off < h->head_len)
		return oa__fail(err, OA_ERR_PROTOCOL, "the proxy %s sent bytes "
		                "after its answer to CONNECT", px);
	return 0;
}

/* see oa_private.h */
OA_PRIVATE const oa__proxy_ops oa__proxy = { pick_proxy, tunnel };

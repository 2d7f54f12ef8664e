/*
 * proxy.c -- the proxy module: HTTP proxies, chosen as curl chooses them.
 *
 * Optional: without this file the environment's http_proxy and friends
 * are not read and oa_options.proxy is refused. http.c reaches it through
 * oa__modules.proxy (modules.c): pick() at oa_init, tunnel() from tls.c for
 * each new https:// connection. Plain http:// goes through the proxy with the whole
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

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Credentials up to this many bytes (user:password, decoded) fit in
 * h->proxy_auth once base64-encoded. */
#define CRED_MAX 255

/* h->proxy_auth = "Proxy-Authorization: Basic base64(s[0..n))\r\n". */
static void
basic_auth(oa__http *h, const unsigned char *s, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	                          "qrstuvwxyz0123456789+/";
	char *o = h->proxy_auth;
	unsigned long v;
	size_t i;

	o += sprintf(o, "Proxy-Authorization: Basic ");
	for (i = 0; i < n; i += 3) {
		v = (unsigned long)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	memcpy(o, "\r\n", 3);
}

/* The userinfo u[0..n) of a proxy URL, percent-decoded as curl does, into
 * h->proxy_auth ("user" alone is "user:"). */
static int
credentials(oa__http *h, const char *u, size_t n, const char *from,
            int code, char *err)
{
	unsigned char c[CRED_MAX + 2];
	size_t i, k = 0;
	int hi, lo, colon = 0;

	for (i = 0; i < n; i++) {
		if (k == CRED_MAX)
			return oa__fail(err, code, "%s: the proxy's user:password "
			                "is longer than %d bytes", from, CRED_MAX);
		if (u[i] == '%' && i + 2 < n &&
		    (hi = hex_digit(u[i + 1])) >= 0 &&
		    (lo = hex_digit(u[i + 2])) >= 0) {
			c[k++] = (unsigned char)(hi << 4 | lo);
			i += 2;
			continue;
		}
		colon |= u[i] == ':';
		c[k++] = (unsigned char)u[i];
	}
	if (!colon)
		c[k++] = ':';
	basic_auth(h, c, k);
	memset(c, 0, sizeof c);
	return 0;
}

/* Choose the proxy as curl does: the option, else http_proxy or
 * https_proxy by the URL's scheme (lower case first), unless the host is
 * loopback or matches no_proxy. Only http://[user:password@]host[:port]
 * proxies; the credentials go as Proxy-Authorization: Basic. A bad
 * proxy is the option's fault (OA_ERR_INVALID) or the environment's
 * (OA_ERR_CONFIG), never the base URL's; the message names where it
 * came from and never shows its password. */
static int
pick_proxy(oa__http *h, const char *proxy, char *err)
{
	const char *np = NULL, *from = "oa_options.proxy", *a, *end, *at;
	char url[600], msg[OA__ERRLEN] = "", q[80] = "";
	int code = OA_ERR_INVALID, r;

	h->use_proxy = 0;
	h->proxy_auth[0] = '\0';
	if (proxy == NULL) {
		code = OA_ERR_CONFIG;
		from = h->url.tls ? "https_proxy" : "http_proxy";
		proxy = getenv(from);
		if (proxy == NULL || proxy[0] == '\0') {
			from = h->url.tls ? "HTTPS_PROXY" : "HTTP_PROXY";
			proxy = getenv(from);
		}
		np = getenv("no_proxy");
		if (np == NULL || np[0] == '\0')
			np = getenv("NO_PROXY");
	}
	if (proxy == NULL || proxy[0] == '\0' || is_loopback(h->url.host) ||
	    no_proxy_match(np, h->url.host))
		return 0;
	oa__url_quote(q, sizeof q, proxy, 60);
	a = oa__url_authority(proxy);
	end = a + strcspn(a, "/?#");
	for (at = end; at > a && at[-1] != '@'; at--)
		;
	/* A '/' in the password must be written %2F: otherwise where the
	 * host starts is a guess, and a wrong guess would be quoted. */
	if (strchr(at, '@') != NULL)
		return oa__fail(err, code, "%s \"%s\" is not a usable proxy: "
		                "an '@' after the host (write '@' and '/' in a "
		                "password as %%40 and %%2F)", from, q);
	/* the URL without its userinfo, a scheme added when missing */
	if (snprintf(url, sizeof url, "%s%.*s%s", a == proxy ? "http://" : "",
	             (int)(a - proxy), proxy, at) >= (int)sizeof url)
		return oa__fail(err, code, "%s \"%s\": the proxy URL is too "
		                "long", from, q);
	if (oa__url_parse(&h->proxy, url, msg) != 0)
		return oa__fail(err, code, "%s \"%s\" is not a usable proxy: "
		                "%s", from, q, msg);
	if (h->proxy.tls || h->proxy.path[0] != '\0')
		return oa__fail(err, code, "%s \"%s\" is not a usable proxy: "
		                "only http://[user:password@]host:port proxies "
		                "are supported", from, q);
	if (at > a && (r = credentials(h, a, (size_t)(at - 1 - a), from,
	                               code, err)) != 0)
		return r;
	h->use_proxy = 1;
	return 0;
}

/* Ask the proxy for a tunnel to the server; TLS then runs inside it. */
static int
tunnel(oa__http *h, char *err)
{
	char hp[280], px[280], line[1100];
	int r, n;

	oa__host_port(&h->url, 0, hp, sizeof hp);
	oa__host_port(&h->proxy, 0, px, sizeof px);
	n = snprintf(line, sizeof line, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n"
	             "User-Agent: openagent/" OA_VERSION "\r\n%s\r\n", hp, hp,
	             h->proxy_auth);
	if (h->debug)
		oa__modules.trace('>', line, (size_t)n, 1);
	if ((r = oa__http_send(h, line, (size_t)n, err)) != 0 ||
	    (r = oa__http_head(h, err)) != 0)
		return r;
	if (h->status < 200 || h->status > 299)
		return oa__fail(err, OA_ERR_CONNECT, "the proxy %s refused a "
		                "tunnel to %s: HTTP %d%s", px, hp, h->status,
		                h->status != 407 ? "" : h->proxy_auth[0] ?
		                " (it did not accept the user:password)" :
		                " (it wants a user:password in the proxy URL)");
	if (h->head_off < h->head_len)
		return oa__fail(err, OA_ERR_PROTOCOL, "the proxy %s sent bytes "
		                "after its answer to CONNECT", px);
	return 0;
}

/* see oa_private.h */
OA_PRIVATE const oa__proxy_ops oa__proxy = { pick_proxy, tunnel };

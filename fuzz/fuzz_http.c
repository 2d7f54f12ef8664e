/*
 * fuzz_http.c -- the HTTP response parser (http.c): status line, headers,
 * framing and chunked decoding, against arbitrary server bytes.
 *
 * Input: byte 0 picks the head buffer size, byte 1 the read size, byte 2
 * flags (2: drain the body with oa__http_discard(), 4: waiting 20 ms at
 * most), bytes 3.. 6
 * split points; the rest is what the server sends. Three parts:
 *   - the chunked decoder fed whole and fed in pieces must give the same
 *     bytes and the same verdict (its documented promise);
 *   - the head scanner resumed after each piece, as oa__http_head does while
 *     bytes trickle in, must find the same end as one scan of everything;
 *   - the real read path: the bytes are written to one end of a
 *     socketpair and oa__http_head() then oa__http_read() take them from the
 *     other through recv() and poll(), exactly as from a server. When the
 *     input is one head and a chunked body, what oa__http_read() hands out
 *     must be what the decoder makes of the bytes after the head.
 */
#include <fcntl.h>
#include <sys/socket.h>

#include "../util.c"
#include "../net.c"
#include "../http.c"

/* Plain sockets only: no module. */
const struct oa__modules oa__modules = {0};

#define FUZZ_NAME "http"
#include "fuzz.h"

/* Decode s[0..n) cutting it at cuts[]; fills out (n bytes of room).
 * Returns the decoder's last verdict; *outn and *rest as it reports. */
static int
decode(const char *s, size_t n, const size_t *cuts, int ncuts, char *out,
       size_t *outn, size_t *rest)
{
	oa__chunked d;
	char err[OA__ERRLEN] = "";
	size_t at = 0, end, k;
	int i = 0, r = 0;

	memset(&d, 0, sizeof d);
	*outn = *rest = 0;
	while (at < n) {
		end = i < ncuts && cuts[i] > at && cuts[i] < n ? cuts[i] : n;
		i++;
		k = end - at;
		memcpy(out + *outn, s + at, k);
		r = oa__chunked_decode(&d, out + *outn, &k, rest, err);
		if (r < 0) {
			FUZZ_CHECK(r == OA_ERR_PROTOCOL && err[0] != '\0');
			return r;
		}
		FUZZ_CHECK(k <= end - at);
		*outn += k;
		if (r == 1) {
			/* what came after the end, as bytes of this piece */
			*rest += n - end;
			return 1;
		}
		FUZZ_CHECK(*rest == 0);
		at = end;
	}
	return r;
}

static void
chunked(const char *s, size_t n, const size_t *cuts)
{
	char *a = malloc(n + 1), *b = malloc(n + 1);
	size_t an, arest, bn, brest;
	int ra, rb;

	FUZZ_CHECK(a != NULL && b != NULL);
	ra = decode(s, n, NULL, 0, a, &an, &arest);
	rb = decode(s, n, cuts, 4, b, &bn, &brest);
	FUZZ_CHECK(ra == rb);
	if (ra >= 0) {
		FUZZ_CHECK(an == bn && memcmp(a, b, an) == 0);
		FUZZ_CHECK(arest == brest);
	}
	free(a);
	free(b);
}

/* read_head's incremental scan against one scan of everything. */
static void
scan(const char *s, size_t n, const size_t *cuts)
{
	size_t whole = head_end(s, n, 0), from = 0, len, got = 0;
	int i;

	for (i = 0; i <= 4 && got == 0; i++) {
		len = i < 4 && cuts[i] < n ? cuts[i] : n;
		if (len < from + 2 && len < n)
			continue;
		got = head_end(s, len, from);
		from = len > 2 ? len - 2 : 0;
	}
	FUZZ_CHECK(got == whole);
}

/* The read path over a socketpair. */
static void
respond(const char *s, size_t n, size_t head_cap, size_t room, int flags)
{
	struct fuzz_heap heap;
	oa_allocator a = fuzz_allocator(&heap);
	char err[OA__ERRLEN] = "", *body = malloc(n + 1), *dec;
	size_t got, total = 0, dn, drest, off;
	int sv[2], sz = 1 << 20, r, single;
	oa__http h;

	FUZZ_CHECK(body != NULL);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	FUZZ_CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	FUZZ_CHECK(n == 0 || write(sv[1], s, n) == (ssize_t)n);
	shutdown(sv[1], SHUT_WR);

	oa__http_init(&h);
	FUZZ_CHECK(oa__url_parse(&h.url, "http://127.0.0.1:8080/v1", err) ==
	           0);
	h.alloc = &a;
	h.read_timeout_ms = 5000;
	h.fd = sv[0];
	h.max_header = head_cap;
	h.head = oa__malloc(&a, head_cap);
	FUZZ_CHECK(h.head != NULL);

	r = oa__http_head(&h, err);
	if (r != 0) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(r == OA_ERR_PROTOCOL || r == OA_ERR_LIMIT ||
		           r == OA_ERR_IO);
		goto out;
	}
	FUZZ_CHECK(h.status >= 200 && h.status <= 999);
	FUZZ_CHECK(h.head_off <= h.head_len && h.head_len <= head_cap);
	FUZZ_CHECK(strlen(h.content_type) < sizeof h.content_type);
	/* a coding is kept for a message: printable, in bounds */
	FUZZ_CHECK(strlen(h.coding) < sizeof h.coding);
	for (off = 0; h.coding[off] != '\0'; off++)
		FUZZ_CHECK(h.coding[off] >= ' ' && h.coding[off] < 0x7f);
	off = h.head_off;
	if (flags & 2) {
		FUZZ_CHECK(oa__http_discard(&h, flags & 4 ? 20 :
		                            h.read_timeout_ms) == 0);
		FUZZ_CHECK(h.body_done || h.fd < 0);
		goto out;
	}
	for (;;) {
		err[0] = '\0';
		r = oa__http_read(&h, body + total, room < n + 1 - total ?
		                  room : n + 1 - total, &got, err);
		if (r != 0) {
			FUZZ_CHECK(err[0] != '\0');
			FUZZ_CHECK(r == OA_ERR_PROTOCOL ||
			           r == OA_ERR_TRUNCATED || r == OA_ERR_STATE ||
			           r == OA_ERR_INVALID);
			break;
		}
		if (got == 0)
			break;
		total += got;
		FUZZ_CHECK(total <= n);
	}
	/* One head and a chunked body: the bytes handed out are those the
	 * decoder makes of the rest of the input. */
	single = off <= n && head_end(s, n, 0) == off &&
	         memcmp(h.head, s, off) == 0;
	if (h.body == OA__BODY_CHUNKED && r == 0 && single) {
		dec = malloc(n - off + 1);
		FUZZ_CHECK(dec != NULL);
		FUZZ_CHECK(decode(s + off, n - off, NULL, 0, dec, &dn,
		                  &drest) == 1);
		FUZZ_CHECK(dn == total && memcmp(dec, body, dn) == 0);
		free(dec);
	}
	if (h.body == OA__BODY_CLOSE && r == 0 && single)
		FUZZ_CHECK(total == n - off && memcmp(body, s + off, total) == 0);
out:
	oa__http_free(&h);
	FUZZ_CHECK(heap.live == 0);
	close(sv[1]);
	free(body);
}

/* The input as a URL: whatever userinfo it has (up to its last '@')
 * never appears in a message, whether oa__url_parse's or oa__url_quote's.
 * Only a secret that cannot be mistaken for the messages' own words is
 * looked for: long enough, and holding a byte none of them has. */
static void
urls(const char *s)
{
	char err[OA__ERRLEN] = "", q[128] = "", secret[64];
	const char *a = oa__url_authority(s), *at = strrchr(a, '@');
	oa__url u;
	size_t n, i;

	oa__url_quote(q, sizeof q, s, 80);
	for (n = 0; q[n] != '\0'; n++)
		FUZZ_CHECK(q[n] >= ' ' && q[n] < 0x7f);
	if (oa__url_parse(&u, s, err) != 0)
		FUZZ_CHECK(err[0] != '\0');
	if (at == NULL)
		return;
	FUZZ_CHECK(strstr(q, "***") != NULL);
	n = (size_t)(at - a);
	if (n < 6 || n >= sizeof secret)
		return;
	for (i = 0; i < n; i++)
		if (a[i] < ' ' || a[i] >= 0x7f)
			return;
	memcpy(secret, a, n);
	secret[n] = '\0';
	if (strpbrk(secret, "!$^|~") == NULL)
		return;
	if (strstr(at, secret) != NULL || strstr(s, secret) != a)
		return;
	FUZZ_CHECK(strstr(q, secret) == NULL);
	FUZZ_CHECK(strstr(err, secret) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	size_t head_cap = 16 + fuzz_byte(&in) * 16;
	size_t room = 1 + fuzz_byte(&in) * 4;
	int flags = (int)fuzz_byte(&in), i;
	size_t cuts[4];
	char *s, *u;

	for (i = 0; i < 4; i++)
		cuts[i] = fuzz_byte(&in) * (i + 1);
	s = fuzz_copy(&in);
	chunked(s ? s : "", in.n, cuts);
	scan(s ? s : "", in.n, cuts);
	respond(s ? s : "", in.n, head_cap, room, flags);
	if (in.n < 4096 && (u = malloc(in.n + 1)) != NULL) {
		memcpy(u, s ? s : "", in.n);
		u[in.n] = '\0';
		urls(u);
		free(u);
	}
	free(s);
	return 0;
}

/*
 * tls.c -- the TLS module: https:// through BearSSL.
 *
 * Optional: a build without this file (and without BearSSL) serves
 * http:// only, and an https:// URL fails at oa_init() with a message
 * saying so. http.c reaches it through oa__modules.tls (modules.c).
 *
 * BearSSL does the TLS; we give it bytes. The client context, the X.509
 * validator and the record buffer live in one allocation per client, and
 * the engine is reset for every new connection. Chain validation is
 * br_x509_minimal's, wrapped by a small class of ours (struct check) for
 * two things it cannot do: accept anything when insecure is on, and
 * match a host given as an IP address against the certificate's
 * iPAddress names (BearSSL matches dNSName only; an IP literal is not sent
 * as SNI either, as RFC 6066 says).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bearssl.h>

#include "oa_private.h"

/* The server's certificate is kept this far for the iPAddress check; a
 * larger one cannot match an IP literal host. */
#define EE_MAX 8192

struct check {
	const br_x509_class *vtable;  /* first: BearSSL calls through it */
	struct oa__tls *t;
};

struct oa__tls {
	br_ssl_client_context sc;
	br_x509_minimal_context xc;   /* the real validation */
	struct check chk;             /* ours, around xc */
	br_x509_decoder_context dec;  /* insecure: the server's key */
	br_x509_trust_anchor *ta;     /* each ta's dn.data is its allocation */
	size_t nta, cap;
	int insecure;
	int ncert;                    /* certificates of the chain so far */
	unsigned char ip[16];         /* the host as an address */
	size_t iplen;                 /* 4, 16, or 0 for a name */
	unsigned char ee[EE_MAX];     /* the server's certificate (DER) */
	size_t ee_len;                /* > EE_MAX: too large, not kept */
	unsigned char io[BR_SSL_BUFSIZE_BIDI];
};

/* BearSSL's error codes in words, with the number kept for searching. */
static int
tls_fail(const oa__http *h, int e, char *err)
{
	char hp[280];
	const char *why;

	oa__host_port(&h->url, 0, hp, sizeof hp);
	switch (e) {
	case BR_ERR_X509_NOT_TRUSTED:
		why = "certificate signed by an unknown authority (give its CA "
		      "with ca_file or SSL_CERT_FILE)";
		break;
	case BR_ERR_X509_EXPIRED:
		why = "certificate expired or not yet valid";
		break;
	case BR_ERR_X509_BAD_SERVER_NAME:
		why = "certificate name mismatch: it is not for this host";
		break;
	case BR_ERR_X509_EMPTY_CHAIN:
		why = "the server sent no certificate";
		break;
	case BR_ERR_X509_TIME_UNKNOWN:
		why = "the current time is unknown, so the certificate "
		      "cannot be checked";
		break;
	case BR_ERR_UNSUPPORTED_VERSION:
	case BR_ERR_BAD_VERSION:
		why = "handshake failure: no TLS version in common, or the "
		      "server does not speak TLS on this port";
		break;
	case BR_ERR_NO_RANDOM:
		why = "no random source for TLS";
		break;
	case BR_ERR_RECV_FATAL_ALERT + 70:
		why = "handshake failure: the server wants a TLS version "
		      "BearSSL lacks (it speaks 1.0 to 1.2)";
		break;
	default:
		if (e >= BR_ERR_SEND_FATAL_ALERT)
			why = "handshake failure (alert sent)";
		else if (e >= BR_ERR_RECV_FATAL_ALERT)
			why = "handshake failure: the server sent a fatal "
			      "alert";
		else if (e >= BR_ERR_X509_OK && e < BR_ERR_X509_OK + 32)
			why = "the certificate chain is invalid";
		else
			why = "handshake or record failure";
	}
	return oa__fail(err, OA_ERR_TLS, "TLS with %s: %s (BearSSL error %d)",
	                hp, why, e);
}

/* ------------------------------------------- the certificate check class */

static struct oa__tls *
chk_tls(const br_x509_class *const *ctx)
{
	return ((const struct check *)(const void *)ctx)->t;
}

/* One DER element at *p: its tag and contents [*v, *v + *n); *p moves past
 * it. -1, changing nothing, when it does not fit before end. */
static int
der_next(const unsigned char **p, const unsigned char *end, int *tag,
         const unsigned char **v, size_t *n)
{
	const unsigned char *s = *p;
	size_t len, k;
	int t;

	if (end - s < 2)
		return -1;
	t = *s++;
	len = *s++;
	if (len & 0x80) {
		k = len & 0x7f;
		if (k == 0 || k > 3 || (size_t)(end - s) < k)
			return -1;
		for (len = 0; k > 0; k--)
			len = len << 8 | *s++;
	}
	if ((size_t)(end - s) < len)
		return -1;
	*tag = t;
	*v = s;
	*n = len;
	*p = s + len;
	return 0;
}

/* Step into the element at *p, which must have tag want: [*p, *end)
 * becomes its contents. */
static int
der_in(const unsigned char **p, const unsigned char **end, int want)
{
	const unsigned char *v;
	size_t n;
	int tag;

	if (der_next(p, *end, &tag, &v, &n) != 0 || tag != want)
		return -1;
	*p = v;
	*end = v + n;
	return 0;
}

/* Does the kept certificate list the host's address among its
 * subjectAltName iPAddress entries ([7])? The path is Certificate ->
 * tbsCertificate -> [3] extensions -> the Extension with OID 2.5.29.17
 * -> its OCTET STRING -> GeneralNames. */
static int
ee_has_ip(const struct oa__tls *t)
{
	static const unsigned char san[] = { 0x55, 0x1d, 0x11 };
	const unsigned char *p = t->ee, *end = t->ee + t->ee_len, *v, *e;
	const unsigned char *eend;
	size_t n;
	int tag = 0;

	if (t->ee_len > EE_MAX || der_in(&p, &end, 0x30) != 0 ||
	    der_in(&p, &end, 0x30) != 0)
		return 0;
	while (tag != 0xa3)
		if (der_next(&p, end, &tag, &v, &n) != 0)
			return 0;
	p = v;
	end = v + n;
	if (der_in(&p, &end, 0x30) != 0)
		return 0;
	while (der_next(&p, end, &tag, &v, &n) == 0) {
		/* Extension: OID, [critical BOOLEAN], OCTET STRING */
		e = v;
		eend = v + n;
		if (der_next(&e, eend, &tag, &v, &n) != 0 || tag != 0x06 ||
		    n != sizeof san || memcmp(v, san, n) != 0)
			continue;
		if (der_next(&e, eend, &tag, &v, &n) != 0 ||
		    (tag == 0x01 && der_next(&e, eend, &tag, &v, &n) != 0) ||
		    tag != 0x04)
			return 0;
		e = v;
		eend = v + n;
		if (der_in(&e, &eend, 0x30) != 0)
			return 0;
		while (der_next(&e, eend, &tag, &v, &n) == 0)
			if (tag == 0x87 && n == t->iplen &&
			    memcmp(v, t->ip, n) == 0)
				return 1;
		return 0;
	}
	return 0;
}

static void
chk_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct oa__tls *t = chk_tls(ctx);

	t->ncert = 0;
	t->ee_len = 0;
	if (!t->insecure)
		t->xc.vtable->start_chain(&t->xc.vtable,
		                          t->iplen ? NULL : server_name);
}

static void
chk_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct oa__tls *t = chk_tls(ctx);

	if (t->ncert == 0 && t->insecure)
		br_x509_decoder_init(&t->dec, 0, 0);
	if (!t->insecure)
		t->xc.vtable->start_cert(&t->xc.vtable, length);
}

static void
chk_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct oa__tls *t = chk_tls(ctx);

	if (t->ncert == 0) {
		if (t->insecure)
			br_x509_decoder_push(&t->dec, buf, len);
		if (t->ee_len <= EE_MAX && len <= EE_MAX - t->ee_len) {
			memcpy(t->ee + t->ee_len, buf, len);
			t->ee_len += len;
		} else {
			t->ee_len = EE_MAX + 1;
		}
	}
	if (!t->insecure)
		t->xc.vtable->append(&t->xc.vtable, buf, len);
}

static void
chk_end_cert(const br_x509_class **ctx)
{
	struct oa__tls *t = chk_tls(ctx);

	if (!t->insecure)
		t->xc.vtable->end_cert(&t->xc.vtable);
	t->ncert++;
}

/* insecure: whatever the chain, the server's key is taken as it is -- no
 * signature, date, name or trust is checked. That is the whole point of
 * the option, and why it is off unless asked for. */
static unsigned
chk_end_chain(const br_x509_class **ctx)
{
	struct oa__tls *t = chk_tls(ctx);
	unsigned r;

	if (t->insecure)
		return t->ncert == 0 ? BR_ERR_X509_EMPTY_CHAIN :
		       (unsigned)br_x509_decoder_last_error(&t->dec);
	r = t->xc.vtable->end_chain(&t->xc.vtable);
	if (r == 0 && t->iplen != 0 && !ee_has_ip(t))
		r = BR_ERR_X509_BAD_SERVER_NAME;
	return r;
}

static const br_x509_pkey *
chk_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct oa__tls *t = chk_tls(ctx);

	if (!t->insecure)
		return t->xc.vtable->get_pkey(&t->xc.vtable, usages);
	if (usages != NULL)
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return br_x509_decoder_get_pkey(&t->dec);
}

static const br_x509_class check_class = {
	sizeof(struct check), chk_start_chain, chk_start_cert, chk_append,
	chk_end_cert, chk_end_chain, chk_get_pkey
};

/* ------------------------------------------------------- trust anchors */

static void
to_buf(void *ctx, const void *data, size_t len)
{
	oa__buf_append(ctx, data, len);
}

/* Make a trust anchor of one certificate: its subject DN and public key,
 * copied into one allocation. A certificate BearSSL cannot use (an
 * unsupported key type) is skipped. */
static int
add_anchor(const oa__http *h, struct oa__tls *t, const oa__buf *der,
           oa__buf *dn)
{
	br_x509_decoder_context d;
	const br_x509_pkey *pk;
	br_x509_trust_anchor *ta;
	unsigned char *mem;
	size_t a, b;

	oa__buf_reset(dn);
	br_x509_decoder_init(&d, to_buf, dn);
	br_x509_decoder_push(&d, der->p, der->len);
	if (dn->err)
		return OA_ERR_NOMEM;
	if ((pk = br_x509_decoder_get_pkey(&d)) == NULL)
		return 0;
	if (t->nta == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;

		if (cap > (size_t)-1 / sizeof *ta)
			return OA_ERR_NOMEM;
		ta = oa__realloc(h->alloc, t->ta, cap * sizeof *ta);
		if (ta == NULL)
			return OA_ERR_NOMEM;
		t->ta = ta;
		t->cap = cap;
	}
	if (pk->key_type == BR_KEYTYPE_RSA) {
		a = pk->key.rsa.nlen;
		b = pk->key.rsa.elen;
	} else {
		a = pk->key.ec.qlen;
		b = 0;
	}
	if ((mem = oa__malloc(h->alloc, dn->len + a + b)) == NULL)
		return OA_ERR_NOMEM;
	ta = &t->ta[t->nta++];
	memset(ta, 0, sizeof *ta);
	memcpy(mem, dn->p, dn->len);
	ta->dn.data = mem;
	ta->dn.len = dn->len;
	ta->flags = br_x509_decoder_isCA(&d) ? BR_X509_TA_CA : 0;
	ta->pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		memcpy(mem + dn->len, pk->key.rsa.n, a);
		memcpy(mem + dn->len + a, pk->key.rsa.e, b);
		ta->pkey.key.rsa.n = mem + dn->len;
		ta->pkey.key.rsa.nlen = a;
		ta->pkey.key.rsa.e = mem + dn->len + a;
		ta->pkey.key.rsa.elen = b;
	} else {
		memcpy(mem + dn->len, pk->key.ec.q, a);
		ta->pkey.key.ec.curve = pk->key.ec.curve;
		ta->pkey.key.ec.q = mem + dn->len;
		ta->pkey.key.ec.qlen = a;
	}
	return 0;
}

/* Read every CERTIFICATE of a PEM file as a trust anchor. The file
 * streams through the PEM decoder; only one certificate is held at a
 * time. */
static int
load_anchors(const oa__http *h, struct oa__tls *t, const char *path,
             char *err)
{
	br_pem_decoder_context pem;
	oa__buf der, dn;
	char chunk[4096], q[200] = "";
	const char *name;
	size_t n, k;
	int r = 0, in_cert = 0, last = 0;
	FILE *f;

	oa__quote(q, sizeof q, path, strlen(path), 160);
	if ((f = fopen(path, "rb")) == NULL)
		return oa__fail(err, OA_ERR_TLS, "cannot read the CA file "
		                "%s: %s", q, strerror(errno));
	memset(&der, 0, sizeof der);
	memset(&dn, 0, sizeof dn);
	der.alloc = dn.alloc = h->alloc;
	der.limit = dn.limit = 1024 * 1024;
	br_pem_decoder_init(&pem);
	while (r == 0 && !last) {
		n = fread(chunk, 1, sizeof chunk, f);
		if (n == 0) {
			/* A file that ends right after the END line still
			 * ends that line. */
			last = 1;
			chunk[0] = '\n';
			n = 1;
		}
		for (k = 0; r == 0 && k < n;) {
			k += br_pem_decoder_push(&pem, chunk + k, n - k);
			switch (br_pem_decoder_event(&pem)) {
			case BR_PEM_BEGIN_OBJ:
				name = br_pem_decoder_name(&pem);
				in_cert = strcmp(name, "CERTIFICATE") == 0 ||
				          strcmp(name, "X509 CERTIFICATE") == 0;
				oa__buf_reset(&der);
				br_pem_decoder_setdest(&pem, in_cert ? to_buf :
				                       NULL, &der);
				break;
			case BR_PEM_END_OBJ:
				if (in_cert && der.err)
					r = der.err;
				else if (in_cert)
					r = add_anchor(h, t, &der, &dn);
				in_cert = 0;
				break;
			case BR_PEM_ERROR:
				r = oa__fail(err, OA_ERR_TLS, "the CA file %s "
				             "is not valid PEM", q);
				break;
			}
		}
	}
	if (r == 0 && ferror(f))
		r = oa__fail(err, OA_ERR_TLS, "cannot read the CA file %s: "
		             "%s", q, strerror(errno));
	fclose(f);
	oa__buf_free(&der);
	oa__buf_free(&dn);
	if (r == OA_ERR_NOMEM)
		return oa__fail(err, r, "out of memory for the trust anchors");
	if (r == OA_ERR_LIMIT)
		return oa__fail(err, OA_ERR_TLS, "a certificate in the CA "
		                "file %s is larger than 1 MB", q);
	if (r == 0 && t->nta == 0)
		r = oa__fail(err, OA_ERR_TLS, "the CA file %s holds no "
		             "certificate", q);
	return r;
}

static void
tls_free(oa__http *h)
{
	size_t i;

	if (h->tls == NULL)
		return;
	for (i = 0; i < h->tls->nta; i++)
		oa__free(h->alloc, h->tls->ta[i].dn.data);
	oa__free(h->alloc, h->tls->ta);
	oa__free(h->alloc, h->tls);
	h->tls = NULL;
}

/* Once per client: the engine's memory and the trust anchors. */
static int
tls_setup(oa__http *h, const oa_options *o, char *err)
{
	const char *ca_file = o->ca_file, *env = getenv("OPEN_AGENT_INSECURE");
	struct oa__tls *t;

	tls_free(h);
	if ((t = oa__malloc(h->alloc, sizeof *t)) == NULL)
		return oa__fail(err, OA_ERR_NOMEM, "out of memory for TLS");
	memset(t, 0, sizeof *t);
	h->tls = t;
	t->chk.vtable = &check_class;
	t->chk.t = t;
	t->insecure = o->insecure || (env != NULL && env[0] != '\0' &&
	                              strcmp(env, "0") != 0);
	if (inet_pton(AF_INET, h->url.host, t->ip) == 1)
		t->iplen = 4;
	else if (inet_pton(AF_INET6, h->url.host, t->ip) == 1)
		t->iplen = 16;
	if (t->insecure)
		return 0;
	if (ca_file == NULL || ca_file[0] == '\0')
		ca_file = getenv("SSL_CERT_FILE");
	if (ca_file == NULL || ca_file[0] == '\0')
		ca_file = "/etc/ssl/certs/ca-certificates.crt";
	return load_anchors(h, t, ca_file, err);
}

/*
 * Run the engine until its state has want (BR_SSL_SENDAPP or
 * BR_SSL_RECVAPP): records waiting to go out are sent first, then records
 * are received. Returns 0; 1 when the connection has ended (close_notify
 * or a plain close); or a
 * negative oa_err.
 */
static int
tls_run(oa__http *h, unsigned want, char *err)
{
	br_ssl_engine_context *e = &h->tls->sc.eng;
	unsigned char *buf;
	unsigned st;
	size_t len, n;
	int r, flushed = 0;

	for (;;) {
		st = br_ssl_engine_current_state(e);
		if (st & BR_SSL_CLOSED) {
			r = br_ssl_engine_last_error(e);
			return r == BR_ERR_OK ? 1 : tls_fail(h, r, err);
		}
		if (st & BR_SSL_SENDREC) {
			buf = br_ssl_engine_sendrec_buf(e, &len);
			r = oa__net_io(h, NULL, (const char *)buf, len, &n,
			               err);
			if (r != 0)
				return r;
			br_ssl_engine_sendrec_ack(e, n);
			continue;
		}
		if (st & want)
			return 0;
		if (st & BR_SSL_RECVAPP)
			return oa__fail(err, OA_ERR_PROTOCOL, "the server sent "
			                "data before the request was sent");
		if (st & BR_SSL_RECVREC) {
			buf = br_ssl_engine_recvrec_buf(e, &len);
			r = oa__net_io(h, (char *)buf, NULL, len, &n, err);
			if (r != 0)
				return r;
			if (n == 0)
				return 1;
			br_ssl_engine_recvrec_ack(e, n);
			continue;
		}
		/* Payload waits in the engine for a record to be closed. */
		if (flushed++)
			return oa__fail(err, OA_ERR_TLS, "the TLS engine is "
			                "stuck (state %u)", st);
		br_ssl_engine_flush(e, 0);
	}
}


static int
tls_read(oa__http *h, char *dst, size_t room, size_t *got, char *err)
{
	br_ssl_engine_context *e = &h->tls->sc.eng;
	unsigned char *buf;
	size_t len;
	int r = tls_run(h, BR_SSL_RECVAPP, err);

	*got = 0;
	if (r == 1)
		return 0;
	if (r != 0)
		return r;
	buf = br_ssl_engine_recvapp_buf(e, &len);
	if (len > room)
		len = room;
	memcpy(dst, buf, len);
	br_ssl_engine_recvapp_ack(e, len);
	*got = len;
	return 0;
}

static int
tls_write(oa__http *h, const char *src, size_t n, size_t *put, char *err)
{
	br_ssl_engine_context *e = &h->tls->sc.eng;
	unsigned char *buf;
	size_t len;
	int r = tls_run(h, BR_SSL_SENDAPP, err);
	char hp[280];

	if (r == 1) {
		oa__host_port(&h->url, 0, hp, sizeof hp);
		return oa__fail(err, OA_ERR_IO, "send to %s: %s", hp,
		                strerror(ECONNRESET));
	}
	if (r != 0)
		return r;
	buf = br_ssl_engine_sendapp_buf(e, &len);
	if (len > n)
		len = n;
	memcpy(buf, src, len);
	br_ssl_engine_sendapp_ack(e, len);
	*put = len;
	return 0;
}

/* The engine's end of oa__io_fn: what is written is sent once all of it
 * is in the engine (its record closed); the next engine run sends it. */
static int
tls_io(oa__http *h, char *in, const char *out, size_t n, size_t *done,
       char *err)
{
	int r;

	if (out == NULL)
		return tls_read(h, in, n, done, err);
	if ((r = tls_write(h, out, n, done, err)) == 0 && *done == n)
		br_ssl_engine_flush(&h->tls->sc.eng, 0);
	return r;
}

/* A new connection, through the proxy's tunnel when there is one: a
 * fresh handshake (BearSSL seeds its generator from the system on its
 * own). SNI and the name check use the URL's host. */
static int
tls_start(oa__http *h, char *err)
{
	struct oa__tls *t = h->tls;
	int r;

	if (h->use_proxy && (r = oa__modules.proxy->tunnel(h, err)) != 0)
		return r;
	br_ssl_client_init_full(&t->sc, &t->xc, t->ta, t->nta);
	br_ssl_engine_set_x509(&t->sc.eng, &t->chk.vtable);
	br_ssl_engine_set_buffer(&t->sc.eng, t->io, sizeof t->io, 1);
	if (!br_ssl_client_reset(&t->sc, t->iplen ? NULL : h->url.host, 0))
		return tls_fail(h, br_ssl_engine_last_error(&t->sc.eng), err);
	h->io = tls_io;
	return 0;
}

/* see oa_private.h */
OA_PRIVATE const oa__tls_ops oa__tls = { tls_setup, tls_start, tls_free };

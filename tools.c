/*
 * tools.c -- the tool table: copying the caller's tools, turning shorthand
 * parameter lists into JSON Schema, writing the request's "tools" array,
 * checking a call's arguments against its schema, and running a handler
 * through the oa_args / oa_result accessors it is given.
 *
 * States. A table is built once by oa__tools_init and is read-only after.
 * Every string in it is the table's own copy, and every schema is a JSON
 * object text whatever form the caller wrote it in, so the request writer
 * and the checker see one shape.
 *
 * Buffers. Nothing here keeps memory between calls. The checker parses a
 * copy of the schema held in the caller's tmp buffer with the caller's
 * scratch reader; both are reused call after call, so once they have grown
 * a stream of tool calls allocates nothing. A handler writes into the
 * caller's result buffer, whose limit bounds it.
 *
 * Arguments are read where they lie: string look-ups unescape the parsed
 * text in place. The untouched text travels beside it, and oa_args_json and
 * oa_args_raw answer from that copy, at the same offsets.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "oa_private.h"

struct oa_result {
	oa__buf *b;
};

static int
is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

static int
nomem(char *err)
{
	return oa__fail(err, OA_ERR_NOMEM, "out of memory");
}

/* ------------------------------------------------------------ shorthand */

/* The next item of a shorthand list at *p ("" at the end). Items are
 * separated by blanks and/or commas. */
static size_t
next_item(const char **p, const char **item)
{
	const char *s = *p;

	while (oa__blank(*s) || *s == ',')
		s++;
	*item = s;
	while (*s != '\0' && !oa__blank(*s) && *s != ',')
		s++;
	*p = s;
	return (size_t)(s - *item);
}

/* The JSON type of a "name:type" item, with the name's length; NULL when
 * the item is malformed. */
static const char *
item_type(const char *s, size_t n, size_t *name_len)
{
	static const char *const types[] = {
		"string", "integer", "number", "boolean"
	};
	const char *colon = memchr(s, ':', n);
	size_t i, tn;

	if (colon == NULL || colon == s)
		return NULL;
	*name_len = (size_t)(colon - s);
	for (i = 0; i < *name_len; i++)
		if (!is_word(s[i]))
			return NULL;
	tn = n - *name_len - 1;
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i]) == tn && memcmp(colon + 1, types[i], tn) == 0)
			return types[i];
	return NULL;
}

static void
put_name(oa__buf *b, int comma, const char *s, size_t n)
{
	oa__buf_puts(b, comma ? ",\"" : "\"");
	oa__buf_append(b, s, n);
	oa__buf_puts(b, "\"");
}

/* "a:number b:string" -> {"type":"object","properties":{"a":{"type":
 * "number"},"b":{"type":"string"}},"required":["a","b"]}, in b. */
static int
shorthand(oa__buf *b, const char *tool, const char *list, char *err)
{
	const char *p = list, *q, *s, *s2, *type;
	size_t n, n2, nl, nl2;
	char quoted[80] = "";
	int count = 0;

	oa__buf_puts(b, "{\"type\":\"object\",\"properties\":{");
	while ((n = next_item(&p, &s)) > 0) {
		if ((type = item_type(s, n, &nl)) == NULL) {
			oa__quote(quoted, sizeof quoted, s, n, 48);
			return oa__fail(err, OA_ERR_INVALID, "tool \"%s\": bad "
			                "parameter \"%s\"", tool, quoted);
		}
		for (q = list; (n2 = next_item(&q, &s2)) > 0 && s2 < s;)
			if (item_type(s2, n2, &nl2) && nl2 == nl &&
			    memcmp(s2, s, nl) == 0) {
				oa__quote(quoted, sizeof quoted, s, nl, 48);
				return oa__fail(err, OA_ERR_INVALID, "tool "
				                "\"%s\": parameter \"%s\" is given "
				                "twice", tool, quoted);
			}
		put_name(b, count++, s, nl);
		oa__buf_printf(b, ":{\"type\":\"%s\"}", type);
	}
	oa__buf_puts(b, "}");
	if (count > 0) {
		oa__buf_puts(b, ",\"required\":[");
		for (p = list, count = 0; (n = next_item(&p, &s)) > 0;) {
			item_type(s, n, &nl);
			put_name(b, count++, s, nl);
		}
		oa__buf_puts(b, "]");
	}
	oa__buf_puts(b, "}");
	return b->err ? nomem(err) : 0;
}

/* ------------------------------------------------------------ the table */

/* A full schema s (starting at its '{'), kept trimmed once it is known to
 * parse. The parse runs on a second copy because parsing may write. */
static int
full_schema(oa__tool *d, const oa_allocator *a, const char *s, char *err)
{
	char msg[OA__ERRLEN] = "", *scratch;
	oa__json j;
	size_t n = strlen(s);
	int r;

	while (n > 0 && oa__blank(s[n - 1]))
		n--;
	d->schema = oa__strndup(a, s, n);
	scratch = oa__strndup(a, s, n);
	if (d->schema == NULL || scratch == NULL) {
		oa__free(a, scratch);
		return nomem(err);
	}
	memset(&j, 0, sizeof j);
	j.alloc = a;
	r = oa__json_parse(&j, scratch, n, msg);
	oa__json_free(&j);
	oa__free(a, scratch);
	if (r == OA_ERR_NOMEM)
		return nomem(err);
	if (r != 0)
		return oa__fail(err, OA_ERR_INVALID, "tool \"%s\": parameters "
		                "are not a JSON object: %s", d->name, msg);
	return 0;
}

static int
good_name(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i == 64 || !(is_word(s[i]) || s[i] == '-'))
			return 0;
	return i > 0;
}

static int
copy_tool(oa__tools *t, const oa_tool *src, size_t i, oa__buf *b, char *err)
{
	const oa_tool *s = src + i;
	oa__tool *d = t->v + i;
	const char *p;
	char quoted[80] = "";
	size_t k;
	int r;

	if (!good_name(s->name)) {
		if (s->name != NULL)
			oa__quote(quoted, sizeof quoted, s->name,
			          strlen(s->name), 64);
		return oa__fail(err, OA_ERR_INVALID, "tools[%zu]: bad name "
		                "\"%s\" (want 1 to 64 of A-Z a-z 0-9 _ -)", i,
		                quoted);
	}
	for (k = 0; k < i; k++)
		if (strcmp(src[k].name, s->name) == 0)
			return oa__fail(err, OA_ERR_INVALID, "tools[%zu]: the "
			                "name \"%s\" is taken by tools[%zu]", i,
			                s->name, k);
	d->fn = s->handler;
	d->ctx = s->ctx;
	d->name = oa__strndup(t->alloc, s->name, strlen(s->name));
	p = s->description ? s->description : "";
	d->description = oa__strndup(t->alloc, p, strlen(p));
	if (d->name == NULL || d->description == NULL)
		return nomem(err);
	for (p = s->parameters ? s->parameters : ""; oa__blank(*p); p++)
		;
	if (*p == '{')
		return full_schema(d, t->alloc, p, err);
	oa__buf_reset(b);
	if ((r = shorthand(b, d->name, p, err)) != 0)
		return r;
	/* take the buffer's memory rather than copy it */
	d->schema = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__tools_init(oa__tools *t, const oa_allocator *a, const oa_tool *src,
               size_t n, char *err)
{
	oa__buf b;
	size_t i;
	int r = 0;

	t->v = NULL;
	t->n = 0;
	t->alloc = a;
	if (n == 0)
		return 0;
	if (src == NULL)
		return oa__fail(err, OA_ERR_INVALID, "tools is NULL but ntools "
		                "is %zu", n);
	if ((t->v = oa__mallocarray(a, n, sizeof *t->v)) == NULL)
		return nomem(err);
	memset(t->v, 0, n * sizeof *t->v);
	t->n = n;
	memset(&b, 0, sizeof b);
	b.alloc = a;
	for (i = 0; i < n && r == 0; i++)
		r = copy_tool(t, src, i, &b, err);
	oa__buf_free(&b);
	if (r != 0)
		oa__tools_free(t);
	return r;
}

/* see oa_private.h */
OA_PRIVATE void
oa__tools_free(oa__tools *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		oa__free(t->alloc, t->v[i].name);
		oa__free(t->alloc, t->v[i].description);
		oa__free(t->alloc, t->v[i].schema);
	}
	oa__free(t->alloc, t->v);
	t->v = NULL;
	t->n = 0;
}

/* see oa_private.h */
OA_PRIVATE void
oa__tools_put(const oa__tools *t, oa__buf *b)
{
	const oa__tool *v;
	size_t i;

	oa__buf_puts(b, "[");
	for (i = 0; i < t->n; i++) {
		v = t->v + i;
		oa__buf_puts(b, i ? ",{" : "{");
		oa__buf_puts(b, "\"type\":\"function\",\"function\":{\"name\":");
		oa__json_put_str(b, v->name, strlen(v->name));
		oa__buf_puts(b, ",\"description\":");
		oa__json_put_str(b, v->description, strlen(v->description));
		oa__buf_puts(b, ",\"parameters\":");
		oa__buf_puts(b, v->schema);
		oa__buf_puts(b, "}}");
	}
	oa__buf_puts(b, "]");
}

/* see oa_private.h */
OA_PRIVATE const oa__tool *
oa__tools_find(const oa__tools *t, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return t->v + i;
	return NULL;
}

/* ------------------------------------------------------------ checking
 *
 * A deliberately small subset of JSON Schema, enough to catch what models
 * get wrong and to tell them so in words they can act on:
 *   - the arguments are a JSON object;
 *   - every name listed in the schema's "required" is a member;
 *   - each member that "properties" declares has its "type", a name or an
 *     array of names: string, integer (a number whose value is whole, so
 *     2.0 and 1e3 count), number, boolean, object, array, null; a name
 *     outside that list passes;
 *   - and equals one value of its "enum", if it has one: strings by their
 *     unescaped value, numbers by value, anything else by its JSON text.
 * Nothing nested is checked (an object member's own properties, array
 * items), nor ranges, lengths, patterns or additionalProperties: handlers
 * still check what they rely on. Only the first failure is reported.
 */

/* A number whose value is whole. */
static int
whole(const oa__json *j, int t)
{
	const char *s;
	size_t n;
	double d;

	if (oa__json_type(j, t) != OA__JSON_NUMBER)
		return 0;
	s = oa__json_raw(j, t, &n);
	if (!memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n))
		return 1;
	if (oa__json_double(j, t, &d) != 0)
		return 0;
	if (d > -1e18 && d < 1e18)
		return (double)(long long)d == d;
	return d - d == 0;   /* past 2^53 every finite double is whole */
}

static const char *const kinds[][2] = {
	{ "string", "a string" }, { "integer", "an integer" },
	{ "number", "a number" }, { "boolean", "a boolean" },
	{ "object", "an object" }, { "array", "an array" },
	{ "null", "null" }
};

/* Value t of j has the named type; an unknown name passes. */
static int
type_is(const oa__json *j, int t, const char *type)
{
	int k = oa__json_type(j, t);

	if (strcmp(type, "string") == 0)
		return k == OA__JSON_STRING;
	if (strcmp(type, "integer") == 0)
		return whole(j, t);
	if (strcmp(type, "number") == 0)
		return k == OA__JSON_NUMBER;
	if (strcmp(type, "boolean") == 0)
		return k == OA__JSON_TRUE || k == OA__JSON_FALSE;
	if (strcmp(type, "object") == 0)
		return k == OA__JSON_OBJECT;
	if (strcmp(type, "array") == 0)
		return k == OA__JSON_ARRAY;
	if (strcmp(type, "null") == 0)
		return k == OA__JSON_NULL;
	return 1;
}

static const char *
words(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i][0], type) == 0)
			return kinds[i][1];
	return type;
}

/* Write the reason into msg; returns 1, "the arguments fail". */
static int say(char *msg, size_t msglen, const char *fmt, ...) OA__PRINTF(3, 4);

static int
say(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return 1;
}

/* Append s[0..n) to the message, as much as fits. */
static void
add(char *msg, size_t msglen, const char *s, size_t n)
{
	size_t o;

	if (msglen == 0 || (o = strlen(msg)) + 1 >= msglen)
		return;
	if (n > msglen - 1 - o)
		n = msglen - 1 - o;
	memcpy(msg + o, s, n);
	msg[o + n] = '\0';
}

/* Check member v against the schema's "type" token ty (one name or an
 * array of names). 0 when it passes, else 1 with the message. */
static int
check_type(oa__json *s, int ty, const oa__json *args, int v,
           const char *name, char *msg, size_t msglen)
{
	const char *w;
	int k, n = 0, i = 0;

	if ((w = oa__json_str(s, ty, NULL)) != NULL)
		return type_is(args, v, w) ? 0 : say(msg, msglen, "argument "
		                                     "\"%s\" must be %s", name,
		                                     words(w));
	if (oa__json_type(s, ty) != OA__JSON_ARRAY)
		return 0;
	for (k = oa__json_first(s, ty); k >= 0; k = oa__json_next(s, k))
		if ((w = oa__json_str(s, k, NULL)) != NULL) {
			if (type_is(args, v, w))
				return 0;
			n++;
		}
	if (n == 0)
		return 0;
	snprintf(msg, msglen, "argument \"%s\" must be ", name);
	for (k = oa__json_first(s, ty); k >= 0; k = oa__json_next(s, k))
		if ((w = oa__json_str(s, k, NULL)) != NULL) {
			if (i > 0)
				add(msg, msglen, i < n - 1 ? ", " : " or ",
				    i < n - 1 ? 2 : 4);
			w = words(w);
			add(msg, msglen, w, strlen(w));
			i++;
		}
	return 1;
}

/* Value v of a equals value e of s, as the enum rule above says. */
static int
same(oa__json *a, int v, oa__json *s, int e)
{
	const char *x, *y;
	size_t xn, yn;
	double dx, dy;
	int type = oa__json_type(a, v);

	if (type != oa__json_type(s, e))
		return 0;
	if (type == OA__JSON_NUMBER)
		return oa__json_double(a, v, &dx) == 0 &&
		       oa__json_double(s, e, &dy) == 0 && dx == dy;
	if (type == OA__JSON_STRING) {
		x = oa__json_str(a, v, &xn);
		y = oa__json_str(s, e, &yn);
	} else {
		x = oa__json_raw(a, v, &xn);
		y = oa__json_raw(s, e, &yn);
	}
	return xn == yn && memcmp(x, y, xn) == 0;
}

/* Check member v against the enum array en. The message lists the values
 * while they fit, then ends in "..." */
static int
check_enum(oa__json *s, int en, oa__json *args, int v, const char *name,
           char *msg, size_t msglen)
{
	const char *x;
	size_t n, q, o;
	int k, i = 0;

	if (oa__json_type(s, en) != OA__JSON_ARRAY)
		return 0;
	for (k = oa__json_first(s, en); k >= 0; k = oa__json_next(s, k))
		if (same(args, v, s, k))
			return 0;
	snprintf(msg, msglen, "argument \"%s\" must be one of ", name);
	for (k = oa__json_first(s, en); k >= 0; k = oa__json_next(s, k), i++) {
		q = oa__json_type(s, k) == OA__JSON_STRING;
		x = q ? oa__json_str(s, k, &n) : oa__json_raw(s, k, &n);
		/* room for this value, and for ", ..." if more follow */
		o = strlen(msg) + (i ? 2 : 0) + n + 2 * q;
		if (o + (oa__json_next(s, k) >= 0 ? 5 : 0) >= msglen) {
			add(msg, msglen, i ? ", ..." : "...", i ? 5 : 3);
			break;
		}
		if (i)
			add(msg, msglen, ", ", 2);
		add(msg, msglen, "\"", q);
		add(msg, msglen, x, n);
		add(msg, msglen, "\"", q);
	}
	return 1;
}

/* see oa_private.h */
OA_PRIVATE int
oa__tools_check(const oa__tool *tool, oa__json *args, oa__json *scratch,
                oa__buf *tmp, char *msg, size_t msglen)
{
	char err[OA__ERRLEN] = "";
	const char *name;
	int k, v, ps, r;

	if (msglen > 0)
		msg[0] = '\0';
	if (oa__json_type(args, 0) != OA__JSON_OBJECT)
		return say(msg, msglen, "arguments must be a JSON object");
	oa__buf_reset(tmp);
	if ((r = oa__buf_puts(tmp, tool->schema)) != 0 ||
	    (r = oa__json_parse(scratch, tmp->p, tmp->len, err)) != 0) {
		say(msg, msglen, "%s", err[0] ? err : r == OA_ERR_NOMEM ?
		    "out of memory" : "the schema is too long to check");
		return r;
	}
	ps = oa__json_get(scratch, 0, "required");
	if (oa__json_type(scratch, ps) == OA__JSON_ARRAY)
		for (k = oa__json_first(scratch, ps); k >= 0;
		     k = oa__json_next(scratch, k)) {
			name = oa__json_str(scratch, k, NULL);
			if (name != NULL && oa__json_get(args, 0, name) < 0)
				return say(msg, msglen, "missing required "
				           "argument \"%s\"", name);
		}
	ps = oa__json_get(scratch, 0, "properties");
	if (oa__json_type(scratch, ps) != OA__JSON_OBJECT)
		return 0;
	for (k = oa__json_first(scratch, ps); k >= 0;
	     k = oa__json_next(scratch, k + 1)) {
		name = oa__json_str(scratch, k, NULL);
		if ((v = oa__json_get(args, 0, name)) < 0)
			continue;
		if (check_type(scratch, oa__json_get(scratch, k + 1, "type"),
		               args, v, name, msg, msglen) ||
		    check_enum(scratch, oa__json_get(scratch, k + 1, "enum"),
		               args, v, name, msg, msglen))
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ handlers */

/* see oa_private.h */
OA_PRIVATE int
oa__tools_call(const oa__tool *tool, oa__json *args, const char *text,
               size_t len, oa__buf *out)
{
	struct oa_args a;
	struct oa_result r;
	int rc;

	a.j = args;
	a.text = text;
	a.len = len;
	r.b = out;
	oa__buf_reset(out);
	/* out->p is "" rather than NULL even when nothing is written */
	if (oa__buf_append(out, "", 0) != 0)
		return out->err;
	if (tool->fn == NULL) {
		oa__buf_puts(out, "the tool has no handler");
		return out->err ? out->err : 1;
	}
	rc = tool->fn(tool->ctx, &a, &r);
	if (out->err != 0)
		return out->err;
	return rc != 0;
}

/* see openagent.h */
const char *
oa_args_json(const oa_args *a, size_t *len)
{
	if (len != NULL)
		*len = a ? a->len : 0;
	return a ? a->text : NULL;
}

/* Member key of the arguments, or -1. */
static int
member(const oa_args *a, const char *key)
{
	return a == NULL || key == NULL ? -1 : oa__json_get(a->j, 0, key);
}

/* see openagent.h */
int
oa_args_string(oa_args *a, const char *key, const char **s, size_t *len)
{
	const char *v;
	int t = member(a, key);

	if (s == NULL || t < 0 || (v = oa__json_str(a->j, t, len)) == NULL)
		return OA_ERR_INVALID;
	*s = v;
	return 0;
}

/* see openagent.h */
int
oa_args_number(oa_args *a, const char *key, double *v)
{
	int t = member(a, key);

	if (v == NULL || t < 0 || oa__json_double(a->j, t, v) != 0)
		return OA_ERR_INVALID;
	return 0;
}

/* see openagent.h */
int
oa_args_int(oa_args *a, const char *key, long long *v)
{
	int t = member(a, key);
	double d;

	if (v == NULL || t < 0)
		return OA_ERR_INVALID;
	if (oa__json_int(a->j, t, v) == 0)
		return 0;
	/* 2.0 and 1e3 pass the schema's "integer", so they are taken here */
	if (whole(a->j, t) && oa__json_double(a->j, t, &d) == 0 &&
	    d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
		*v = (long long)d;
		return 0;
	}
	return OA_ERR_INVALID;
}

/* see openagent.h */
int
oa_args_bool(oa_args *a, const char *key, int *v)
{
	int t = member(a, key), b;

	if (v == NULL || t < 0 || (b = oa__json_bool(a->j, t)) < 0)
		return OA_ERR_INVALID;
	*v = b;
	return 0;
}

/* see openagent.h -- answered from the untouched text, since the parsed
 * one may have had strings unescaped in place. A string's raw token has
 * lost its end, so it is found again by scanning to the closing quote. */
int
oa_args_raw(oa_args *a, const char *key, const char **json, size_t *len)
{
	const char *p;
	size_t n;
	int t = member(a, key);

	if (json == NULL || t < 0)
		return OA_ERR_INVALID;
	p = a->text + (oa__json_raw(a->j, t, &n) - a->j->src);
	if (oa__json_type(a->j, t) == OA__JSON_STRING) {
		for (p--, n = 1; p[n] != '"'; n++)
			if (p[n] == '\\')
				n++;
		n++;
	}
	*json = p;
	if (len != NULL)
		*len = n;
	return 0;
}

/* see openagent.h */
int
oa_result_write(oa_result *r, const char *s, size_t n)
{
	if (r == NULL || (s == NULL && n > 0))
		return OA_ERR_INVALID;
	return oa__buf_append(r->b, s, n);
}

/* see openagent.h */
int
oa_result_puts(oa_result *r, const char *s)
{
	if (s == NULL)
		return OA_ERR_INVALID;
	return oa_result_write(r, s, strlen(s));
}

/* see openagent.h */
int
oa_result_printf(oa_result *r, const char *fmt, ...)
{
	va_list ap;
	oa__buf *b;
	int n;

	if (r == NULL || fmt == NULL)
		return OA_ERR_INVALID;
	b = r->b;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return OA_ERR_INVALID;
	if (oa__buf_reserve(b, (size_t)n) != 0)
		return b->err;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

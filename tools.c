/*
 * tools.c -- the tool table: copying the caller's tools, writing the
 * request's "tools" array, checking a call's arguments against its tool's
 * schema, and running a handler through the oa_args / oa_result accessors
 * it is given. The optional module shorthand.c turns parameter lists
 * written as "a:number b:string" into JSON Schema.
 *
 * The check (oa__tools_check) comes before the handler runs, so that a
 * model's mistake comes back to it as a reason it can act on ("missing
 * required argument \"b\"") rather than as whatever the handler makes of
 * it. A deliberately small subset of JSON Schema, enough to catch what
 * models get wrong:
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
 *
 * States. A table is built once by oa__tools_init and is read-only after.
 * Every string in it is the table's own copy, and every schema is a JSON
 * object text whatever form the caller wrote it in, so the request writer
 * and the checker see one shape.
 *
 * Buffers. Nothing here keeps memory between calls. A handler writes into
 * the caller's result buffer, whose limit bounds it. The checker parses the
 * schema from a copy in the caller's buffer with the caller's JSON reader,
 * both reused call after call, so once they have grown a stream of tool
 * calls allocates nothing.
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

/* ------------------------------------------------------------ the table */

#define TOOL_NAME_CHARS                                                      \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
#define NO_PARAMETERS "{\"type\":\"object\",\"properties\":{}}"

/* Copy the next tool, src[t->n] (those before it are copied): a name of
 * 1 to 64 TOOL_NAME_CHARS that no earlier tool has, and a schema kept
 * trimmed once it is known to parse (a list that does not start with '{'
 * is the shorthand, which shorthand.c turns into one). */
static int
copy_tool(oa__tools *t, const oa_tool *src, char *err)
{
	size_t i = t->n;
	const char *name = src[i].name ? src[i].name : "";
	const char *desc = src[i].description ? src[i].description : "";
	const char *p = src[i].parameters ? src[i].parameters : "";
	size_t len = strlen(name), n = strlen(p);
	char msg[OA__ERRLEN] = "";
	oa__tool *d = t->v + i;
	oa__json j = { .alloc = t->alloc };
	int r;

	*d = (oa__tool){ .fn = src[i].handler, .ctx = src[i].ctx };
	if (len == 0 || len > 64 || strspn(name, TOOL_NAME_CHARS) != len) {
		oa__quote(msg, sizeof msg, name, len, 64);
		return oa__fail(err, OA_ERR_INVALID, "tools[%zu]: bad name "
		                "\"%s\" (want 1 to 64 of A-Z a-z 0-9 _ -)", i,
		                msg);
	}
	if (oa__tools_find(t, name) != NULL)
		return oa__fail(err, OA_ERR_INVALID, "tools[%zu]: the name "
		                "\"%s\" is taken by tools[%zu]", i, name,
		                (size_t)(oa__tools_find(t, name) - t->v));
	oa__trim(&p, &n);
	if (n == 0)
		n = strlen(p = NO_PARAMETERS);
	if (*p != '{' && oa__modules.shorthand == NULL)
		return oa__fail(err, OA_ERR_INVALID, "tool \"%s\": parameters "
		                "in the shorthand need shorthand.c, which this "
		                "build leaves out; give a JSON Schema object",
		                name);
	d->name = oa__strndup(t->alloc, name, len);
	d->description = oa__strndup(t->alloc, desc, strlen(desc));
	if (*p == '{')
		d->schema = oa__strndup(t->alloc, p, n);
	else if ((r = oa__modules.shorthand(t->alloc, name, p, &d->schema,
	                                    err)) != 0)
		return r;
	if (!d->name || !d->description || !d->schema)
		return oa__fail(err, OA_ERR_NOMEM, "out of memory");
	/* parsing does not write: strings are unescaped only on look-up */
	r = oa__json_parse(&j, d->schema, strlen(d->schema), msg);
	oa__json_free(&j);
	if (r == OA_ERR_NOMEM)
		return oa__fail(err, r, "out of memory");
	return r ? oa__fail(err, OA_ERR_INVALID, "tool \"%s\": parameters "
	                    "are not a JSON object: %s", name, msg) : 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__tools_init(oa__tools *t, const oa_allocator *a, const oa_tool *src,
               size_t n, char *err)
{
	int r = 0;

	*t = (oa__tools){ .alloc = a };
	if (n == 0)
		return 0;
	if (src == NULL)
		return oa__fail(err, OA_ERR_INVALID, "tools is NULL but ntools "
		                "is %zu", n);
	if ((t->v = oa__mallocarray(a, n, sizeof *t->v)) == NULL)
		return oa__fail(err, OA_ERR_NOMEM, "out of memory");
	/* t->n counts the tools copied, and after a failure the one that
	 * failed, which copy_tool() zeroes first, so that the free below
	 * finds what it holds */
	for (; t->n < n && r == 0; t->n++)
		r = copy_tool(t, src, err);
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
	*t = (oa__tools){ .alloc = t->alloc };
}

/* see oa_private.h -- a name needs no escaping: it is [A-Za-z0-9_-] */
OA_PRIVATE void
oa__tools_put(const oa__tools *t, oa__buf *b)
{
	size_t i;

	oa__buf_puts(b, "[");
	for (i = 0; i < t->n; i++) {
		oa__buf_printf(b, "%s{\"type\":\"function\",\"function\":{"
		               "\"name\":\"%s\",\"description\":", i ? "," : "",
		               t->v[i].name);
		oa__json_put_str(b, t->v[i].description,
		                 strlen(t->v[i].description));
		oa__buf_printf(b, ",\"parameters\":%s}}", t->v[i].schema);
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

/* ------------------------------------------------------------ checking */

/* The names a schema's "type" may use, at the JSON type of the values
 * that have them (OA__JSON_TRUE and _FALSE are both "boolean"); in slot 0,
 * which is no value's type, "integer": a number whose value is whole. */
static const char *const type_names[] = {
	"integer", "object", "array", "string", "number", "boolean",
	"boolean", "null"
};

/* Value v of a has the type name; a name outside type_names, or one that
 * is not a string, passes. */
static int
has_type(const oa__json *a, int v, const char *name)
{
	int i = name ? 0 : 8;
	double d;

	while (i < 8 && strcmp(name, type_names[i]) != 0)
		i++;
	if (i > 0)
		return i == 8 || strcmp(name, type_names[oa__json_type(a, v)]) == 0;
	/* past 2^53 every finite double is whole */
	return oa__json_double(a, v, &d) == 0 &&
	       (d > -1e18 && d < 1e18 ? (double)(long long)d == d : d - d == 0);
}

/* Token t's text: a string's unescaped value, else its JSON text. */
static const char *
text_of(oa__json *j, int t, size_t *n)
{
	return oa__json_type(j, t) == OA__JSON_STRING ? oa__json_str(j, t, n)
	                                              : oa__json_raw(j, t, n);
}

/* Value v of a equals value e of s: numbers by value, anything else by
 * type and text_of (so strings by their unescaped value). */
static int
same(oa__json *a, int v, oa__json *s, int e)
{
	size_t xn, yn;
	double dx, dy;
	const char *x = text_of(a, v, &xn), *y = text_of(s, e, &yn);

	if (oa__json_double(a, v, &dx) == 0 && oa__json_double(s, e, &dy) == 0)
		return dx == dy;
	return oa__json_type(a, v) == oa__json_type(s, e) && xn == yn &&
	       memcmp(x, y, xn) == 0;
}

/* The item of list r after item k (-1: the first), or -1: the elements of
 * an array, or r itself when it is one string ("type": "number"). (A
 * list that is neither has no items, or for an object its keys: a schema
 * that odd gets no better than it asks for.) */
static int
item(const oa__json *s, int r, int k)
{
	if (oa__json_type(s, r) == OA__JSON_STRING)
		return k < 0 ? r : -1;
	return k < 0 ? oa__json_first(s, r) : oa__json_next(s, k);
}

/* Check member v of a, called name, against rule r of its schema in s:
 * the "type" (names) or, with is_enum, the "enum" (values). 0 when v
 * passes or r lists nothing, else 1 with msg saying what v must be: "a
 * string, a number or null", or "one of" the values while they fit, then
 * "...". msg is written as the items are tried, so also when v passes. */
static int
check_rule(oa__json *s, int r, int is_enum, oa__json *a, int v,
           const char *name, char *msg, size_t msglen)
{
	const char *x, *pre, *post, *sep;
	size_t n, o;
	int k, i = 0;

	snprintf(msg, msglen, "argument \"%s\" must be %s", name,
	         is_enum ? "one of " : "");
	for (k = item(s, r, -1); k >= 0; k = item(s, r, k), i++) {
		if (is_enum ? same(a, v, s, k)
		            : has_type(a, v, oa__json_str(s, k, NULL)))
			return 0;
		/* an enum's strings quoted; a type's name with its article */
		x = text_of(s, k, &n);
		post = is_enum && oa__json_type(s, k) == OA__JSON_STRING ? "\""
		                                                          : "";
		pre = is_enum ? post : strcmp(x, "null") == 0 ? ""
		      : strchr("aio", x[0]) ? "an " : "a ";
		sep = i == 0 ? "" : is_enum || item(s, r, k) >= 0 ? ", " : " or ";
		/* room for this item, and for ", ..." if more follow */
		o = strlen(msg);
		if (o + strlen(sep) + strlen(pre) + n + strlen(post) +
		    (item(s, r, k) >= 0 ? 5 : 0) < msglen) {
			snprintf(msg + o, msglen - o, "%s%s%.*s%s", sep, pre,
			         (int)n, x, post);
		} else if (o < msglen) {
			snprintf(msg + o, msglen - o, "%s", i ? ", ..." : "...");
			msglen = 0; /* the list is cut: nothing more goes in */
		}
	}
	return i > 0;
}

/* see oa_private.h -- the rules are those of the opening comment */
OA_PRIVATE int
oa__tools_check(const oa__tool *tool, oa__json *a, oa__json *s,
                oa__buf *tmp, char *msg, size_t msglen)
{
	char err[OA__ERRLEN] = "";
	const char *name = NULL;
	int k, v, r;

	if (oa__json_type(a, 0) != OA__JSON_OBJECT) {
		snprintf(msg, msglen, "arguments must be a JSON object");
		return 1;
	}
	/* the schema from a copy, since look-ups unescape in place */
	oa__buf_reset(tmp);
	if ((r = oa__buf_puts(tmp, tool->schema)) != 0 ||
	    (r = oa__json_parse(s, tmp->p, tmp->len, err)) != 0) {
		snprintf(msg, msglen, "%s", err[0] ? err : "out of memory");
		return r;
	}
	r = oa__json_get(s, 0, "required");
	for (k = item(s, r, -1); k >= 0; k = item(s, r, k))
		if ((name = oa__json_str(s, k, NULL)) != NULL &&
		    oa__json_get(a, 0, name) < 0)
			break;
	if (k >= 0) {
		snprintf(msg, msglen, "missing required argument \"%s\"", name);
		return 1;
	}
	r = oa__json_get(s, 0, "properties");
	if (oa__json_type(s, r) != OA__JSON_OBJECT)
		r = -1;
	for (k = oa__json_first(s, r); k >= 0; k = oa__json_next(s, k + 1)) {
		name = oa__json_str(s, k, NULL);
		if ((v = oa__json_get(a, 0, name)) >= 0 &&
		    (check_rule(s, oa__json_get(s, k + 1, "type"), 0, a, v,
		                name, msg, msglen) ||
		     check_rule(s, oa__json_get(s, k + 1, "enum"), 1, a, v,
		                name, msg, msglen)))
			return 1;
	}
	if (msglen > 0)
		msg[0] = '\0';
	return 0;
}

/* ------------------------------------------------------------ handlers */

/* see oa_private.h */
OA_PRIVATE int
oa__tools_call(const oa__tool *tool, oa__json *args, const char *text,
               size_t len, oa__buf *out)
{
	struct oa_args a = { args, text, len };
	struct oa_result r = { out };
	int rc = 1;

	oa__buf_reset(out);
	/* out->p is "" rather than NULL even when nothing is written */
	if (tool->fn == NULL)
		oa__buf_puts(out, "the tool has no handler");
	else if (oa__buf_append(out, "", 0) == 0)
		rc = tool->fn(tool->ctx, &a, &r);
	return out->err ? out->err : rc != 0;
}

/* see openagent.h */
const char *
oa_args_json(const oa_args *a, size_t *len)
{
	if (len != NULL)
		*len = a ? a->len : 0;
	return a ? a->text : NULL;
}

/* Member key of the arguments, or -1 (also when there is no out to
 * answer in). */
static int
member(const oa_args *a, const char *key, const void *out)
{
	return a && key && out ? oa__json_get(a->j, 0, key) : -1;
}

/* see openagent.h */
int
oa_args_string(oa_args *a, const char *key, const char **s, size_t *len)
{
	const char *v;
	int t = member(a, key, s);

	if (t < 0 || (v = oa__json_str(a->j, t, len)) == NULL)
		return OA_ERR_INVALID;
	*s = v;
	return 0;
}

/* see openagent.h */
int
oa_args_number(oa_args *a, const char *key, double *v)
{
	int t = member(a, key, v);

	return t < 0 || oa__json_double(a->j, t, v) ? OA_ERR_INVALID : 0;
}

/* see openagent.h */
int
oa_args_int(oa_args *a, const char *key, long long *v)
{
	int t = member(a, key, v);
	double d;

	if (t >= 0 && oa__json_int(a->j, t, v) == 0)
		return 0;
	/* 2.0 and 1e3 pass the schema's "integer", so they are taken here */
	if (t < 0 || oa__json_double(a->j, t, &d) ||
	    d < -9223372036854775808.0 || d >= 9223372036854775808.0 ||
	    (double)(long long)d != d)
		return OA_ERR_INVALID;
	*v = (long long)d;
	return 0;
}

/* see openagent.h */
int
oa_args_bool(oa_args *a, const char *key, int *v)
{
	int t = member(a, key, v), b;

	if (t < 0 || (b = oa__json_bool(a->j, t)) < 0)
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
	int t = member(a, key, json);

	if (t < 0)
		return OA_ERR_INVALID;
	p = a->text + (oa__json_raw(a->j, t, &n) - a->j->src);
	if (oa__json_type(a->j, t) == OA__JSON_STRING) {
		for (p--, n = 1; p[n] != '"'; n += p[n] == '\\' ? 2 : 1)
			;
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
	return s ? oa_result_write(r, s, strlen(s)) : OA_ERR_INVALID;
}

/* see openagent.h */
int
oa_result_printf(oa_result *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r == NULL || fmt == NULL)
		return OA_ERR_INVALID;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || oa__buf_reserve(r->b, (size_t)n) != 0)
		return n < 0 ? OA_ERR_INVALID : r->b->err;
	va_start(ap, fmt);
	vsnprintf(r->b->p + r->b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r->b->len += (size_t)n;
	return 0;
}

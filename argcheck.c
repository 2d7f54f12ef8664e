/*
 * argcheck.c -- a tool call's arguments checked against the tool's JSON
 * Schema before the handler runs, so that a model's mistake comes back to
 * it as a reason it can act on ("missing required argument \"b\"") rather
 * than as whatever the handler makes of it.
 *
 * Reached from tools.c (oa__tools_check) through oa__modules.argcheck;
 * left out (with -DOA_NO_ARGCHECK), the core checks only that the
 * arguments are a JSON object, and handlers meet the rest through the
 * oa_args_* functions, which refuse a member that is absent or of another
 * type.
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
 *
 * Buffers: the schema is parsed from a copy in the caller's tmp buffer
 * with the caller's scratch reader (string look-ups unescape in place);
 * both are reused call after call, so once they have grown a stream of
 * tool calls allocates nothing.
 */
#include <stdio.h>
#include <string.h>

#include "oa_private.h"

OA_PRIVATE int oa__argcheck(const char *schema, oa__json *args,
                            oa__json *scratch, oa__buf *tmp, char *msg,
                            size_t msglen);

/* A number whose value is whole. */
static int
whole(const oa__json *j, int t)
{
	double d;

	if (oa__json_double(j, t, &d) != 0)
		return 0;
	if (d > -1e18 && d < 1e18)
		return (double)(long long)d == d;
	return d - d == 0;   /* past 2^53 every finite double is whole */
}

#define KIND(t) (1u << (t))

/* The type names, the words a message uses for them, and the JSON types
 * that pass (an "integer" must also be whole). */
static const struct {
	const char *name, *words;
	unsigned types;
} kinds[] = {
	{ "string", "a string", KIND(OA__JSON_STRING) },
	{ "integer", "an integer", KIND(OA__JSON_NUMBER) },
	{ "number", "a number", KIND(OA__JSON_NUMBER) },
	{ "boolean", "a boolean", KIND(OA__JSON_TRUE) | KIND(OA__JSON_FALSE) },
	{ "object", "an object", KIND(OA__JSON_OBJECT) },
	{ "array", "an array", KIND(OA__JSON_ARRAY) },
	{ "null", "null", KIND(OA__JSON_NULL) },
};

/* Value t of j has the named type; an unknown name passes. With words,
 * *words is what a message calls the type. */
static int
type_is(const oa__json *j, int t, const char *type, const char **words)
{
	size_t i;

	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].name, type) == 0) {
			*words = kinds[i].words;
			return (kinds[i].types & KIND(oa__json_type(j, t))) &&
			       (strcmp(type, "integer") != 0 || whole(j, t));
		}
	*words = type;
	return 1;
}

/* Check member v against the schema's "type" ty. 0 when it passes, else
 * 1 with the message: "must be a string, a number or null". */
static int
check_type(oa__json *s, int ty, const oa__json *args, int v,
           const char *name, char *msg, size_t msglen)
{
	char list[OA__ERRLEN] = "";
	const char *w, *words, *prev = NULL;
	int one = oa__json_type(s, ty) == OA__JSON_STRING, k;
	size_t n;

	if (!one && oa__json_type(s, ty) != OA__JSON_ARRAY)
		return 0;
	/* ty itself when it is one name, else each name of its array; each
	 * name's words join the list once the next one comes, so the last
	 * can be joined with "or" */
	for (k = one ? ty : oa__json_first(s, ty); k >= 0;
	     k = one ? -1 : oa__json_next(s, k)) {
		if ((w = oa__json_str(s, k, NULL)) == NULL)
			continue;
		if (type_is(args, v, w, &words))
			return 0;
		n = strlen(list);
		if (prev != NULL)
			snprintf(list + n, sizeof list - n, "%s%s",
			         n ? ", " : "", prev);
		prev = words;
	}
	if (prev == NULL)
		return 0;
	snprintf(msg, msglen, "argument \"%s\" must be %s%s%s", name, list,
	         list[0] ? " or " : "", prev);
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
	x = type == OA__JSON_STRING ? oa__json_str(a, v, &xn)
	                            : oa__json_raw(a, v, &xn);
	y = type == OA__JSON_STRING ? oa__json_str(s, e, &yn)
	                            : oa__json_raw(s, e, &yn);
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
		o = strlen(msg);
		if (o + (i ? 2 : 0) + n + 2 * q +
		    (oa__json_next(s, k) >= 0 ? 5 : 0) >= msglen) {
			if (o < msglen)
				snprintf(msg + o, msglen - o, "%s",
				         i ? ", ..." : "...");
			break;
		}
		snprintf(msg + o, msglen - o, "%s%s%.*s%s", i ? ", " : "",
		         q ? "\"" : "", (int)n, x, q ? "\"" : "");
	}
	return 1;
}

/* see modules.c -- args is a JSON object; msg is "" */
OA_PRIVATE int
oa__argcheck(const char *schema, oa__json *args, oa__json *scratch,
             oa__buf *tmp, char *msg, size_t msglen)
{
	char err[OA__ERRLEN] = "";
	const char *name;
	int k, v, ps, r;

	oa__buf_reset(tmp);
	if ((r = oa__buf_puts(tmp, schema)) != 0 ||
	    (r = oa__json_parse(scratch, tmp->p, tmp->len, err)) != 0) {
		snprintf(msg, msglen, "%s", err[0] ? err : r == OA_ERR_NOMEM ?
		         "out of memory" : "the schema is too long to check");
		return r;
	}
	ps = oa__json_get(scratch, 0, "required");
	if (oa__json_type(scratch, ps) != OA__JSON_ARRAY)
		ps = -1;
	for (k = oa__json_first(scratch, ps); k >= 0;
	     k = oa__json_next(scratch, k)) {
		name = oa__json_str(scratch, k, NULL);
		if (name != NULL && oa__json_get(args, 0, name) < 0) {
			snprintf(msg, msglen, "missing required argument "
			         "\"%s\"", name);
			return 1;
		}
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

/*
 * shorthand.c -- tool parameters written as a list, "a:number b:string",
 * turned into the JSON Schema the request sends and the checker reads:
 *     {"type":"object","properties":{"a":{"type":"number"},
 *      "b":{"type":"string"}},"required":["a","b"]}
 * Items are name:type, separated by blanks and/or commas; names are
 * [A-Za-z0-9_], types string, integer, number or boolean, and every member
 * is required. A convenience for flat objects: anything else needs a full
 * JSON Schema, which works with or without this module.
 *
 * Reached from tools.c through oa__modules.shorthand; left out (with
 * -DOA_NO_SHORTHAND), oa_init() refuses a tool written this way, naming
 * this file.
 */
#include <string.h>

#include "oa_private.h"

OA_PRIVATE int oa__shorthand(const oa_allocator *a, const char *tool,
                             const char *list, char **schema, char *err);

/* The next item of the list at *p ("" at the end). */
static size_t
next_item(const char **p, const char **item)
{
	const char *s = *p + strspn(*p, " \t\r\n,");

	*item = s;
	*p = s + strcspn(s, " \t\r\n,");
	return (size_t)(*p - s);
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
	tn = n - *name_len - 1;
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	           "0123456789_") != *name_len)
		return NULL;
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i]) == tn && memcmp(colon + 1, types[i], tn) == 0)
			return types[i];
	return NULL;
}

/* see modules.c */
OA_PRIVATE int
oa__shorthand(const oa_allocator *a, const char *tool, const char *list,
              char **schema, char *err)
{
	const char *p = list, *q, *s, *s2, *type;
	size_t n, n2, nl, nl2;
	char quoted[80] = "";
	oa__buf props, req;
	int r = OA_ERR_INVALID;

	memset(&props, 0, sizeof props);
	memset(&req, 0, sizeof req);
	props.alloc = req.alloc = a;
	oa__buf_puts(&props, "{\"type\":\"object\",\"properties\":{");
	while ((n = next_item(&p, &s)) > 0) {
		if ((type = item_type(s, n, &nl)) == NULL) {
			oa__quote(quoted, sizeof quoted, s, n, 48);
			oa__fail(err, OA_ERR_INVALID, "tool \"%s\": bad "
			         "parameter \"%s\"", tool, quoted);
			goto fail;
		}
		for (q = list; (n2 = next_item(&q, &s2)) > 0 && s2 < s;)
			if (item_type(s2, n2, &nl2) && nl2 == nl &&
			    memcmp(s2, s, nl) == 0) {
				oa__quote(quoted, sizeof quoted, s, nl, 48);
				oa__fail(err, OA_ERR_INVALID, "tool \"%s\": "
				         "parameter \"%s\" is given twice", tool,
				         quoted);
				goto fail;
			}
		oa__buf_printf(&props, "%s\"%.*s\":{\"type\":\"%s\"}",
		               req.len ? "," : "", (int)nl, s, type);
		oa__buf_printf(&req, "%s\"%.*s\"", req.len ? "," : "",
		               (int)nl, s);
	}
	if (req.len > 0)
		oa__buf_printf(&props, "},\"required\":[%s]}", req.p);
	else
		oa__buf_puts(&props, "}}");
	if (props.err || req.err) {
		r = oa__fail(err, OA_ERR_NOMEM, "out of memory");
		goto fail;
	}
	oa__buf_free(&req);
	*schema = props.p;
	return 0;
fail:
	oa__buf_free(&props);
	oa__buf_free(&req);
	return r;
}

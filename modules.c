/*
 * modules.c -- the optional modules this build has, in the one table the
 * core reaches them through (oa__modules, see oa_private.h), in the
 * manner of Lua's linit.c.
 *
 * To leave a module out, do not compile its file and define its flag:
 *   -DOA_NO_TLS         tls.c: https:// (and BearSSL) left out
 *   -DOA_NO_PROXY       proxy.c: http_proxy and oa_options.proxy
 *   -DOA_NO_TRACE       trace.c: OA_DEBUG and oa_options.debug
 *   -DOA_NO_TEXTFILTER  textfilter.c: parse_text_tools, think_tags,
 *                       lenient_tool_args
 *   -DOA_NO_FIELDS      fields.c: top_p, seed, stop, penalties,
 *                       tool_choice, response_format, extra
 *   -DOA_NO_RETRY       retry.c: retries of refused connections and of
 *                       HTTP 429 and 503
 *   -DOA_NO_SHORTHAND   shorthand.c: tool parameters written as
 *                       "a:number b:string" (JSON Schema always works)
 *   -DOA_NO_JSONREUSE   jsonreuse.c: a JSON parse resumes where the text
 *                       stops matching the last one (without it each
 *                       text is parsed whole: the same, only slower)
 * The modules that sit on top of the client (context.c, config.c,
 * images.c) need no entry here: leaving one out only removes its public
 * functions. The core alone (dist/core/openagent.c) has no modules.c at
 * all and the table empty.
 */
#include <stddef.h>

#include "oa_private.h"

#ifndef OA_NO_TLS
OA_PRIVATE_DATA const oa__tls_ops oa__tls;
#define TLS &oa__tls
#else
#define TLS NULL
#endif

#ifndef OA_NO_PROXY
OA_PRIVATE_DATA const oa__proxy_ops oa__proxy;
#define PROXY &oa__proxy
#else
#define PROXY NULL
#endif

#ifndef OA_NO_TRACE
OA_PRIVATE void oa__trace(char dir, const char *s, size_t n, int head);
#define TRACE oa__trace
#else
#define TRACE NULL
#endif

#ifndef OA_NO_TEXTFILTER
OA_PRIVATE_DATA const oa__filter_ops oa__filter;
#define FILTER &oa__filter
#else
#define FILTER NULL
#endif

#ifndef OA_NO_FIELDS
OA_PRIVATE int oa__fields(struct oa__client *p, const oa_options *o,
                          int max_tokens, int send_temperature,
                          double temperature);
#define FIELDS oa__fields
#else
#define FIELDS NULL
#endif

#ifndef OA_NO_RETRY
OA_PRIVATE_DATA const oa__retry_ops oa__retry;
#define RETRY &oa__retry
#else
#define RETRY NULL
#endif

#ifndef OA_NO_SHORTHAND
OA_PRIVATE int oa__shorthand(const oa_allocator *a, const char *tool,
                             const char *list, char **schema, char *err);
#define SHORTHAND oa__shorthand
#else
#define SHORTHAND NULL
#endif

#ifndef OA_NO_JSONREUSE
OA_PRIVATE int oa__json_reuse(oa__json *j, size_t limit, size_t depth,
                              struct oa__json_at *at, char *err);
#define JSONREUSE oa__json_reuse
#else
#define JSONREUSE NULL
#endif

/* see oa_private.h */
OA_PRIVATE const struct oa__modules oa__modules = {
	TLS, PROXY, TRACE, FILTER, FIELDS, RETRY, SHORTHAND, JSONREUSE
};

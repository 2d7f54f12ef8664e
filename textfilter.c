/*
 * textfilter.c -- tool calls and thinking that arrive inside the reply
 * text, for servers that run without a tool or reasoning parser. Content
 * bytes go in, in pieces of any size; segments come out: text, thinking,
 * tool calls. Any split of the input gives the same segments, up to how
 * text and thinking are cut into pieces.
 *
 * What is recognised, by flag:
 *   OA__TF_THINK   "<think>" as the first thing in the reply (blanks before
 *                  it are dropped): thinking until "</think>", then the
 *                  answer, whose leading blanks are dropped too. A leading
 *                  "</think>" with no opening tag ends an empty thinking.
 *                  Later tags are text.
 *   OA__TF_THINK_OPEN  the prompt template opened <think> itself (some
 *                  DeepSeek-R1 and Qwen3 templates), so everything before
 *                  "</think>" is thinking. This has to be said up front:
 *                  released text cannot be taken back, and holding all of
 *                  it for a "</think>" that may never come would break the
 *                  delay bound below.
 *   OA__TF_TOOLS   "<tool_call>{json}</tool_call>" (Hermes, Qwen) and
 *                  "[TOOL_CALLS]" followed by a JSON array of calls or one
 *                  call (Mistral v3) or by "name[ARGS]{json}" (Mistral v11;
 *                  "[CALL_ID]id" before "[ARGS]" is skipped), anywhere in
 *                  the answer; and a whole answer that is exactly one
 *                  {"name":..., "arguments" or "parameters":...}, maybe in
 *                  a ``` fence. A call's JSON may be an array of calls. A
 *                  call whose JSON does not read comes out as a call with
 *                  an error and its raw text, except at the very end of
 *                  the reply, where an unterminated call that does not
 *                  read is text: the model ran out of tokens (vLLM's
 *                  Hermes parser takes an unterminated call too).
 *   OA__TF_LENIENT a call's JSON that does not parse is repaired first
 *                  (oa__json_repair) and the call marked repaired.
 *
 * The delay bound. Text is released as soon as it cannot be the start of
 * a tag: only a tail that is a prefix of a tag waits for the next byte.
 * Two more waits are deliberate. Blanks at the start of the reply, or of
 * the answer after thinking, wait for the first visible byte (they may
 * precede <think> or a lone JSON call, or be dropped).
 * With OA__TF_TOOLS an answer that starts with '{' or "```" is held until
 * it stops looking like one JSON object (a byte after the object or in
 * the fence line that does not fit), or else to the end, where it becomes
 * a call or, all at once, text.
 *
 * States: START (start of the answer), TEXT, THINK, HERMES and MISTRAL
 * (inside a call; MISTRAL has sub-states for the JSON and the name forms),
 * CALLS (handing out the calls of a parsed JSON text one per oa__tf_next)
 * and WHOLE (a possible lone call; sub-states follow the fence). A state
 * looks at the held bytes and either releases a segment, waits for more,
 * or moves to another state without consuming, so the next one looks at
 * the same bytes.
 *
 * Buffers. hold keeps what was fed and not yet released, [off, len); each
 * feed is appended after the unreleased bytes are moved to the front, so
 * once hold has its working size nothing is allocated. A text segment
 * points into hold, with a NUL written after it; the byte under the NUL
 * is put back when the loan ends. A call's JSON is copied (or repaired)
 * into work, parsed there by json, and its arguments and name copied into
 * out, NUL-terminated. Skipping JSON to find where a call ends counts
 * brackets outside strings, remembering where it stopped (scan), so a
 * call arriving byte by byte is scanned once.
 */
#include <string.h>

#include "oa_modules.h"

enum { S_START, S_TEXT, S_THINK, S_HERMES, S_MISTRAL, S_CALLS, S_WHOLE };
enum { M_BEGIN, M_JSON, M_NAME, M_ARGS };             /* in S_MISTRAL */
enum { W_TICKS, W_LANG, W_BLANK, W_OBJ, W_AFTER };    /* in S_WHOLE */

#define NONE (-1)   /* match(): no tag here */
#define PART (-2)   /* match(): the input ends inside a tag's prefix */
#define AGAIN 2     /* a state handler moved to another state */

static const char *const think_tags[] = { "<think>", "</think>", NULL };
static const char *const end_think[] = { "</think>", NULL };
static const char *const call_tags[] = { "<tool_call>", "[TOOL_CALLS]", NULL };
static const char *const end_call[] = { "</tool_call>", NULL };

/* ---------------------------------------------------------------- bytes */

static int
letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
name_char(char c)
{
	return letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       c == '.';
}

/* Strip blanks and a Markdown code fence ("```lang" ... "```"). */
static void
unfence(const char **s, size_t *n)
{
	const char *p = *s, *e = *s + *n;

	while (p < e && oa__blank(*p))
		p++;
	while (e > p && oa__blank(e[-1]))
		e--;
	if (e - p >= 3 && memcmp(p, "```", 3) == 0) {
		p += 3;
		while (p < e && letter(*p))
			p++;
		if (e - p >= 3 && memcmp(e - 3, "```", 3) == 0)
			e -= 3;
		while (p < e && oa__blank(*p))
			p++;
		while (e > p && oa__blank(e[-1]))
			e--;
	}
	*s = p;
	*n = (size_t)(e - p);
}

/* ---------------------------------------------------------------- repair */

#define REPAIR_DEPTH 64

enum { KEY, COLON, VALUE, NEXT };   /* what the container expects next */

/* Remove a comma that ends out, before blanks. */
static void
drop_comma(oa__buf *o)
{
	size_t i = o->len;

	while (i > 0 && oa__blank(o->p[i - 1]))
		i--;
	if (i == 0 || o->p[i - 1] != ',')
		return;
	memmove(o->p + i - 1, o->p + i, o->len - i);
	o->p[--o->len] = '\0';
}

/* Close a container opened with open, giving a dangling key or colon a
 * null value. */
static void
close_one(oa__buf *o, char open, int want)
{
	drop_comma(o);
	if (open == '{' && want == COLON)
		oa__buf_puts(o, ":null");
	else if (open == '{' && want == VALUE)
		oa__buf_puts(o, "null");
	oa__buf_puts(o, open == '{' ? "}" : "]");
}

/* Copy the string whose opening quote is in[i] as a JSON string: double
 * quotes, \' unescaped and " escaped in a single-quoted one, control bytes
 * escaped, an unterminated one closed. Returns the index after it. */
static size_t
string(oa__buf *o, const char *in, size_t n, size_t i)
{
	char q = in[i++], c;

	oa__buf_puts(o, "\"");
	for (; i < n && in[i] != q; i++) {
		c = in[i];
		if (c == '\\') {
			if (i + 1 == n)
				break;      /* a cut escape: drop it */
			if (q == '\'' && in[i + 1] == '\'')
				oa__buf_puts(o, "'");
			else
				oa__buf_append(o, in + i, 2);
			i++;
		} else if (c == '"') {
			oa__buf_puts(o, "\\\"");
		} else if (c == '\n') {
			oa__buf_puts(o, "\\n");
		} else if (c == '\r') {
			oa__buf_puts(o, "\\r");
		} else if (c == '\t') {
			oa__buf_puts(o, "\\t");
		} else if ((unsigned char)c < 0x20) {
			oa__buf_printf(o, "\\u%04x", (unsigned)c);
		} else {
			oa__buf_append(o, &c, 1);
		}
	}
	oa__buf_puts(o, "\"");
	return i < n ? i + 1 : n;
}

/* A bare word: a key to quote, a Python literal to translate, or a
 * number or JSON literal to keep. */
static void
word(oa__buf *o, const char *s, size_t n, int key)
{
	static const char *const py[][2] = {
		{ "True", "true" }, { "False", "false" }, { "None", "null" }
	};
	size_t k;

	if (key) {
		oa__buf_puts(o, "\"");
		oa__buf_append(o, s, n);
		oa__buf_puts(o, "\"");
		return;
	}
	for (k = 0; k < sizeof py / sizeof py[0]; k++)
		if (strlen(py[k][0]) == n && memcmp(s, py[k][0], n) == 0) {
			oa__buf_puts(o, py[k][1]);
			return;
		}
	oa__buf_append(o, s, n);
}

static int
word_char(char c)
{
	return name_char(c) || c == '$' || c == '+';
}

static int
is_container(const oa__json *j)
{
	int t = oa__json_type(j, 0);

	return t == OA__JSON_OBJECT || t == OA__JSON_ARRAY;
}

static int
out_failed(const oa__buf *o, char *err)
{
	if (o->err == OA_ERR_LIMIT)
		return oa__fail(err, OA_ERR_LIMIT, "repaired JSON exceeds %zu "
		                "bytes", o->limit);
	return oa__fail(err, OA_ERR_NOMEM, "no memory to repair JSON");
}

/* see oa_modules.h */
OA_PRIVATE int
oa__json_repair(const char *in, size_t n, oa__buf *out, oa__json *j,
                char *err)
{
	char stack[REPAIR_DEPTH], msg[OA__ERRLEN] = "", c;
	int d = 0, want = VALUE, r;
	size_t i, e;

	oa__buf_reset(out);
	if (oa__buf_append(out, in, n))
		return out_failed(out, err);
	r = oa__json_parse(j, out->p, out->len, msg);
	if (r == 0 && is_container(j))
		return 0;
	if (r != 0 && r != OA_ERR_STREAM)
		return oa__fail(err, r, "%s", msg);

	unfence(&in, &n);
	oa__buf_reset(out);
	for (i = 0; i < n;) {
		c = in[i];
		if (c == '"' || c == '\'') {
			i = string(out, in, n, i);
			want = want == KEY ? COLON : NEXT;
			continue;
		}
		if (word_char(c)) {
			for (e = i; e < n && word_char(in[e]); e++)
				;
			word(out, in + i, e - i, want == KEY);
			want = want == KEY ? COLON : NEXT;
			i = e;
			continue;
		}
		if (c == '{' || c == '[') {
			if (d == REPAIR_DEPTH)
				return oa__fail(err, OA_ERR_LIMIT, "JSON nested "
				                "deeper than %d levels cannot be "
				                "repaired", REPAIR_DEPTH);
			stack[d++] = c;
			want = c == '{' ? KEY : VALUE;
			oa__buf_append(out, &c, 1);
		} else if ((c == '}' || c == ']') && d > 0) {
			close_one(out, stack[--d], want);
			want = NEXT;
		} else if (c == ':') {
			want = VALUE;
			oa__buf_append(out, &c, 1);
		} else if (c == ',') {
			want = d > 0 && stack[d - 1] == '{' ? KEY : VALUE;
			oa__buf_append(out, &c, 1);
		} else {
			oa__buf_append(out, &c, 1);   /* for the parse to judge */
		}
		i++;
	}
	while (d > 0) {
		close_one(out, stack[--d], want);
		want = NEXT;
	}
	if (out->err)
		return out_failed(out, err);

	msg[0] = '\0';
	r = oa__json_parse(j, out->p, out->len, msg);
	if (r == 0 && !is_container(j))
		r = oa__fail(msg, OA_ERR_STREAM, "not an object or array");
	if (r == OA_ERR_STREAM)
		return oa__fail(err, r, "not JSON even after repair: %s", msg);
	if (r != 0)
		return oa__fail(err, r, "%s", msg);
	return 1;
}

/* ---------------------------------------------------------------- helpers */

static int
failed(oa__tf *f, int code, char *err)
{
	f->fail = code;
	if (code == OA_ERR_LIMIT)
		return oa__fail(err, code, "text held while looking for tool "
		                "calls or think tags exceeds %zu bytes",
		                f->hold.limit);
	return oa__fail(err, code, "no memory to filter the reply text");
}

static void
unloan(oa__tf *f)
{
	if (f->loaned)
		f->hold.p[f->loan] = f->saved;
	f->loaned = 0;
}

/* Release hold[off, end) (end > off) as a segment. */
static int
give(oa__tf *f, oa__tf_seg *seg, int type, size_t end)
{
	seg->type = type;
	seg->text = f->hold.p + f->off;
	seg->len = end - f->off;
	f->saved = f->hold.p[end];
	f->loan = end;
	f->loaned = 1;
	f->hold.p[end] = '\0';
	f->off = end;
	return 1;
}

/* Which of tags the held bytes at `at` begin with: its index, PART when
 * they end inside a prefix of one and more may come, or NONE. */
static int
match(const oa__tf *f, size_t at, const char *const *tags)
{
	size_t have = f->hold.len - at, m;
	int k, part = 0;

	if (have == 0)
		return NONE;
	for (k = 0; tags[k] != NULL; k++) {
		m = strlen(tags[k]);
		if (memcmp(f->hold.p + at, tags[k], have < m ? have : m) != 0)
			continue;
		if (have >= m)
			return k;
		part = !f->finished;
	}
	return part ? PART : NONE;
}

/* The first place from `from` on where match() is not NONE, in *at (the
 * end of the held bytes when there is none). */
static int
find(const oa__tf *f, size_t from, const char *const *tags, size_t *at)
{
	int k;

	for (*at = from; *at < f->hold.len; (*at)++)
		if ((k = match(f, *at, tags)) != NONE)
			return k;
	return NONE;
}

/* Follow c through JSON being skipped: 1 when it closes the outermost
 * bracket. With OA__TF_LENIENT single quotes delimit strings too. */
static int
skip(oa__tf *f, char c)
{
	if (f->quote) {
		if (f->esc)
			f->esc = 0;
		else if (c == '\\')
			f->esc = 1;
		else if (c == f->quote)
			f->quote = 0;
		return 0;
	}
	if (c == '"' || (c == '\'' && (f->flags & OA__TF_LENIENT)))
		f->quote = c;
	else if (c == '{' || c == '[')
		f->depth++;
	else if ((c == '}' || c == ']') && f->depth > 0 && --f->depth == 0)
		return 1;
	return 0;
}

static void
begin_skip(oa__tf *f, size_t at, int sub)
{
	f->scan = at;
	f->sub = sub;
	f->depth = f->esc = f->ticks = 0;
	f->quote = 0;
}

static int
to_text(oa__tf *f)
{
	f->state = S_TEXT;
	return AGAIN;
}

/* ---------------------------------------------------------------- calls */

/* Read s[0, n) into json over work, repaired with OA__TF_LENIENT when it
 * does not parse. 0: parsed; 1: not JSON; or an error. */
static int
load(oa__tf *f, const char *s, size_t n, char *err)
{
	char msg[OA__ERRLEN] = "";
	int r;

	f->repaired = 0;
	unfence(&s, &n);
	oa__buf_reset(&f->work);
	if (oa__buf_append(&f->work, s, n))
		return failed(f, f->work.err, err);
	r = oa__json_parse(&f->json, f->work.p, n, msg);
	if (r == OA_ERR_STREAM && (f->flags & OA__TF_LENIENT)) {
		msg[0] = '\0';
		r = oa__json_repair(s, n, &f->work, &f->json, msg);
		f->repaired = r == 1;
		r = r == 1 ? 0 : r;
	}
	/* Too deep or too many tokens is the model's text being odd, not a
	 * reason to end the turn: the call is unreadable, like bad JSON. */
	if (r == OA_ERR_STREAM || r == OA_ERR_LIMIT)
		return 1;
	if (r == OA_ERR_NOMEM)
		return failed(f, r, err);
	if (r != 0) {
		f->fail = r;
		return oa__fail(err, r, "%s", msg);
	}
	return 0;
}

/* A call segment from out: arguments, a NUL, then the name at `at`. */
static int
give_call(oa__tf *f, oa__tf_seg *seg, size_t at, char *err)
{
	if (f->out.err)
		return failed(f, f->out.err, err);
	seg->type = OA__TF_TOOL_CALL;
	seg->args = f->out.p;
	seg->args_len = at - 1;
	seg->name = f->out.p + at;
	seg->name_len = f->out.len - at;
	seg->repaired = f->repaired;
	return 1;
}

/* A call that cannot be read: its raw text and why. */
static int
tf_bad(oa__tf *f, oa__tf_seg *seg, const char *s, size_t n,
       const char *why, char *err)
{
	oa__buf_reset(&f->out);
	if (oa__buf_append(&f->out, s, n))
		return failed(f, f->out.err, err);
	seg->type = OA__TF_TOOL_CALL;
	seg->name = "";
	seg->args = f->out.p;
	seg->args_len = n;
	seg->repaired = f->repaired;
	seg->error = why;
	return 1;
}

/* The "name" member of call object t if it is a non-empty string, or -1. */
static int
name_of(const oa__json *j, int t)
{
	int k = oa__json_get(j, t, "name");
	size_t n;

	oa__json_raw(j, k, &n);
	return oa__json_type(j, k) == OA__JSON_STRING && n > 0 ? k : -1;
}

static int
args_of(const oa__json *j, int t)
{
	int a = oa__json_get(j, t, "arguments");

	return a >= 0 ? a : oa__json_get(j, t, "parameters");
}

/* The call at token t of json. Its raw text is taken before any string in
 * it is unescaped in place. */
static int
call(oa__tf *f, int t, oa__tf_seg *seg, char *err)
{
	oa__json *j = &f->json;
	int k = name_of(j, t), a = args_of(j, t), type = oa__json_type(j, a);
	const char *s;
	size_t n, at;

	if (k < 0) {
		s = oa__json_raw(j, t, &n);
		return tf_bad(f, seg, s, n, "the tool call has no name", err);
	}
	if (type == OA__JSON_STRING)
		s = oa__json_str(j, a, &n);
	else if (type == OA__JSON_NONE || type == OA__JSON_NULL)
		s = "{}", n = 2;
	else
		s = oa__json_raw(j, a, &n);
	oa__buf_reset(&f->out);
	oa__buf_append(&f->out, s, n);
	oa__buf_append(&f->out, "", 1);
	at = f->out.len;
	s = oa__json_str(j, k, &n);
	oa__buf_append(&f->out, s, n);
	return give_call(f, seg, at, err);
}

/* s[0, n) holds one call object or an array of them: hand them out from
 * S_CALLS. When it does not read, a call with an error, or 0 when soft
 * (the caller then treats it as text). The caller has set off and state
 * for what follows. */
static int
calls(oa__tf *f, const char *s, size_t n, int soft, oa__tf_seg *seg,
      char *err)
{
	int r = load(f, s, n, err);

	if (r < 0)
		return r;
	if (r == 0 && is_container(&f->json)) {
		f->el = oa__json_type(&f->json, 0) == OA__JSON_OBJECT ?
		        0 : oa__json_first(&f->json, 0);
		f->state = S_CALLS;
		return AGAIN;
	}
	if (soft)
		return 0;
	return tf_bad(f, seg, s, n, "the tool call is not valid JSON", err);
}

/* The reply ended inside a call whose JSON starts at body: the calls if
 * they read, else everything from the tag on as text. */
static int
unterminated(oa__tf *f, size_t body, oa__tf_seg *seg, char *err)
{
	size_t at = f->off;
	int r;

	f->off = f->hold.len;
	f->state = S_TEXT;
	r = calls(f, f->hold.p + body, f->hold.len - body, 1, seg, err);
	if (r != 0)
		return r;
	f->off = at;
	return give(f, seg, OA__TF_TEXT, f->hold.len);
}

/* ---------------------------------------------------------------- states */

static int
start(oa__tf *f)
{
	size_t p = f->off;
	int k;
	char c;

	while (p < f->hold.len && oa__blank(f->hold.p[p]))
		p++;
	if (p == f->hold.len && !f->finished)
		return 0;
	if ((f->flags & OA__TF_THINK) && !f->thought) {
		if ((k = match(f, p, think_tags)) == PART)
			return 0;
		if (k >= 0) {
			f->off = p + strlen(think_tags[k]);
			f->thought = k == 1;
			f->state = k == 0 ? S_THINK : S_START;
			return AGAIN;
		}
		if (f->flags & OA__TF_THINK_OPEN) {
			f->state = S_THINK;
			return AGAIN;
		}
	}
	if (f->thought)
		f->off = p;     /* the blanks between thinking and answer */
	c = p < f->hold.len ? f->hold.p[p] : '\0';
	if ((f->flags & OA__TF_TOOLS) && (c == '{' || c == '`')) {
		begin_skip(f, p, c == '{' ? W_OBJ : W_TICKS);
		f->state = S_WHOLE;
		return AGAIN;
	}
	return to_text(f);
}

static int
text(oa__tf *f, oa__tf_seg *seg)
{
	size_t at = f->hold.len;
	int k = NONE;

	if (f->flags & OA__TF_TOOLS)
		k = find(f, f->off, call_tags, &at);
	if (at > f->off)
		return give(f, seg, OA__TF_TEXT, at);
	if (k < 0)
		return 0;
	begin_skip(f, at + strlen(call_tags[k]), M_BEGIN);
	f->state = k == 0 ? S_HERMES : S_MISTRAL;
	return AGAIN;
}

static int
think(oa__tf *f, oa__tf_seg *seg)
{
	size_t at;
	int k = find(f, f->off, end_think, &at);

	if (at > f->off)
		return give(f, seg, OA__TF_THINKING, at);
	if (k < 0)
		return 0;
	f->off = at + strlen(end_think[0]);
	f->thought = 1;
	f->state = S_START;
	return AGAIN;
}

static int
hermes(oa__tf *f, oa__tf_seg *seg, char *err)
{
	size_t at, body = f->off + strlen(call_tags[0]);
	int k = find(f, f->scan, end_call, &at);

	if (k == PART || (k == NONE && !f->finished)) {
		f->scan = at;
		return 0;
	}
	if (k == NONE)
		return unterminated(f, body, seg, err);
	f->off = at + strlen(end_call[0]);
	f->state = S_TEXT;
	return calls(f, f->hold.p + body, at - body, 0, seg, err);
}

/* "[TOOL_CALLS]" that turns out not to start a call is text. */
static int
plain(oa__tf *f, oa__tf_seg *seg)
{
	f->state = S_TEXT;
	return give(f, seg, OA__TF_TEXT, f->off + strlen(call_tags[1]));
}

/* "[TOOL_CALLS]name[ARGS]{...}" is complete at scan: the name runs from
 * mark to the first byte that cannot be in one, the arguments from
 * mark2. */
static int
named(oa__tf *f, oa__tf_seg *seg, char *err)
{
	const char *h = f->hold.p;
	size_t n = 0, at;

	while (name_char(h[f->mark + n]))
		n++;
	oa__buf_reset(&f->out);
	oa__buf_append(&f->out, h + f->mark2, f->scan + 1 - f->mark2);
	oa__buf_append(&f->out, "", 1);
	at = f->out.len;
	oa__buf_append(&f->out, h + f->mark, n);
	f->off = f->scan + 1;
	f->state = S_TEXT;
	f->repaired = 0;
	return give_call(f, seg, at, err);
}

static int
mistral(oa__tf *f, oa__tf_seg *seg, char *err)
{
	char c;

	for (; f->scan < f->hold.len; f->scan++) {
		c = f->hold.p[f->scan];
		switch (f->sub) {
		case M_BEGIN:
			if (oa__blank(c))
				continue;
			f->mark = f->scan;
			if (name_char(c)) {
				f->sub = M_NAME;
				continue;
			}
			if (c != '[' && c != '{')
				return plain(f, seg);
			f->sub = M_JSON;
			/* fall through */
		case M_JSON:
			if (!skip(f, c))
				continue;
			f->off = f->scan + 1;
			f->state = S_TEXT;
			return calls(f, f->hold.p + f->mark,
			             f->scan + 1 - f->mark, 0, seg, err);
		case M_NAME:
			if (c == '{') {
				f->mark2 = f->scan;
				f->sub = M_ARGS;
				skip(f, c);
			} else if (!name_char(c) && c != '[' && c != ']') {
				return plain(f, seg);
			}
			continue;
		default:
			if (skip(f, c))
				return named(f, seg, err);
		}
	}
	if (!f->finished)
		return 0;
	if (f->sub == M_JSON)
		return unterminated(f, f->mark, seg, err);
	return plain(f, seg);
}

static int
each(oa__tf *f, oa__tf_seg *seg, char *err)
{
	int t = f->el;

	if (t < 0)
		return to_text(f);
	f->el = t == 0 ? -1 : oa__json_next(&f->json, t);
	return call(f, t, seg, err);
}

/* The answer held since START saw '{' or "```" has ended: one call if it
 * is exactly a call object, else text. */
static int
lone(oa__tf *f, oa__tf_seg *seg, char *err)
{
	oa__json *j = &f->json;
	int r = load(f, f->hold.p + f->off, f->hold.len - f->off, err);

	f->state = S_TEXT;
	if (r != 0)
		return r < 0 ? r : AGAIN;
	if (oa__json_type(j, 0) != OA__JSON_OBJECT || name_of(j, 0) < 0 ||
	    args_of(j, 0) < 0)
		return AGAIN;
	f->off = f->hold.len;
	return call(f, 0, seg, err);
}

static int
tf_whole(oa__tf *f, oa__tf_seg *seg, char *err)
{
	char c;

	while (f->scan < f->hold.len) {
		c = f->hold.p[f->scan];
		switch (f->sub) {
		case W_TICKS:
			if (c == '`' && f->ticks < 3) {
				f->ticks++;
				break;
			}
			if (f->ticks < 3)
				return to_text(f);
			f->sub = W_LANG;
			continue;
		case W_LANG:
			if (letter(c))
				break;
			f->sub = W_BLANK;
			continue;
		case W_BLANK:
			if (oa__blank(c))
				break;
			if (c != '{')
				return to_text(f);
			f->sub = W_OBJ;
			continue;
		case W_OBJ:
			if (skip(f, c))
				f->sub = W_AFTER;
			break;
		default:
			if (!oa__blank(c) && c != '`')
				return to_text(f);
		}
		f->scan++;
	}
	return f->finished ? lone(f, seg, err) : 0;
}

/* ---------------------------------------------------------------- API */

/* see oa_modules.h */
OA_PRIVATE void
oa__tf_init(oa__tf *f, const oa_allocator *a, unsigned flags, size_t max)
{
	memset(f, 0, sizeof *f);
	if (flags & OA__TF_THINK_OPEN)
		flags |= OA__TF_THINK;
	f->flags = flags;
	if (max == 0)
		max = OA_MAX_RESPONSE_BYTES;
	f->hold.alloc = f->work.alloc = f->out.alloc = f->json.alloc = a;
	f->hold.limit = f->work.limit = f->out.limit = max;
	oa__tf_reset(f);
}

/* see oa_modules.h */
OA_PRIVATE void
oa__tf_reset(oa__tf *f)
{
	unloan(f);
	oa__buf_reset(&f->hold);
	oa__buf_reset(&f->work);
	oa__buf_reset(&f->out);
	f->off = 0;
	f->state = f->flags & (OA__TF_TOOLS | OA__TF_THINK) ? S_START : S_TEXT;
	f->thought = f->finished = f->fail = 0;
	f->el = -1;
}

/* see oa_modules.h */
OA_PRIVATE void
oa__tf_free(oa__tf *f)
{
	oa__buf_free(&f->hold);
	oa__buf_free(&f->work);
	oa__buf_free(&f->out);
	oa__json_free(&f->json);
	f->loaned = 0;
}

static size_t
down(size_t x, size_t by)
{
	return x > by ? x - by : 0;
}

/* see oa_modules.h */
OA_PRIVATE int
oa__tf_feed(oa__tf *f, const char *s, size_t n, char *err)
{
	oa__buf *h = &f->hold;

	if (f->fail)
		return f->fail;
	if (f->finished)
		return oa__fail(err, OA_ERR_STATE, "reply text fed after its "
		                "end");
	unloan(f);
	if (f->off > 0) {
		memmove(h->p, h->p + f->off, h->len - f->off);
		h->len -= f->off;
		f->scan = down(f->scan, f->off);
		f->mark = down(f->mark, f->off);
		f->mark2 = down(f->mark2, f->off);
		f->off = 0;
	}
	if (oa__buf_append(h, s, n))
		return failed(f, h->err, err);
	return 0;
}

/* see oa_modules.h */
OA_PRIVATE int
oa__tf_next(oa__tf *f, oa__tf_seg *seg, char *err)
{
	int r;

	if (f->fail)
		return f->fail;
	unloan(f);
	memset(seg, 0, sizeof *seg);
	do {
		switch (f->state) {
		case S_START:
			r = start(f);
			break;
		case S_TEXT:
			r = text(f, seg);
			break;
		case S_THINK:
			r = think(f, seg);
			break;
		case S_HERMES:
			r = hermes(f, seg, err);
			break;
		case S_MISTRAL:
			r = mistral(f, seg, err);
			break;
		case S_CALLS:
			r = each(f, seg, err);
			break;
		default:
			r = tf_whole(f, seg, err);
		}
	} while (r == AGAIN);
	return r;
}

/* see oa_modules.h */
OA_PRIVATE void
oa__tf_finish(oa__tf *f)
{
	f->finished = 1;
}

/* The client's side, behind oa__modules; fuzz/fuzz_textfilter.c takes
 * the filter alone (OA__TF_ALONE). */
#ifndef OA__TF_ALONE

/* The filter the options ask for, as the client holds it: allocated. */
static int
tf_setup(struct oa__client *p, const oa_options *o)
{
	unsigned f = (o->parse_text_tools && o->ntools ? OA__TF_TOOLS : 0) |
	             (o->think_tags == 2 ? OA__TF_THINK_OPEN :
	              o->think_tags ? OA__TF_THINK : 0);

	p->lenient = o->lenient_tool_args != 0;
	/* lenient alone mends the server's tool calls; no filter on text */
	if (f == 0)
		return 0;
	if ((p->filter = oa__malloc(&p->alloc, sizeof *p->filter)) == NULL)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	oa__tf_init(p->filter, &p->alloc, f, p->max_response);
	return 0;
}

static void
tf_close(struct oa__client *p)
{
	oa__tf_free(p->filter);
	oa__free(&p->alloc, p->filter);
}

/* A call the model wrote as text, among the reply's tool calls. */
static int
tf_add_call(struct oa__client *p, const oa__tf_seg *seg)
{
	oa__call *k;
	int r;

	if ((r = oa__new_call(p, 0, 0)) != 0)
		return r;
	k = &p->calls[p->lastcall];
	oa__buf_append(&k->name, seg->name, seg->name_len);
	oa__buf_append(&k->args, seg->args, seg->args_len);
	k->args_whole = 1;
	k->repaired = seg->repaired;
	k->unreadable = seg->error;
	return 0;
}

/* Text or thinking as a block over a copy in p->segs; the block holds an
 * offset, since segs may move before it goes out. */
static int
tf_queue(struct oa__client *p, const oa__tf_seg *seg)
{
	size_t off;
	int r;

	/* nothing queued: the copies of blocks handed out can go */
	if (p->npend == 0)
		oa__buf_reset(&p->segs);
	off = p->segs.len;
	if (oa__buf_append(&p->segs, seg->text, seg->len) ||
	    oa__buf_append(&p->segs, "", 1))
		return oa__fail_turn(p, p->segs.err, "out of memory");
	if ((r = oa__queue(p, seg->type == OA__TF_TEXT ? OA_BLOCK_TEXT
	                   : OA_BLOCK_THINKING, NULL, seg->len, NULL)) != 0)
		return r;
	p->pend[p->npend - 1].in_segs = 1;
	p->pend[p->npend - 1].off = off;
	return 0;
}

/* Content into the filter (s NULL: the reply ended), then what it
 * releases: text (kept for the history too), thinking, or a tool call
 * the model wrote as text. 0 or the turn's error. */
static int
tf_feed(struct oa__client *p, const char *s, size_t n)
{
	oa__tf_seg seg = {0};
	int r = 0;

	if (s == NULL)
		oa__tf_finish(p->filter);
	else
		r = oa__tf_feed(p->filter, s, n, p->errmsg);
	while (r == 0 && (r = oa__tf_next(p->filter, &seg, p->errmsg)) > 0) {
		if (seg.type == OA__TF_TOOL_CALL)
			r = tf_add_call(p, &seg);
		else if (seg.type == OA__TF_TEXT &&
		         oa__buf_append(&p->text, seg.text, seg.len))
			r = oa__fail_turn(p, p->text.err, "out of memory");
		else
			r = tf_queue(p, &seg);
	}
	/* the turn's error, if a call above has not ended it already */
	return r < 0 ? oa__fail_turn(p, r, NULL) : 0;
}

/* lenient_tool_args: the arguments of a call from the server, mended
 * (see oa__filter_ops in oa_private.h). */
static int
tf_mend(struct oa__client *p, oa__call *k, char *msg)
{
	if (oa__json_repair(k->args.p, k->args.len, &p->repaired, &p->json,
	                    msg) != 1 ||
	    oa__json_type(&p->json, 0) != OA__JSON_OBJECT)
		return 0;
	oa__buf_reset(&k->args);
	oa__buf_append(&k->args, p->repaired.p, p->repaired.len);
	k->repaired = 1;
	return k->args.err == 0;
}

/* see modules.c */
OA_PRIVATE const oa__filter_ops oa__filter = {
	tf_setup, tf_feed, oa__tf_reset, tf_close, tf_mend
};

#endif /* OA__TF_ALONE */

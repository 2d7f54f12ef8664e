/*
 * jsonreuse.c -- resuming a JSON parse where the new text stops matching
 * the last one (json.c calls it through oa__modules.json_reuse).
 *
 * Events of one stream mostly repeat the one before up to the delta:
 * {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,
 * "model":"m","choices":[{"index":0,"delta":{"content":" the"}}]}.
 * The first SEEN_MAX bytes of the last text parsed are kept; the next
 * parse finds the last token that starts before the first byte that
 * differs, puts the tokens back as they were when that token started
 * (its ancestors open again, their sizes counted anew, strings that were
 * unescaped since given back their raw end), and json.c's check and jsmn
 * resume there. Everything before that point depends on those bytes
 * only, which are the same, so tokens, verdict and messages are what a
 * parse from the start gives (fuzz_json compares the two). Without this
 * module every text is parsed from its first byte: the same result,
 * only slower.
 */
#include <stdint.h>
#include <string.h>

#include "oa_private.h"

/* The token layout only: json.c holds jsmn itself. */
#define JSMN_PARENT_LINKS
#define JSMN_HEADER
#include <jsmn.h>

#define SEEN_MAX 1024
#define LEVELS_MAX 16

/* A token around the one a parse resumes at, as the rewind set it. */
struct json_level {
	int tok, size, next;
};

struct json_seen {
	size_t n;              /* bytes kept */
	size_t limit, depth;   /* the limits that parse ran under */
	int ntok;              /* its tokens; 0: nothing to reuse */
	int last;              /* the token it resumed at (0: none) */
	/* The last rewind, repeated as it was when the next parse resumes
	 * at the same token: it depends only on the tokens before that one,
	 * which every parse since has kept (any other resume point replaces
	 * it). at_tok 0: none kept. */
	int at_tok, nlevels;
	struct json_level level[LEVELS_MAX];
	struct oa__json_at at;
	char text[SEEN_MAX];
};

/* The first index where a[0..n) and b[0..n) differ, or n. */
static size_t
same_up_to(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			break;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* The first byte of a token: a string's opening quote. */
static size_t
first_byte(const jsmntok_t *k)
{
	return (size_t)k->start - (k->type == JSMN_STRING);
}

/* The last token of the previous parse that starts before the texts
 * differ (0: none); keeps the first bytes of the new text. */
static int
reuse_find(oa__json *j, struct json_seen *c, size_t limit, size_t depth)
{
	const jsmntok_t *tok = j->tok;
	size_t n = j->len < SEEN_MAX ? j->len : SEEN_MAX, same = 0, at, next;
	size_t was = c->n;
	int lo = 0, hi = 0, mid, t = 0;

	if (c->limit == limit && c->depth == depth)
		hi = c->ntok;
	c->n = n;
	c->limit = limit;
	c->depth = depth;
	/* Most often the token the last parse resumed at serves again: one
	 * memcmp up to it, then on to each next token while the bytes up to
	 * it match, instead of comparing the texts from the start. */
	if (c->last > 0 && c->last < hi &&
	    (at = first_byte(tok + c->last)) < n && at < was &&
	    memcmp(c->text, j->src, at + 1) == 0) {
		t = c->last;
		while (t + 1 < hi && (next = first_byte(tok + t + 1)) < n &&
		       next < was && memcmp(c->text + at + 1, j->src + at + 1,
		                            next - at) == 0) {
			t++;
			at = next;
		}
		memcpy(c->text + at + 1, j->src + at + 1, n - at - 1);
		return c->last = t;
	}
	if (hi > 0)
		same = same_up_to(c->text, j->src, n < was ? n : was);
	memcpy(c->text + same, j->src + same, n - same);
	/* the last token with its first byte before same */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (first_byte(tok + mid) < same)
			lo = mid;
		else
			hi = mid;
	}
	return c->last = hi > 0 ? lo : 0;
}

/* Set tokens and next[] back to how they stood when token t (> 0) was
 * about to be made, and at to going on from there. */
static void
reuse_rewind(oa__json *j, struct json_seen *s, int t, struct oa__json_at *at)
{
	jsmntok_t *tok = j->tok;
	int a, c, k, below = -1;
	struct json_level *l;
	size_t e;

	if (t == s->at_tok) {
		for (l = s->level; l < s->level + s->nlevels; l++) {
			tok[l->tok].size = l->size;
			if (tok[l->tok].type != JSMN_STRING) {
				tok[l->tok].end = -1;
				j->next[l->tok] = l->next;
			}
		}
		*at = s->at;
		goto strings;
	}
	at->i = first_byte(tok + t);
	at->nt = t;
	at->key = tok[t].parent >= 0 && tok[tok[t].parent].type == JSMN_OBJECT;
	/* sizes first: counting children hops with next[], which the
	 * second walk turns back into links for the open levels */
	for (a = tok[t].parent; a >= 0; a = tok[a].parent) {
		if (tok[a].type == JSMN_STRING) {   /* a key: ended */
			tok[a].size = a + 1 < t;   /* its value made yet */
			continue;
		}
		tok[a].end = -1;
		for (c = a + 1, k = 0; c < t; k++)
			c = j->next[tok[a].type == JSMN_OBJECT ? c + 1 : c];
		tok[a].size = k;
	}
	for (a = tok[t].parent; a >= 0; a = tok[a].parent) {
		if (tok[a].type == JSMN_STRING)
			continue;
		if (below >= 0)
			j->next[below] = (a + 1) * 2 +
			                 (tok[a].type == JSMN_OBJECT);
		else {
			at->open = a;
			at->obj = tok[a].type == JSMN_OBJECT;
		}
		below = a;
		at->depth++;
	}
	if (below >= 0)
		j->next[below] = 0;
	s->nlevels = 0;
	for (a = tok[t].parent; a >= 0 && s->nlevels < LEVELS_MAX;
	     a = tok[a].parent) {
		l = s->level + s->nlevels++;
		l->tok = a;
		l->size = tok[a].size;
		l->next = j->next[a];
	}
	s->at_tok = a < 0 ? t : 0;   /* too deep: not kept */
	s->at = *at;
strings:
	/* Strings unescaped shorter since (from j->shrunk on) end at their
	 * closing quote again, which lies in the bytes both texts share. */
	for (k = j->shrunk; k < t; k++) {
		if (tok[k].type != JSMN_STRING)
			continue;
		for (e = (size_t)tok[k].start; j->src[e] != '"';
		     e += j->src[e] == '\\' ? 2 : 1)
			;
		tok[k].end = (int)e;
	}
}

/* What modules.c puts in oa__modules.json_reuse. */
OA_PRIVATE int oa__json_reuse(oa__json *j, size_t limit, size_t depth,
                              struct oa__json_at *at, char *err);

OA_PRIVATE int
oa__json_reuse(oa__json *j, size_t limit, size_t depth,
               struct oa__json_at *at, char *err)
{
	struct json_seen *c = j->seen;
	int t;

	if (c == NULL) {
		if ((c = oa__malloc(j->alloc, sizeof *c)) == NULL)
			return oa__fail(err, OA_ERR_NOMEM, "out of memory");
		c->n = 0;
		c->last = 0;
		c->at_tok = 0;
		j->seen = c;
	}
	c->ntok = j->ntok;   /* 0 when the last parse failed */
	if ((t = reuse_find(j, c, limit, depth)) > 0)
		reuse_rewind(j, c, t, at);
	else
		c->at_tok = 0;   /* every token made anew */
	return 0;
}

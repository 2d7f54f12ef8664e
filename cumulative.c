/*
 * cumulative.c -- content that some servers send whole in every chunk.
 *
 * Some LM Studio and llama.cpp builds send the whole text so far in every
 * chunk instead of the new piece. A chunk that starts with all the text so
 * far is the sign, but a genuine delta can look like that too ("a" then
 * "ab"). So the second chunk, if it looks cumulative, is held back until
 * the third decides: only a cumulative server makes the third chunk start
 * with the second as well. A reply that ends while a chunk is held is
 * taken as deltas, which loses nothing.
 *
 * Optional: without this file every chunk is taken as the new piece, as
 * the API defines it. stream.c reaches it through oa__modules.cumulative
 * (modules.c) with each content value, and once more at the end of the
 * reply. The state is the client's: p->text_mode, p->held (the chunk held
 * back) and p->seen (the text as received, while it may matter).
 */
#include <string.h>

#include "oa_private.h"

/* Does s[0..n) start with all of b? */
static int
starts(const char *s, size_t n, const oa__buf *b)
{
	return n >= b->len && memcmp(s, b->p, b->len) == 0;
}

/* New text: kept in seen until the chunks are known to be deltas. */
static int
emit(struct oa__client *p, const char *s, size_t n)
{
	if (p->text_mode != OA__TEXT_DELTA && oa__buf_append(&p->seen, s, n))
		return oa__fail_turn(p, p->seen.err, "out of memory");
	return oa__emit_text(p, s, n);
}

/* What modules.c puts in oa__modules.cumulative. */
OA_PRIVATE int oa__cumulative(struct oa__client *p, const char *s, size_t n);

/* see oa_private.h */
OA_PRIVATE int
oa__cumulative(struct oa__client *p, const char *s, size_t n)
{
	oa__buf *t = &p->seen, *h = &p->held;
	size_t skip;
	int r;

	if (s == NULL && p->text_mode != OA__TEXT_SUSPECT)
		return 0;
	if (p->text_mode == OA__TEXT_UNKNOWN && t->len > 0) {
		if (n > t->len && starts(s, n, t)) {
			oa__buf_reset(h);
			if (oa__buf_append(h, s, n))
				return oa__fail_turn(p, h->err, "out of memory");
			p->text_mode = OA__TEXT_SUSPECT;
			return 0;
		}
		p->text_mode = OA__TEXT_DELTA;
	}
	if (p->text_mode == OA__TEXT_SUSPECT) {
		/* the held chunk: its new part, or all of it */
		p->text_mode = s && starts(s, n, h) ? OA__TEXT_CUMULATIVE
		                                    : OA__TEXT_DELTA;
		skip = p->text_mode == OA__TEXT_CUMULATIVE ? t->len : 0;
		if ((r = emit(p, h->p + skip, h->len - skip)) != 0 || s == NULL)
			return r;
	}
	if (p->text_mode == OA__TEXT_CUMULATIVE && starts(s, n, t))
		return emit(p, s + t->len, n - t->len);
	return emit(p, s, n);
}

/*
 * fuzz_textfilter.c -- the filter for tool calls and thinking inside the
 * reply text (textfilter.c), and the JSON repair under it.
 *
 * Input: byte 0 the filter flags, byte 1 the hold limit, byte 2 the feed
 * size; the rest is the reply text. It is filtered twice, once fed whole
 * and once in feeds of the chosen size. Segments are logged with runs of
 * text and of thinking merged, since only their cut may differ: the two
 * logs must be equal whenever the split run stays within its limit
 * (past it, a clear OA_ERR_LIMIT is all that is asked). The limit also
 * bounds a call's repaired copy, which can be several times its text; a
 * call that outgrows it reads as not JSON, by design and whatever the
 * split, so the split run is then repeated without the limit (as the
 * whole run has none) and compared instead. The rest is also given
 * to oa__json_repair: whatever it calls JSON must parse as an object or
 * array.
 */
/* json.c and util.c are linked, not included: their statics clash */
#include "../textfilter.c"

#define FUZZ_NAME "textfilter"
#include "fuzz.h"

/* Log one segment; text and thinking runs merge with the one before. */
static void
log_seg(oa__buf *log, int *last, const oa__tf_seg *s)
{
	FUZZ_CHECK(s->type >= OA__TF_TEXT && s->type <= OA__TF_TOOL_CALL);
	if (s->type != OA__TF_TOOL_CALL) {
		FUZZ_CHECK(s->text != NULL && s->len > 0 &&
		           s->text[s->len] == '\0');
		if (*last != s->type)
			oa__buf_printf(log, "\n%c:", s->type == OA__TF_TEXT ?
			               'T' : 'R');
		oa__buf_append(log, s->text, s->len);
	} else {
		FUZZ_CHECK(s->name != NULL && s->name[s->name_len] == '\0');
		FUZZ_CHECK(s->args != NULL && s->args[s->args_len] == '\0');
		oa__buf_printf(log, "\nC:%s|%d|%s|", s->error ? s->error : "",
		               s->repaired, s->name);
		oa__buf_append(log, s->args, s->args_len);
	}
	*last = s->type;
}

/* oa__tf_next, noting in *capped when a repaired call outgrew the limit
 * (load() leaves the error in work until the next call is read). */
static int
next(oa__tf *f, oa__tf_seg *seg, char *err, int *capped)
{
	int r = oa__tf_next(f, seg, err);

	*capped |= f->work.err == OA_ERR_LIMIT;
	return r;
}

/* Filter s[0..n) in feeds of step bytes. Returns 0 or the sticky error. */
static int
run(const char *s, size_t n, unsigned flags, size_t max, size_t step,
    oa__buf *log, int *capped)
{
	struct fuzz_heap heap;
	oa_allocator a = fuzz_allocator(&heap);
	char err[OA__ERRLEN] = "";
	oa__tf f;
	oa__tf_seg seg;
	size_t at = 0, k;
	int r = 0, last = 0;

	oa__tf_init(&f, &a, flags, max);
	while (r == 0 && at < n) {
		k = n - at < step ? n - at : step;
		r = oa__tf_feed(&f, s + at, k, err);
		at += k;
		while (r == 0 && (r = next(&f, &seg, err, capped)) > 0) {
			log_seg(log, &last, &seg);
			r = 0;
		}
	}
	if (r == 0) {
		oa__tf_finish(&f);
		while ((r = next(&f, &seg, err, capped)) > 0)
			log_seg(log, &last, &seg);
		FUZZ_CHECK(oa__tf_feed(&f, "x", 1, err) != 0);
	}
	if (r != 0)
		FUZZ_CHECK((r == OA_ERR_LIMIT || r == OA_ERR_NOMEM) &&
		           err[0] != '\0');
	oa__tf_reset(&f);
	oa__tf_free(&f);
	FUZZ_CHECK(heap.live == 0);
	return r;
}

static void
repair(const char *s, size_t n)
{
	struct fuzz_heap heap;
	oa_allocator a = fuzz_allocator(&heap);
	char err[OA__ERRLEN] = "";
	oa__buf out = { 0 };
	oa__json j = { 0 }, k = { 0 };
	int r, t;

	out.alloc = j.alloc = k.alloc = &a;
	out.limit = 4 * n + 64;
	r = oa__json_repair(s, n, &out, &j, err);
	if (r == 0 || r == 1) {
		t = oa__json_type(&j, 0);
		FUZZ_CHECK(t == OA__JSON_OBJECT || t == OA__JSON_ARRAY);
		/* the text handed back parses again on its own */
		FUZZ_CHECK(oa__json_parse(&k, out.p, out.len, err) == 0);
	} else {
		FUZZ_CHECK(r == OA_ERR_STREAM || r == OA_ERR_LIMIT ||
		           r == OA_ERR_NOMEM);
		FUZZ_CHECK(err[0] != '\0');
	}
	oa__json_free(&j);
	oa__json_free(&k);
	oa__buf_free(&out);
	FUZZ_CHECK(heap.live == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned flags = fuzz_byte(&in) & 15;
	size_t max = 64 + fuzz_byte(&in) * 64;
	size_t step = 1 + fuzz_byte(&in) % 32;
	char *s = fuzz_copy(&in);
	oa__buf whole = { 0 }, split = { 0 };
	int r, capped = 0;

	FUZZ_CHECK(run(s, in.n, flags, 0, in.n + 1, &whole, &capped) == 0);
	r = run(s, in.n, flags, max, step, &split, &capped);
	if (r == 0 && capped) {
		oa__buf_reset(&split);
		r = run(s, in.n, flags, 0, step, &split, &capped);
	}
	FUZZ_CHECK(whole.err == 0 && split.err == 0);
	if (r == 0) {
		FUZZ_CHECK(split.len == whole.len);
		FUZZ_CHECK(split.len == 0 ||
		           memcmp(split.p, whole.p, split.len) == 0);
	}
	repair(s ? s : "", in.n);
	oa__buf_free(&whole);
	oa__buf_free(&split);
	free(s);
	return 0;
}

/*
 * test.h -- the whole test runner: a table of named tests, checks that
 * report file and line, and a main that runs every test or the ones named
 * on the command line. A failed check ends its test; the others still run.
 * The last line printed is "NAME: N passed, N failed"; the exit status is
 * non-zero when anything failed.
 */
#ifndef OA_TEST_H
#define OA_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct test {
	const char *name;
	void (*fn)(void);
};

static int test_failed_;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n",         \
			        __FILE__, __LINE__, #cond);                  \
			test_failed_ = 1;                                    \
			return;                                              \
		}                                                            \
	} while (0)

#define CHECK_INT(a, b)                                                      \
	do {                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);          \
		if (a_ != b_) {                                              \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == " \
			        "%lld\n", __FILE__, __LINE__, #a, a_, #b,    \
			        b_);                                         \
			test_failed_ = 1;                                    \
			return;                                              \
		}                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *a_ = (a), *b_ = (b);                             \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {       \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected "     \
			        "\"%s\"\n", __FILE__, __LINE__, #a,          \
			        a_ ? a_ : "(null)", b_ ? b_ : "(null)");     \
			test_failed_ = 1;                                    \
			return;                                              \
		}                                                            \
	} while (0)

/* a contains b as a substring */
#define CHECK_HAS(a, b)                                                      \
	do {                                                                 \
		const char *a_ = (a), *b_ = (b);                             \
		if (a_ == NULL || strstr(a_, b_) == NULL) {                  \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected it "  \
			        "to contain \"%s\"\n", __FILE__, __LINE__,   \
			        #a, a_ ? a_ : "(null)", b_);                 \
			test_failed_ = 1;                                    \
			return;                                              \
		}                                                            \
	} while (0)

/* The README's "%s: %s", oa_strerror(r), oa_errmsg(c) reads once: the
 * detail is there, does not contain the error's name, and does not start
 * with a word of it ("HTTP error status: HTTP 401" would). */
static inline int
reads_once(const char *name, const char *detail)
{
	size_t n = strcspn(detail, " :"), w;
	const char *p;

	if (detail[0] == '\0' || strstr(detail, name) != NULL)
		return 0;
	for (p = name; *p; p += w + (p[w] != '\0')) {
		w = strcspn(p, " ");
		if (w >= 3 && w == n && strncasecmp(p, detail, n) == 0)
			return 0;
	}
	return 1;
}

#define CHECK_READS_ONCE(r, c)                                               \
	do {                                                                 \
		const char *m_ = oa_errmsg(c), *s_ = oa_strerror(r);         \
		if (!reads_once(s_, m_)) {                                   \
			fprintf(stderr, "%s:%d: \"%s: %s\" repeats itself " \
			        "or has no detail\n", __FILE__, __LINE__,    \
			        s_, m_);                                     \
			test_failed_ = 1;                                    \
			return;                                              \
		}                                                            \
	} while (0)

/*
 * oa_init(c, o) in a test of an optional module. Where the build leaves
 * the module out (make CORE=1 compiles the tests with its OA_NO_ flag,
 * so missing is 1), oa_init must refuse the options with OA_ERR_INVALID
 * and a message naming the module's file, and the test ends there;
 * elsewhere oa_init must succeed and the test goes on.
 */
#define CHECK_INIT_MODULE(c, o, missing, file)                               \
	do {                                                                 \
		if (missing) {                                               \
			CHECK_INT(oa_init(c, o), OA_ERR_INVALID);            \
			CHECK_HAS(oa_errmsg(c), file);                       \
			oa_free(c);                                          \
			return;                                              \
		}                                                            \
		CHECK_INT(oa_init(c, o), 0);                                 \
	} while (0)

#ifdef OA_NO_FIELDS
#define NO_FIELDS 1
#else
#define NO_FIELDS 0
#endif
#ifdef OA_NO_TEXTFILTER
#define NO_TEXTFILTER 1
#else
#define NO_TEXTFILTER 0
#endif
/* Tool parameters in the tests: the shorthand, or where the build leaves
 * shorthand.c out, the JSON Schema it stands for. */
#ifdef OA_NO_SHORTHAND
#define NO_SHORTHAND 1
#define SCHEMA_A                                                             \
	"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"}},"   \
	"\"required\":[\"a\"]}"
#define SCHEMA_AB                                                            \
	"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},"    \
	"\"b\":{\"type\":\"number\"}},\"required\":[\"a\",\"b\"]}"
#else
#define NO_SHORTHAND 0
#define SCHEMA_A "a:number"
#define SCHEMA_AB "a:number b:number"
#endif

static int
test_main(const char *suite, int argc, char **argv, const struct test *t)
{
	int passed = 0, failed = 0, i, run;

	for (; t->name != NULL; t++) {
		run = argc < 2;
		for (i = 1; i < argc; i++)
			if (strcmp(argv[i], t->name) == 0)
				run = 1;
		if (!run)
			continue;
		test_failed_ = 0;
		t->fn();
		if (test_failed_) {
			failed++;
			printf("FAIL %s\n", t->name);
		} else {
			passed++;
			printf("ok   %s\n", t->name);
		}
		fflush(stdout);
	}
	printf("%s: %d passed, %d failed\n", suite, passed, failed);
	return failed != 0 || passed == 0;
}

#endif

/*
 * musl_fortify.c -- the three glibc fortify checks that Debian's
 * libbearssl.a calls, for linking it into a static musl binary.
 *
 * Debian builds BearSSL with _FORTIFY_SOURCE, so its objects call
 * __memcpy_chk, __memmove_chk and __memset_chk, which glibc has and musl
 * does not. Each does what glibc's does: the copy, unless the length
 * passes the size the compiler knew for the destination, in which case
 * the program stops at once rather than overflow. Only `make static`
 * links this file; every other build uses the C library's own.
 */
#include <stdlib.h>
#include <string.h>

void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen);
void *__memmove_chk(void *dst, const void *src, size_t n, size_t dstlen);
void *__memset_chk(void *dst, int c, size_t n, size_t dstlen);

void *
__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen)
{
	if (n > dstlen)
		abort();
	return memcpy(dst, src, n);
}

void *
__memmove_chk(void *dst, const void *src, size_t n, size_t dstlen)
{
	if (n > dstlen)
		abort();
	return memmove(dst, src, n);
}

void *
__memset_chk(void *dst, int c, size_t n, size_t dstlen)
{
	if (n > dstlen)
		abort();
	return memset(dst, c, n);
}

/*
 * images.c -- the images module: oa_query_images(), for vision models.
 *
 * Optional: leaving this file out removes oa_query_images() and nothing
 * else. It sits on top of the client: it turns each image into a content
 * part (a URL as it is, a local file as a base64 data: URL with its MIME
 * type found from its first bytes), starts the turn with oa_query(), and
 * then gives its user message the parts: the prompt's text first.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oa_private.h"

static void
put_base64(oa__buf *b, const unsigned char *s, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                        "0123456789+/";
	char q[4];
	size_t i;

	if (oa__buf_reserve(b, (n + 2) / 3 * 4))
		return;
	for (i = 0; i + 2 < n; i += 3) {
		q[0] = a[s[i] >> 2];
		q[1] = a[(s[i] & 3) << 4 | s[i + 1] >> 4];
		q[2] = a[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
		q[3] = a[s[i + 2] & 63];
		oa__buf_append(b, q, 4);
	}
	if (i < n) {
		q[0] = a[s[i] >> 2];
		q[1] = a[(s[i] & 3) << 4 | (i + 1 < n ? s[i + 1] >> 4 : 0)];
		q[2] = i + 1 < n ? a[(s[i + 1] & 15) << 2] : '=';
		q[3] = '=';
		oa__buf_append(b, q, 4);
	}
}

/* The MIME type of an image by its first bytes, or NULL. */
static const char *
image_type(const unsigned char *s, size_t n)
{
	if (n >= 8 && memcmp(s, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 3 && s[0] == 0xff && s[1] == 0xd8 && s[2] == 0xff)
		return "image/jpeg";
	if (n >= 6 && (memcmp(s, "GIF87a", 6) == 0 ||
	               memcmp(s, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(s, "RIFF", 4) == 0 &&
	    memcmp(s + 8, "WEBP", 4) == 0)
		return "image/webp";
	return NULL;
}

/* Read the regular file img, at most max bytes, into file. */
static int
read_image(struct oa__client *p, oa__buf *file, const char *img)
{
	struct stat st;
	size_t got, max = p->max_image;
	ssize_t n = 0;
	int fd;

	if ((fd = open(img, O_RDONLY | O_CLOEXEC)) < 0)
		return oa__fail(p->errmsg, OA_ERR_FILE, "%.150s: %s", img,
		                strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return oa__fail(p->errmsg, OA_ERR_FILE, "%.150s: not a regular "
		                "file", img);
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return oa__fail(p->errmsg, OA_ERR_FILE, "%.150s: %lld bytes, "
		                "more than max_image_bytes (%zu)", img,
		                (long long)st.st_size, max);
	}
	oa__buf_reset(file);
	if (oa__buf_reserve(file, (size_t)st.st_size + 1)) {
		close(fd);
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	}
	/* read up to one byte more than fits: a file that grew is refused */
	for (got = 0; got <= max && got < file->cap - 1; got += (size_t)n) {
		n = read(fd, file->p + got, file->cap - 1 - got);
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n <= 0)
			break;
	}
	close(fd);
	file->len = got;
	if (n < 0)
		return oa__fail(p->errmsg, OA_ERR_FILE, "%.150s: %s", img,
		                strerror(errno));
	return 0;
}

/* Append one image part: a URL as it is, a file as a data: URL. */
static int
put_image(struct oa__client *p, oa__buf *b, oa__buf *file, const char *img)
{
	const char *type;
	int r;

	oa__buf_puts(b, ",{\"type\":\"image_url\",\"image_url\":{\"url\":");
	if (strncmp(img, "http://", 7) == 0 || strncmp(img, "https://", 8) == 0
	    || strncmp(img, "data:", 5) == 0) {
		oa__json_put_str(b, img, strlen(img));
		oa__buf_puts(b, "}}");
		return 0;
	}
	if ((r = read_image(p, file, img)) != 0)
		return r;
	type = image_type((const unsigned char *)file->p, file->len);
	if (type == NULL)
		return oa__fail(p->errmsg, OA_ERR_FILE, "%.150s: not a PNG, "
		                "JPEG, GIF or WebP image", img);
	oa__buf_printf(b, "\"data:%s;base64,", type);
	put_base64(b, (const unsigned char *)file->p, file->len);
	oa__buf_puts(b, "\"}}");
	return 0;
}

/* The turn oa_query() just started: its user message becomes content
 * parts, its text (as the hooks left it) and then the images, and its
 * request is made again. A failure ends the turn and takes the message
 * back. */
static int
attach(struct oa__client *p, const oa__buf *images, oa__buf *b)
{
	oa__message *m = &p->msgs[p->turn_base];
	int r;

	oa__buf_reset(b);
	b->limit = 0;
	oa__buf_puts(b, "[{\"type\":\"text\",\"text\":");
	oa__json_put_str(b, m->content, m->len);
	oa__buf_puts(b, "}");
	oa__buf_append(b, images->p, images->len);
	oa__buf_puts(b, "]");
	if (b->err || (m->parts = oa__strndup(&p->alloc, b->p, b->len)) == NULL)
		return oa__fail_turn(p, OA_ERR_NOMEM, "out of memory");
	if ((r = oa__build_request(p)) != 0)
		return oa__fail_turn(p, r, NULL);
	return 0;
}

/* see openagent.h */
int
oa_query_images(oa_client *c, const char *prompt, const char *const *images,
                size_t n)
{
	struct oa__client *p;
	oa__buf parts = {0}, file = {0};
	size_t i;
	int r = 0;

	if (c == NULL || prompt == NULL || (n && images == NULL))
		return OA_ERR_INVALID;
	if ((p = c->p) == NULL || !p->ready || p->busy)
		return OA_ERR_STATE;
	if (n == 0)
		return oa_query(c, prompt);
	p->errmsg[0] = '\0'; /* this call's own message */
	parts.alloc = file.alloc = &p->alloc;
	file.limit = p->max_image + 1;
	parts.limit = p->body.limit;
	for (i = 0; i < n && r == 0; i++)
		r = images[i] ? put_image(p, &parts, &file, images[i])
		              : OA_ERR_INVALID;
	if (r == 0 && parts.err)
		r = oa__fail(p->errmsg, parts.err, parts.err == OA_ERR_LIMIT ?
		             "the images exceed max_history_bytes" :
		             "out of memory");
	if (r == 0 && (r = oa_query(c, prompt)) == 0)
		r = attach(p, &parts, &file);
	oa__buf_free(&parts);
	oa__buf_free(&file);
	return r;
}

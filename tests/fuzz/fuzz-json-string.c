/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tool's JSON strings (--json output of names, models, serials, paths
 * and messages, any of which may hold any byte): the output is one valid
 * JSON string (RFC 8259: UTF-8, control characters escaped), and it
 * decodes back to the input whenever the input is valid UTF-8.
 */
#include "config.h"

#include "tool.h"
#include "fuzz.h"

/* Length of the valid UTF-8 sequence at @s, 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned int c = s[0], min, n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	for (unsigned int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static bool valid_utf8(const char *s)
{
	for (size_t n; *s; s += n) {
		n = utf8_len((const unsigned char *)s);
		if (!n)
			return false;
	}
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *put_utf8(char *w, uint32_t cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | cp >> 18);
		*w++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* \uXXXX at @s (after the backslash and 'u'); -1 when malformed. */
static long u4(const char *s)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* Decode the JSON string @json (all of it) into @out; false when it is not one. */
static bool decode(const char *json, size_t len, char *out)
{
	const char *s = json, *end = json + len;
	char *w = out;

	if (len < 2 || *s++ != '"' || end[-1] != '"')
		return false;
	end--;
	while (s < end) {
		unsigned char c = (unsigned char)*s;
		size_t n;

		if (c == '"' || c < 0x20)
			return false;
		if (c != '\\') {
			n = utf8_len((const unsigned char *)s);
			if (!n || s + n > end)
				return false;
			memcpy(w, s, n);
			w += n;
			s += n;
			continue;
		}
		if (s + 1 >= end)
			return false;
		switch (s[1]) {
		case '"': case '\\': case '/': *w++ = s[1]; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			long cp = s + 6 <= end ? u4(s + 2) : -1;

			/* the writer has no reason to write surrogates or NUL */
			if (cp <= 0 || (cp >= 0xd800 && cp <= 0xdfff))
				return false;
			w = put_utf8(w, (uint32_t)cp);
			s += 4;
			break;
		}
		default:
			return false;
		}
		s += 2;
	}
	*w = '\0';
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_string(data, size), *json = NULL, *out;
	size_t len = 0;
	FILE *f = open_memstream(&json, &len);

	FUZZ_ASSERT(f);
	json_escape_to(f, in);
	FUZZ_ASSERT(fclose(f) == 0);
	/* \ufffd (6 bytes) is the longest thing one input byte becomes */
	out = malloc(3 * len + 1);
	FUZZ_ASSERT(out);
	FUZZ_ASSERT(decode(json, len, out));
	FUZZ_ASSERT(valid_utf8(out));
	if (valid_utf8(in))
		FUZZ_ASSERT(!strcmp(in, out));
	free(out);
	free(json);
	free(in);
	return 0;
}

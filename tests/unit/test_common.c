/* Unit tests for src/common: results, buffers, encodings, parsing, files, time. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/sb_buf.h"
#include "common/sb_encoding.h"
#include "common/sb_file.h"
#include "common/sb_glob.h"
#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "common/sb_parse.h"
#include "common/sb_time.h"

static SB_RESULT fails_at_depth(int depth)
{
	SB_ENSURE_MSG(depth > 0, SB_ERR_TRUNCATED, "depth %d", depth);
	SB_GUARD(fails_at_depth(depth - 1));
	return SB_OK_RESULT;
}

static void test_result_records_code_and_detail(void **state)
{
	(void)state;
	sb_result r = fails_at_depth(3);
	assert_false(sb_ok(r));
	assert_int_equal(r.code, SB_ERR_TRUNCATED);
	assert_int_equal(sb_error_code(), SB_ERR_TRUNCATED);
	assert_string_equal(sb_error_detail(), "depth 0");
	assert_non_null(strstr(sb_error_where(), "test_common.c:"));
	assert_string_equal(sb_error_name(SB_ERR_TRUNCATED), "SB_ERR_TRUNCATED");
	assert_string_equal(sb_error_describe(), "input is truncated: depth 0");
	sb_error_context("frame %u", 7u);
	assert_string_equal(sb_error_detail(), "frame 7: depth 0");
	assert_string_equal(sb_error_message(999999), "unknown error");
	/* Wrapping the current detail in a new error is safe (no overlapping copy). */
	r = sb_error_recordf(SB_ERR_IO, SB_HERE, "wrapped: %s", sb_error_detail());
	assert_string_equal(sb_error_detail(), "wrapped: frame 7: depth 0");
	/* Every code has a distinct, non-empty message. */
	assert_string_not_equal(sb_error_message(SB_ERR_NOMEM), sb_error_message(SB_ERR_IO));
	assert_string_equal(sb_error_message(SB_ERR_BAD_FRAME), "malformed frame");
}

static void test_buf_bounds(void **state)
{
	(void)state;
	struct sb_buf b = SB_BUF_INIT(8);
	assert_true(sb_ok(sb_buf_append(&b, "abcd", 4)));
	assert_true(sb_ok(sb_buf_append_be32(&b, 0x01020304)));
	assert_int_equal(b.len, 8);
	assert_int_equal(b.data[8], 0); /* always NUL-terminated */
	assert_int_equal(sb_buf_append_u8(&b, 1).code, SB_ERR_TOO_LARGE);
	assert_int_equal(b.len, 8); /* failed append changes nothing */
	assert_true(sb_ok(sb_buf_consume(&b, 4)));
	assert_memory_equal(b.data, "\x01\x02\x03\x04", 4);
	assert_int_equal(sb_buf_consume(&b, 5).code, SB_ERR_TRUNCATED);
	sb_buf_reset(&b);
	assert_true(sb_ok(sb_buf_printf(&b, "%d-%s", 12, "ab")));
	assert_string_equal(sb_buf_cstr(&b), "12-ab");
	assert_int_equal(sb_buf_printf(&b, "%s", "toolong").code, SB_ERR_TOO_LARGE);
	sb_buf_cleanup(&b);
	sb_buf_cleanup(&b); /* idempotent */
	sb_buf_cleanup(NULL);
	assert_int_equal(sb_buf_append(NULL, "x", 1).code, SB_ERR_NULL);
	assert_string_equal(sb_buf_cstr(&b), "");
}

static void test_buf_secret_and_move(void **state)
{
	(void)state;
	struct sb_buf s = SB_BUF_INIT_SECRET(1 << 20), d = SB_BUF_INIT(16);
	for (int i = 0; i < 1000; i++)
		assert_true(sb_ok(sb_buf_append_u8(&s, (uint8_t)i)));
	assert_int_equal(s.len, 1000);
	assert_int_equal(s.data[999], (uint8_t)999);
	sb_buf_move(&d, &s);
	assert_null(s.data);
	assert_int_equal(d.len, 1000);
	assert_true(d.secret);
	sb_buf_cleanup(&d);
	sb_buf_cleanup(&s);
}

/* The VmFlags of the mapping holding p, from /proc/self/smaps. */
static void mapping_flags(const void *p, char *out, size_t n)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[1024];
	bool in = false;

	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(out, n, "%s", line + 8);
			break;
		}
	}
	fclose(f);
	assert_true(out[0] != '\0');
}

/* Secret buffers live on pages left out of core dumps ("dd" in VmFlags);
 * ordinary buffers do not (so the check can fail). */
static void test_secret_pages_not_dumped(void **state)
{
	(void)state;
	char flags[1024];
	struct sb_buf s = SB_BUF_INIT_SECRET(1 << 20), plain = SB_BUF_INIT(1 << 20);
	void *p = NULL;
	size_t cap = 0;

	assert_true(sb_ok(sb_buf_append_str(&s, "k3y")));
	mapping_flags(s.data, flags, sizeof(flags));
	if (strstr(flags, " dd") == NULL)
		fail_msg("secret buffer mapping flags: %s", flags);
	/* Growing keeps the property (a new mapping, the old one wiped). */
	for (int i = 0; i < 100000; i++)
		assert_true(sb_ok(sb_buf_append_u8(&s, (uint8_t)i)));
	mapping_flags(s.data, flags, sizeof(flags));
	assert_non_null(strstr(flags, " dd"));
	assert_true(sb_ok(sb_buf_append_str(&plain, "public")));
	mapping_flags(plain.data, flags, sizeof(flags));
	assert_null(strstr(flags, " dd"));
	sb_buf_cleanup(&s);
	sb_buf_cleanup(&plain);

	/* Recycled pages (sb_secret_free keeps small mappings) stay out of dumps. */
	for (int i = 0; i < 3; i++) {
		assert_true(sb_ok(sb_secret_alloc(1, &p, &cap)));
		assert_true(cap > 0 && cap % (size_t)sysconf(_SC_PAGESIZE) == 0);
		mapping_flags(p, flags, sizeof(flags));
		assert_non_null(strstr(flags, " dd"));
		sb_secret_free(p, cap);
	}
	/* Beyond the recycled classes: its own mapping, unmapped on free. */
	assert_true(sb_ok(sb_secret_alloc(3u << 20, &p, &cap)));
	assert_true(cap >= 3u << 20);
	mapping_flags(p, flags, sizeof(flags));
	assert_non_null(strstr(flags, " dd"));
	sb_secret_free(p, cap);
	assert_int_equal(sb_secret_alloc(1, NULL, &cap).code, SB_ERR_NULL);
	sb_secret_free(NULL, 0);
}

static void test_process_protect(void **state)
{
	(void)state;
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
	assert_true(sb_ok(sb_process_protect()));
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	assert_int_equal(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
}

static void test_reader_writer(void **state)
{
	(void)state;
	uint8_t storage[15];
	struct sb_writer w;
	sb_writer_init(&w, storage, sizeof(storage));
	assert_true(sb_ok(sb_writer_u8(&w, 0xAB)));
	assert_true(sb_ok(sb_writer_be16(&w, 0x1234)));
	assert_true(sb_ok(sb_writer_be32(&w, 0xDEADBEEF)));
	assert_true(sb_ok(sb_writer_be64(&w, 0x0102030405060708ull)));
	assert_int_equal(sb_writer_u8(&w, 1).code, SB_ERR_TOO_LARGE);

	struct sb_reader r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	struct sb_slice rest;
	sb_reader_init(&r, SB_SLICE(storage, w.len));
	assert_true(sb_ok(sb_reader_u8(&r, &u8)));
	assert_true(sb_ok(sb_reader_be16(&r, &u16)));
	assert_true(sb_ok(sb_reader_be32(&r, &u32)));
	assert_int_equal(sb_reader_end(&r).code, SB_ERR_TRAILING);
	assert_true(sb_ok(sb_reader_be64(&r, &u64)));
	assert_int_equal(u8, 0xAB);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(u32, 0xDEADBEEF);
	assert_true(u64 == 0x0102030405060708ull);
	assert_true(sb_ok(sb_reader_end(&r)));
	assert_int_equal(sb_reader_u8(&r, &u8).code, SB_ERR_TRUNCATED);
	assert_int_equal(sb_reader_bytes(&r, SIZE_MAX, &rest).code, SB_ERR_TRUNCATED);

	struct sb_slice sub;
	assert_int_equal(sb_slice_sub(SB_SLICE(storage, 4), 2, SIZE_MAX, &sub).code,
			 SB_ERR_OVERFLOW);
	assert_int_equal(sb_slice_sub(SB_SLICE(storage, 4), 3, 2, &sub).code, SB_ERR_TRUNCATED);
}

struct b64_vector {
	const char *raw;
	const char *enc;
};

static void test_base64_rfc4648_vectors(void **state)
{
	(void)state;
	/* RFC 4648 §10. */
	static const struct b64_vector v[] = {
		{"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},         {"foo", "Zm9v"},
		{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sb_buf e = SB_BUF_INIT(64), d = SB_BUF_INIT(64);
		assert_true(sb_ok(sb_base64_encode(sb_slice_str(v[i].raw), &e)));
		assert_string_equal(sb_buf_cstr(&e), v[i].enc);
		assert_true(sb_ok(sb_base64_decode(sb_slice_str(v[i].enc), &d)));
		assert_int_equal(d.len, strlen(v[i].raw));
		assert_memory_equal(sb_buf_cstr(&d), v[i].raw, d.len);
		sb_buf_cleanup(&e);
		sb_buf_cleanup(&d);
	}
}

static void test_base64_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"Zg=",      /* length not a multiple of 4 */
		"Zg",       /* missing padding */
		"Z===",     /* too much padding */
		"Zh==",     /* non-zero pad bits */
		"Zm9=",     /* non-zero pad bits (one '=') */
		"Zg==Zg==", /* data after padding */
		"Zm9v\n",   /* whitespace */
		"Zm 9",     /* space */
		"Zm9-",     /* url-safe alphabet */
		"=Zm9",     /* padding first */
		"Zm=v",     /* padding in the middle */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sb_buf d = SB_BUF_INIT(64);
		assert_true(sb_ok(sb_buf_append_str(&d, "keep")));
		sb_result r = sb_base64_decode(sb_slice_str(bad[i]), &d);
		assert_int_equal(r.code, SB_ERR_BAD_BASE64);
		/* Nothing half-decoded is left behind. */
		assert_string_equal(sb_buf_cstr(&d), "keep");
		sb_buf_cleanup(&d);
	}
	struct sb_buf small = SB_BUF_INIT(2);
	assert_int_equal(sb_base64_decode(sb_slice_str("Zm9v"), &small).code, SB_ERR_TOO_LARGE);
	sb_buf_cleanup(&small);
}

/* The decoder reserves the decoded size without the padding: a maximal
 * input is accepted whatever its length mod 3, one byte more is refused. */
static void test_base64_exact_limit(void **state)
{
	(void)state;
	/* KMS Plaintext, CiphertextBlob, attestation document; small ones. */
	static const size_t limits[] = {1, 2, 3, 4, 4096, 6144, 16384};
	uint8_t *raw = malloc(16384 + 1);

	assert_non_null(raw);
	for (size_t i = 0; i < 16385; i++)
		raw[i] = (uint8_t)(i * 7 + 3);
	for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		size_t max = limits[l];
		for (size_t n = max > 2 ? max - 2 : 1; n <= max + 1; n++) {
			struct sb_buf e = SB_BUF_INIT(32768), d = SB_BUF_INIT(max);
			assert_true(sb_ok(sb_base64_encode(SB_SLICE(raw, n), &e)));
			sb_result r = sb_base64_decode(sb_buf_slice(&e), &d);
			if (n <= max) {
				if (!sb_ok(r))
					fail_msg("%zu bytes refused under a limit of %zu", n, max);
				assert_int_equal(d.len, n);
				assert_memory_equal(d.data, raw, n);
			} else {
				assert_int_equal(r.code, SB_ERR_TOO_LARGE);
			}
			sb_buf_cleanup(&e);
			sb_buf_cleanup(&d);
		}
	}
	free(raw);
}

static void test_hex(void **state)
{
	(void)state;
	struct sb_buf b = SB_BUF_INIT(64);
	uint8_t fixed[3];
	assert_true(sb_ok(sb_hex_encode(SB_SLICE("\x00\xff\x10", 3), &b)));
	assert_string_equal(sb_buf_cstr(&b), "00ff10");
	sb_buf_reset(&b);
	assert_true(sb_ok(sb_hex_decode(sb_slice_str("00FFaB"), &b)));
	assert_memory_equal(b.data, "\x00\xff\xab", 3);
	assert_int_equal(sb_hex_decode(sb_slice_str("abc"), &b).code, SB_ERR_BAD_HEX);
	assert_int_equal(sb_hex_decode(sb_slice_str("zz"), &b).code, SB_ERR_BAD_HEX);
	assert_int_equal(sb_hex_decode(sb_slice_str("0x12"), &b).code, SB_ERR_BAD_HEX);
	assert_true(sb_ok(sb_hex_decode_fixed(sb_slice_str("010203"), fixed, 3)));
	assert_int_equal(sb_hex_decode_fixed(sb_slice_str("0102"), fixed, 3).code, SB_ERR_BAD_HEX);
	assert_int_equal(sb_hex_decode_fixed(sb_slice_str("01020304"), fixed, 3).code,
			 SB_ERR_BAD_HEX);
	sb_buf_cleanup(&b);
}

struct num_vector {
	const char *in;
	uint64_t min, max;
	int code;
	uint64_t want;
};

static void test_parse_integers(void **state)
{
	(void)state;
	static const struct num_vector v[] = {
		{"0", 0, 10, SB_OK, 0},
		{"5005", 1, 65535, SB_OK, 5005},
		{"18446744073709551615", 0, UINT64_MAX, SB_OK, UINT64_MAX},
		{"18446744073709551616", 0, UINT64_MAX, SB_ERR_OUT_OF_RANGE, 0},
		{"99999999999999999999999", 0, UINT64_MAX, SB_ERR_OUT_OF_RANGE, 0},
		{"65536", 1, 65535, SB_ERR_OUT_OF_RANGE, 0},
		{"0", 1, 65535, SB_ERR_OUT_OF_RANGE, 0},
		{"", 0, 10, SB_ERR_BAD_NUMBER, 0},
		{"-1", 0, 10, SB_ERR_BAD_NUMBER, 0},
		{"+1", 0, 10, SB_ERR_BAD_NUMBER, 0},
		{" 1", 0, 10, SB_ERR_BAD_NUMBER, 0},
		{"1 ", 0, 10, SB_ERR_BAD_NUMBER, 0},
		{"01", 0, 10, SB_ERR_BAD_NUMBER, 0},
		{"1e3", 0, 10000, SB_ERR_BAD_NUMBER, 0},
		{"0x10", 0, 100, SB_ERR_BAD_NUMBER, 0},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t out = 12345;
		sb_result r = sb_parse_u64_str(v[i].in, v[i].min, v[i].max, &out);
		assert_int_equal(r.code, v[i].code);
		if (v[i].code == SB_OK)
			assert_true(out == v[i].want);
		else
			assert_true(out == 12345); /* untouched on failure */
	}
	uint32_t u32;
	assert_int_equal(sb_parse_u32_str("4294967296", 0, UINT32_MAX, &u32).code,
			 SB_ERR_OUT_OF_RANGE);
	assert_int_equal(sb_parse_u32_str(NULL, 0, 1, &u32).code, SB_ERR_NULL);
}

static void test_size_arith(void **state)
{
	(void)state;
	size_t out;
	void *p = NULL;
	assert_int_equal(sb_add_size(SIZE_MAX, 1, &out).code, SB_ERR_OVERFLOW);
	assert_int_equal(sb_mul_size(SIZE_MAX / 2 + 1, 2, &out).code, SB_ERR_OVERFLOW);
	assert_int_equal(sb_calloc(SIZE_MAX, 16, &p).code, SB_ERR_OVERFLOW);
	assert_null(p);
	assert_true(sb_ct_equal("abc", "abc", 3));
	assert_false(sb_ct_equal("abc", "abd", 3));
	char secret[8] = "hunter2";
	sb_wipe(secret, sizeof(secret));
	assert_memory_equal(secret, "\0\0\0\0\0\0\0\0", 8);
}

struct time_vector {
	const char *in;
	int code;
	uint64_t ms;
};

static void test_time_parse(void **state)
{
	(void)state;
	static const struct time_vector v[] = {
		{"2022-10-13T08:58:02.136Z", SB_OK, 1665651482136ull},
		{"2022-10-13T08:58:02Z", SB_OK, 1665651482000ull},
		{"2022-10-13T10:58:02.136+02:00", SB_OK, 1665651482136ull},
		{"1665651482136", SB_OK, 1665651482136ull},
		{"1970-01-01T00:00:00Z", SB_OK, 0},
		{"2022-13-13T08:58:02Z", SB_ERR_BAD_TIME, 0},
		{"2022-10-13 08:58:02Z", SB_ERR_BAD_TIME, 0},
		{"2022-10-13T08:58:02", SB_ERR_BAD_TIME, 0},
		{"2022-10-13T08:58:02Zjunk", SB_ERR_BAD_TIME, 0},
		{"2022-10-13T08:58:02.Z", SB_ERR_BAD_TIME, 0},
		{"yesterday", SB_ERR_BAD_NUMBER, 0},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t ms = 0;
		sb_result r = sb_time_parse(sb_slice_str(v[i].in), &ms);
		assert_int_equal(r.code, v[i].code);
		if (v[i].code == SB_OK)
			assert_true(ms == v[i].ms);
	}
	struct sb_buf b = SB_BUF_INIT(64);
	assert_true(sb_ok(sb_time_format_rfc3339(1665651482136ull, &b)));
	assert_string_equal(sb_buf_cstr(&b), "2022-10-13T08:58:02.136Z");
	sb_buf_cleanup(&b);
}

static void test_file_atomic_and_bounded(void **state)
{
	(void)state;
	char dir[] = "/tmp/sb_test_XXXXXX";
	char path[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b/out.csv", dir);
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	assert_true(sb_ok(sb_mkdir_p(sub, 0700)));
	assert_true(sb_ok(sb_file_write_atomic(path, sb_slice_str("hello"), 0600)));
	assert_true(sb_ok(sb_file_write_atomic(path, sb_slice_str("world!"), 0600)));
	struct sb_buf b = SB_BUF_INIT(6), small = SB_BUF_INIT(5);
	assert_true(sb_ok(sb_file_read(path, &b)));
	assert_string_equal(sb_buf_cstr(&b), "world!");
	assert_int_equal(sb_file_read(path, &small).code, SB_ERR_TOO_LARGE);
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	assert_int_equal(sb_file_read(missing, &b).code, SB_ERR_NOT_FOUND);
	/* Writing into a missing directory fails and leaves nothing. */
	snprintf(missing, sizeof(missing), "%s/nodir/x", dir);
	assert_int_equal(sb_file_write_atomic(missing, sb_slice_str("x"), 0600).code, SB_ERR_IO);
	sb_buf_cleanup(&b);
	sb_buf_cleanup(&small);
	unlink(path);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/a", dir);
	rmdir(sub);
	rmdir(dir);
}

/* The streamed writer: nothing at the path until commit; abort leaves no file. */
static void test_file_out_stream(void **state)
{
	(void)state;
	char dir[] = "/tmp/sb_test_XXXXXX", path[256];
	struct sb_file_out o;
	struct stat st;
	DIR *d;
	int entries = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.sealed", dir);
	assert_true(sb_ok(sb_file_out_open(&o, path)));
	assert_true(sb_ok(sb_file_out_write(&o, sb_slice_str("part one, "))));
	assert_int_equal(stat(path, &st), -1); /* not there yet */
	sb_file_out_abort(&o);
	sb_file_out_abort(&o); /* idempotent */
	assert_int_equal(sb_file_out_write(&o, sb_slice_str("x")).code, SB_ERR_BAD_STATE);
	assert_non_null(d = opendir(dir));
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		entries += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(entries, 0); /* the temporary file is gone */

	assert_true(sb_ok(sb_file_out_open(&o, path)));
	assert_true(sb_ok(sb_file_out_write(&o, sb_slice_str("one, "))));
	assert_true(sb_ok(sb_file_out_write(&o, sb_slice_str("two"))));
	assert_true(sb_ok(sb_file_out_commit(&o, 0600)));
	sb_file_out_abort(&o); /* a no-op after commit */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct sb_buf b = SB_BUF_INIT(64);
	assert_true(sb_ok(sb_file_read(path, &b)));
	assert_string_equal(sb_buf_cstr(&b), "one, two");
	sb_buf_cleanup(&b);
	assert_int_equal(sb_file_out_commit(&o, 0600).code, SB_ERR_BAD_STATE);

	/* A directory that does not exist: open fails, nothing to clean up. */
	snprintf(path, sizeof(path), "%s/nodir/x", dir);
	assert_int_equal(sb_file_out_open(&o, path).code, SB_ERR_IO);
	sb_file_out_abort(&o);
	snprintf(path, sizeof(path), "%s/out.sealed", dir);
	unlink(path);
	rmdir(dir);
}

static void test_next_line(void **state)
{
	(void)state;
	struct sb_slice rest = sb_slice_str("a\r\n\nbc\nlast"), line;
	const char *want[] = {"a", "", "bc", "last"};
	for (size_t i = 0; i < 4; i++) {
		assert_true(sb_slice_next_line(&rest, &line));
		assert_true(sb_slice_eq_str(line, want[i]));
	}
	assert_false(sb_slice_next_line(&rest, &line));
	rest = sb_slice_str("x\n");
	assert_true(sb_slice_next_line(&rest, &line));
	assert_false(sb_slice_next_line(&rest, &line)); /* no empty line after the final LF */
}

static void test_state_dir_precedence(void **state)
{
	(void)state;
	char out[64], tiny[8];
	setenv("SEALBID_STATE", "/s", 1);
	setenv("XDG_STATE_HOME", "/x", 1);
	setenv("HOME", "/h", 1);
	assert_true(sb_ok(sb_state_dir(out, sizeof(out))));
	assert_string_equal(out, "/s");
	unsetenv("SEALBID_STATE");
	assert_true(sb_ok(sb_state_dir(out, sizeof(out))));
	assert_string_equal(out, "/x/sealbid");
	setenv("XDG_STATE_HOME", "", 1);
	assert_true(sb_ok(sb_state_dir(out, sizeof(out))));
	assert_string_equal(out, "/h/.local/state/sealbid");
	assert_int_equal(sb_state_dir(tiny, sizeof(tiny)).code, SB_ERR_TOO_LARGE);
}

static char last_line[1100];
static void capture(void *ctx, enum sb_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	snprintf(last_line, sizeof(last_line), "%s", line);
}

static void test_log_levels_and_sanitising(void **state)
{
	(void)state;
	sb_log_set_sink(capture, NULL);
	sb_log_set_level(SB_LOG_WARN);
	last_line[0] = 0;
	sb_log_info("hidden");
	assert_string_equal(last_line, "");
	sb_log_warn("party %s\nFAKE: line", "x");
	assert_string_equal(last_line, "party x?FAKE: line");
	sb_log_set_sink(NULL, NULL);
}

/* sb_fd_read_full: fills the buffer, stops at EOF, and gives up at its deadline. */
static void test_fd_read_full_deadline(void **state)
{
	(void)state;
	uint8_t buf[16];
	size_t n = 99;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	/* A writer that stays silent: SB_ERR_TIMEOUT once the deadline passes. */
	uint64_t t0 = sb_time_mono_ns();
	assert_int_equal(sb_fd_read_full(p[0], buf, sizeof(buf), t0 + 50000000u, &n).code,
			 SB_ERR_TIMEOUT);
	assert_true(sb_time_mono_ns() - t0 >= 50000000u);
	assert_true(sb_time_mono_ns() - t0 < 5000000000u);
	/* Data then EOF: what there was, short. */
	assert_int_equal(write(p[1], "defg", 4), 4);
	close(p[1]);
	assert_true(sb_ok(sb_fd_read_full(p[0], buf, sizeof(buf), 0, &n)));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "defg", 4);
	assert_true(sb_ok(sb_fd_read_full(p[0], buf, sizeof(buf), 0, &n)));
	assert_int_equal(n, 0);
	close(p[0]);
}

/* sb_file_open_regular / sb_file_check_replaceable: regular files only. */
static void test_regular_files_only(void **state)
{
	(void)state;
	char dir[] = "/tmp/sb_common_reg_XXXXXX", f[64], fifo[64], link[64];
	uint64_t size = 0;
	int fd = -1;

	assert_non_null(mkdtemp(dir));
	(void)snprintf(f, sizeof(f), "%s/f", dir);
	(void)snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	(void)snprintf(link, sizeof(link), "%s/link", dir);
	assert_true(sb_ok(sb_file_write_atomic(f, SB_SLICE_LIT("12345"), 0600)));
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(symlink(f, link), 0);
	assert_true(sb_ok(sb_file_open_regular(f, &fd, &size)));
	assert_int_equal(size, 5);
	close(fd);
	assert_int_equal(sb_file_open_regular(fifo, &fd, NULL).code, SB_ERR_NOT_REGULAR);
	assert_int_equal(sb_file_open_regular(link, &fd, NULL).code, SB_ERR_NOT_REGULAR);
	assert_int_equal(sb_file_open_regular(dir, &fd, NULL).code, SB_ERR_NOT_REGULAR);
	assert_int_equal(sb_file_open_regular("/dev/null", &fd, NULL).code, SB_ERR_NOT_REGULAR);
	assert_true(sb_ok(sb_file_check_replaceable(f)));
	assert_int_equal(sb_file_check_replaceable(fifo).code, SB_ERR_NOT_REGULAR);
	assert_int_equal(sb_file_check_replaceable(link).code, SB_ERR_NOT_REGULAR);
	assert_int_equal(sb_file_check_replaceable("/dev/null").code, SB_ERR_NOT_REGULAR);
	assert_int_equal(sb_file_write_atomic(fifo, SB_SLICE_LIT("x"), 0600).code,
			 SB_ERR_NOT_REGULAR);
	unlink(link);
	unlink(fifo);
	unlink(f);
	assert_int_equal(rmdir(dir), 0);
}

static void test_glob(void **state)
{
	(void)state;
	assert_true(sb_glob_match("*", "", false));
	assert_true(sb_glob_match("a*b*c", "aXXbYYc", false));
	assert_false(sb_glob_match("a*b*c", "aXXbYY", false));
	assert_true(sb_glob_match("a?c", "abc", false));
	assert_false(sb_glob_match("a?c", "ac", false));
	assert_true(sb_glob_match("KMS:*", "kms:Decrypt", true));
	assert_false(sb_glob_match("KMS:*", "kms:Decrypt", false));
	assert_true(sb_glob_match("**a", "a", false));
	assert_false(sb_glob_match("", "a", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_records_code_and_detail),
		cmocka_unit_test(test_buf_bounds),
		cmocka_unit_test(test_buf_secret_and_move),
		cmocka_unit_test(test_secret_pages_not_dumped),
		cmocka_unit_test(test_process_protect),
		cmocka_unit_test(test_reader_writer),
		cmocka_unit_test(test_base64_rfc4648_vectors),
		cmocka_unit_test(test_base64_rejects),
		cmocka_unit_test(test_base64_exact_limit),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_parse_integers),
		cmocka_unit_test(test_size_arith),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_file_atomic_and_bounded),
		cmocka_unit_test(test_file_out_stream),
		cmocka_unit_test(test_log_levels_and_sanitising),
		cmocka_unit_test(test_state_dir_precedence),
		cmocka_unit_test(test_next_line),
		cmocka_unit_test(test_fd_read_full_deadline),
		cmocka_unit_test(test_regular_files_only),
		cmocka_unit_test(test_glob),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* BeginJob with and without a shard (src/wire/sb_msg_job.c, docs/PROTOCOL.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire/sb_msg_job.h"

static void test_begin_job_forms(void **state)
{
	static const char manifest[] = "{\"version\":1}";
	struct sb_buf b = SB_BUF_INIT(4096);
	struct sb_msg_begin_job p;
	uint32_t k = 3;
	(void)state;
	/* Unsharded: the manifest bytes alone, exactly as before sharding. */
	assert_true(sb_ok(sb_msg_begin_job_append(&b, NULL, sb_slice_str(manifest))));
	assert_int_equal(b.len, strlen(manifest));
	assert_memory_equal(b.data, manifest, b.len);
	assert_true(sb_ok(sb_msg_begin_job_parse(sb_buf_slice(&b), &p)));
	assert_false(p.has_shard);
	assert_true(sb_slice_eq_str(p.manifest, manifest));
	/* Sharded: "\0SHD" | be32 K | manifest. */
	sb_buf_reset(&b);
	assert_true(sb_ok(sb_msg_begin_job_append(&b, &k, sb_slice_str(manifest))));
	assert_int_equal(b.len, 8 + strlen(manifest));
	assert_memory_equal(b.data, "\0SHD\0\0\0\x03", 8);
	assert_true(sb_ok(sb_msg_begin_job_parse(sb_buf_slice(&b), &p)));
	assert_true(p.has_shard);
	assert_int_equal(p.shard, 3);
	assert_true(sb_slice_eq_str(p.manifest, manifest));
	/* A NUL first byte is the prefix or an error: never a manifest. */
	assert_int_equal(sb_msg_begin_job_parse(SB_SLICE("\0SHX\0\0\0\1{}", 10), &p).code,
			 SB_ERR_BAD_FRAME);
	assert_false(sb_ok(sb_msg_begin_job_parse(SB_SLICE("\0SHD\0\0", 6), &p)));
	assert_false(sb_ok(sb_msg_begin_job_parse(SB_SLICE("\0", 1), &p)));
	sb_buf_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_begin_job_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

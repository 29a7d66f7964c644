/*
 * Fuzz target for sb_cms: the strict parser and the full decrypt path
 * (parse, then OpenSSL's CMS decoder and key transport) on arbitrary bytes,
 * with one RSA-2048 key generated on the first call. Nothing may crash or
 * leak; a successful decrypt must produce at most the input's size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/sb_buf.h"
#include "crypto/sb_cms.h"
#include "crypto/sb_rsa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sb_rsa_key *fuzz_key(void)
{
	static struct sb_rsa_key *key;

	if (key == NULL && !sb_ok(sb_rsa_key_new(2048, &key)))
		abort();
	return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_slice in = SB_SLICE(data, size);
	struct sb_cms_parts parts;
	struct sb_buf pt = SB_BUF_INIT_SECRET(SB_CMS_MAX_LEN);

	sb_cms_parts_init(&parts);
	if (sb_ok(sb_cms_parse(in, &parts))) {
		/* Whatever parses has the promised shape. */
		if (parts.encrypted_content.len == 0 || parts.encrypted_content.len % 16 != 0 ||
		    parts.encrypted_content.len > size || parts.encrypted_key.len < 256)
			abort();
	} else if (parts.encrypted_key.len != 0 || parts.encrypted_content.len != 0) {
		abort(); /* a failed parse leaves nothing behind */
	}
	sb_cms_parts_cleanup(&parts);

	if (sb_ok(sb_cms_decrypt(fuzz_key(), in, &pt))) {
		if (pt.len > size)
			abort();
	} else if (pt.len != 0) {
		abort(); /* a failed decrypt appends nothing */
	}
	sb_buf_cleanup(&pt);
	return 0;
}

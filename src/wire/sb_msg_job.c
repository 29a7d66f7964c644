#include "wire/sb_msg_job.h"

#include <string.h>

void sb_msg_creds_init(struct sb_msg_creds *c)
{
	c->access_key_id = SB_BUF_INIT(SB_MSG_CRED_FIELD_MAX);
	c->secret_access_key = SB_BUF_INIT_SECRET(SB_MSG_CRED_FIELD_MAX);
	c->session_token = SB_BUF_INIT_SECRET(SB_MSG_CRED_FIELD_MAX);
	c->expiration_ms = 0;
}

void sb_msg_creds_cleanup(struct sb_msg_creds *c)
{
	if (c == NULL)
		return;
	sb_buf_cleanup(&c->access_key_id);
	sb_buf_cleanup(&c->secret_access_key);
	sb_buf_cleanup(&c->session_token);
}

static SB_RESULT put_field(struct sb_buf *out, const struct sb_buf *f)
{
	SB_ENSURE(f->len <= SB_MSG_CRED_FIELD_MAX, SB_ERR_TOO_LARGE);
	SB_GUARD(sb_buf_append_be16(out, (uint16_t)f->len));
	return sb_buf_append_slice(out, sb_buf_slice(f));
}

SB_RESULT sb_msg_creds_append(struct sb_buf *out, const struct sb_msg_creds *c)
{
	SB_ENSURE(out != NULL && c != NULL, SB_ERR_NULL);
	SB_GUARD(put_field(out, &c->access_key_id));
	SB_GUARD(put_field(out, &c->secret_access_key));
	SB_GUARD(put_field(out, &c->session_token));
	return sb_buf_append_be64(out, c->expiration_ms);
}

static SB_RESULT get_field(struct sb_reader *r, bool required, struct sb_buf *dst)
{
	uint16_t n;
	struct sb_slice s;

	SB_GUARD(sb_reader_be16(r, &n));
	SB_ENSURE_MSG(n <= SB_MSG_CRED_FIELD_MAX, SB_ERR_BAD_FRAME, "credential field too long");
	SB_ENSURE_MSG(!required || n > 0, SB_ERR_BAD_FRAME, "empty credential field");
	SB_GUARD(sb_reader_bytes(r, n, &s));
	return sb_buf_set(dst, s);
}

SB_RESULT sb_msg_creds_parse(struct sb_slice in, struct sb_msg_creds *out)
{
	struct sb_reader r;

	SB_ENSURE_REF(out);
	sb_reader_init(&r, in);
	SB_GUARD(get_field(&r, true, &out->access_key_id));
	SB_GUARD(get_field(&r, true, &out->secret_access_key));
	SB_GUARD(get_field(&r, false, &out->session_token));
	SB_GUARD(sb_reader_be64(&r, &out->expiration_ms));
	return sb_reader_end(&r);
}

SB_RESULT sb_msg_begin_job_append(struct sb_buf *out, const uint32_t *shard,
				  struct sb_slice manifest)
{
	SB_ENSURE_REF(out);
	if (shard != NULL) {
		SB_GUARD(sb_buf_append(out, SB_MSG_BEGIN_SHARD_MAGIC, SB_MSG_BEGIN_SHARD_MAGIC_LEN));
		SB_GUARD(sb_buf_append_be32(out, *shard));
	}
	return sb_buf_append_slice(out, manifest);
}

SB_RESULT sb_msg_begin_job_parse(struct sb_slice in, struct sb_msg_begin_job *out)
{
	struct sb_reader r;
	struct sb_slice magic;

	SB_ENSURE_REF(out);
	out->has_shard = false;
	out->shard = 0;
	sb_reader_init(&r, in);
	if (in.len > 0 && in.ptr[0] == 0) {
		SB_GUARD(sb_reader_bytes(&r, SB_MSG_BEGIN_SHARD_MAGIC_LEN, &magic));
		SB_ENSURE_MSG(memcmp(magic.ptr, SB_MSG_BEGIN_SHARD_MAGIC,
				     SB_MSG_BEGIN_SHARD_MAGIC_LEN) == 0,
			      SB_ERR_BAD_FRAME, "BeginJob: unknown prefix");
		SB_GUARD(sb_reader_be32(&r, &out->shard));
		out->has_shard = true;
	}
	return sb_reader_bytes(&r, sb_reader_remaining(&r), &out->manifest);
}

SB_RESULT sb_msg_need_creds_append(struct sb_buf *out, uint64_t expiration_ms)
{
	SB_ENSURE_REF(out);
	return sb_buf_append_be64(out, expiration_ms);
}

SB_RESULT sb_msg_need_creds_parse(struct sb_slice in, uint64_t *expiration_ms)
{
	struct sb_reader r;

	SB_ENSURE_REF(expiration_ms);
	SB_ENSURE_MSG(in.len == SB_MSG_NEED_CREDENTIALS_LEN, SB_ERR_BAD_FRAME,
		      "NeedCredentials is %zu bytes, not %u", in.len, SB_MSG_NEED_CREDENTIALS_LEN);
	sb_reader_init(&r, in);
	SB_GUARD(sb_reader_be64(&r, expiration_ms));
	return sb_reader_end(&r);
}

SB_RESULT sb_msg_input_append(struct sb_buf *out, const char *party, uint32_t seq, bool last,
			      struct sb_slice chunk)
{
	size_t n;

	SB_ENSURE(out != NULL && party != NULL, SB_ERR_NULL);
	n = strlen(party);
	SB_ENSURE(n > 0 && n <= SB_MSG_PARTY_NAME_MAX, SB_ERR_INVALID_ARG);
	SB_ENSURE(chunk.len <= SB_MSG_INPUT_CHUNK_MAX, SB_ERR_TOO_LARGE);
	SB_GUARD(sb_buf_append_u8(out, (uint8_t)n));
	SB_GUARD(sb_buf_append(out, party, n));
	SB_GUARD(sb_buf_append_be32(out, seq));
	SB_GUARD(sb_buf_append_u8(out, last ? SB_MSG_INPUT_LAST : 0));
	return sb_buf_append_slice(out, chunk);
}

SB_RESULT sb_msg_input_parse(struct sb_slice in, struct sb_msg_input *out)
{
	struct sb_reader r;
	uint8_t n, flags;

	SB_ENSURE_REF(out);
	sb_reader_init(&r, in);
	SB_GUARD(sb_reader_u8(&r, &n));
	SB_ENSURE_MSG(n > 0 && n <= SB_MSG_PARTY_NAME_MAX, SB_ERR_BAD_FRAME, "bad party name length");
	SB_GUARD(sb_reader_bytes(&r, n, &out->party));
	SB_GUARD(sb_reader_be32(&r, &out->seq));
	SB_GUARD(sb_reader_u8(&r, &flags));
	SB_ENSURE_MSG((flags & ~SB_MSG_INPUT_LAST) == 0, SB_ERR_BAD_FRAME, "unknown input flags");
	out->last = (flags & SB_MSG_INPUT_LAST) != 0;
	SB_ENSURE_MSG(sb_reader_remaining(&r) <= SB_MSG_INPUT_CHUNK_MAX, SB_ERR_BAD_FRAME,
		      "input chunk too large");
	return sb_reader_bytes(&r, sb_reader_remaining(&r), &out->chunk);
}

SB_RESULT sb_msg_result_append(struct sb_buf *out, struct sb_slice output, struct sb_slice receipt)
{
	SB_ENSURE_REF(out);
	SB_ENSURE(output.len <= UINT32_MAX && receipt.len <= UINT32_MAX, SB_ERR_TOO_LARGE);
	SB_GUARD(sb_buf_append_be32(out, (uint32_t)output.len));
	SB_GUARD(sb_buf_append_slice(out, output));
	SB_GUARD(sb_buf_append_be32(out, (uint32_t)receipt.len));
	return sb_buf_append_slice(out, receipt);
}

SB_RESULT sb_msg_result_parse(struct sb_slice in, struct sb_slice *output, struct sb_slice *receipt)
{
	struct sb_reader r;
	uint32_t n;

	SB_ENSURE(output != NULL && receipt != NULL, SB_ERR_NULL);
	sb_reader_init(&r, in);
	SB_GUARD(sb_reader_be32(&r, &n));
	SB_GUARD(sb_reader_bytes(&r, n, output));
	SB_GUARD(sb_reader_be32(&r, &n));
	SB_GUARD(sb_reader_bytes(&r, n, receipt));
	return sb_reader_end(&r);
}

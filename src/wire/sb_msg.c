/* Message table and the Hello / Error / Ping payloads (see sb_msg.h). */
#include "wire/sb_msg.h"

#include <string.h>

/*
 * The one table of message types. PROTOCOL.md §4 mirrors it; a number once
 * given is never reused.
 */
static const struct sb_msg_info sb_msg_table[] = {
	{SB_MSG_HELLO, "Hello", SB_WIRE_STATE_HELLO, SB_MSG_DIR_BOTH},
	{SB_MSG_PING, "Ping", SB_WIRE_STATES_AFTER_HELLO, SB_MSG_DIR_PARENT},
	{SB_MSG_PONG, "Pong", 0, SB_MSG_DIR_ENCLAVE},
	{SB_MSG_ERROR, "Error", SB_WIRE_STATES_AFTER_HELLO | SB_WIRE_STATE_HELLO, SB_MSG_DIR_BOTH},
	/* Credentials expire during long jobs, so they may be refreshed mid-job,
	 * also after EndInputs while the enclave still decrypts (NeedCredentials). */
	{SB_MSG_SET_CREDENTIALS, "SetCredentials", SB_MSG_SET_CREDENTIALS_STATES, SB_MSG_DIR_PARENT},
	{SB_MSG_BEGIN_JOB, "BeginJob", SB_WIRE_STATE_CREDENTIALS, SB_MSG_DIR_PARENT},
	{SB_MSG_INPUT, "Input", SB_WIRE_STATE_JOB, SB_MSG_DIR_PARENT},
	{SB_MSG_END_INPUTS, "EndInputs", SB_WIRE_STATE_JOB, SB_MSG_DIR_PARENT},
	{SB_MSG_RESULT, "Result", 0, SB_MSG_DIR_ENCLAVE},
	{SB_MSG_RESULT_PART, "ResultPart", 0, SB_MSG_DIR_ENCLAVE},
	{SB_MSG_NEED_CREDENTIALS, "NeedCredentials", 0, SB_MSG_DIR_ENCLAVE},
	/* Anyone may ask which code runs here, at any time after Hello. */
	{SB_MSG_ATTEST, "Attest", SB_WIRE_STATES_AFTER_HELLO, SB_MSG_DIR_PARENT},
};

const struct sb_msg_info *sb_msg_info(uint16_t type)
{
	for (size_t i = 0; i < sizeof(sb_msg_table) / sizeof(sb_msg_table[0]); i++)
		if (sb_msg_table[i].type == type)
			return &sb_msg_table[i];
	return NULL;
}

bool sb_msg_is_partial(uint16_t type)
{
	return type == SB_MSG_RESULT_PART || type == SB_MSG_NEED_CREDENTIALS;
}

const char *sb_msg_name(uint16_t type)
{
	const struct sb_msg_info *i = sb_msg_info(type);
	return i != NULL ? i->name : "unknown";
}

static SB_RESULT check_role(uint8_t role)
{
	switch (role) {
	case SB_WIRE_ROLE_PARENT:
	case SB_WIRE_ROLE_ENCLAVE:
		return SB_OK_RESULT;
	default:
		SB_BAIL_MSG(SB_ERR_WIRE_BAD_ROLE, "role %u", role);
	}
}

/* 1..16 versions, each >= 1, strictly ascending. */
static SB_RESULT check_versions(const uint16_t *v, size_t count)
{
	SB_ENSURE_MSG(count >= 1 && count <= SB_MSG_HELLO_MAX_VERSIONS, SB_ERR_BAD_FRAME,
		      "Hello lists %zu versions", count);
	for (size_t i = 0; i < count; i++) {
		SB_ENSURE_MSG(v[i] >= 1, SB_ERR_BAD_FRAME, "Hello lists version 0");
		SB_ENSURE_MSG(i == 0 || v[i - 1] < v[i], SB_ERR_BAD_FRAME,
			      "Hello versions are not strictly ascending");
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_msg_hello_init(struct sb_msg_hello *h, enum sb_wire_role role,
			    const uint16_t *versions, size_t count)
{
	SB_ENSURE_REF(h);
	SB_ENSURE_REF(versions);
	SB_GUARD(check_role((uint8_t)role));
	SB_GUARD(check_versions(versions, count));
	memset(h, 0, sizeof(*h));
	h->role = (uint8_t)role;
	h->count = (uint8_t)count;
	memcpy(h->versions, versions, count * sizeof(versions[0]));
	return SB_OK_RESULT;
}

SB_RESULT sb_msg_hello_append(struct sb_buf *out, const struct sb_msg_hello *h)
{
	SB_ENSURE_REF(out);
	SB_ENSURE_REF(h);
	SB_GUARD(check_role(h->role));
	SB_GUARD(check_versions(h->versions, h->count));
	SB_GUARD(sb_buf_reserve(out, 2u + 2u * h->count));
	SB_GUARD(sb_buf_append_u8(out, h->role));
	SB_GUARD(sb_buf_append_u8(out, h->count));
	for (size_t i = 0; i < h->count; i++)
		SB_GUARD(sb_buf_append_be16(out, h->versions[i]));
	return SB_OK_RESULT;
}

SB_RESULT sb_msg_hello_parse(struct sb_slice in, struct sb_msg_hello *out)
{
	struct sb_msg_hello h;
	struct sb_reader r;

	SB_ENSURE_REF(out);
	memset(&h, 0, sizeof(h));
	sb_reader_init(&r, in);
	SB_GUARD(sb_reader_u8(&r, &h.role));
	SB_GUARD(check_role(h.role));
	SB_GUARD(sb_reader_u8(&r, &h.count));
	SB_ENSURE_MSG(h.count >= 1 && h.count <= SB_MSG_HELLO_MAX_VERSIONS, SB_ERR_BAD_FRAME,
		      "Hello lists %u versions", h.count);
	for (size_t i = 0; i < h.count; i++)
		SB_GUARD(sb_reader_be16(&r, &h.versions[i]));
	SB_GUARD(sb_reader_end(&r));
	SB_GUARD(check_versions(h.versions, h.count));
	*out = h;
	return SB_OK_RESULT;
}

SB_RESULT sb_msg_hello_choose(const struct sb_msg_hello *a, const struct sb_msg_hello *b,
			      uint16_t *out_version)
{
	SB_ENSURE_REF(a);
	SB_ENSURE_REF(b);
	SB_ENSURE_REF(out_version);
	/* Both lists ascend: walk a from the top, the first shared entry is the highest. */
	for (size_t i = a->count; i-- > 0;)
		for (size_t j = 0; j < b->count; j++)
			if (a->versions[i] == b->versions[j]) {
				*out_version = a->versions[i];
				return SB_OK_RESULT;
			}
	SB_BAIL(SB_ERR_WIRE_NO_VERSION);
}

static bool printable(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

SB_RESULT sb_msg_error_append(struct sb_buf *out, uint32_t code, const char *message)
{
	size_t n = message == NULL ? 0 : strnlen(message, SB_MSG_ERROR_MAX_TEXT);

	SB_ENSURE_REF(out);
	SB_GUARD(sb_buf_reserve(out, 6u + n));
	SB_GUARD(sb_buf_append_be32(out, code));
	SB_GUARD(sb_buf_append_be16(out, (uint16_t)n));
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)message[i];
		SB_GUARD(sb_buf_append_u8(out, printable(c) ? c : (uint8_t)'?'));
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_msg_error_parse(struct sb_slice in, struct sb_msg_error *out)
{
	struct sb_reader r;
	struct sb_slice text;
	uint16_t len;

	SB_ENSURE_REF(out);
	sb_reader_init(&r, in);
	SB_GUARD(sb_reader_be32(&r, &out->code));
	SB_GUARD(sb_reader_be16(&r, &len));
	SB_ENSURE_MSG(len <= SB_MSG_ERROR_MAX_TEXT, SB_ERR_BAD_FRAME, "Error message of %u bytes",
		      len);
	SB_GUARD(sb_reader_bytes(&r, len, &text));
	SB_GUARD(sb_reader_end(&r));
	for (size_t i = 0; i < text.len; i++)
		SB_ENSURE_MSG(printable(text.ptr[i]), SB_ERR_BAD_FRAME,
			      "Error message byte %zu is not printable", i);
	if (text.len > 0)
		memcpy(out->message, text.ptr, text.len);
	out->message[text.len] = '\0';
	return SB_OK_RESULT;
}

SB_RESULT sb_msg_ping_check(struct sb_slice payload)
{
	SB_ENSURE_MSG(payload.len <= SB_MSG_PING_MAX_PAYLOAD, SB_ERR_WIRE_OVERSIZE,
		      "Ping payload of %zu bytes, maximum %u", payload.len, SB_MSG_PING_MAX_PAYLOAD);
	return SB_OK_RESULT;
}

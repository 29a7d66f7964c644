/*
 * Strict CBOR loading over libcbor, and typed accessors/builders.
 *
 * libcbor's cbor_load allocates each container for the length its header
 * declares, before reading the elements; an attacker's "array of 2^32
 * items" in a 20-byte input would ask for 32 GiB. So a streaming pre-pass
 * (cbor_stream_decode, which allocates nothing) checks the input first:
 * well-formed (RFC 8949 §5.3.1), every declared element count no larger than
 * the bytes left, bounded nesting, no tags, no indefinite-length strings,
 * exactly one top-level item and no trailing bytes. Only then is the item
 * tree built.
 */
#include "attest/sb_cbor.h"

#include <string.h>

#include "common/sb_mem.h"

#define SB_CBOR_DEPTH_LIMIT 16

struct prescan_frame {
	uint64_t remaining; /* items left in a definite container */
	bool indefinite;
	bool is_map;
	uint64_t seen; /* items seen in an indefinite container */
};

struct prescan {
	size_t pos; /* offset of the item being decoded */
	size_t len; /* input length */
	unsigned max_depth;
	unsigned depth;
	struct prescan_frame stack[SB_CBOR_DEPTH_LIMIT];
	bool done;   /* the top-level item is complete */
	bool failed; /* a rule was broken */
};

/* One item (scalar or container header) was read: it fills one slot of its parent. */
static void prescan_slot(struct prescan *p)
{
	if (p->depth == 0) {
		p->done = true;
		return;
	}
	struct prescan_frame *f = &p->stack[p->depth - 1];
	if (f->indefinite) {
		f->seen++;
		return;
	}
	f->remaining--;
	/* Close every definite container this item completed. */
	while (p->depth > 0 && !p->stack[p->depth - 1].indefinite &&
	       p->stack[p->depth - 1].remaining == 0) {
		p->depth--;
		if (p->depth == 0)
			p->done = true;
	}
}

static void prescan_push(struct prescan *p, bool indefinite, bool is_map, uint64_t count)
{
	if (p->done || p->depth >= p->max_depth) {
		p->failed = true;
		return;
	}
	/* Each element takes at least one byte of what follows this header. */
	uint64_t items = is_map ? count * 2 : count;
	if (!indefinite && (count > p->len || items > p->len - p->pos)) {
		p->failed = true;
		return;
	}
	bool empty = !indefinite && items == 0;
	if (empty) {
		prescan_slot(p);
		return;
	}
	/* The container itself is one slot of its parent; count it before entering. */
	if (p->depth > 0) {
		struct prescan_frame *parent = &p->stack[p->depth - 1];
		if (parent->indefinite)
			parent->seen++;
		else
			parent->remaining--; /* cannot reach 0 with children pending */
	}
	p->stack[p->depth++] =
	    (struct prescan_frame){.remaining = items, .indefinite = indefinite, .is_map = is_map};
}

static void on_scalar(struct prescan *p)
{
	if (p->done) {
		p->failed = true;
		return;
	}
	prescan_slot(p);
}

/* libcbor callback shims: each forwards to on_scalar / prescan_push. */
static void cb_u8(void *c, uint8_t v)
{
	(void)v;
	on_scalar(c);
}
static void cb_u16(void *c, uint16_t v)
{
	(void)v;
	on_scalar(c);
}
static void cb_u32(void *c, uint32_t v)
{
	(void)v;
	on_scalar(c);
}
static void cb_u64(void *c, uint64_t v)
{
	(void)v;
	on_scalar(c);
}
static void cb_str(void *c, cbor_data d, uint64_t n)
{
	(void)d;
	(void)n;
	on_scalar(c);
}
static void cb_simple(void *c)
{
	on_scalar(c);
}
static void cb_bool(void *c, bool v)
{
	(void)v;
	on_scalar(c);
}
static void cb_f2(void *c, float v)
{
	(void)v;
	on_scalar(c);
}
static void cb_f8(void *c, double v)
{
	(void)v;
	on_scalar(c);
}
static void cb_reject(void *c)
{
	((struct prescan *)c)->failed = true;
}
static void cb_reject_tag(void *c, uint64_t v)
{
	(void)v;
	cb_reject(c);
}
static void cb_array(void *c, uint64_t n)
{
	prescan_push(c, false, false, n);
}
static void cb_map(void *c, uint64_t n)
{
	prescan_push(c, false, true, n);
}
static void cb_indef_array(void *c)
{
	prescan_push(c, true, false, 0);
}
static void cb_indef_map(void *c)
{
	prescan_push(c, true, true, 0);
}

static void cb_break(void *ctx)
{
	struct prescan *p = ctx;
	if (p->depth == 0 || !p->stack[p->depth - 1].indefinite) {
		p->failed = true;
		return;
	}
	struct prescan_frame *f = &p->stack[p->depth - 1];
	if (f->is_map && f->seen % 2 != 0) { /* a key without its value */
		p->failed = true;
		return;
	}
	p->depth--;
	if (p->depth == 0) {
		p->done = true;
		return;
	}
	/* Closing may complete a definite parent whose last slot this was. */
	while (p->depth > 0 && !p->stack[p->depth - 1].indefinite &&
	       p->stack[p->depth - 1].remaining == 0) {
		p->depth--;
		if (p->depth == 0)
			p->done = true;
	}
}

static const struct cbor_callbacks prescan_callbacks = {
    .uint8 = cb_u8,
    .uint16 = cb_u16,
    .uint32 = cb_u32,
    .uint64 = cb_u64,
    .negint8 = cb_u8,
    .negint16 = cb_u16,
    .negint32 = cb_u32,
    .negint64 = cb_u64,
    .byte_string = cb_str,
    .string = cb_str,
    .byte_string_start = cb_reject,
    .string_start = cb_reject,
    .array_start = cb_array,
    .indef_array_start = cb_indef_array,
    .map_start = cb_map,
    .indef_map_start = cb_indef_map,
    .tag = cb_reject_tag,
    .float2 = cb_f2,
    .float4 = cb_f2,
    .float8 = cb_f8,
    .undefined = cb_simple,
    .null = cb_simple,
    .boolean = cb_bool,
    .indef_break = cb_break,
};

static SB_RESULT cbor_prescan(struct sb_slice in, unsigned max_depth, int err)
{
	struct prescan p = {.len = in.len,
	                    .max_depth =
	                        max_depth < SB_CBOR_DEPTH_LIMIT ? max_depth : SB_CBOR_DEPTH_LIMIT};
	while (p.pos < in.len && !p.done) {
		struct cbor_decoder_result r =
		    cbor_stream_decode(in.ptr + p.pos, in.len - p.pos, &prescan_callbacks, &p);
		SB_ENSURE_MSG(r.status == CBOR_DECODER_FINISHED, err,
		              r.status == CBOR_DECODER_NEDATA ? "truncated at byte %zu"
		                                              : "malformed at byte %zu",
		              p.pos);
		SB_ENSURE_MSG(!p.failed, err, "disallowed or oversized item at byte %zu", p.pos);
		p.pos += r.read;
	}
	SB_ENSURE_MSG(p.done, err, "truncated at byte %zu", p.pos);
	SB_ENSURE_MSG(p.pos == in.len, err, "%zu trailing bytes", in.len - p.pos);
	return SB_OK_RESULT;
}

SB_RESULT sb_cbor_load(struct sb_slice in, unsigned max_depth, int err, cbor_item_t **out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(in.len > 0, err, "empty input");
	SB_GUARD(cbor_prescan(in, max_depth, err));
	struct cbor_load_result res;
	cbor_item_t *item = cbor_load(in.ptr, in.len, &res);
	if (item == NULL || res.error.code != CBOR_ERR_NONE || res.read != in.len) {
		if (item != NULL)
			cbor_decref(&item);
		SB_ENSURE(res.error.code != CBOR_ERR_MEMERROR, SB_ERR_NOMEM);
		SB_BAIL_MSG(err, "undecodable at byte %zu", res.error.position);
	}
	*out = item;
	return SB_OK_RESULT;
}

SB_RESULT sb_cbor_serialize(const cbor_item_t *item, struct sb_buf *out)
{
	SB_ENSURE_REF(item);
	SB_ENSURE_REF(out);
	unsigned char *bytes = NULL;
	size_t cap = 0;
	size_t n = cbor_serialize_alloc(item, &bytes, &cap);
	SB_ENSURE(n > 0 && bytes != NULL, SB_ERR_NOMEM);
	sb_result rc = sb_buf_append(out, bytes, n);
	free(bytes);
	return rc;
}

SB_RESULT sb_cbor_key(const cbor_item_t *item, char *key, size_t cap, int err)
{
	struct sb_slice s;
	SB_GUARD(sb_cbor_text(item, 1, cap - 1, err, &s));
	memcpy(key, s.ptr, s.len);
	key[s.len] = '\0';
	return SB_OK_RESULT;
}

/* RFC 8949 §4.2.1 preferred serialization: "integers MUST be as short as possible". */
static bool uint_is_minimal(const cbor_item_t *item, uint64_t v)
{
	switch (cbor_int_get_width(item)) {
	case CBOR_INT_8:
		return true; /* 0..23 inline or 24..255 in one byte: libcbor keeps both here */
	case CBOR_INT_16:
		return v > UINT8_MAX;
	case CBOR_INT_32:
		return v > UINT16_MAX;
	case CBOR_INT_64:
		return v > UINT32_MAX;
	default:
		return false;
	}
}

SB_RESULT sb_cbor_uint(const cbor_item_t *item, uint64_t max, int err, uint64_t *out)
{
	SB_ENSURE_MSG(item != NULL && cbor_isa_uint(item), err, "expected an unsigned integer");
	uint64_t v = cbor_get_int(item);
	SB_ENSURE_MSG(uint_is_minimal(item, v), err, "integer not minimally encoded");
	SB_ENSURE_MSG(v <= max, err, "integer %llu above %llu", (unsigned long long)v,
	              (unsigned long long)max);
	*out = v;
	return SB_OK_RESULT;
}

SB_RESULT sb_cbor_bytes(const cbor_item_t *item, size_t min, size_t max, int err,
                        struct sb_slice *out)
{
	SB_ENSURE_MSG(item != NULL && cbor_isa_bytestring(item) &&
	                  cbor_bytestring_is_definite(item),
	              err, "expected a byte string");
	size_t n = cbor_bytestring_length(item);
	SB_ENSURE_MSG(n >= min && n <= max, SB_ERR_ATTEST_FIELD_SIZE,
	              "byte string of %zu bytes, allowed %zu..%zu", n, min, max);
	*out = SB_SLICE(cbor_bytestring_handle(item), n);
	return SB_OK_RESULT;
}

SB_RESULT sb_cbor_text(const cbor_item_t *item, size_t min, size_t max, int err,
                       struct sb_slice *out)
{
	SB_ENSURE_MSG(item != NULL && cbor_isa_string(item) && cbor_string_is_definite(item), err,
	              "expected a text string");
	size_t n = cbor_string_length(item);
	SB_ENSURE_MSG(n >= min && n <= max, err, "text of %zu bytes, allowed %zu..%zu", n, min,
	              max);
	*out = SB_SLICE(cbor_string_handle(item), n);
	return SB_OK_RESULT;
}

/*
 * libcbor's cbor_is_null/cbor_is_bool assert (abort) when handed a float:
 * they read the control value without checking the width first. So check
 * "simple value, not a float" here before asking.
 */
static bool is_ctrl(const cbor_item_t *item)
{
	return item != NULL && cbor_isa_float_ctrl(item) &&
	       cbor_float_get_width(item) == CBOR_FLOAT_0;
}

bool sb_cbor_is_null(const cbor_item_t *item)
{
	return is_ctrl(item) && cbor_is_null(item);
}

SB_RESULT sb_cbor_bool(const cbor_item_t *item, int err, bool *out)
{
	SB_ENSURE_MSG(is_ctrl(item) && cbor_is_bool(item), err, "expected a boolean");
	*out = cbor_get_bool(item);
	return SB_OK_RESULT;
}

SB_RESULT sb_cbor_opt_bytes(const cbor_item_t *item, size_t min, size_t max, int err,
                            struct sb_attest_opt *out)
{
	SB_ENSURE_REF(out);
	sb_buf_reset(&out->value);
	out->present = false;
	if (sb_cbor_is_null(item))
		return SB_OK_RESULT;
	struct sb_slice s;
	SB_GUARD(sb_cbor_bytes(item, min, max, err, &s));
	SB_GUARD(sb_buf_set(&out->value, s));
	out->present = true;
	return SB_OK_RESULT;
}

bool sb_cbor_is_text(const cbor_item_t *item, const char *text)
{
	struct sb_slice s;
	if (item == NULL || !cbor_isa_string(item) || !cbor_string_is_definite(item))
		return false;
	s = SB_SLICE(cbor_string_handle(item), cbor_string_length(item));
	return sb_slice_eq_str(s, text);
}

SB_RESULT sb_cbor_new_map(bool indefinite, size_t size, cbor_item_t **out)
{
	*out = indefinite ? cbor_new_indefinite_map() : cbor_new_definite_map(size);
	SB_ENSURE(*out != NULL, SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

/* Adds key/value (both taken) to map. */
static SB_RESULT map_add(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value)
{
	bool ok = key != NULL && value != NULL &&
	          cbor_map_add(map, (struct cbor_pair){.key = key, .value = value});
	/* cbor_map_add took its own references; drop ours either way. */
	if (key != NULL)
		cbor_decref(&key);
	if (value != NULL)
		cbor_decref(&value);
	SB_ENSURE(ok, SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

SB_RESULT sb_cbor_map_put(cbor_item_t *map, const char *key, cbor_item_t *value)
{
	return map_add(map, sb_cbor_build_text(key), value);
}

SB_RESULT sb_cbor_map_put_uint(cbor_item_t *map, uint64_t key, cbor_item_t *value)
{
	return map_add(map, sb_cbor_build_uint(key), value);
}

SB_RESULT sb_cbor_array_push(cbor_item_t *array, cbor_item_t *value)
{
	bool ok = value != NULL && cbor_array_push(array, value);
	if (value != NULL)
		cbor_decref(&value);
	SB_ENSURE(ok, SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

cbor_item_t *sb_cbor_build_bytes(struct sb_slice s)
{
	/* libcbor copies the bytes; a zero-length bstr needs a non-NULL pointer. */
	static const uint8_t empty[1];
	return cbor_build_bytestring(s.len > 0 ? s.ptr : empty, s.len);
}

cbor_item_t *sb_cbor_build_text(const char *s)
{
	return cbor_build_stringn(s, strlen(s));
}

/* Smallest width that holds v (preferred serialization). */
cbor_item_t *sb_cbor_build_uint(uint64_t v)
{
	if (v <= UINT8_MAX)
		return cbor_build_uint8((uint8_t)v);
	if (v <= UINT16_MAX)
		return cbor_build_uint16((uint16_t)v);
	if (v <= UINT32_MAX)
		return cbor_build_uint32((uint32_t)v);
	return cbor_build_uint64(v);
}

cbor_item_t *sb_cbor_build_opt_bytes(struct sb_slice s)
{
	if (s.ptr == NULL)
		return cbor_new_null();
	return sb_cbor_build_bytes(s);
}

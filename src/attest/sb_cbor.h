/*
 * Internal to src/attest/cbor*.c (the only files that see libcbor): strict
 * loading and typed accessors over libcbor items, and builders that keep
 * libcbor's reference counting in one place. Nothing outside cbor*.c may
 * include this header.
 *
 * Reference rules (libcbor): a built item starts with one reference;
 * sb_cbor_map_put / sb_cbor_array_push TAKE the value (it is released on
 * every path); items reached through cbor_map_handle / cbor_array_handle
 * are borrowed from their container.
 */
#ifndef SB_CBOR_H
#define SB_CBOR_H

#include <stdbool.h>
#include <stdint.h>

#include <cbor.h>

#include "attest/sb_attest_doc.h"
#include "common/sb_buf.h"

/*
 * Decodes exactly one well-formed item spanning all of in (no trailing
 * bytes), nested at most max_depth deep, with every declared length checked
 * against the bytes left before libcbor allocates for it, no tags and no
 * indefinite-length strings. Errors are `err` (the caller's layer code).
 * Caller releases *out with cbor_decref.
 */
SB_RESULT sb_cbor_load(struct sb_slice in, unsigned max_depth, int err, cbor_item_t **out);
/* Appends item's encoding to out. */
SB_RESULT sb_cbor_serialize(const cbor_item_t *item, struct sb_buf *out);

/* A map key that must be a definite text string: copied NUL-terminated into key. */
SB_RESULT sb_cbor_key(const cbor_item_t *item, char *key, size_t cap, int err);
/* A minimally encoded unsigned integer <= max. */
SB_RESULT sb_cbor_uint(const cbor_item_t *item, uint64_t max, int err, uint64_t *out);
/* A definite byte string of min..max bytes, borrowed from item. */
SB_RESULT sb_cbor_bytes(const cbor_item_t *item, size_t min, size_t max, int err,
                        struct sb_slice *out);
/* A definite text string of min..max bytes, borrowed from item. */
SB_RESULT sb_cbor_text(const cbor_item_t *item, size_t min, size_t max, int err,
                       struct sb_slice *out);
/* null -> absent, else a byte string of min..max bytes copied into out. */
SB_RESULT sb_cbor_opt_bytes(const cbor_item_t *item, size_t min, size_t max, int err,
                            struct sb_attest_opt *out);
bool sb_cbor_is_text(const cbor_item_t *item, const char *text);
/* CBOR null (safe on floats, unlike libcbor's cbor_is_null). */
bool sb_cbor_is_null(const cbor_item_t *item);
/* CBOR true/false. */
SB_RESULT sb_cbor_bool(const cbor_item_t *item, int err, bool *out);

/* Builders. All return SB_ERR_NOMEM when libcbor cannot allocate. */
SB_RESULT sb_cbor_new_map(bool indefinite, size_t size, cbor_item_t **out);
/* map[key] = value; takes value. */
SB_RESULT sb_cbor_map_put(cbor_item_t *map, const char *key, cbor_item_t *value);
/* map[key] = value with an unsigned key; takes value. */
SB_RESULT sb_cbor_map_put_uint(cbor_item_t *map, uint64_t key, cbor_item_t *value);
/* Appends value to array; takes value. */
SB_RESULT sb_cbor_array_push(cbor_item_t *array, cbor_item_t *value);
/* New items (NULL out on failure, reported as SB_ERR_NOMEM by the functions above). */
cbor_item_t *sb_cbor_build_bytes(struct sb_slice s);
cbor_item_t *sb_cbor_build_text(const char *s);
cbor_item_t *sb_cbor_build_uint(uint64_t v);
/* bstr, or null when s.ptr == NULL. */
cbor_item_t *sb_cbor_build_opt_bytes(struct sb_slice s);

#endif

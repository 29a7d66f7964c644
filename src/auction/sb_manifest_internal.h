/* What sb_manifest.c (the manifest) and sb_manifest_collab.c (the
 * join-aggregate parts) share: the strict JSON readers. */
#ifndef SB_MANIFEST_INTERNAL_H
#define SB_MANIFEST_INTERNAL_H

#include <jansson.h>

#include "auction/sb_manifest.h"

#define MANIFEST_FAIL(...) SB_BAIL_MSG(SB_ERR_BAD_MANIFEST, __VA_ARGS__)

/* Every key of obj must be one of allowed (NULL-terminated). */
SB_RESULT sb_manifest_only_keys(json_t *obj, const char *where, const char *const *allowed);
/* A string field of 1..max characters into dst (max + 1 bytes); dflt when absent and not required. */
SB_RESULT sb_manifest_get_string(json_t *obj, const char *where, const char *name, bool required,
				 size_t max, char *dst, const char *dflt);

/* A join-aggregate party's "join" and "rule" (party name already in r->party). */
SB_RESULT sb_manifest_collab_party(json_t *v, const char *where, struct sb_collab_rule *r);
/* The "query" of a join-aggregate manifest, then the whole spec checked. */
SB_RESULT sb_manifest_collab_query(json_t *root, struct sb_manifest *m);
/* Adds the join-aggregate fields to the canonical form (parties[i] in order). */
SB_RESULT sb_manifest_collab_canonical(const struct sb_manifest *m, json_t *root, json_t *parties);

#endif

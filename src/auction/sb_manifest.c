#include "auction/sb_manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auction/sb_manifest_internal.h"
#include "auction/sb_shard.h"
#include "common/sb_mem.h"

SB_RESULT sb_manifest_only_keys(json_t *obj, const char *where, const char *const *allowed)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val) {
		bool known = false;
		(void)val;
		for (const char *const *a = allowed; *a != NULL; a++)
			known = known || strcmp(key, *a) == 0;
		if (!known)
			MANIFEST_FAIL("%s: unknown field \"%.64s\"", where, key);
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_manifest_get_string(json_t *obj, const char *where, const char *name, bool required,
				 size_t max, char *dst, const char *dflt)
{
	json_t *v = json_object_get(obj, name);
	const char *s;
	size_t n;

	if (v == NULL) {
		if (required)
			MANIFEST_FAIL("%s: missing field \"%s\"", where, name);
		s = dflt;
	} else {
		if (!json_is_string(v))
			MANIFEST_FAIL("%s: \"%s\" must be a string", where, name);
		s = json_string_value(v);
		if (strlen(s) != json_string_length(v))
			MANIFEST_FAIL("%s: \"%s\" contains a NUL character", where, name);
	}
	n = strlen(s);
	if (n == 0 || n > max)
		MANIFEST_FAIL("%s: \"%s\" must be 1..%zu characters", where, name, max);
	memcpy(dst, s, n + 1);
	return SB_OK_RESULT;
}

static bool chars_in(const char *s, const char *extra)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || strchr(extra, c) != NULL;
		if (!ok)
			return false;
	}
	return true;
}

static SB_RESULT check_uri(const char *uri, const char *where)
{
	bool s3 = strncmp(uri, "s3://", 5) == 0 && uri[5] != '\0' && uri[5] != '/' &&
		  strchr(uri + 5, '/') != NULL && strchr(uri + 5, '/')[1] != '\0';
	bool file = strncmp(uri, "file:///", 8) == 0 && uri[8] != '\0';

	if (!s3 && !file)
		MANIFEST_FAIL("%s: URI must be s3://bucket/key or file:///path", where);
	for (const char *p = uri; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			MANIFEST_FAIL("%s: URI has a control character", where);
	return SB_OK_RESULT;
}

static SB_RESULT parse_party(json_t *v, size_t i, struct sb_manifest *m)
{
	static const char *const keys[] = {"name", "input", "format", "key", "binding", NULL};
	static const char *const collab_keys[] = {"name",    "input", "format", "key",
						  "binding", "join",  "rule",   NULL};
	struct sb_party *p = &m->parties[i];
	bool collab = m->collab != NULL;
	char where[32], format[16], binding[8];

	(void)snprintf(where, sizeof(where), "parties[%zu]", i);
	if (!json_is_object(v))
		MANIFEST_FAIL("%s must be an object", where);
	SB_GUARD(sb_manifest_only_keys(v, where, collab ? collab_keys : keys));
	SB_GUARD(sb_manifest_get_string(v, where, "name", true, SB_PARTY_NAME_MAX, p->name, NULL));
	SB_GUARD(sb_party_name_check(sb_slice_str(p->name)));
	SB_GUARD(sb_manifest_get_string(v, where, "input", true, SB_MANIFEST_MAX_URI, p->input, NULL));
	SB_GUARD(check_uri(p->input, where));
	SB_GUARD(sb_manifest_get_string(v, where, "format", false, sizeof(format) - 1, format,
					collab ? "sealed" : "kms-csv"));
	if (strcmp(format, "kms-csv") == 0)
		p->format = SB_FORMAT_KMS_CSV;
	else if (strcmp(format, "sealed") == 0)
		p->format = SB_FORMAT_SEALED;
	else
		MANIFEST_FAIL("%s: format must be \"kms-csv\" or \"sealed\"", where);
	SB_GUARD(sb_manifest_get_string(v, where, "key", true, SB_MANIFEST_MAX_KEY, p->key, NULL));
	if (!chars_in(p->key, ":/-_."))
		MANIFEST_FAIL("%s: key must be a key id, key ARN, alias name or alias ARN", where);
	SB_GUARD(sb_manifest_get_string(v, where, "binding", false, sizeof(binding) - 1, binding, "job"));
	if (strcmp(binding, "job") == 0)
		p->binding = SB_BINDING_JOB;
	else if (strcmp(binding, "none") == 0)
		p->binding = SB_BINDING_NONE;
	else
		MANIFEST_FAIL("%s: binding must be \"job\" or \"none\"", where);
	/* A sealed dataset's context is checked before any KMS call; unbound is meaningless. */
	if (p->format == SB_FORMAT_SEALED && p->binding == SB_BINDING_NONE)
		MANIFEST_FAIL("%s: a sealed input is always bound to its job (binding \"job\")",
			      where);
	if (!collab)
		return SB_OK_RESULT;
	if (p->format != SB_FORMAT_SEALED)
		MANIFEST_FAIL("%s: a join-aggregate input is sealed (format \"sealed\")", where);
	memcpy(m->collab->rule[i].party, p->name, sizeof(p->name));
	return sb_manifest_collab_party(v, where, &m->collab->rule[i]);
}

static SB_RESULT parse_parties(json_t *arr, struct sb_manifest *m)
{
	size_t n;

	if (!json_is_array(arr))
		MANIFEST_FAIL("\"parties\" must be an array");
	n = json_array_size(arr);
	if (m->collab != NULL && n != SB_COLLAB_PARTIES)
		MANIFEST_FAIL("a join-aggregate job has %d parties", SB_COLLAB_PARTIES);
	if (n < 2 || n > SB_AUCTION_MAX_PARTIES)
		MANIFEST_FAIL("\"parties\" must list 2..%d parties", SB_AUCTION_MAX_PARTIES);
	SB_GUARD(sb_calloc(n, sizeof(*m->parties), (void **)&m->parties));
	m->nparties = n;
	for (size_t i = 0; i < n; i++) {
		SB_GUARD(parse_party(json_array_get(arr, i), i, m));
		for (size_t j = 0; j < i; j++) {
			if (strcmp(m->parties[i].name, m->parties[j].name) == 0)
				MANIFEST_FAIL("party \"%s\" is listed twice", m->parties[i].name);
			/* One key, two parties: a party could be played against itself
			 * (the enclave also compares the keys KMS resolves). */
			if (strcmp(m->parties[i].key, m->parties[j].key) == 0)
				MANIFEST_FAIL("parties \"%s\" and \"%s\" declare the same key",
					      m->parties[j].name, m->parties[i].name);
		}
	}
	return SB_OK_RESULT;
}

static SB_RESULT parse_enums(json_t *root, struct sb_manifest *m)
{
	char comp[32], disc[32];

	SB_GUARD(sb_manifest_get_string(root, "manifest", "computation", false, sizeof(comp) - 1, comp,
			    "highest-bid"));
	if (strcmp(comp, "highest-bid") == 0)
		m->computation = SB_COMPUTE_HIGHEST_BID;
	else if (strcmp(comp, "second-price") == 0)
		m->computation = SB_COMPUTE_SECOND_PRICE;
	else if (strcmp(comp, "join-aggregate") == 0)
		m->computation = SB_COMPUTE_JOIN_AGGREGATE;
	else
		MANIFEST_FAIL("\"computation\" must be \"highest-bid\", \"second-price\" or "
			      "\"join-aggregate\"");
	if (m->computation == SB_COMPUTE_JOIN_AGGREGATE) {
		if (json_object_get(root, "disclose") != NULL)
			MANIFEST_FAIL("\"disclose\" belongs to auctions, not join-aggregate");
		return sb_calloc(1, sizeof(*m->collab), (void **)&m->collab);
	}
	if (json_object_get(root, "query") != NULL)
		MANIFEST_FAIL("\"query\" belongs to join-aggregate jobs");
	SB_GUARD(sb_manifest_get_string(root, "manifest", "disclose", false, sizeof(disc) - 1, disc,
			    "winner"));
	if (strcmp(disc, "winner") == 0)
		m->disclose = SB_DISCLOSE_WINNER;
	else if (strcmp(disc, "winner-and-price") == 0)
		m->disclose = SB_DISCLOSE_WINNER_AND_PRICE;
	else
		MANIFEST_FAIL("\"disclose\" must be \"winner\" or \"winner-and-price\"");
	return SB_OK_RESULT;
}

/* "{shard}" only in sealed inputs of a sharded job, once. */
static SB_RESULT check_shard_inputs(const struct sb_manifest *m)
{
	for (size_t i = 0; i < m->nparties; i++) {
		const struct sb_party *p = &m->parties[i];
		const char *t = strstr(p->input, SB_SHARD_TOKEN);
		if (t == NULL)
			continue;
		if (p->format != SB_FORMAT_SEALED || m->shards < 2)
			MANIFEST_FAIL("parties[%zu]: \"" SB_SHARD_TOKEN "\" belongs in the input of a "
				      "sealed party of a sharded job only", i);
		if (strstr(t + 1, SB_SHARD_TOKEN) != NULL)
			MANIFEST_FAIL("parties[%zu]: \"" SB_SHARD_TOKEN "\" appears twice", i);
	}
	return SB_OK_RESULT;
}

static SB_RESULT parse_root(json_t *root, struct sb_manifest *m)
{
	static const char *const keys[] = {"version", "job_id", "region", "computation", "disclose",
					   "parties", "output", "shards", "query",       NULL};
	json_t *ver, *shards;

	if (!json_is_object(root))
		MANIFEST_FAIL("top level must be an object");
	SB_GUARD(sb_manifest_only_keys(root, "manifest", keys));
	ver = json_object_get(root, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) != 1)
		MANIFEST_FAIL("\"version\" must be the integer 1");
	m->version = 1;
	SB_GUARD(sb_manifest_get_string(root, "manifest", "job_id", true, sizeof(m->job_id) - 1, m->job_id,
			    NULL));
	if (!chars_in(m->job_id, "._:-"))
		MANIFEST_FAIL("\"job_id\" may use only A-Z a-z 0-9 . _ : -");
	SB_GUARD(sb_manifest_get_string(root, "manifest", "region", true, sizeof(m->region) - 1, m->region,
			    NULL));
	if (!chars_in(m->region, "-"))
		MANIFEST_FAIL("\"region\" is not a region name");
	SB_GUARD(parse_enums(root, m));
	SB_GUARD(parse_parties(json_object_get(root, "parties"), m));
	SB_GUARD(sb_manifest_get_string(root, "manifest", "output", true, SB_MANIFEST_MAX_URI, m->output,
			    NULL));
	shards = json_object_get(root, "shards");
	m->shards = 1;
	if (shards != NULL) {
		if (!json_is_integer(shards) || json_integer_value(shards) < 1 ||
		    json_integer_value(shards) > SB_SHARD_MAX)
			MANIFEST_FAIL("\"shards\" must be an integer 1..%u", SB_SHARD_MAX);
		m->shards = (uint32_t)json_integer_value(shards);
	}
	SB_GUARD(check_uri(m->output, "output"));
	SB_GUARD(check_shard_inputs(m));
	if (m->collab == NULL)
		return SB_OK_RESULT;
	if (m->shards != 1)
		MANIFEST_FAIL("a join-aggregate job runs as one shard");
	return sb_manifest_collab_query(root, m);
}

static SB_RESULT canonicalise(struct sb_manifest *m)
{
	static const char *const comp[] = {"highest-bid", "second-price", "join-aggregate"};
	static const char *const disc[] = {"winner", "winner-and-price"};
	static const char *const fmt[] = {"kms-csv", "sealed"};
	static const char *const bind[] = {"job", "none"};
	json_t *root = json_object(), *parties = json_array();
	char *text = NULL;
	sb_result rc = SB_OK_RESULT;

	if (root == NULL || parties == NULL)
		SB_FAIL_GOTO(rc, SB_ERR_NOMEM, out);
	json_object_set_new(root, "version", json_integer(m->version));
	json_object_set_new(root, "job_id", json_string(m->job_id));
	json_object_set_new(root, "region", json_string(m->region));
	json_object_set_new(root, "computation", json_string(comp[m->computation]));
	if (m->collab == NULL)
		json_object_set_new(root, "disclose", json_string(disc[m->disclose]));
	json_object_set_new(root, "output", json_string(m->output));
	if (m->shards != 1) /* absent when 1: unsharded manifests keep their hash */
		json_object_set_new(root, "shards", json_integer(m->shards));
	for (size_t i = 0; i < m->nparties; i++)
		json_array_append_new(parties,
				      json_pack("{s:s, s:s, s:s, s:s, s:s}", "name",
						m->parties[i].name, "input", m->parties[i].input,
						"format", fmt[m->parties[i].format], "key",
						m->parties[i].key, "binding",
						bind[m->parties[i].binding]));
	json_object_set(root, "parties", parties);
	if (m->collab != NULL)
		SB_GUARD_GOTO(rc, sb_manifest_collab_canonical(m, root, parties), out);
	text = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text == NULL)
		SB_FAIL_GOTO(rc, SB_ERR_NOMEM, out);
	sb_buf_init(&m->canonical, SB_MANIFEST_MAX_BYTES * 2);
	SB_GUARD_GOTO(rc, sb_buf_append_str(&m->canonical, text), out);
	SB_GUARD_GOTO(rc, sb_sha384(sb_buf_slice(&m->canonical), m->hash), out);
	for (size_t i = 0; i < sizeof(m->hash); i++)
		(void)snprintf(m->hash_hex + 2 * i, 3, "%02x", m->hash[i]);
out:
	free(text);
	json_decref(parties);
	json_decref(root);
	return rc;
}

SB_RESULT sb_manifest_parse(struct sb_slice json, struct sb_manifest *m)
{
	json_error_t err;
	json_t *root;
	sb_result rc;

	SB_ENSURE_REF(m);
	memset(m, 0, sizeof(*m));
	SB_ENSURE_MSG(json.len <= SB_MANIFEST_MAX_BYTES, SB_ERR_BAD_MANIFEST,
		      "larger than %u bytes", SB_MANIFEST_MAX_BYTES);
	root = json_loadb((const char *)json.ptr, json.len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL)
		SB_BAIL_MSG(SB_ERR_BAD_MANIFEST, "JSON error at line %d column %d: %.80s",
			    err.line, err.column, err.text);
	rc = parse_root(root, m);
	json_decref(root);
	if (sb_ok(rc))
		rc = canonicalise(m);
	if (!sb_ok(rc))
		sb_manifest_cleanup(m);
	return rc;
}

void sb_manifest_cleanup(struct sb_manifest *m)
{
	if (m == NULL)
		return;
	free(m->parties);
	m->parties = NULL;
	free(m->collab);
	m->collab = NULL;
	m->nparties = 0;
	sb_buf_cleanup(&m->canonical);
}

SB_RESULT sb_manifest_party_index(const struct sb_manifest *m, struct sb_slice name,
				  size_t *out)
{
	SB_ENSURE(m != NULL && out != NULL, SB_ERR_NULL);
	for (size_t i = 0; i < m->nparties; i++) {
		if (sb_slice_eq_str(name, m->parties[i].name)) {
			*out = i;
			return SB_OK_RESULT;
		}
	}
	SB_BAIL_MSG(SB_ERR_BAD_PARTY, "no party of that name in the manifest");
}

bool sb_manifest_has_unbound(const struct sb_manifest *m)
{
	for (size_t i = 0; i < m->nparties; i++)
		if (m->parties[i].binding == SB_BINDING_NONE)
			return true;
	return false;
}

SB_RESULT sb_manifest_party_names(const struct sb_manifest *m, const char ***out)
{
	const char **names = NULL;

	SB_ENSURE(m != NULL && out != NULL, SB_ERR_NULL);
	SB_GUARD(sb_calloc(m->nparties, sizeof(*names), (void **)&names));
	for (size_t i = 0; i < m->nparties; i++)
		names[i] = m->parties[i].name;
	*out = names;
	return SB_OK_RESULT;
}

bool sb_party_sharded_input(const struct sb_party *p)
{
	return strstr(p->input, SB_SHARD_TOKEN) != NULL;
}

SB_RESULT sb_party_input_uri(const struct sb_party *p, uint32_t k, struct sb_buf *out)
{
	const char *t;

	SB_ENSURE(p != NULL && out != NULL, SB_ERR_NULL);
	t = strstr(p->input, SB_SHARD_TOKEN);
	if (t == NULL)
		return sb_buf_append_str(out, p->input);
	SB_GUARD(sb_buf_append(out, p->input, (size_t)(t - p->input)));
	return sb_buf_printf(out, "%u%s", k, t + strlen(SB_SHARD_TOKEN));
}

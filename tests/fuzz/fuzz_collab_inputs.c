/*
 * Fuzz target for the join-aggregate computation (src/collab): two parties'
 * decrypted CSVs, which each party writes as it likes, so the enclave parses
 * them as untrusted input. Input: the first party's CSV, a line "=", the
 * second party's CSV. Properties checked beyond "no crash": the checker
 * `sealbid seal` runs (sb_collab_check) accepts a party's CSV exactly when
 * the join does, and a successful output ends with its suppressed-groups line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/sb_collab.h"
#include "collab/sb_collab_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void spec_init(struct sb_collab_spec *s)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->rule[0].party, "a");
	strcpy(s->rule[0].join, "k");
	strcpy(s->rule[0].group_by[0], "g");
	s->rule[0].ngroup_by = 1;
	strcpy(s->rule[0].agg[0].column, "k");
	s->rule[0].agg[0].fns = SB_AGG_BIT(SB_AGG_COUNT_DISTINCT);
	strcpy(s->rule[0].agg[1].column, "v");
	s->rule[0].agg[1].fns = SB_AGG_BIT(SB_AGG_SUM) | SB_AGG_BIT(SB_AGG_COUNT_DISTINCT);
	s->rule[0].nagg = 2;
	s->rule[0].min_distinct_keys = 2;
	strcpy(s->rule[1].party, "b");
	strcpy(s->rule[1].join, "k");
	strcpy(s->rule[1].group_by[0], "h");
	s->rule[1].ngroup_by = 1;
	strcpy(s->rule[1].agg[0].column, "w");
	s->rule[1].agg[0].fns = SB_AGG_BIT(SB_AGG_AVG) | SB_AGG_BIT(SB_AGG_COUNT);
	s->rule[1].nagg = 1;
	s->rule[1].min_distinct_keys = 2;
	s->group_by[0] = (struct sb_collab_ref){0, "g"};
	s->group_by[1] = (struct sb_collab_ref){1, "h"};
	s->ngroup_by = 2;
	s->agg[0] = (struct sb_collab_agg){SB_AGG_COUNT_DISTINCT, {0, "k"}};
	s->agg[1] = (struct sb_collab_agg){SB_AGG_SUM, {0, "v"}};
	s->agg[2] = (struct sb_collab_agg){SB_AGG_COUNT_DISTINCT, {0, "v"}};
	s->agg[3] = (struct sb_collab_agg){SB_AGG_AVG, {1, "w"}};
	s->agg[4] = (struct sb_collab_agg){SB_AGG_COUNT, {1, "w"}};
	s->nagg = 5;
}

/* Feeds one party's CSV line by line as the sealed reader does. */
static bool join_feed(struct sb_collab *c, uint32_t party, struct sb_slice csv)
{
	while (csv.len > 0) {
		const uint8_t *nl = memchr(csv.ptr, '\n', csv.len);
		size_t n = nl != NULL ? (size_t)(nl - csv.ptr) : csv.len;
		if (!sb_ok(sb_collab_line(c, party, SB_SLICE(csv.ptr, n))))
			return false;
		csv = SB_SLICE(csv.ptr + n + (nl != NULL), csv.len - n - (nl != NULL));
	}
	return sb_ok(sb_collab_end(c, party));
}

static bool check_accepts(const struct sb_collab_spec *s, uint32_t party, struct sb_slice csv)
{
	struct sb_collab_check c;
	bool ok;

	sb_collab_check_init(&c, s, party);
	ok = sb_ok(sb_collab_check_feed(&c, csv)) && sb_ok(sb_collab_check_end(&c));
	sb_collab_check_cleanup(&c);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_collab_spec s;
	struct sb_collab *c = NULL;
	struct sb_slice csv[2] = {SB_SLICE(data, size), SB_SLICE(NULL, 0)};
	struct sb_buf out = SB_BUF_INIT(1u << 24);

	for (size_t i = 0; i + 1 < size; i++) {
		if ((i == 0 || data[i - 1] == '\n') && data[i] == '=' && data[i + 1] == '\n') {
			csv[0] = SB_SLICE(data, i);
			csv[1] = SB_SLICE(data + i + 2, size - i - 2);
			break;
		}
	}
	spec_init(&s);
	if (!sb_ok(sb_collab_new(&s, &c)))
		abort();
	bool first = join_feed(c, 0, csv[0]);
	if (first != check_accepts(&s, 0, csv[0]))
		abort();
	if (first) {
		bool second = join_feed(c, 1, csv[1]);
		if (second != check_accepts(&s, 1, csv[1]))
			abort();
		if (second) {
			sb_result r = sb_collab_write_csv(c, &out);
			if (sb_ok(r) && strstr((const char *)out.data, "\n# suppressed_groups=") == NULL)
				abort();
			if (!sb_ok(r) && out.len != 0)
				abort();
		}
	}
	sb_buf_cleanup(&out);
	sb_collab_free(c);
	return 0;
}

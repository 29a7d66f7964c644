#include "collab/sb_collab_check.h"

#include <string.h>

#include "common/sb_mem.h"

void sb_collab_check_init(struct sb_collab_check *c, const struct sb_collab_spec *spec,
			  uint32_t party)
{
	sb_collab_table_init(&c->table, spec, party);
	sb_csv_fields_init(&c->fields);
	sb_buf_init_secret(&c->line, SB_CSV_LINE_MAX + 1);
}

void sb_collab_check_cleanup(struct sb_collab_check *c)
{
	if (c == NULL)
		return;
	sb_csv_fields_cleanup(&c->fields);
	sb_buf_cleanup(&c->line);
}

static SB_RESULT one_line(struct sb_collab_check *c, struct sb_slice line)
{
	struct sb_decimal num[SB_COLLAB_MAX_AGGREGATES];
	struct sb_collab_table *t = &c->table;
	sb_result rc = sb_csv_split(&c->fields, line);

	if (!sb_ok(rc)) {
		const char *party = t->spec->rule[t->party].party;
		if (t->have_header)
			sb_error_context("party %s, row %zu", party, t->rows + 1);
		else
			sb_error_context("party %s, header", party);
		return rc;
	}
	if (!t->have_header)
		return sb_collab_table_header(t, &c->fields);
	rc = sb_collab_table_row(t, &c->fields, num);
	sb_wipe(num, sizeof(num));
	return rc;
}

SB_RESULT sb_collab_check_feed(struct sb_collab_check *c, struct sb_slice chunk)
{
	const uint8_t *nl;

	SB_ENSURE_REF(c);
	if (chunk.len == 0)
		return SB_OK_RESULT;
	while (chunk.len > 0 && (nl = memchr(chunk.ptr, '\n', chunk.len)) != NULL) {
		size_t n = (size_t)(nl - chunk.ptr);
		struct sb_slice part = SB_SLICE(chunk.ptr, n);
		if (c->line.len == 0) {
			SB_GUARD(one_line(c, part));
		} else {
			SB_ENSURE_MSG(c->line.len + n <= SB_CSV_LINE_MAX + 1, SB_ERR_DATASET_CSV,
				      "party %s, row %zu: longer than %u bytes",
				      c->table.spec->rule[c->table.party].party, c->table.rows + 1,
				      SB_CSV_LINE_MAX);
			SB_GUARD(sb_buf_append_slice(&c->line, part));
			SB_GUARD(one_line(c, sb_buf_slice(&c->line)));
			sb_buf_reset(&c->line);
		}
		chunk = SB_SLICE(nl + 1, chunk.len - n - 1);
	}
	SB_ENSURE_MSG(c->line.len + chunk.len <= SB_CSV_LINE_MAX + 1, SB_ERR_DATASET_CSV,
		      "party %s, row %zu: longer than %u bytes",
		      c->table.spec->rule[c->table.party].party, c->table.rows + 1, SB_CSV_LINE_MAX);
	return sb_buf_append_slice(&c->line, chunk);
}

SB_RESULT sb_collab_check_end(struct sb_collab_check *c)
{
	SB_ENSURE_REF(c);
	if (c->line.len > 0) { /* a last line without its LF */
		SB_GUARD(one_line(c, sb_buf_slice(&c->line)));
		sb_buf_reset(&c->line);
	}
	return sb_collab_table_end(&c->table);
}

#include "cli/sb_cli_sealed.h"

#include <string.h>

#include "auction/sb_bids_csv.h"
#include "auction/sb_trailer.h"
#include "cli/sb_cli_manifest.h"

void sb_sealed_csv_init(struct sb_sealed_csv *c)
{
	c->lineno = 0;
	c->rows = 0;
	sb_buf_init_secret(&c->line, SB_SEALED_CSV_LINE_MAX);
}

void sb_sealed_csv_cleanup(struct sb_sealed_csv *c)
{
	if (c != NULL)
		sb_buf_cleanup(&c->line);
}

static SB_RESULT row_check(struct sb_slice line, size_t lineno)
{
	const uint8_t *comma = memchr(line.ptr, ',', line.len);
	struct sb_amount parsed;

	SB_ENSURE_MSG(line.len > 0, SB_ERR_BAD_CSV, "line %zu: empty line", lineno);
	SB_ENSURE_MSG(comma != NULL, SB_ERR_BAD_CSV, "line %zu: expected property,amount", lineno);
	struct sb_slice prop = SB_SLICE(line.ptr, (size_t)(comma - line.ptr));
	struct sb_slice amount = SB_SLICE(comma + 1, line.len - prop.len - 1);
	if (!sb_ok(sb_property_id_check(prop)))
		SB_BAIL_MSG(SB_ERR_BAD_CSV, "line %zu: %s", lineno, sb_error_detail());
	SB_ENSURE_MSG(!sb_trailer_reserved(prop), SB_ERR_BAD_CSV,
		      "line %zu: property ids starting with \"%s\" are reserved", lineno,
		      SB_TRAILER_PREFIX);
	sb_result rc = sb_amount_parse(amount, &parsed);
	sb_amount_wipe(&parsed);
	if (!sb_ok(rc)) {
		/* The parse's detail says why, never the text. */
		sb_error_context("line %zu", lineno);
		return rc;
	}
	return SB_OK_RESULT;
}

static SB_RESULT too_long(size_t lineno)
{
	SB_BAIL_MSG(SB_ERR_BAD_CSV, "line %zu: longer than %d characters", lineno,
		    SB_SEALED_CSV_LINE_MAX);
}

/*
 * One whole line, its LF taken off (and here its CR). The length bound is
 * checked here too, for lines that arrive whole in one chunk, so the
 * verdict does not depend on where the reads break (fuzz_cli_sealed).
 */
static SB_RESULT line_check(struct sb_sealed_csv *c, struct sb_slice line)
{
	if (line.len > SB_SEALED_CSV_LINE_MAX)
		return too_long(c->lineno + 1);
	if (line.len > 0 && line.ptr[line.len - 1] == '\r')
		line.len--;
	c->lineno++;
	if (c->lineno == 1) {
		SB_ENSURE_MSG(sb_slice_eq_str(line, SB_BIDS_CSV_HEADER), SB_ERR_BAD_CSV,
			      "line 1: expected the header \"%s\"", SB_BIDS_CSV_HEADER);
		return SB_OK_RESULT;
	}
	SB_GUARD(row_check(line, c->lineno));
	c->rows++;
	return SB_OK_RESULT;
}

/* Appends part of a line to the held one, bounded by the longest line. */
static SB_RESULT line_append(struct sb_sealed_csv *c, struct sb_slice part)
{
	if (part.len > SB_SEALED_CSV_LINE_MAX - c->line.len)
		return too_long(c->lineno + 1);
	return sb_buf_append_slice(&c->line, part);
}

SB_RESULT sb_sealed_csv_feed(struct sb_sealed_csv *c, struct sb_slice chunk)
{
	SB_ENSURE(c != NULL && (chunk.ptr != NULL || chunk.len == 0), SB_ERR_NULL);
	while (chunk.len > 0) {
		const uint8_t *lf = memchr(chunk.ptr, '\n', chunk.len);
		size_t n = lf != NULL ? (size_t)(lf - chunk.ptr) : chunk.len;
		struct sb_slice part = SB_SLICE(chunk.ptr, n);
		if (lf != NULL && c->line.len == 0) {
			SB_GUARD(line_check(c, part)); /* a whole line in the chunk: no copy */
		} else {
			SB_GUARD(line_append(c, part));
			if (lf != NULL) {
				SB_GUARD(line_check(c, sb_buf_slice(&c->line)));
				sb_buf_reset(&c->line);
			}
		}
		size_t used = n + (lf != NULL ? 1 : 0);
		chunk = SB_SLICE(chunk.ptr + used, chunk.len - used);
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_sealed_csv_end(struct sb_sealed_csv *c)
{
	SB_ENSURE_REF(c);
	if (c->line.len > 0) {
		SB_GUARD(line_check(c, sb_buf_slice(&c->line)));
		sb_buf_reset(&c->line);
	}
	SB_ENSURE_MSG(c->lineno > 0, SB_ERR_BAD_CSV, "empty: expected the header \"%s\"",
		      SB_BIDS_CSV_HEADER);
	SB_ENSURE_MSG(c->rows > 0, SB_ERR_BAD_CSV, "no bids after the header");
	return SB_OK_RESULT;
}

static const char *format_name(enum sb_input_format f)
{
	switch (f) {
	case SB_FORMAT_KMS_CSV:
		return "kms-csv";
	case SB_FORMAT_SEALED:
		return "sealed";
	default:
		return "unknown";
	}
}

void sb_cli_plain_init(struct sb_cli_plain *p, const struct sb_manifest *m,
		       const struct sb_party *party)
{
	p->is_dataset = m->collab != NULL;
	sb_sealed_csv_init(&p->bids);
	if (p->is_dataset)
		sb_collab_check_init(&p->dataset, m->collab, (uint32_t)(party - m->parties));
}

void sb_cli_plain_cleanup(struct sb_cli_plain *p)
{
	sb_sealed_csv_cleanup(&p->bids);
	if (p->is_dataset)
		sb_collab_check_cleanup(&p->dataset);
}

SB_RESULT sb_cli_plain_feed(struct sb_cli_plain *p, struct sb_slice chunk)
{
	return p->is_dataset ? sb_collab_check_feed(&p->dataset, chunk)
			     : sb_sealed_csv_feed(&p->bids, chunk);
}

SB_RESULT sb_cli_plain_end(struct sb_cli_plain *p)
{
	return p->is_dataset ? sb_collab_check_end(&p->dataset) : sb_sealed_csv_end(&p->bids);
}

SB_RESULT sb_cli_sealed_party(const char *path, const char *name, struct sb_manifest *m,
			      const struct sb_party **party)
{
	size_t idx;

	SB_ENSURE(path != NULL && name != NULL && m != NULL && party != NULL, SB_ERR_NULL);
	SB_GUARD(sb_cli_manifest_party(path, name, m));
	sb_result rc = sb_manifest_party_index(m, sb_slice_str(name), &idx);
	if (sb_ok(rc) && m->parties[idx].format != SB_FORMAT_SEALED)
		rc = sb_error_recordf(SB_ERR_BAD_PARTY, SB_HERE,
				      "%s: party %s has format \"%s\", not \"sealed\"", path, name,
				      format_name(m->parties[idx].format));
	if (!sb_ok(rc)) {
		sb_manifest_cleanup(m);
		return rc;
	}
	*party = &m->parties[idx];
	return SB_OK_RESULT;
}

SB_RESULT sb_cli_kms_open(struct sb_cli_kms *k)
{
	struct sb_kms_config cfg;

	SB_ENSURE_REF(k);
	k->creds = NULL;
	k->kms = NULL;
	SB_GUARD(sb_creds_provider_new_chain(NULL, &k->creds));
	sb_kms_config_default(&cfg);
	cfg.creds = k->creds;
	sb_result rc = sb_kms_new(&cfg, &k->kms);
	if (!sb_ok(rc))
		sb_cli_kms_close(k);
	return rc;
}

void sb_cli_kms_close(struct sb_cli_kms *k)
{
	if (k == NULL)
		return;
	sb_kms_free(k->kms);
	sb_creds_provider_free(k->creds);
	k->kms = NULL;
	k->creds = NULL;
}

#include "collab/sb_csv_fields.h"

#include <string.h>

void sb_csv_fields_init(struct sb_csv_fields *f)
{
	f->n = 0;
	sb_buf_init_secret(&f->scratch, SB_CSV_LINE_MAX);
}

void sb_csv_fields_cleanup(struct sb_csv_fields *f)
{
	sb_buf_cleanup(&f->scratch);
	f->n = 0;
}

/* A quoted field starting at line[*i] (the opening quote); *i ends after the closing quote. */
static SB_RESULT quoted(struct sb_csv_fields *f, struct sb_slice line, size_t *i,
			struct sb_slice *out)
{
	size_t start = *i + 1, j = start;
	bool escaped = false;

	for (;; j++) {
		SB_ENSURE_MSG(j < line.len, SB_ERR_DATASET_CSV, "a quoted field is not closed");
		if (line.ptr[j] != '"')
			continue;
		if (j + 1 < line.len && line.ptr[j + 1] == '"') {
			escaped = true;
			j++;
			continue;
		}
		break;
	}
	*i = j + 1;
	if (!escaped) {
		*out = SB_SLICE(line.ptr + start, j - start);
		return SB_OK_RESULT;
	}
	/* Doubled quotes: unescape into scratch (reserved for the whole line up front). */
	size_t at = f->scratch.len;
	for (size_t k = start; k < j; k++) {
		f->scratch.data[f->scratch.len++] = line.ptr[k];
		if (line.ptr[k] == '"')
			k++;
	}
	*out = SB_SLICE(f->scratch.data + at, f->scratch.len - at);
	return SB_OK_RESULT;
}

static SB_RESULT add_field(struct sb_csv_fields *f, struct sb_slice v)
{
	SB_ENSURE_MSG(f->n < SB_CSV_MAX_FIELDS, SB_ERR_DATASET_CSV, "more than %d fields",
		      SB_CSV_MAX_FIELDS);
	f->field[f->n++] = v;
	return SB_OK_RESULT;
}

/* One pass over the line: most fields are unquoted and short. */
SB_RESULT sb_csv_split(struct sb_csv_fields *f, struct sb_slice line)
{
	size_t start = 0;
	bool reserved = false;

	SB_ENSURE_REF(f);
	f->n = 0;
	if (f->scratch.len > 0)
		sb_buf_reset(&f->scratch);
	if (line.len > 0 && line.ptr[line.len - 1] == '\r')
		line.len--;
	SB_ENSURE_MSG(line.len <= SB_CSV_LINE_MAX, SB_ERR_DATASET_CSV, "line longer than %u bytes",
		      SB_CSV_LINE_MAX);
	if (line.len == 0) /* one empty field */
		return add_field(f, SB_SLICE("", 0));
	for (size_t i = 0;; i++) {
		if (i < line.len && line.ptr[i] == '"') {
			struct sb_slice v = SB_SLICE(NULL, 0);
			SB_ENSURE_MSG(i == start, SB_ERR_DATASET_CSV, "a quote inside an unquoted field");
			/* Once per line, so no field already unescaped moves. */
			if (!reserved)
				SB_GUARD(sb_buf_reserve(&f->scratch, line.len));
			reserved = true;
			SB_GUARD(quoted(f, line, &i, &v));
			SB_ENSURE_MSG(i == line.len || line.ptr[i] == ',', SB_ERR_DATASET_CSV,
				      "text after a quoted field's closing quote");
			SB_GUARD(add_field(f, v));
		} else if (i == line.len || line.ptr[i] == ',') {
			SB_GUARD(add_field(f, SB_SLICE(line.ptr + start, i - start)));
		} else {
			continue;
		}
		if (i == line.len)
			return SB_OK_RESULT;
		start = i + 1; /* after the ',' */
	}
}

SB_RESULT sb_csv_put_field(struct sb_buf *out, struct sb_slice v)
{
	bool quote = v.len > 0 && (v.ptr[0] == ' ' || v.ptr[v.len - 1] == ' ');

	for (size_t i = 0; i < v.len && !quote; i++)
		quote = v.ptr[i] == ',' || v.ptr[i] == '"' || v.ptr[i] == '\r' || v.ptr[i] == '\n';
	if (!quote)
		return sb_buf_append_slice(out, v);
	SB_GUARD(sb_buf_append_u8(out, '"'));
	for (size_t i = 0; i < v.len; i++) {
		if (v.ptr[i] == '"')
			SB_GUARD(sb_buf_append_u8(out, '"'));
		SB_GUARD(sb_buf_append_u8(out, v.ptr[i]));
	}
	return sb_buf_append_u8(out, '"');
}

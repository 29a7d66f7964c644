#include "aws/sb_ini.h"

#include <stdlib.h>
#include <string.h>

#include "common/sb_file.h"
#include "common/sb_mem.h"

/* One line being parsed: [start, end) of the mutable text. */
struct ini_ctx {
	struct sb_ini *ini;
	const char *name;
	unsigned line;
	const char *section;   /* current section, NULL before the first header */
	const char *nest_from; /* key with an empty value: may take nested lines */
};

void sb_ini_init(struct sb_ini *ini)
{
	memset(ini, 0, sizeof(*ini));
	sb_buf_init_secret(&ini->text, SB_INI_FILE_MAX);
}

void sb_ini_cleanup(struct sb_ini *ini)
{
	if (ini == NULL)
		return;
	sb_buf_cleanup(&ini->text);
	free(ini->entries);
	free(ini->sections);
	free(ini->section_lines);
	memset(ini, 0, sizeof(*ini));
	sb_buf_init_secret(&ini->text, SB_INI_FILE_MAX);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static char *trim(char *s, char *end)
{
	while (s < end && is_ws(*s))
		s++;
	while (end > s && is_ws(end[-1]))
		end--;
	*end = '\0';
	return s;
}

static bool key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

static SB_RESULT check_text(struct ini_ctx *x, const char *s, const char *end)
{
	for (const char *p = s; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		SB_ENSURE_MSG(c >= 0x20 || c == '\t', SB_ERR_AWS_BAD_CONFIG,
			      "%s:%u: control character in line", x->name, x->line);
		SB_ENSURE_MSG(c != 0x7f, SB_ERR_AWS_BAD_CONFIG, "%s:%u: control character in line",
			      x->name, x->line);
	}
	return SB_OK_RESULT;
}

static SB_RESULT add_section(struct ini_ctx *x, const char *name)
{
	struct sb_ini *ini = x->ini;

	for (size_t i = 0; i < ini->n_sections; i++)
		SB_ENSURE_MSG(strcmp(ini->sections[i], name) != 0, SB_ERR_AWS_BAD_CONFIG,
			      "%s:%u: duplicate section [%s] (first at line %u)", x->name, x->line,
			      name, ini->section_lines[i]);
	SB_ENSURE_MSG(ini->n_sections < SB_INI_ENTRY_MAX, SB_ERR_TOO_LARGE,
		      "%s:%u: too many sections", x->name, x->line);
	const char **s = realloc(ini->sections, (ini->n_sections + 1) * sizeof(*s));
	SB_ENSURE(s != NULL, SB_ERR_NOMEM);
	ini->sections = s;
	unsigned *l = realloc(ini->section_lines, (ini->n_sections + 1) * sizeof(*l));
	SB_ENSURE(l != NULL, SB_ERR_NOMEM);
	ini->section_lines = l;
	ini->sections[ini->n_sections] = name;
	ini->section_lines[ini->n_sections] = x->line;
	ini->n_sections++;
	return SB_OK_RESULT;
}

/* "[ profile   name ]" -> "profile name": the form lookups use. */
static SB_RESULT parse_header(struct ini_ctx *x, char *s, char *end)
{
	SB_ENSURE_MSG(end - s >= 2 && end[-1] == ']', SB_ERR_AWS_BAD_CONFIG,
		      "%s:%u: section header without ']'", x->name, x->line);
	char *name = trim(s + 1, end - 1);
	SB_ENSURE_MSG(name[0] != '\0', SB_ERR_AWS_BAD_CONFIG, "%s:%u: empty section name",
		      x->name, x->line);
	SB_ENSURE_MSG(strpbrk(name, "[]") == NULL, SB_ERR_AWS_BAD_CONFIG,
		      "%s:%u: '[' or ']' inside a section name", x->name, x->line);
	if (strncmp(name, "profile", 7) == 0 && is_ws(name[7])) {
		char *rest = name + 8;
		while (is_ws(*rest))
			rest++;
		memmove(name + 8, rest, strlen(rest) + 1);
		name[7] = ' ';
	}
	SB_GUARD(add_section(x, name));
	x->section = name;
	x->nest_from = NULL;
	return SB_OK_RESULT;
}

static SB_RESULT add_entry(struct ini_ctx *x, const char *key, const char *value,
			   const char *parent)
{
	struct sb_ini *ini = x->ini;

	for (size_t i = 0; i < ini->n_entries; i++) {
		const struct sb_ini_entry *e = &ini->entries[i];
		bool same_parent = (e->parent == NULL && parent == NULL) ||
				   (e->parent != NULL && parent != NULL &&
				    strcmp(e->parent, parent) == 0);
		SB_ENSURE_MSG(!(same_parent && strcmp(e->section, x->section) == 0 &&
				strcmp(e->key, key) == 0),
			      SB_ERR_AWS_BAD_CONFIG,
			      "%s:%u: duplicate key '%s' in [%s] (first at line %u)", x->name,
			      x->line, key, x->section, e->line);
	}
	SB_ENSURE_MSG(ini->n_entries < SB_INI_ENTRY_MAX, SB_ERR_TOO_LARGE,
		      "%s:%u: too many entries", x->name, x->line);
	struct sb_ini_entry *v = realloc(ini->entries, (ini->n_entries + 1) * sizeof(*v));
	SB_ENSURE(v != NULL, SB_ERR_NOMEM);
	ini->entries = v;
	v[ini->n_entries++] = (struct sb_ini_entry){
		.section = x->section, .key = key, .value = value, .parent = parent, .line = x->line};
	return SB_OK_RESULT;
}

static SB_RESULT parse_setting(struct ini_ctx *x, char *s, char *end, bool indented)
{
	char *eq = memchr(s, '=', (size_t)(end - s));

	SB_ENSURE_MSG(eq != NULL, SB_ERR_AWS_BAD_CONFIG, "%s:%u: expected 'key = value'", x->name,
		      x->line);
	SB_ENSURE_MSG(x->section != NULL, SB_ERR_AWS_BAD_CONFIG,
		      "%s:%u: setting before any [section]", x->name, x->line);
	char *key = trim(s, eq);
	char *value = trim(eq + 1, end);
	SB_ENSURE_MSG(key[0] != '\0', SB_ERR_AWS_BAD_CONFIG, "%s:%u: empty key", x->name, x->line);
	for (const char *k = key; *k != '\0'; k++)
		SB_ENSURE_MSG(key_char_ok(*k), SB_ERR_AWS_BAD_CONFIG,
			      "%s:%u: invalid character in key", x->name, x->line);
	if (indented) {
		/* "Nested values ... are indented under a key with no value." */
		SB_ENSURE_MSG(x->nest_from != NULL, SB_ERR_AWS_BAD_CONFIG,
			      "%s:%u: indented line is not under a key with an empty value",
			      x->name, x->line);
		return add_entry(x, key, value, x->nest_from);
	}
	SB_GUARD(add_entry(x, key, value, NULL));
	x->nest_from = value[0] == '\0' ? key : NULL;
	return SB_OK_RESULT;
}

static SB_RESULT parse_line(struct ini_ctx *x, char *s, char *end)
{
	SB_GUARD(check_text(x, s, end));
	bool indented = s < end && is_ws(*s);
	char *t = trim(s, end);
	size_t n = strlen(t);

	if (n == 0 || t[0] == '#' || t[0] == ';')
		return SB_OK_RESULT;
	if (t[0] == '[' && !indented)
		return parse_header(x, t, t + n);
	return parse_setting(x, t, t + n, indented);
}

SB_RESULT sb_ini_parse(struct sb_ini *ini, struct sb_slice text, const char *name)
{
	struct ini_ctx x = {.ini = ini, .name = name != NULL ? name : "config"};

	SB_ENSURE_REF(ini);
	SB_ENSURE_MSG(text.len <= SB_INI_FILE_MAX, SB_ERR_TOO_LARGE, "%s: larger than %u bytes",
		      x.name, SB_INI_FILE_MAX);
	SB_ENSURE_MSG(text.len == 0 || memchr(text.ptr, '\0', text.len) == NULL,
		      SB_ERR_AWS_BAD_CONFIG, "%s: NUL byte in file", x.name);
	SB_GUARD(sb_buf_set(&ini->text, text));
	/* ini->text is ours: parse_line works on the lines in place. */
	struct sb_slice rest = sb_buf_slice(&ini->text), line;
	while (sb_slice_next_line(&rest, &line)) {
		char *p = (char *)(uintptr_t)line.ptr;
		x.line++;
		SB_ENSURE_MSG(line.len <= SB_INI_LINE_MAX, SB_ERR_AWS_BAD_CONFIG,
			      "%s:%u: line longer than %u bytes", x.name, x.line, SB_INI_LINE_MAX);
		SB_GUARD(parse_line(&x, p, p + line.len));
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_ini_load(struct sb_ini *ini, const char *path, bool *found)
{
	struct sb_buf raw = SB_BUF_INIT_SECRET(SB_INI_FILE_MAX);
	sb_result rc = sb_file_read(path, &raw);

	SB_ENSURE_REF(found);
	*found = false;
	if (!sb_ok(rc)) {
		sb_buf_cleanup(&raw);
		if (rc.code == SB_ERR_NOT_FOUND) {
			sb_error_clear();
			return SB_OK_RESULT;
		}
		return rc;
	}
	*found = true;
	rc = sb_ini_parse(ini, sb_buf_slice(&raw), path);
	sb_buf_cleanup(&raw);
	return rc;
}

const char *sb_ini_get(const struct sb_ini *ini, const char *section, const char *key)
{
	for (size_t i = 0; i < ini->n_entries; i++) {
		const struct sb_ini_entry *e = &ini->entries[i];
		if (e->parent == NULL && strcmp(e->section, section) == 0 &&
		    strcmp(e->key, key) == 0)
			return e->value;
	}
	return NULL;
}

bool sb_ini_has_section(const struct sb_ini *ini, const char *section)
{
	for (size_t i = 0; i < ini->n_sections; i++)
		if (strcmp(ini->sections[i], section) == 0)
			return true;
	return false;
}

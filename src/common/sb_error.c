#include "common/sb_result.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB_DETAIL_MAX 512

struct sb_error_state {
	int code;
	const char *where;
	char detail[SB_DETAIL_MAX];
	char describe[SB_DETAIL_MAX + 128];
};

static _Thread_local struct sb_error_state sb_err_state;

sb_result sb_error_record(int code, const char *where)
{
	sb_err_state.code = code;
	sb_err_state.where = where;
	sb_err_state.detail[0] = '\0';
	return (sb_result){.code = code};
}

sb_result sb_error_recordf(int code, const char *where, const char *fmt, ...)
{
	char detail[SB_DETAIL_MAX];
	va_list ap;

	/* Format aside first: the arguments may be the current detail itself
	 * (wrapping an earlier error's description). */
	va_start(ap, fmt);
	(void)vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	sb_err_state.code = code;
	sb_err_state.where = where;
	memcpy(sb_err_state.detail, detail, sizeof(detail));
	return (sb_result){.code = code};
}

void sb_error_context(const char *fmt, ...)
{
	char prefix[SB_DETAIL_MAX];
	char joined[2 * SB_DETAIL_MAX + 2];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	(void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (sb_err_state.detail[0] == '\0')
		(void)snprintf(joined, sizeof(joined), "%s", prefix);
	else
		(void)snprintf(joined, sizeof(joined), "%s: %s", prefix, sb_err_state.detail);
	n = strnlen(joined, SB_DETAIL_MAX - 1);
	memcpy(sb_err_state.detail, joined, n);
	sb_err_state.detail[n] = '\0';
}

int sb_error_code(void)
{
	return sb_err_state.code;
}

const char *sb_error_where(void)
{
	return sb_err_state.where != NULL ? sb_err_state.where : "";
}

const char *sb_error_detail(void)
{
	return sb_err_state.detail;
}

void sb_error_clear(void)
{
	sb_err_state.code = SB_OK;
	sb_err_state.where = NULL;
	sb_err_state.detail[0] = '\0';
}

const char *sb_error_name(int code)
{
	switch (code) {
	case SB_OK:
		return "SB_OK";
#define SB_ERR_BLOCK(base)
#define SB_ERR(name, msg)                                                                          \
	case name:                                                                                 \
		return #name;
#include "common/errors/all.def"
#undef SB_ERR
#undef SB_ERR_BLOCK
	default:
		return "SB_ERR_UNKNOWN";
	}
}

const char *sb_error_message(int code)
{
	switch (code) {
	case SB_OK:
		return "success";
#define SB_ERR_BLOCK(base)
#define SB_ERR(name, msg)                                                                          \
	case name:                                                                                 \
		return msg;
#include "common/errors/all.def"
#undef SB_ERR
#undef SB_ERR_BLOCK
	default:
		return "unknown error";
	}
}

const char *sb_error_describe(void)
{
	const char *msg = sb_error_message(sb_err_state.code);

	if (sb_err_state.detail[0] == '\0')
		(void)snprintf(sb_err_state.describe, sizeof(sb_err_state.describe), "%s", msg);
	else
		(void)snprintf(sb_err_state.describe, sizeof(sb_err_state.describe), "%s: %s", msg,
			       sb_err_state.detail);
	return sb_err_state.describe;
}

void sb_abort_invariant(const char *what, const char *where)
{
	fprintf(stderr, "sealbid: internal invariant broken at %s: %s\n", where, what);
	abort();
}

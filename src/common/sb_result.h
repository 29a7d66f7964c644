/*
 * sb_result: the one result type of sealbid, checked by the compiler.
 *
 * Every fallible function returns SB_RESULT (a small struct, so it cannot be
 * silently confused with an int) and is declared warn_unused_result. An error
 * records its code, where it arose (file:line) and an optional one-line
 * detail in thread-local state, in the manner of s2n-tls's s2n_result.
 *
 *   SB_RESULT sb_thing_parse(struct sb_slice in, struct sb_thing *out)
 *   {
 *           SB_ENSURE_REF(out);
 *           SB_ENSURE(in.len >= 4, SB_ERR_TRUNCATED);
 *           SB_GUARD(sb_other(in));
 *           return SB_OK_RESULT;
 *   }
 *
 * Detail strings must never contain secrets or plaintext: they reach logs,
 * stderr and Error frames to the parent.
 */
#ifndef SB_RESULT_H
#define SB_RESULT_H

#include <stdbool.h>
#include <stddef.h>

enum sb_error {
	SB_OK = 0,
#define SB_ERR(name, msg) name,
#define SB_ERR_BLOCK(base) SB_ERR_BLOCK_##base = (base) - 1,
#include "common/errors/all.def"
#undef SB_ERR
#undef SB_ERR_BLOCK
};

/* The one typedef of the project, like s2n_result: it reads as a type. */
typedef struct sb_result {
	int code;
} sb_result;

#define SB_MUST_CHECK __attribute__((warn_unused_result))
#define SB_RESULT     SB_MUST_CHECK sb_result
#define SB_OK_RESULT  ((sb_result){.code = SB_OK})

static inline bool sb_ok(sb_result r)
{
	return r.code == SB_OK;
}

/* Records code at file:line, clears the detail, returns an error result. */
sb_result sb_error_record(int code, const char *where);
/* As above, with a printf-style detail (never secrets). */
sb_result sb_error_recordf(int code, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds context in front of the current detail: "ctx: detail". */
void sb_error_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int sb_error_code(void);            /* last recorded code, this thread */
const char *sb_error_where(void);   /* "file.c:123" of the last error */
const char *sb_error_detail(void);  /* "" when none */
const char *sb_error_name(int code);    /* "SB_ERR_TRUNCATED" */
const char *sb_error_message(int code); /* "input is truncated" */
/* "message: detail" for the last error, in a thread-local buffer. */
const char *sb_error_describe(void);
void sb_error_clear(void);

#define SB_STR2(x) #x
#define SB_STR(x)  SB_STR2(x)
#define SB_HERE    __FILE__ ":" SB_STR(__LINE__)

#define SB_BAIL(code) return sb_error_record((code), SB_HERE)
#define SB_BAIL_MSG(code, ...) return sb_error_recordf((code), SB_HERE, __VA_ARGS__)
#define SB_ENSURE(cond, code)                                                                      \
	do {                                                                                       \
		if (!(cond))                                                                       \
			SB_BAIL(code);                                                             \
	} while (0)
#define SB_ENSURE_MSG(cond, code, ...)                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			SB_BAIL_MSG(code, __VA_ARGS__);                                            \
	} while (0)
#define SB_ENSURE_REF(p) SB_ENSURE((p) != NULL, SB_ERR_NULL)
#define SB_GUARD(expr)                                                                             \
	do {                                                                                       \
		sb_result sb_guard_r_ = (expr);                                                    \
		if (!sb_ok(sb_guard_r_))                                                           \
			return sb_guard_r_;                                                        \
	} while (0)
/* For functions with one `out:` label: rc = expr; on error goto label. */
#define SB_GUARD_GOTO(rc, expr, label)                                                             \
	do {                                                                                       \
		(rc) = (expr);                                                                     \
		if (!sb_ok(rc))                                                                    \
			goto label;                                                                \
	} while (0)
#define SB_FAIL_GOTO(rc, code, label)                                                              \
	do {                                                                                       \
		(rc) = sb_error_record((code), SB_HERE);                                           \
		goto label;                                                                        \
	} while (0)
#define SB_FAIL_GOTO_MSG(rc, code, label, ...)                                                     \
	do {                                                                                       \
		(rc) = sb_error_recordf((code), SB_HERE, __VA_ARGS__);                             \
		goto label;                                                                        \
	} while (0)

/* Broken internal invariant: not for input errors. */
#define SB_ASSERT(cond)                                                                            \
	do {                                                                                       \
		if (!(cond))                                                                       \
			sb_abort_invariant(#cond, SB_HERE);                                        \
	} while (0)
__attribute__((noreturn)) void sb_abort_invariant(const char *what, const char *where);

/*
 * Scope-bound cleanup, as s2n's DEFER_CLEANUP: the function is called with a
 * pointer to the variable on every exit from its scope. The initialiser
 * follows the macro (the attribute must come before it):
 *   SB_DEFER(struct sb_buf body, sb_buf_cleanup) = SB_BUF_INIT(1 << 20);
 */
#define SB_DEFER(decl, fn) decl __attribute__((cleanup(fn)))

#endif

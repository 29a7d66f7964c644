/*
 * Logging to stderr with levels (SEALBID_LOG=error|warn|info|debug,
 * default warn).
 *
 * The rule that keeps secrets out: the logger formats only what callers
 * pass, and secrets never exist as printable strings outside src/crypto and
 * the sb_buf marked secret. Callers log identifiers, sizes and error codes,
 * never contents of a secret buffer or a plaintext. Control characters in
 * the formatted line are replaced, so untrusted input cannot forge lines.
 * Tests install a sink (sb_log_set_sink) to assert what was logged.
 */
#ifndef SB_LOG_H
#define SB_LOG_H

enum sb_log_level {
	SB_LOG_ERROR = 0,
	SB_LOG_WARN = 1,
	SB_LOG_INFO = 2,
	SB_LOG_DEBUG = 3,
};

typedef void (*sb_log_sink_fn)(void *ctx, enum sb_log_level level, const char *line);

/* Reads SEALBID_LOG; the program name prefixes every line. */
void sb_log_init(const char *progname);
void sb_log_set_level(enum sb_log_level level);
enum sb_log_level sb_log_get_level(void);
/* NULL restores stderr. */
void sb_log_set_sink(sb_log_sink_fn fn, void *ctx);
void sb_log(enum sb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sb_log_error(...) sb_log(SB_LOG_ERROR, __VA_ARGS__)
#define sb_log_warn(...)  sb_log(SB_LOG_WARN, __VA_ARGS__)
#define sb_log_info(...)  sb_log(SB_LOG_INFO, __VA_ARGS__)
#define sb_log_debug(...) sb_log(SB_LOG_DEBUG, __VA_ARGS__)

#endif

#include "common/sb_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static struct {
	pthread_mutex_t lock;
	enum sb_log_level level;
	char prog[64];
	sb_log_sink_fn sink;
	void *sink_ctx;
} sb_logger = {PTHREAD_MUTEX_INITIALIZER, SB_LOG_WARN, "sealbid", NULL, NULL};

void sb_log_init(const char *progname)
{
	const char *env = getenv("SEALBID_LOG");

	if (progname != NULL) {
		const char *slash = strrchr(progname, '/');
		(void)snprintf(sb_logger.prog, sizeof(sb_logger.prog), "%s",
			       slash != NULL ? slash + 1 : progname);
	}
	if (env == NULL)
		return;
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(env, level_names[i]) == 0)
			sb_logger.level = (enum sb_log_level)i;
}

void sb_log_set_level(enum sb_log_level level)
{
	sb_logger.level = level;
}

enum sb_log_level sb_log_get_level(void)
{
	return sb_logger.level;
}

void sb_log_set_sink(sb_log_sink_fn fn, void *ctx)
{
	pthread_mutex_lock(&sb_logger.lock);
	sb_logger.sink = fn;
	sb_logger.sink_ctx = ctx;
	pthread_mutex_unlock(&sb_logger.lock);
}

void sb_log(enum sb_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > sb_logger.level)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	pthread_mutex_lock(&sb_logger.lock);
	if (sb_logger.sink != NULL)
		sb_logger.sink(sb_logger.sink_ctx, level, line);
	else
		fprintf(stderr, "%s: %s: %s\n", sb_logger.prog, level_names[level], line);
	pthread_mutex_unlock(&sb_logger.lock);
}

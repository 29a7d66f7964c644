/* Enclave records under <state>/enclaves: describe and terminate, as nitro-cli. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "common/sb_encoding.h"
#include "common/sb_file.h"
#include "host/sb_launcher.h"

static SB_RESULT hex48(const uint8_t *v, struct sb_buf *out)
{
	return sb_hex_encode(SB_SLICE(v, SB_SHA384_LEN), out);
}

SB_RESULT sb_enclave_info_json(const struct sb_enclave_info *info, struct sb_buf *out)
{
	struct sb_buf p0 = SB_BUF_INIT(128), p1 = SB_BUF_INIT(128), p2 = SB_BUF_INIT(128);
	sb_result rc;

	SB_GUARD_GOTO(rc, hex48(info->measurement.pcr0, &p0), out);
	SB_GUARD_GOTO(rc, hex48(info->measurement.pcr1, &p1), out);
	SB_GUARD_GOTO(rc, hex48(info->measurement.pcr2, &p2), out);
	rc = sb_buf_printf(out,
			   "{\"EnclaveName\":\"sealbid-enclave\",\"EnclaveID\":\"%s\","
			   "\"ProcessID\":%d,\"EnclaveCID\":%u,\"NumberOfCPUs\":1,"
			   "\"MemoryMiB\":0,\"State\":\"RUNNING\",\"Flags\":\"%s\","
			   "\"Measurements\":{\"HashAlgorithm\":\"Sha384 { ... }\","
			   "\"PCR0\":\"%s\",\"PCR1\":\"%s\",\"PCR2\":\"%s\"}}",
			   info->id, (int)info->pid, info->cid,
			   info->debug_mode ? "DEBUG_MODE" : "NONE", sb_buf_cstr(&p0),
			   sb_buf_cstr(&p1), sb_buf_cstr(&p2));
out:
	sb_buf_cleanup(&p0);
	sb_buf_cleanup(&p1);
	sb_buf_cleanup(&p2);
	return rc;
}

/* Calls fn for each record whose supervisor is alive; stale ones are removed. */
typedef sb_result (*record_fn)(void *ctx, const char *path, json_t *rec, pid_t pid);

static SB_RESULT each_record(const char *state_dir, record_fn fn, void *ctx)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *e;
	DIR *d;
	sb_result rc = SB_OK_RESULT;

	(void)snprintf(dir, sizeof(dir), "%s/enclaves", state_dir);
	d = opendir(dir);
	if (d == NULL)
		return SB_OK_RESULT; /* nothing ever launched */
	while (sb_ok(rc) && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		json_t *rec = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
		json_t *jpid = json_object_get(rec, "ProcessID");
		pid_t pid = json_is_integer(jpid) ? (pid_t)json_integer_value(jpid) : 0;
		if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
			(void)unlink(path);
		else
			rc = fn(ctx, path, rec, pid);
		json_decref(rec);
	}
	closedir(d);
	return rc;
}

struct describe_ctx {
	struct sb_buf *out;
	size_t n;
};

static sb_result describe_one(void *ctx, const char *path, json_t *rec, pid_t pid)
{
	struct describe_ctx *c = ctx;
	char *text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	sb_result rc;

	(void)path;
	(void)pid;
	SB_ENSURE(text != NULL, SB_ERR_NOMEM);
	rc = sb_buf_printf(c->out, "%s%s", c->n++ > 0 ? "," : "", text);
	free(text);
	return rc;
}

SB_RESULT sb_launcher_describe(const char *state_dir, struct sb_buf *out)
{
	struct describe_ctx c = {out, 0};

	SB_ENSURE(state_dir != NULL && out != NULL, SB_ERR_NULL);
	SB_GUARD(sb_buf_append_str(out, "["));
	SB_GUARD(each_record(state_dir, describe_one, &c));
	return sb_buf_append_str(out, "]");
}

struct terminate_ctx {
	const char *id;
	size_t count;
};

/* Waits for pid to exit without polling: a pidfd becomes readable at exit. */
static void wait_exit(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p;

	if (fd < 0)
		return;
	p.fd = fd;
	p.events = POLLIN;
	(void)poll(&p, 1, 10000);
	close(fd);
}

static sb_result terminate_one(void *ctx, const char *path, json_t *rec, pid_t pid)
{
	struct terminate_ctx *c = ctx;
	const char *id = json_string_value(json_object_get(rec, "EnclaveID"));

	if (c->id != NULL && (id == NULL || strcmp(id, c->id) != 0))
		return SB_OK_RESULT;
	if (kill(pid, SIGTERM) == 0)
		wait_exit(pid);
	(void)unlink(path);
	c->count++;
	return SB_OK_RESULT;
}

SB_RESULT sb_launcher_terminate(const char *state_dir, const char *id, size_t *count)
{
	struct terminate_ctx c = {id, 0};

	SB_ENSURE_REF(state_dir);
	SB_GUARD(each_record(state_dir, terminate_one, &c));
	if (count != NULL)
		*count = c.count;
	SB_ENSURE_MSG(id == NULL || c.count > 0, SB_ERR_HOST_NO_ENCLAVE, "%.64s", id);
	return SB_OK_RESULT;
}

struct cid_ctx {
	uint32_t cid;
	bool used;
};

static sb_result cid_one(void *ctx, const char *path, json_t *rec, pid_t pid)
{
	struct cid_ctx *c = ctx;
	json_t *cid = json_object_get(rec, "EnclaveCID");

	(void)path;
	(void)pid;
	if (json_is_integer(cid) && (uint32_t)json_integer_value(cid) == c->cid)
		c->used = true;
	return SB_OK_RESULT;
}

SB_RESULT sb_launcher_cid_in_use(const char *state_dir, uint32_t cid, bool *in_use)
{
	struct cid_ctx c = {cid, false};

	SB_ENSURE(state_dir != NULL && in_use != NULL, SB_ERR_NULL);
	SB_GUARD(each_record(state_dir, cid_one, &c));
	*in_use = c.used;
	return SB_OK_RESULT;
}

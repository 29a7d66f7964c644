#include "host/sb_publish.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sb_file.h"

/* Fault injection for tests: step i (from 1) fails with ENOSPC if bit i-1 is set. */
static unsigned g_fail_mask, g_step;

void sb_publish_test_fail(unsigned steps)
{
	g_fail_mask = steps;
	g_step = 0;
}

static bool injected_fault(void)
{
	if (g_fail_mask == 0)
		return false;
	g_step++;
	if (g_step > 31 || (g_fail_mask & (1u << (g_step - 1))) == 0)
		return false;
	errno = ENOSPC;
	return true;
}

SB_RESULT sb_publish_check(const char *output_uri, const char *receipt_uri)
{
	struct sb_storage_uri u;
	const char *uris[] = {output_uri, receipt_uri};

	for (size_t i = 0; i < 2; i++) {
		SB_GUARD(sb_storage_uri_parse(uris[i], &u));
		if (u.kind == SB_STORAGE_FILE)
			SB_GUARD(sb_file_check_replaceable(u.path));
	}
	return SB_OK_RESULT;
}

/* Writes data to a fresh temporary file beside path (name in tmp), fsynced. */
static SB_RESULT stage(const char *path, struct sb_slice data, char *tmp, size_t cap)
{
	int n = snprintf(tmp, cap, "%s.tmp.XXXXXX", path);
	int fd;
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE_MSG(n > 0 && (size_t)n < cap, SB_ERR_TOO_LARGE, "%s: path too long", path);
	fd = mkstemp(tmp); /* O_CREAT | O_EXCL, mode 0600 */
	if (fd < 0) {
		tmp[0] = '\0';
		SB_BAIL_MSG(SB_ERR_IO, "%s: %s", path, strerror(errno));
	}
	if (injected_fault())
		SB_FAIL_GOTO_MSG(rc, SB_ERR_IO, fail, "%s: write: %s", path, strerror(errno));
	SB_GUARD_GOTO(rc, sb_fd_write_all(fd, data), fail);
	if (fsync(fd) != 0)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_IO, fail, "%s: fsync: %s", path, strerror(errno));
	close(fd);
	return SB_OK_RESULT;
fail:
	close(fd);
	(void)unlink(tmp);
	tmp[0] = '\0';
	return rc;
}

/* Keeps the current receipt under a new hard link (bak; "" when there is none). */
static SB_RESULT keep_backup(const char *path, char *bak, size_t cap)
{
	bool fault = injected_fault();
	int e = ENOSPC;

	bak[0] = '\0';
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return SB_OK_RESULT;
	for (unsigned i = 0; !fault && i < 100; i++) {
		int n = snprintf(bak, cap, "%s.bak.%ld.%u", path, (long)getpid(), i);
		SB_ENSURE_MSG(n > 0 && (size_t)n < cap, SB_ERR_TOO_LARGE, "%s: path too long", path);
		if (link(path, bak) == 0)
			return SB_OK_RESULT;
		e = errno;
		if (e != EEXIST)
			break;
	}
	bak[0] = '\0';
	SB_BAIL_MSG(SB_ERR_IO, "%s: cannot keep a backup: %s", path, strerror(e));
}

static SB_RESULT rename_checked(const char *tmp, const char *path)
{
	/* Re-checked here: the target may have changed since the first check. */
	SB_GUARD(sb_file_check_replaceable(path));
	SB_ENSURE_MSG(!injected_fault() && rename(tmp, path) == 0, SB_ERR_IO, "%s: rename: %s",
		      path, strerror(errno));
	return SB_OK_RESULT;
}

static void fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL || slash == path)
		(void)snprintf(dir, sizeof(dir), "/");
	else
		(void)snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/*
 * After the receipt was renamed into place and the output was not: puts the
 * old receipt back (or removes the new one). Returns false if that failed.
 */
static bool restore_receipt(const char *rec, const char *bak)
{
	if (injected_fault())
		return false;
	if (bak[0] == '\0')
		return unlink(rec) == 0;
	return rename(bak, rec) == 0;
}

static SB_RESULT publish_files(const char *out, const char *rec, struct sb_slice output,
			       struct sb_slice receipt)
{
	char out_tmp[PATH_MAX] = "", rec_tmp[PATH_MAX] = "", bak[PATH_MAX] = "";
	sb_result rc;

	SB_GUARD(sb_file_check_replaceable(out));
	SB_GUARD(sb_file_check_replaceable(rec));
	SB_GUARD_GOTO(rc, stage(out, output, out_tmp, sizeof(out_tmp)), fail);
	SB_GUARD_GOTO(rc, stage(rec, receipt, rec_tmp, sizeof(rec_tmp)), fail);
	SB_GUARD_GOTO(rc, keep_backup(rec, bak, sizeof(bak)), fail);
	SB_GUARD_GOTO(rc, rename_checked(rec_tmp, rec), fail);
	rec_tmp[0] = '\0';
	rc = rename_checked(out_tmp, out);
	if (!sb_ok(rc)) {
		char detail[512];
		(void)snprintf(detail, sizeof(detail), "%s", sb_error_detail());
		if (!restore_receipt(rec, bak) && bak[0] != '\0') {
			rc = sb_error_recordf(rc.code, SB_HERE,
					      "%s; and the earlier receipt could not be put back "
					      "(it is kept at %s)",
					      detail, bak);
			bak[0] = '\0'; /* kept for the operator */
		} else if (bak[0] == '\0' && access(rec, F_OK) == 0) {
			rc = sb_error_recordf(rc.code, SB_HERE,
					      "%s; and the new receipt %s could not be removed", detail,
					      rec);
		}
		goto fail;
	}
	if (bak[0] != '\0')
		(void)unlink(bak);
	fsync_dir_of(out);
	return SB_OK_RESULT;
fail:
	if (out_tmp[0] != '\0')
		(void)unlink(out_tmp);
	if (rec_tmp[0] != '\0')
		(void)unlink(rec_tmp);
	if (bak[0] != '\0')
		(void)unlink(bak);
	return rc;
}

static SB_RESULT put_step(struct sb_storage *st, const char *uri, struct sb_slice data)
{
	SB_ENSURE_MSG(!injected_fault(), SB_ERR_IO, "%s: put: %s", uri, strerror(errno));
	return sb_storage_put(st, uri, data);
}

static SB_RESULT publish_s3(struct sb_storage *st, const char *out, const char *rec,
			    struct sb_slice output, struct sb_slice receipt)
{
	struct sb_buf old = SB_BUF_INIT(SB_PUBLISH_RECEIPT_MAX);
	bool had_old = false;
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_storage_exists(st, rec, &had_old), out);
	if (had_old)
		SB_GUARD_GOTO(rc, sb_storage_get(st, rec, &old), out);
	SB_GUARD_GOTO(rc, put_step(st, rec, receipt), out);
	rc = put_step(st, out, output);
	if (!sb_ok(rc)) {
		char detail[512];
		(void)snprintf(detail, sizeof(detail), "%s", sb_error_detail());
		sb_result back;
		if (injected_fault())
			back = sb_error_recordf(SB_ERR_IO, SB_HERE, "%s: %s", rec, strerror(errno));
		else if (had_old)
			back = sb_storage_put(st, rec, sb_buf_slice(&old));
		else
			back = sb_storage_delete(st, rec);
		if (!sb_ok(back))
			rc = sb_error_recordf(rc.code, SB_HERE,
					      "%s; and the earlier receipt %s could not be put back",
					      detail, rec);
		else
			rc = sb_error_recordf(rc.code, SB_HERE, "%s", detail);
	}
out:
	sb_buf_cleanup(&old);
	return rc;
}

SB_RESULT sb_publish_pair(struct sb_storage *st, const char *output_uri, const char *receipt_uri,
			  struct sb_slice output, struct sb_slice receipt)
{
	struct sb_storage_uri o, r;

	SB_ENSURE_REF(st);
	SB_GUARD(sb_storage_uri_parse(output_uri, &o));
	SB_GUARD(sb_storage_uri_parse(receipt_uri, &r));
	SB_ENSURE_MSG(o.kind == r.kind, SB_ERR_INVALID_ARG,
		      "output and receipt must be in the same store");
	if (o.kind == SB_STORAGE_FILE)
		return publish_files(o.path, r.path, output, receipt);
	return publish_s3(st, output_uri, receipt_uri, output, receipt);
}

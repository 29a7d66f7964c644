#include "common/sb_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sb_time.h"

SB_RESULT sb_fd_read_all(int fd, struct sb_buf *out)
{
	for (;;) {
		SB_GUARD(sb_buf_reserve(out, out->max - out->len > 65536 ? 65536
								     : out->max - out->len));
		size_t room = out->cap - out->len - 1;
		if (room == 0) {
			/* At the limit: anything more is too much. */
			uint8_t probe;
			ssize_t n = read(fd, &probe, 1);
			if (n < 0 && errno == EINTR)
				continue;
			SB_ENSURE(n >= 0, SB_ERR_IO);
			SB_ENSURE_MSG(n == 0, SB_ERR_TOO_LARGE, "more than %zu bytes", out->max);
			return SB_OK_RESULT;
		}
		ssize_t n = read(fd, sb_buf_tail(out), room);
		if (n < 0 && errno == EINTR)
			continue;
		SB_ENSURE_MSG(n >= 0, SB_ERR_IO, "read: %s", strerror(errno));
		if (n == 0)
			return SB_OK_RESULT;
		SB_GUARD(sb_buf_commit(out, out->len + (size_t)n));
	}
}

SB_RESULT sb_file_read(const char *path, struct sb_buf *out)
{
	int fd;
	sb_result rc;

	SB_ENSURE_REF(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		SB_BAIL_MSG(e == ENOENT ? SB_ERR_NOT_FOUND
					: (e == EACCES ? SB_ERR_PERMISSION : SB_ERR_IO),
			    "%s: %s", path, strerror(e));
	}
	rc = sb_fd_read_all(fd, out);
	close(fd);
	if (!sb_ok(rc))
		sb_error_context("%s", path);
	return rc;
}

SB_RESULT sb_file_open_regular(const char *path, int *out_fd, uint64_t *size)
{
	struct stat st;
	int fd, e;

	SB_ENSURE_REF(path);
	SB_ENSURE_REF(out_fd);
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		SB_ENSURE_MSG(e != ELOOP, SB_ERR_NOT_REGULAR, "%s: is a symbolic link", path);
		SB_BAIL_MSG(e == ENOENT ? SB_ERR_NOT_FOUND
					: (e == EACCES ? SB_ERR_PERMISSION : SB_ERR_IO),
			    "%s: %s", path, strerror(e));
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		close(fd);
		SB_BAIL_MSG(SB_ERR_IO, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		SB_BAIL_MSG(SB_ERR_NOT_REGULAR, "%s: not a regular file", path);
	}
	*out_fd = fd;
	if (size != NULL)
		*size = (uint64_t)st.st_size;
	return SB_OK_RESULT;
}

SB_RESULT sb_fd_read_full(int fd, uint8_t *buf, size_t cap, uint64_t deadline_ns, size_t *n)
{
	size_t got = 0;

	SB_ENSURE(buf != NULL || cap == 0, SB_ERR_NULL);
	SB_ENSURE_REF(n);
	*n = 0;
	while (got < cap) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		if (errno == EINTR)
			continue;
		SB_ENSURE_MSG(errno == EAGAIN || errno == EWOULDBLOCK, SB_ERR_IO, "read: %s",
			      strerror(errno));
		uint64_t now = sb_time_mono_ns();
		SB_ENSURE_MSG(deadline_ns == 0 || now < deadline_ns, SB_ERR_TIMEOUT,
			      "read: no data before the deadline");
		uint64_t left_ms = deadline_ns == 0 ? 1000 : (deadline_ns - now) / 1000000u + 1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		(void)poll(&p, 1, left_ms > 1000 ? 1000 : (int)left_ms);
	}
	*n = got;
	return SB_OK_RESULT;
}

SB_RESULT sb_fd_write_all(int fd, struct sb_slice data)
{
	size_t off = 0;

	while (off < data.len) {
		ssize_t n = write(fd, data.ptr + off, data.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		SB_ENSURE_MSG(n > 0, SB_ERR_IO, "write: %s", strerror(errno));
		off += (size_t)n;
	}
	return SB_OK_RESULT;
}

static void dir_of(const char *path, char *dir, size_t n)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		(void)snprintf(dir, n, ".");
	else if (slash == path)
		(void)snprintf(dir, n, "/");
	else
		(void)snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

SB_RESULT sb_file_check_replaceable(const char *path)
{
	struct stat st;

	SB_ENSURE_REF(path);
	if (lstat(path, &st) != 0) {
		SB_ENSURE_MSG(errno == ENOENT, SB_ERR_IO, "%s: %s", path, strerror(errno));
		return SB_OK_RESULT;
	}
	SB_ENSURE_MSG(S_ISREG(st.st_mode), SB_ERR_NOT_REGULAR,
		      "%s: only a regular file is replaced", path);
	return SB_OK_RESULT;
}

SB_RESULT sb_file_out_open(struct sb_file_out *o, const char *path)
{
	int n;

	SB_ENSURE(o != NULL && path != NULL, SB_ERR_NULL);
	o->fd = -1;
	o->tmp[0] = '\0';
	SB_GUARD(sb_file_check_replaceable(path));
	o->tmp[0] = '\0';
	n = snprintf(o->path, sizeof(o->path), "%s", path);
	SB_ENSURE(n > 0 && (size_t)n < sizeof(o->path), SB_ERR_TOO_LARGE);
	n = snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.XXXXXX", path);
	if (n <= 0 || (size_t)n >= sizeof(o->tmp)) {
		o->tmp[0] = '\0';
		SB_BAIL(SB_ERR_TOO_LARGE);
	}
	o->fd = mkstemp(o->tmp); /* 0600 */
	if (o->fd < 0) {
		o->tmp[0] = '\0';
		SB_BAIL_MSG(SB_ERR_IO, "%s: %s", path, strerror(errno));
	}
	return SB_OK_RESULT;
}

void sb_file_out_abort(struct sb_file_out *o)
{
	if (o == NULL)
		return;
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp[0] != '\0')
		(void)unlink(o->tmp);
	o->tmp[0] = '\0';
}

SB_RESULT sb_file_out_write(struct sb_file_out *o, struct sb_slice data)
{
	SB_ENSURE_REF(o);
	SB_ENSURE_MSG(o->fd >= 0, SB_ERR_BAD_STATE, "%s: not open", o->path);
	sb_result rc = sb_fd_write_all(o->fd, data);
	if (!sb_ok(rc)) {
		sb_error_context("%s", o->path);
		sb_file_out_abort(o);
	}
	return rc;
}

static SB_RESULT out_commit(struct sb_file_out *o, unsigned mode)
{
	char dir[PATH_MAX];

	SB_ENSURE_MSG(o->fd >= 0, SB_ERR_BAD_STATE, "%s: not open", o->path);
	if (fchmod(o->fd, (mode_t)mode) != 0 || fsync(o->fd) != 0)
		SB_BAIL_MSG(SB_ERR_IO, "%s: %s", o->path, strerror(errno));
	int closed = close(o->fd);
	o->fd = -1;
	SB_ENSURE_MSG(closed == 0, SB_ERR_IO, "%s: %s", o->path, strerror(errno));
	SB_GUARD(sb_file_check_replaceable(o->path));
	if (rename(o->tmp, o->path) != 0)
		SB_BAIL_MSG(SB_ERR_IO, "%s: %s", o->path, strerror(errno));
	o->tmp[0] = '\0';
	dir_of(o->path, dir, sizeof(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_file_out_commit(struct sb_file_out *o, unsigned mode)
{
	SB_ENSURE_REF(o);
	sb_result rc = out_commit(o, mode);
	if (!sb_ok(rc))
		sb_file_out_abort(o);
	return rc;
}

SB_RESULT sb_file_write_atomic(const char *path, struct sb_slice data, unsigned mode)
{
	struct sb_file_out o;

	SB_ENSURE_REF(path);
	SB_GUARD(sb_file_out_open(&o, path));
	SB_GUARD(sb_file_out_write(&o, data));
	return sb_file_out_commit(&o, mode);
}

SB_RESULT sb_mkdir_p(const char *path, unsigned mode)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s", path);

	SB_ENSURE(n > 0 && (size_t)n < sizeof(p), SB_ERR_TOO_LARGE);
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST)
			SB_BAIL_MSG(SB_ERR_IO, "mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST)
		SB_BAIL_MSG(SB_ERR_IO, "mkdir %s: %s", p, strerror(errno));
	return SB_OK_RESULT;
}

SB_RESULT sb_state_dir(char *out, size_t cap)
{
	const char *s = getenv("SEALBID_STATE"), *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
	int n;

	SB_ENSURE_REF(out);
	if (s != NULL && s[0] != '\0')
		n = snprintf(out, cap, "%s", s);
	else if (x != NULL && x[0] != '\0')
		n = snprintf(out, cap, "%s/sealbid", x);
	else
		n = snprintf(out, cap, "%s/.local/state/sealbid", h != NULL ? h : ".");
	SB_ENSURE(n > 0 && (size_t)n < cap, SB_ERR_TOO_LARGE);
	return SB_OK_RESULT;
}

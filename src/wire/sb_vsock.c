/* vsock transport with a Unix-socket mapping for local runs (see sb_vsock.h). */
#include "wire/sb_vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "common/sb_parse.h"

/* Unix mode when SEALBID_VSOCK_DIR is set; an empty value is a mistake, not "off". */
static SB_RESULT unix_dir(const char **out_dir)
{
	const char *dir = getenv(SB_VSOCK_ENV_DIR);

	*out_dir = dir;
	if (dir == NULL)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(dir[0] != '\0', SB_ERR_WIRE_ENV, "%s is set but empty", SB_VSOCK_ENV_DIR);
	return SB_OK_RESULT;
}

static SB_RESULT unix_addr(const char *dir, uint32_t cid, uint32_t port, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%u.%u", dir, cid, port);
	SB_ENSURE_MSG(n > 0 && (size_t)n < sizeof(sa->sun_path), SB_ERR_WIRE_ENV,
		      "%s is too long for a socket path", SB_VSOCK_ENV_DIR);
	return SB_OK_RESULT;
}

static SB_RESULT own_cid(uint32_t *out)
{
	const char *s = getenv(SB_VSOCK_ENV_CID);

	SB_ENSURE_MSG(s != NULL, SB_ERR_WIRE_ENV, "%s must be set when %s is", SB_VSOCK_ENV_CID,
		      SB_VSOCK_ENV_DIR);
	if (!sb_ok(sb_parse_u32_str(s, 0, UINT32_MAX, out)))
		SB_BAIL_MSG(SB_ERR_WIRE_ENV, "%s is not a decimal CID", SB_VSOCK_ENV_CID);
	return SB_OK_RESULT;
}

/* Removes a leftover socket from an earlier run, never any other file. */
static SB_RESULT unlink_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		SB_ENSURE_MSG(errno == ENOENT, SB_ERR_SOCKET, "stat socket path: %s", strerror(errno));
		return SB_OK_RESULT;
	}
	SB_ENSURE_MSG(S_ISSOCK(st.st_mode), SB_ERR_EXISTS, "%s exists and is not a socket", path);
	SB_ENSURE_MSG(unlink(path) == 0, SB_ERR_SOCKET, "remove stale socket: %s", strerror(errno));
	return SB_OK_RESULT;
}

static SB_RESULT bind_listen(int fd, const struct sockaddr *sa, socklen_t len)
{
	SB_ENSURE_MSG(bind(fd, sa, len) == 0, SB_ERR_SOCKET, "bind: %s", strerror(errno));
	SB_ENSURE_MSG(listen(fd, SOMAXCONN) == 0, SB_ERR_SOCKET, "listen: %s", strerror(errno));
	return SB_OK_RESULT;
}

static SB_RESULT listen_unix(const char *dir, uint32_t port, int *out_fd)
{
	struct sockaddr_un sa;
	uint32_t cid;
	sb_result rc;
	int fd;

	SB_GUARD(own_cid(&cid));
	SB_GUARD(unix_addr(dir, cid, port, &sa));
	SB_GUARD(unlink_stale(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	SB_ENSURE_MSG(fd >= 0, SB_ERR_SOCKET, "socket: %s", strerror(errno));
	rc = bind_listen(fd, (const struct sockaddr *)&sa, sizeof(sa));
	if (!sb_ok(rc)) {
		close(fd);
		return rc;
	}
	*out_fd = fd;
	return SB_OK_RESULT;
}

static SB_RESULT listen_vsock(uint32_t port, int *out_fd)
{
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	sb_result rc;
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	SB_ENSURE_MSG(fd >= 0, SB_ERR_SOCKET, "vsock socket: %s", strerror(errno));
	rc = bind_listen(fd, (const struct sockaddr *)&sa, sizeof(sa));
	if (!sb_ok(rc)) {
		close(fd);
		return rc;
	}
	*out_fd = fd;
	return SB_OK_RESULT;
}

SB_RESULT sb_vsock_listen(uint32_t port, int *out_fd)
{
	const char *dir;

	SB_ENSURE_REF(out_fd);
	SB_GUARD(unix_dir(&dir));
	if (dir != NULL)
		return listen_unix(dir, port, out_fd);
	return listen_vsock(port, out_fd);
}

static SB_RESULT connect_fd(int fd, const struct sockaddr *sa, socklen_t len, uint32_t cid,
			    uint32_t port, int *out_fd)
{
	int r;

	do
		r = connect(fd, sa, len);
	while (r != 0 && errno == EINTR);
	if (r != 0) {
		int e = errno;
		close(fd);
		SB_BAIL_MSG(SB_ERR_SOCKET, "connect to cid %u port %u: %s", cid, port, strerror(e));
	}
	*out_fd = fd;
	return SB_OK_RESULT;
}

SB_RESULT sb_vsock_connect(uint32_t cid, uint32_t port, int *out_fd)
{
	const char *dir;
	int fd;

	SB_ENSURE_REF(out_fd);
	SB_GUARD(unix_dir(&dir));
	if (dir != NULL) {
		struct sockaddr_un su;
		SB_GUARD(unix_addr(dir, cid, port, &su));
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		SB_ENSURE_MSG(fd >= 0, SB_ERR_SOCKET, "socket: %s", strerror(errno));
		return connect_fd(fd, (const struct sockaddr *)&su, sizeof(su), cid, port, out_fd);
	}
	struct sockaddr_vm sv = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	SB_ENSURE_MSG(fd >= 0, SB_ERR_SOCKET, "vsock socket: %s", strerror(errno));
	return connect_fd(fd, (const struct sockaddr *)&sv, sizeof(sv), cid, port, out_fd);
}

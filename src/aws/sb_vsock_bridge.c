#include "aws/sb_vsock_bridge.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/sb_log.h"
#include "wire/sb_vsock.h"

#define MAX_BRIDGES 4
#define RELAY_BUF   (64u << 10)

struct bridge {
	uint32_t cid, port;
	int listen_fd;
	char name[SB_VSOCK_BRIDGE_NAME_MAX];
	char last_error[200]; /* guarded by bridges_lock */
};

static char bridge_dir[64];

static pthread_mutex_t bridges_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bridge bridges[MAX_BRIDGES];
static size_t nbridges;

struct pair {
	int a, b; /* a: curl's side, b: vsock */
};

/* Copies what is readable from `from` to `to`; false at EOF or error. */
static bool pump(int from, int to, char *buf)
{
	ssize_t n = read(from, buf, RELAY_BUF);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += w;
	}
	return true;
}

/* Relays both ways until both directions have ended; half-close is passed on. */
static void *relay(void *arg)
{
	struct pair p = *(struct pair *)arg;
	char *buf = malloc(RELAY_BUF);
	bool open_ab = true, open_ba = true;

	free(arg);
	while (buf != NULL && (open_ab || open_ba)) {
		struct pollfd fds[2] = {{open_ab ? p.a : -1, POLLIN, 0}, {open_ba ? p.b : -1, POLLIN, 0}};
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (open_ab && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(p.a, p.b, buf)) {
			open_ab = false;
			(void)shutdown(p.b, SHUT_WR);
		}
		if (open_ba && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(p.b, p.a, buf)) {
			open_ba = false;
			(void)shutdown(p.a, SHUT_WR);
		}
	}
	free(buf);
	close(p.a);
	close(p.b);
	return NULL;
}

static void *accept_loop(void *arg)
{
	struct bridge *br = arg;

	for (;;) {
		int a = accept4(br->listen_fd, NULL, NULL, SOCK_CLOEXEC), b = -1;
		struct pair *p;
		pthread_t t;

		if (a < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			sb_log_error("vsock bridge: accept: %s", strerror(errno));
			return NULL;
		}
		/* A failed vsock connect closes curl's side: curl reports the connection error. */
		if (!sb_ok(sb_vsock_connect(br->cid, br->port, &b))) {
			pthread_mutex_lock(&bridges_lock);
			(void)snprintf(br->last_error, sizeof(br->last_error),
				       "vsock connect to %u:%u: %s", br->cid, br->port,
				       sb_error_describe());
			pthread_mutex_unlock(&bridges_lock);
			close(a);
			continue;
		}
		p = malloc(sizeof(*p));
		if (p == NULL) {
			close(a);
			close(b);
			continue;
		}
		*p = (struct pair){a, b};
		if (pthread_create(&t, NULL, relay, p) != 0) {
			free(p);
			close(a);
			close(b);
			continue;
		}
		pthread_detach(t);
	}
}

static void bridge_dir_remove(void)
{
	char path[SB_VSOCK_BRIDGE_NAME_MAX];

	for (size_t i = 0; i < nbridges; i++)
		(void)unlink(bridges[i].name);
	(void)snprintf(path, sizeof(path), "%s", bridge_dir);
	(void)rmdir(path);
}

static SB_RESULT bridge_start(struct bridge *br)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	pthread_t t;
	int fd;

	/* A private directory (0700) for the socket: only this user can connect. */
	if (bridge_dir[0] == '\0') {
		(void)snprintf(bridge_dir, sizeof(bridge_dir), "/tmp/sealbid-bridge-XXXXXX");
		if (mkdtemp(bridge_dir) == NULL) {
			bridge_dir[0] = '\0';
			SB_BAIL_MSG(SB_ERR_IO, "bridge directory: %s", strerror(errno));
		}
		(void)atexit(bridge_dir_remove);
	}
	(void)snprintf(br->name, sizeof(br->name), "%s/%u.%u", bridge_dir, br->cid, br->port);
	SB_ENSURE(strlen(br->name) < sizeof(sa.sun_path), SB_ERR_TOO_LARGE);
	memcpy(sa.sun_path, br->name, strlen(br->name) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	SB_ENSURE_MSG(fd >= 0, SB_ERR_SOCKET, "bridge socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, SOMAXCONN) != 0) {
		int e = errno;
		close(fd);
		SB_BAIL_MSG(SB_ERR_SOCKET, "bridge listen: %s", strerror(e));
	}
	br->listen_fd = fd;
	if (pthread_create(&t, NULL, accept_loop, br) != 0) {
		close(fd);
		SB_BAIL_MSG(SB_ERR_INTERNAL, "cannot start the vsock bridge thread");
	}
	pthread_detach(t);
	return SB_OK_RESULT;
}

SB_RESULT sb_vsock_bridge_name(uint32_t cid, uint32_t port, char out[SB_VSOCK_BRIDGE_NAME_MAX])
{
	sb_result rc = SB_OK_RESULT;
	struct bridge *br = NULL;

	SB_ENSURE_REF(out);
	pthread_mutex_lock(&bridges_lock);
	for (size_t i = 0; i < nbridges && br == NULL; i++)
		if (bridges[i].cid == cid && bridges[i].port == port)
			br = &bridges[i];
	if (br == NULL && nbridges == MAX_BRIDGES)
		rc = sb_error_recordf(SB_ERR_TOO_LARGE, SB_HERE, "more than %d vsock bridges",
				      MAX_BRIDGES);
	if (br == NULL && sb_ok(rc)) {
		br = &bridges[nbridges];
		br->cid = cid;
		br->port = port;
		rc = bridge_start(br);
		if (sb_ok(rc))
			nbridges++;
	}
	if (sb_ok(rc))
		memcpy(out, br->name, SB_VSOCK_BRIDGE_NAME_MAX);
	pthread_mutex_unlock(&bridges_lock);
	return rc;
}

bool sb_vsock_bridge_take_error(uint32_t cid, uint32_t port, char *out, size_t n)
{
	bool found = false;

	pthread_mutex_lock(&bridges_lock);
	for (size_t i = 0; i < nbridges; i++) {
		struct bridge *br = &bridges[i];
		if (br->cid != cid || br->port != port || br->last_error[0] == '\0')
			continue;
		(void)snprintf(out, n, "%s", br->last_error);
		br->last_error[0] = '\0';
		found = true;
	}
	pthread_mutex_unlock(&bridges_lock);
	return found;
}

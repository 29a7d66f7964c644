#include "host/sb_launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sb_encoding.h"
#include "common/sb_file.h"
#include "common/sb_log.h"
#include "common/sb_time.h"
#include "crypto/sb_random.h"
#include "host/sb_nsm_emu.h"

#define MAX_ARGS 64

extern char **environ;

/* The enclave's argv: program name, then one CONFIG line per argument. */
static SB_RESULT config_argv(struct sb_slice config, struct sb_buf *storage, char **argv)
{
	size_t argc = 0;

	SB_GUARD(sb_buf_append_str(storage, "sealbid-enclave"));
	SB_GUARD(sb_buf_append_u8(storage, 0));
	SB_GUARD(sb_buf_append_slice(storage, config));
	SB_GUARD(sb_buf_append_u8(storage, '\n'));
	for (size_t i = 0; i < storage->len; i++)
		if (storage->data[i] == '\n' || storage->data[i] == '\r')
			storage->data[i] = 0;
	for (size_t i = 0; i < storage->len; i++) {
		bool starts = storage->data[i] != 0 && (i == 0 || storage->data[i - 1] == 0);
		if (!starts)
			continue;
		SB_ENSURE_MSG(argc < MAX_ARGS - 1, SB_ERR_HOST_LAUNCH, "more than %d arguments",
			      MAX_ARGS);
		argv[argc++] = (char *)storage->data + i;
	}
	argv[argc] = NULL;
	return SB_OK_RESULT;
}

/* In the enclave child: never returns. Reports failure on status_fd. */
__attribute__((noreturn)) static void exec_enclave(const struct sb_image *img, int nsm_fd,
						   const struct sb_launch_opts *o, uint32_t cid,
						   int status_fd)
{
	struct sb_buf args = SB_BUF_INIT(SB_IMAGE_CONFIG_MAX + 64);
	char *argv[MAX_ARGS], num[32];
	const char *why = "argv";
	int mfd;

	if (!sb_ok(config_argv(img->config, &args, argv)))
		goto fail;
	if (geteuid() == 0 && unshare(CLONE_NEWNET) != 0) {
		why = "unshare(CLONE_NEWNET)";
		goto fail;
	}
	why = "memfd";
	mfd = memfd_create("sealbid-enclave", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0 || !sb_ok(sb_fd_write_all(mfd, img->app)) ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0)
		goto fail;
	(void)snprintf(num, sizeof(num), "%u", cid);
	setenv("SEALBID_VSOCK_DIR", o->vsock_dir, 1);
	setenv("SEALBID_VSOCK_CID", num, 1);
	(void)snprintf(num, sizeof(num), "%d", nsm_fd);
	setenv("SEALBID_NSM_FD", num, 1);
	why = "exec";
	fexecve(mfd, argv, environ);
fail:
	dprintf(status_fd, "%s: %s", why, strerror(errno));
	_exit(127);
}

struct serve_args {
	struct sb_nsm_emu *emu;
	int fd;
};

static void *nsm_thread(void *arg)
{
	struct serve_args *s = arg;

	if (!sb_ok(sb_nsm_emu_serve(s->emu, s->fd)))
		sb_log_warn("emulated NSM: %s", sb_error_describe());
	return NULL;
}

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

static SB_RESULT write_record(const struct sb_launch_opts *o, const struct sb_enclave_info *info,
			      char *path, size_t pathlen)
{
	struct sb_buf json = SB_BUF_INIT(4096);
	char dir[PATH_MAX];
	sb_result rc;

	(void)snprintf(dir, sizeof(dir), "%s/enclaves", o->state_dir);
	SB_GUARD(sb_mkdir_p(dir, 0700));
	(void)snprintf(path, pathlen, "%s/%s.json", dir, info->id);
	SB_GUARD_GOTO(rc, sb_enclave_info_json(info, &json), out);
	rc = sb_file_write_atomic(path, sb_buf_slice(&json), 0600);
out:
	sb_buf_cleanup(&json);
	return rc;
}

/* The supervisor process: never returns. */
__attribute__((noreturn)) static void supervise(const struct sb_launch_opts *o,
						const struct sb_image *img,
						struct sb_enclave_info *info, int status_fd)
{
	struct sb_nsm_emu_config cfg = {0};
	struct sb_nsm_emu *emu = NULL;
	struct serve_args sa;
	char record[PATH_MAX + 128];
	pthread_t thr;
	int sv[2], wst = 0;
	pid_t pid;

	setsid();
	info->pid = getpid();
	cfg.state_dir = o->state_dir;
	cfg.measurement = img->measurement;
	cfg.debug_mode = o->debug_mode;
	cfg.leaf_validity_s = o->leaf_validity_s;
	if (!sb_ok(sb_nsm_emu_new(&cfg, &emu))) {
		dprintf(status_fd, "emulated NSM: %s", sb_error_describe());
		_exit(1);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    !sb_ok(write_record(o, info, record, sizeof(record)))) {
		dprintf(status_fd, "supervisor set-up: %s", sb_error_describe());
		_exit(1);
	}
	signal(SIGTERM, forward_signal);
	signal(SIGINT, forward_signal);
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		/* The NSM end must survive exec: clear its close-on-exec flag. */
		(void)fcntl(sv[1], F_SETFD, 0);
		exec_enclave(img, sv[1], o, info->cid, status_fd);
	}
	close(sv[1]);
	child_pid = pid;
	close(status_fd); /* the launcher sees EOF once the child has exec'd */
	sa.emu = emu;
	sa.fd = sv[0];
	if (pid > 0 && pthread_create(&thr, NULL, nsm_thread, &sa) == 0)
		pthread_detach(thr);
	while (pid > 0 && waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	sb_log_info("enclave %s exited with status %d", info->id, wst);
	(void)unlink(record);
	_exit(0);
}

static SB_RESULT pick_cid(const struct sb_launch_opts *o, uint32_t *cid)
{
	bool used;

	if (o->cid != 0) {
		SB_ENSURE_MSG(o->cid >= 3, SB_ERR_INVALID_ARG, "CIDs 0-2 are reserved");
		SB_GUARD(sb_launcher_cid_in_use(o->state_dir, o->cid, &used));
		SB_ENSURE_MSG(!used, SB_ERR_EXISTS, "CID %u is in use", o->cid);
		*cid = o->cid;
		return SB_OK_RESULT;
	}
	for (uint32_t c = SB_ENCLAVE_FIRST_CID; c < SB_ENCLAVE_FIRST_CID + 1024; c++) {
		SB_GUARD(sb_launcher_cid_in_use(o->state_dir, c, &used));
		if (!used) {
			*cid = c;
			return SB_OK_RESULT;
		}
	}
	SB_BAIL_MSG(SB_ERR_HOST_LAUNCH, "no free CID");
}

/*
 * Returns once <vsock_dir>/<cid>.<port> exists (inotify: no polling), or
 * fails when the supervisor exits first (the enclave died: its pidfd turns
 * readable) or the time is up.
 */
static SB_RESULT wait_listening(const struct sb_launch_opts *o, uint32_t cid, pid_t sup,
				const char *log)
{
	char name[64], path[PATH_MAX + 64];
	uint64_t deadline = sb_time_mono_ns() + (uint64_t)o->wait_ms * 1000000u;
	struct stat st;
	int fd;

	(void)snprintf(name, sizeof(name), "%u.%u", cid, o->wait_port);
	(void)snprintf(path, sizeof(path), "%s/%s", o->vsock_dir, name);
	fd = inotify_init1(IN_CLOEXEC);
	SB_ENSURE_MSG(fd >= 0, SB_ERR_IO, "inotify: %s", strerror(errno));
	if (inotify_add_watch(fd, o->vsock_dir, IN_CREATE | IN_MOVED_TO) < 0) {
		close(fd);
		SB_BAIL_MSG(SB_ERR_IO, "watch %s: %s", o->vsock_dir, strerror(errno));
	}
	int pfd = (int)syscall(SYS_pidfd_open, sup, 0);
	sb_result rc = SB_OK_RESULT;
	while (stat(path, &st) != 0) {
		uint64_t now = sb_time_mono_ns();
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
		char ev[4096];
		if (now >= deadline) {
			rc = sb_error_recordf(SB_ERR_TIMEOUT, SB_HERE,
					      "enclave not listening on port %u after %u ms (see %s)",
					      o->wait_port, o->wait_ms, log);
			break;
		}
		if (poll(p, 2, (int)((deadline - now) / 1000000u) + 1) > 0 && (p[0].revents & POLLIN))
			(void)read(fd, ev, sizeof(ev));
		if (pfd >= 0 && (p[1].revents & POLLIN) && stat(path, &st) != 0) {
			rc = sb_error_recordf(SB_ERR_HOST_LAUNCH, SB_HERE,
					      "the enclave exited during start-up (see %s)", log);
			break;
		}
	}
	if (pfd >= 0)
		close(pfd);
	close(fd);
	return rc;
}

static SB_RESULT new_id(struct sb_enclave_info *info)
{
	uint8_t r[8];
	struct sb_buf hex = SB_BUF_INIT(32);
	sb_result rc;

	SB_GUARD(sb_random_bytes(r, sizeof(r)));
	SB_GUARD_GOTO(rc, sb_hex_encode(SB_SLICE(r, sizeof(r)), &hex), out);
	(void)snprintf(info->id, sizeof(info->id), "i-sealbid-enc%s", sb_buf_cstr(&hex));
out:
	sb_buf_cleanup(&hex);
	return rc;
}

static SB_RESULT await_start(int status_fd, pid_t sup)
{
	char msg[512];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(msg) - 1 &&
	       ((n = read(status_fd, msg + got, sizeof(msg) - 1 - got)) > 0 ||
		(n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	msg[got] = 0;
	if (got > 0) {
		(void)waitpid(sup, NULL, WNOHANG);
		SB_BAIL_MSG(SB_ERR_HOST_LAUNCH, "%s", msg);
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_launcher_run(const struct sb_launch_opts *o, struct sb_enclave_info *out)
{
	struct sb_buf image = SB_BUF_INIT(SB_IMAGE_MAX);
	struct sb_image img;
	char log[PATH_MAX + 128];
	int st[2] = {-1, -1};
	sb_result rc;
	pid_t sup;

	SB_ENSURE(o != NULL && out != NULL && o->image_path != NULL && o->state_dir != NULL &&
			  o->vsock_dir != NULL,
		  SB_ERR_NULL);
	memset(out, 0, sizeof(*out));
	SB_GUARD_GOTO(rc, sb_file_read(o->image_path, &image), done);
	SB_GUARD_GOTO(rc, sb_image_parse(sb_buf_slice(&image), &img), done);
	SB_GUARD_GOTO(rc, sb_nsm_emu_ca_ensure(o->state_dir, NULL), done);
	SB_GUARD_GOTO(rc, sb_mkdir_p(o->vsock_dir, 0700), done);
	SB_GUARD_GOTO(rc, pick_cid(o, &out->cid), done);
	SB_GUARD_GOTO(rc, new_id(out), done);
	out->debug_mode = o->debug_mode;
	out->measurement = img.measurement;
	if (o->debug_mode)
		memset(&out->measurement, 0, sizeof(out->measurement));
	(void)snprintf(log, sizeof(log), "%s/enclaves", o->state_dir);
	SB_GUARD_GOTO(rc, sb_mkdir_p(log, 0700), done);
	(void)snprintf(log, sizeof(log), "%s/enclaves/%s.log", o->state_dir, out->id);
	if (pipe2(st, O_CLOEXEC) != 0)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_IO, done, "pipe: %s", strerror(errno));
	fflush(NULL);
	sup = fork();
	if (sup < 0)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_HOST_LAUNCH, done, "fork: %s", strerror(errno));
	if (sup == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		close(st[0]);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		if (lfd >= 0) {
			dup2(lfd, STDOUT_FILENO);
			dup2(lfd, STDERR_FILENO);
		}
		/* Keep nothing of the caller's open but the status pipe. */
		if (st[1] > 3)
			(void)close_range(3, (unsigned)st[1] - 1, 0);
		(void)close_range((unsigned)st[1] + 1, ~0u, 0);
		supervise(o, &img, out, st[1]);
	}
	close(st[1]);
	st[1] = -1;
	out->pid = sup;
	SB_GUARD_GOTO(rc, await_start(st[0], sup), done);
	if (o->wait_port > 0)
		SB_GUARD_GOTO(rc, wait_listening(o, out->cid, sup, log), done);
done:
	if (st[0] >= 0)
		close(st[0]);
	if (st[1] >= 0)
		close(st[1]);
	sb_buf_cleanup(&image);
	return rc;
}

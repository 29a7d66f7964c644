/*
 * Unit tests for src/wire/sb_vsock: the Unix-socket mapping of (cid, port).
 * Every test sets SEALBID_VSOCK_DIR, so no AF_VSOCK socket is ever made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/sb_vsock.h"

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	static struct fixture fx;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/sb-vsock-XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	setenv(SB_VSOCK_ENV_DIR, fx.dir, 1);
	setenv(SB_VSOCK_ENV_CID, "16", 1);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	static const char *names[] = {"16.5005", "16.7", "16.9", "4294967295.7"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->dir, names[i]);
		unlink(path);
	}
	rmdir(fx->dir);
	unsetenv(SB_VSOCK_ENV_DIR);
	unsetenv(SB_VSOCK_ENV_CID);
	return 0;
}

static void assert_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	assert_true(fl >= 0);
	assert_true((fl & FD_CLOEXEC) != 0);
}

static void test_listen_connect_roundtrip(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	struct stat st;
	int lfd = -1, cfd = -1, afd;
	char c = 0;

	assert_true(sb_ok(sb_vsock_listen(5005, &lfd)));
	snprintf(path, sizeof(path), "%s/16.5005", fx->dir);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_true(sb_ok(sb_vsock_connect(16, 5005, &cfd)));
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_cloexec(lfd);
	assert_cloexec(cfd);
	assert_int_equal(write(cfd, "k", 1), 1);
	assert_int_equal(read(afd, &c, 1), 1);
	assert_int_equal(c, 'k');
	close(afd);
	close(cfd);
	close(lfd);
}

/* A socket file left by an earlier run is replaced; the CID comes from the env. */
static void test_listen_replaces_stale_socket(void **state)
{
	(void)state;
	int lfd = -1, cfd = -1;

	setenv(SB_VSOCK_ENV_CID, "4294967295", 1);
	assert_true(sb_ok(sb_vsock_listen(7, &lfd)));
	close(lfd); /* the file stays behind */
	assert_true(sb_ok(sb_vsock_listen(7, &lfd)));
	assert_true(sb_ok(sb_vsock_connect(4294967295u, 7, &cfd)));
	close(cfd);
	close(lfd);
	/* Another CID's socket is another file. */
	assert_int_equal(sb_vsock_connect(16, 7, &cfd).code, SB_ERR_SOCKET);
}

static void test_listen_refuses_non_socket(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	int fd, lfd = -1;

	snprintf(path, sizeof(path), "%s/16.9", fx->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sb_vsock_listen(9, &lfd).code, SB_ERR_EXISTS);
	assert_int_equal(lfd, -1);
	assert_int_equal(access(path, F_OK), 0); /* not removed */
}

static void test_env_errors(void **state)
{
	(void)state;
	static const struct {
		const char *dir; /* NULL: keep the fixture's */
		const char *cid; /* NULL: unset */
		int code;
	} cases[] = {
		{NULL, NULL, SB_ERR_WIRE_ENV},
		{NULL, "", SB_ERR_WIRE_ENV},
		{NULL, "abc", SB_ERR_WIRE_ENV},
		{NULL, "-1", SB_ERR_WIRE_ENV},
		{NULL, "016", SB_ERR_WIRE_ENV},
		{NULL, "4294967296", SB_ERR_WIRE_ENV},
		{"", "16", SB_ERR_WIRE_ENV},
		{"/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "16", SB_ERR_WIRE_ENV},
	};
	char *saved = strdup(getenv(SB_VSOCK_ENV_DIR));
	assert_non_null(saved);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = -1;
		setenv(SB_VSOCK_ENV_DIR, cases[i].dir != NULL ? cases[i].dir : saved, 1);
		if (cases[i].cid != NULL)
			setenv(SB_VSOCK_ENV_CID, cases[i].cid, 1);
		else
			unsetenv(SB_VSOCK_ENV_CID);
		sb_result r = sb_vsock_listen(5005, &fd);
		if (r.code != cases[i].code)
			fail_msg("case %zu: got %s", i, sb_error_name(r.code));
		assert_int_equal(fd, -1);
	}
	/* Connecting needs no own CID, but a broken directory still fails. */
	int fd = -1;
	setenv(SB_VSOCK_ENV_DIR, "", 1);
	assert_int_equal(sb_vsock_connect(16, 5005, &fd).code, SB_ERR_WIRE_ENV);
	setenv(SB_VSOCK_ENV_DIR, saved, 1);
	unsetenv(SB_VSOCK_ENV_CID);
	assert_int_equal(sb_vsock_connect(16, 5005, &fd).code, SB_ERR_SOCKET); /* nobody listens */
	assert_non_null(strstr(sb_error_detail(), "cid 16 port 5005"));
	assert_int_equal(fd, -1);
	assert_int_equal(sb_vsock_listen(5005, NULL).code, SB_ERR_NULL);
	assert_int_equal(sb_vsock_connect(16, 5005, NULL).code, SB_ERR_NULL);
	setenv(SB_VSOCK_ENV_CID, "16", 1);
	free(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_listen_connect_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_replaces_stale_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_refuses_non_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

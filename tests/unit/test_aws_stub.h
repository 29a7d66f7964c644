/*
 * Test helpers for the src/aws tests (header-only; included by one test
 * program each):
 *   - an in-process HTTP/1.1 stub server on 127.0.0.1 (random port) that
 *     answers with scripted responses (status, headers, body, truncated,
 *     hang-until-the-client-gives-up, close) and records every request;
 *   - starting external servers (moto_server, python3 stand-ins) on a free
 *     port, waiting for them with a bounded backoff, and stopping them.
 * Threads, one per connection; no sleeps in the server path.
 */
#ifndef TEST_AWS_STUB_H
#define TEST_AWS_STUB_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STUB_MAX_SCRIPT 32
#define STUB_MAX_REQS   64
#define STUB_MAX_CONNS  64
#define STUB_HDR_MAX    32768
/* Helpers a given test program may not use. */
#define STUB_FN static __attribute__((unused))

enum stub_mode {
	STUB_NORMAL,
	STUB_TRUNCATED, /* promise more body than is sent, then close */
	STUB_HANG,      /* never answer; wait for the client to close */
	STUB_CLOSE,     /* close without answering */
};

struct stub_resp {
	int status;
	const char *headers; /* extra header lines, each ending "\r\n" */
	const char *body;
	size_t body_len;     /* 0: strlen(body) */
	size_t repeat;       /* body sent this many times (huge bodies); 0 = 1 */
	enum stub_mode mode;
};

struct stub_req {
	char method[16];
	char path[1024];
	char headers[STUB_HDR_MAX];
	char *body;
	size_t body_len;
};

struct stub;
/* Answers a request instead of the script (called under the stub's lock). */
typedef struct stub_resp (*stub_handler_fn)(struct stub *s, const struct stub_req *r, void *ud);

struct stub {
	int lfd;
	stub_handler_fn handler; /* optional: set before requests arrive */
	void *handler_ud;
	size_t total;            /* every request answered, stored or not */
	int port;
	pthread_t thr;
	pthread_mutex_t mu;
	struct stub_resp script[STUB_MAX_SCRIPT];
	size_t n_script, next;
	struct stub_req reqs[STUB_MAX_REQS];
	size_t n_reqs;
	int conns[STUB_MAX_CONNS];
	size_t n_conns;
	unsigned accepted;
	bool stopping;
};

struct stub_conn {
	struct stub *s;
	int fd;
};

STUB_FN void stub_script(struct stub *s, struct stub_resp r)
{
	pthread_mutex_lock(&s->mu);
	if (s->n_script < STUB_MAX_SCRIPT)
		s->script[s->n_script++] = r;
	pthread_mutex_unlock(&s->mu);
}

STUB_FN bool stub_send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Reads one request; false on EOF or error. */
STUB_FN bool stub_read_request(int fd, struct stub_req *r, char *buf, size_t *have)
{
	char *end;
	size_t cl = 0;

	for (;;) {
		buf[*have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL)
			break;
		if (*have >= STUB_HDR_MAX - 1)
			return false;
		ssize_t n = recv(fd, buf + *have, STUB_HDR_MAX - 1 - *have, 0);
		if (n <= 0)
			return false;
		*have += (size_t)n;
	}
	size_t hlen = (size_t)(end - buf) + 4;
	memcpy(r->headers, buf, hlen);
	r->headers[hlen] = '\0';
	(void)sscanf(buf, "%15s %1023s", r->method, r->path);
	for (char *h = strstr(r->headers, "\r\n"); h != NULL; h = strstr(h + 2, "\r\n"))
		if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
			cl = strtoul(h + 17, NULL, 10);
	if (strcasestr(r->headers, "Expect: 100-continue") != NULL)
		(void)stub_send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	r->body = malloc(cl + 1);
	if (r->body == NULL)
		return false;
	size_t got = *have - hlen < cl ? *have - hlen : cl;
	memcpy(r->body, buf + hlen, got);
	memmove(buf, buf + hlen + got, *have - hlen - got);
	*have -= hlen + got;
	while (got < cl) {
		ssize_t n = recv(fd, r->body + got, cl - got, 0);
		if (n <= 0) {
			free(r->body);
			r->body = NULL;
			return false;
		}
		got += (size_t)n;
	}
	r->body[cl] = '\0';
	r->body_len = cl;
	return true;
}

STUB_FN bool stub_respond(int fd, const struct stub_resp *r, bool head)
{
	char hdr[4096];
	size_t blen = r->body == NULL ? 0 : (r->body_len ? r->body_len : strlen(r->body));
	size_t rep = r->repeat ? r->repeat : 1;
	size_t total = blen * rep;

	if (r->mode == STUB_CLOSE)
		return false;
	if (r->mode == STUB_HANG) {
		char c;
		while (recv(fd, &c, 1, 0) > 0)
			;
		return false;
	}
	int n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d X\r\n%sContent-Length: %zu\r\n\r\n",
			 r->status, r->headers ? r->headers : "",
			 r->mode == STUB_TRUNCATED ? total + 1000 : total);
	if (!stub_send_all(fd, hdr, (size_t)n))
		return false;
	for (size_t i = 0; !head && i < rep; i++)
		if (!stub_send_all(fd, r->body, blen))
			return false;
	return r->mode == STUB_NORMAL;
}

STUB_FN void *stub_conn_main(void *arg)
{
	struct stub_conn *c = arg;
	struct stub *s = c->s;
	char *buf = malloc(STUB_HDR_MAX);
	size_t have = 0;

	while (buf != NULL) {
		struct stub_req r;
		memset(&r, 0, sizeof(r));
		if (!stub_read_request(c->fd, &r, buf, &have))
			break;
		struct stub_resp resp = {.status = 500, .body = "{}"};
		pthread_mutex_lock(&s->mu);
		s->total++;
		if (s->handler != NULL)
			resp = s->handler(s, &r, s->handler_ud);
		else if (s->next < s->n_script)
			resp = s->script[s->next++];
		if (s->n_reqs < STUB_MAX_REQS)
			s->reqs[s->n_reqs++] = r;
		else
			free(r.body);
		pthread_mutex_unlock(&s->mu);
		if (!stub_respond(c->fd, &resp, strcmp(r.method, "HEAD") == 0))
			break;
	}
	free(buf);
	shutdown(c->fd, SHUT_RDWR);
	free(c);
	return NULL;
}

STUB_FN void *stub_main(void *arg)
{
	struct stub *s = arg;

	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		pthread_mutex_lock(&s->mu);
		bool stop = s->stopping || s->n_conns >= STUB_MAX_CONNS;
		if (!stop) {
			s->conns[s->n_conns++] = fd;
			s->accepted++;
		}
		pthread_mutex_unlock(&s->mu);
		if (stop) {
			close(fd);
			continue;
		}
		struct stub_conn *c = malloc(sizeof(*c));
		pthread_t t;
		/* Header and body go out in two sends: no Nagle delay between them. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		c->s = s;
		c->fd = fd;
		pthread_create(&t, NULL, stub_conn_main, c);
		pthread_detach(t);
	}
}

STUB_FN int stub_start(struct stub *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(s->lfd, 64) != 0 || getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0)
		return -1;
	s->port = ntohs(a.sin_port);
	pthread_create(&s->thr, NULL, stub_main, s);
	return 0;
}

STUB_FN void stub_stop(struct stub *s)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	for (size_t i = 0; i < s->n_conns; i++)
		shutdown(s->conns[i], SHUT_RDWR);
	pthread_mutex_unlock(&s->mu);
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->thr, NULL);
	close(s->lfd);
	/* Connection threads are detached; give them their sockets until exit. */
	for (size_t i = 0; i < s->n_reqs; i++)
		free(s->reqs[i].body);
	s->n_reqs = 0;
}

STUB_FN size_t stub_nreqs(struct stub *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->n_reqs;
	pthread_mutex_unlock(&s->mu);
	return n;
}

STUB_FN size_t stub_total(struct stub *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->total;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---- external servers --------------------------------------------------- */

STUB_FN int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

STUB_FN void test_backoff_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Waits (bounded backoff, ~30 s) until 127.0.0.1:port accepts a connection. */
STUB_FN bool wait_port(int port, pid_t pid)
{
	for (long delay = 20, waited = 0; waited < 30000; waited += delay, delay = delay < 500 ? delay * 2 : 500) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int ok = connect(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (ok == 0)
			return true;
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		test_backoff_ms(delay);
	}
	return false;
}

/* Runs argv (execvp) with stdout/stderr to /dev/null; returns the pid. */
STUB_FN pid_t spawn_quiet(char *const argv[])
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		/* A test that fails half-way must not leave its servers running. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(127);
		FILE *n = freopen("/dev/null", "w", stdout);
		(void)n;
		n = freopen("/dev/null", "w", stderr);
		(void)n;
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/*
 * Runs a python3 stand-in that prints its port on the first stdout line.
 * Returns the pid; *port set. stderr is kept for diagnosis.
 */
STUB_FN pid_t spawn_py_stub(const char *script, char *const extra_env[], int *port)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(127);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		for (size_t i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
			putenv(extra_env[i]);
		execlp("python3", "python3", script, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[32] = {0};
	size_t n = 0;
	while (n < sizeof(line) - 1) {
		ssize_t r = read(p[0], line + n, 1);
		if (r <= 0 || line[n] == '\n')
			break;
		n++;
	}
	close(p[0]);
	*port = (int)strtol(line, NULL, 10);
	return *port > 0 ? pid : -1;
}

STUB_FN void stop_child(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* moto_server on PATH or in pyenv's shims; NULL when absent. */
STUB_FN const char *find_moto(void)
{
	static char path[512];
	const char *cands[] = {"/root/.pyenv/shims/moto_server", "/usr/local/bin/moto_server",
			       "/usr/bin/moto_server"};
	const char *p = getenv("PATH");
	while (p != NULL && *p != '\0') {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		snprintf(path, sizeof(path), "%.*s/moto_server", (int)n, p);
		if (access(path, X_OK) == 0)
			return path;
		p = c ? c + 1 : NULL;
	}
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

#endif

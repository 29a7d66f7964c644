#include "host/sb_proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/sb_log.h"
#include "common/sb_parse.h"
#include "wire/sb_vsock.h"

struct relay;

struct sb_proxy {
	struct sb_proxy_config cfg;
	int lfd;
	int stop_fd; /* eventfd: readable once stop was asked, for every poller */
	pthread_mutex_t mu;
	pthread_cond_t idle;
	pthread_cond_t turn;   /* a worker came free, or stopping */
	uint32_t active;       /* relay threads alive */
	uint32_t open;         /* connections counted open (sb_proxy_stats) */
	uint32_t serving;      /* connections being served: <= cfg.num_workers */
	bool stopping;
	struct relay *relays;  /* every relay thread's connection, for reap_closed */
	struct relay *wait_head, *wait_tail; /* waiting for a worker, in arrival order */
	struct sb_proxy_stats st;
};

/* One direction of a relay: bytes read from `from`, not yet written to `to`. */
struct pipe_dir {
	uint8_t buf[SB_PROXY_BUF];
	size_t off, len;
	bool eof;      /* `from` reached EOF */
	bool shut;     /* shutdown(to, SHUT_WR) done */
};

struct relay {
	struct sb_proxy *p;
	int a; /* vsock side */
	int b; /* TCP side */
	struct pipe_dir ab, ba;
	uint64_t bytes_ab, bytes_ba;
	/* Guarded by p->mu: */
	struct relay *prev, *next; /* p->relays */
	struct relay *wait_next;   /* p->wait_head queue */
	bool waiting, served;
	bool gone;                 /* counted closed (its peer closed it) */
};

SB_RESULT sb_proxy_parse_target(const char *target, struct sb_proxy_config *cfg)
{
	const char *colon, *host = target;
	size_t hlen;
	uint32_t port;

	SB_ENSURE_REF(target);
	SB_ENSURE_REF(cfg);
	if (target[0] == '[') {
		const char *rb = strchr(target, ']');
		SB_ENSURE_MSG(rb != NULL && rb[1] == ':', SB_ERR_INVALID_ARG,
			      "target must be HOST:PORT or [IPv6]:PORT");
		host = target + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
	} else {
		colon = strrchr(target, ':');
		SB_ENSURE_MSG(colon != NULL && strchr(target, ':') == colon, SB_ERR_INVALID_ARG,
			      "target must be HOST:PORT or [IPv6]:PORT");
		hlen = (size_t)(colon - target);
	}
	SB_ENSURE_MSG(hlen >= 1 && hlen <= SB_PROXY_HOST_MAX, SB_ERR_INVALID_ARG,
		      "target host must be 1..%d characters", SB_PROXY_HOST_MAX);
	for (size_t i = 0; i < hlen; i++)
		SB_ENSURE_MSG(host[i] > 0x20 && host[i] < 0x7f && host[i] != '/', SB_ERR_INVALID_ARG,
			      "invalid character in target host");
	SB_GUARD(sb_parse_u32_str(colon + 1, 1, 65535, &port));
	memcpy(cfg->host, host, hlen);
	cfg->host[hlen] = '\0';
	cfg->port = (uint16_t)port;
	return SB_OK_RESULT;
}

SB_RESULT sb_proxy_new(const struct sb_proxy_config *cfg, struct sb_proxy **out)
{
	struct sb_proxy *p;
	sb_result rc;

	SB_ENSURE_REF(cfg);
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(cfg->host[0] != '\0' && cfg->port != 0, SB_ERR_INVALID_ARG,
		      "proxy needs a target host:port");
	p = calloc(1, sizeof(*p));
	SB_ENSURE(p != NULL, SB_ERR_NOMEM);
	p->cfg = *cfg;
	if (p->cfg.max_conns == 0)
		p->cfg.max_conns = SB_PROXY_DEFAULT_CONNS;
	if (p->cfg.num_workers == 0 || p->cfg.num_workers > p->cfg.max_conns)
		p->cfg.num_workers = p->cfg.max_conns;
	p->lfd = -1;
	p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->stop_fd < 0 || pthread_mutex_init(&p->mu, NULL) != 0 ||
	    pthread_cond_init(&p->idle, NULL) != 0 || pthread_cond_init(&p->turn, NULL) != 0) {
		free(p);
		SB_BAIL_MSG(SB_ERR_INTERNAL, "proxy: cannot set up synchronisation");
	}
	rc = sb_vsock_listen(cfg->listen_port, &p->lfd);
	if (!sb_ok(rc)) {
		sb_proxy_free(p);
		return rc;
	}
	*out = p;
	return SB_OK_RESULT;
}

void sb_proxy_free(struct sb_proxy *p)
{
	if (p == NULL)
		return;
	if (p->lfd >= 0)
		close(p->lfd);
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->turn);
	free(p);
}

void sb_proxy_stop(struct sb_proxy *p)
{
	uint64_t one = 1;

	/* write(2) on an eventfd is async-signal-safe. */
	if (p != NULL && write(p->stop_fd, &one, sizeof(one)) < 0)
		return;
}

uint64_t sb_proxy_accepted(struct sb_proxy *p)
{
	uint64_t n;

	pthread_mutex_lock(&p->mu);
	n = p->st.accepted;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void sb_proxy_stats(struct sb_proxy *p, struct sb_proxy_stats *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->st;
	pthread_mutex_unlock(&p->mu);
}

/*
 * With p->mu held: connections whose peer has closed them (or shut down its
 * sending side) no longer count as open, even if their relay thread has not
 * noticed yet. The kernel marks that at once, so the count is exact at the
 * moment of the next accept.
 */
static void reap_closed(struct sb_proxy *p)
{
	for (struct relay *r = p->relays; r != NULL; r = r->next) {
		struct pollfd pf = {.fd = r->a, .events = POLLRDHUP};
		if (r->gone || poll(&pf, 1, 0) != 1 ||
		    !(pf.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			continue;
		r->gone = true;
		p->open--;
	}
}

/* With p->mu held: r leaves the open list (and the queue, if still in it). */
static void relay_unlink(struct sb_proxy *p, struct relay *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		p->relays = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (r->waiting) {
		struct relay **pp = &p->wait_head, *last = NULL;
		while (*pp != r) {
			last = *pp;
			pp = &(*pp)->wait_next;
		}
		*pp = r->wait_next;
		if (p->wait_tail == r)
			p->wait_tail = last;
		r->waiting = false;
	}
	if (!r->gone)
		p->open--;
	if (r->served) {
		p->serving--;
		pthread_cond_broadcast(&p->turn);
	}
}

/*
 * Waits for r's turn: first in the queue and a worker free, like a job
 * queued in vsock-proxy's thread pool. false when the proxy is stopping.
 */
static bool relay_admit(struct relay *r)
{
	struct sb_proxy *p = r->p;
	bool waited = false, ok;

	pthread_mutex_lock(&p->mu);
	while (!p->stopping && (p->wait_head != r || p->serving >= p->cfg.num_workers)) {
		waited = true;
		pthread_cond_wait(&p->turn, &p->mu);
	}
	ok = !p->stopping;
	if (ok) {
		p->wait_head = r->wait_next;
		if (p->wait_head == NULL)
			p->wait_tail = NULL;
		r->waiting = false;
		r->served = true;
		p->serving++;
		if (p->serving > p->st.peak_served)
			p->st.peak_served = p->serving;
		if (waited)
			p->st.waited++;
		/* The next in line may have a worker too. */
		pthread_cond_broadcast(&p->turn);
	}
	pthread_mutex_unlock(&p->mu);
	return ok;
}

static bool set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

/* Waits for a non-blocking connect, or the stop signal. */
static bool connect_wait(int fd, int stop_fd)
{
	struct pollfd pf[2] = {{.fd = fd, .events = POLLOUT}, {.fd = stop_fd, .events = POLLIN}};
	int err = 0;
	socklen_t len = sizeof(err);

	for (;;) {
		int n = poll(pf, 2, SB_PROXY_CONNECT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (pf[1].revents & POLLIN))
			return false;
		break;
	}
	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

/* A TCP connection to the one allowed target (each address in turn). */
static int connect_target(const struct sb_proxy *p)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	char port[8];
	int fd = -1;

	(void)snprintf(port, sizeof(port), "%u", p->cfg.port);
	if (getaddrinfo(p->cfg.host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (set_nonblock(fd) &&
		    (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		     (errno == EINPROGRESS && connect_wait(fd, p->stop_fd))))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Moves bytes from -> d -> to as far as the sockets allow. false: the relay is broken. */
static bool pump(int from, int to, struct pipe_dir *d, short rev_from, short rev_to,
		 uint64_t *count)
{
	if ((rev_from & (POLLIN | POLLHUP | POLLERR)) && !d->eof && d->len < SB_PROXY_BUF) {
		size_t start = d->off + d->len;
		if (d->off > 0 && start >= SB_PROXY_BUF / 2) {
			memmove(d->buf, d->buf + d->off, d->len);
			d->off = 0;
			start = d->len;
		}
		ssize_t n = recv(from, d->buf + start, SB_PROXY_BUF - start, 0);
		if (n == 0)
			d->eof = true;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		else if (n > 0)
			d->len += (size_t)n;
	}
	if ((rev_to & POLLOUT) && d->len > 0) {
		ssize_t n = send(to, d->buf + d->off, d->len, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n > 0) {
			d->off += (size_t)n;
			d->len -= (size_t)n;
			*count += (uint64_t)n;
			if (d->len == 0)
				d->off = 0;
		}
	}
	/* Half-close: forward EOF once everything before it was delivered. */
	if (d->eof && d->len == 0 && !d->shut) {
		(void)shutdown(to, SHUT_WR);
		d->shut = true;
	}
	return true;
}

static short want(const struct pipe_dir *in, const struct pipe_dir *out)
{
	short ev = 0;

	if (!in->eof && in->off + in->len < SB_PROXY_BUF)
		ev |= POLLIN;
	if (out->len > 0)
		ev |= POLLOUT;
	return ev;
}

static void relay_loop(struct relay *r)
{
	struct pollfd pf[3] = {{.fd = r->a}, {.fd = r->b}, {.fd = r->p->stop_fd, .events = POLLIN}};

	while (!(r->ab.shut && r->ba.shut)) {
		pf[0].events = want(&r->ab, &r->ba);
		pf[1].events = want(&r->ba, &r->ab);
		pf[0].revents = pf[1].revents = pf[2].revents = 0;
		int n = poll(pf, 3, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (pf[2].revents & POLLIN))
			return;
		if ((pf[0].revents | pf[1].revents) & POLLNVAL)
			return;
		if (!pump(r->a, r->b, &r->ab, pf[0].revents, pf[1].revents, &r->bytes_ab) ||
		    !pump(r->b, r->a, &r->ba, pf[1].revents, pf[0].revents, &r->bytes_ba))
			return;
	}
}

/* With p->mu held: r's thread is gone (or never ran); wakes sb_proxy_run's wait. */
static void relay_retire(struct sb_proxy *p, struct relay *r)
{
	relay_unlink(p, r);
	if (--p->active == 0)
		pthread_cond_broadcast(&p->idle);
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	struct sb_proxy *p = r->p;

	if (!relay_admit(r)) {
		/* stopping before its turn came */
	} else if ((r->b = connect_target(p)) < 0) {
		sb_log_warn("proxy: cannot connect to %s:%u", p->cfg.host, p->cfg.port);
	} else if (set_nonblock(r->a)) {
		relay_loop(r);
		sb_log_debug("proxy: connection closed (%llu bytes out, %llu bytes back)",
			     (unsigned long long)r->bytes_ab, (unsigned long long)r->bytes_ba);
	}
	if (r->b >= 0)
		close(r->b);
	/* Out of the open list before its fd goes: reap_closed polls the fds on it. */
	pthread_mutex_lock(&p->mu);
	relay_retire(p, r);
	pthread_mutex_unlock(&p->mu);
	close(r->a);
	free(r);
	return NULL;
}

static void start_relay(struct sb_proxy *p, int fd)
{
	struct relay *r = calloc(1, sizeof(*r));
	pthread_t t;
	pthread_attr_t attr;
	bool full;

	if (r == NULL) {
		sb_log_warn("proxy: refusing a connection (out of memory)");
		close(fd);
		return;
	}
	r->p = p;
	r->a = fd;
	r->b = -1;
	pthread_mutex_lock(&p->mu);
	reap_closed(p);
	/* Threads, not the open count: a closed connection still waiting for its
	 * turn keeps a thread, and a peer must not grow them past the limit. */
	full = p->active >= p->cfg.max_conns;
	if (!full) {
		/* Open, and in the queue for a worker, before its thread exists. */
		p->active++;
		p->open++;
		p->st.accepted++;
		if (p->open > p->st.peak_open)
			p->st.peak_open = p->open;
		r->next = p->relays;
		if (p->relays != NULL)
			p->relays->prev = r;
		p->relays = r;
		r->waiting = true;
		if (p->wait_tail != NULL)
			p->wait_tail->wait_next = r;
		else
			p->wait_head = r;
		p->wait_tail = r;
	}
	pthread_mutex_unlock(&p->mu);
	if (full) {
		sb_log_warn("proxy: refusing a connection (%u connections already)",
			    p->cfg.max_conns);
		close(fd);
		free(r);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, relay_main, r) == 0) {
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	sb_log_warn("proxy: refusing a connection (no thread)");
	pthread_mutex_lock(&p->mu);
	relay_retire(p, r); /* out of the queue: the next in line is not held up */
	pthread_cond_broadcast(&p->turn);
	pthread_mutex_unlock(&p->mu);
	close(fd);
	free(r);
}

SB_RESULT sb_proxy_run(struct sb_proxy *p)
{
	struct pollfd pf[2];

	SB_ENSURE_REF(p);
	pf[0] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
	pf[1] = (struct pollfd){.fd = p->stop_fd, .events = POLLIN};
	sb_log_info("proxy: relaying vsock port %u to %s:%u, %u connections served at once",
		    p->cfg.listen_port, p->cfg.host, p->cfg.port, p->cfg.num_workers);
	for (;;) {
		int n = poll(pf, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		SB_ENSURE_MSG(n > 0, SB_ERR_IO, "proxy: poll: %s", strerror(errno));
		if (pf[1].revents & POLLIN)
			break;
		if (!(pf[0].revents & POLLIN))
			continue;
		int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				sb_log_warn("proxy: accept: %s", strerror(errno));
			continue;
		}
		start_relay(p, fd);
	}
	/* Stop: relays see stop_fd readable (or, waiting, `stopping`) and end. */
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->turn);
	while (p->active > 0)
		pthread_cond_wait(&p->idle, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return SB_OK_RESULT;
}

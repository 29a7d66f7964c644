/*
 * The epoll server's internals, shared by sb_server.c (the loop, frames,
 * posts) and sb_server_timer.c (the Hello deadline and the idle timeout).
 * Nothing outside src/wire/sb_server*.c includes this.
 */
#ifndef SB_SERVER_INTERNAL_H
#define SB_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"
#include "wire/sb_frame.h"
#include "wire/sb_msg.h"
#include "wire/sb_server.h"

#define SB_SERVER_READ_CHUNK (64u * 1024u)
/* Backpressure: stop reading a peer whose replies pile up, resume once drained. */
#define SB_SERVER_OUT_HIGH (1024u * 1024u)
#define SB_SERVER_OUT_LOW  (256u * 1024u)
/* Past this the peer is not reading at all: the connection is dropped. */
#define SB_SERVER_OUT_MAX       (4u * (SB_FRAME_HEADER_LEN + SB_FRAME_MAX_PAYLOAD))
#define SB_SERVER_POSTS_MAX     (256u * 1024u * 1024u)
#define SB_SERVER_DEFAULT_CONNS 64u
#define SB_SERVER_MAX_CONNS     4096u
#define SB_SERVER_MAX_WATCH     4u
#define SB_SERVER_EVENTS        64

/* epoll tags: small numbers for the server's own fds; connection ids are >= 1 << 16. */
enum { TAG_LISTEN = 1, TAG_WAKE = 2, TAG_WATCH = 3 };
#define SB_CONN_SLOT_BITS 16u

struct conn {
	uint64_t id; /* (sequence << 16) | slot: never reused */
	int fd;
	uint32_t state;
	uint16_t version;
	struct sb_frame_decoder in;
	struct sb_buf out;
	void *app_state;
	bool opened;          /* conn_open succeeded: conn_close owes a call */
	bool closing;         /* read no more; close once out is flushed */
	bool abort;           /* close at the next flush, dropping out */
	bool reading;         /* EPOLLIN armed */
	bool writing;         /* EPOLLOUT armed */
	uint64_t deadline_ns; /* monotonic; 0 = none (sb_server_timer.c) */
};

/* A response posted from another thread: one encoded frame. */
struct post {
	struct post *next;
	uint64_t conn_id;
	struct sb_buf frame;
};

struct watch {
	int fd;
	sb_server_watch_fn cb;
	void *arg;
};

struct sb_server {
	int epfd;
	int listen_fd;
	int wake_fd;
	struct sb_server_config cfg;
	struct sb_msg_hello hello; /* our side of the handshake */
	struct conn **conns;       /* max_conns slots */
	size_t max_conns;
	uint64_t seq;
	bool accept_paused;
	struct watch watches[SB_SERVER_MAX_WATCH];
	size_t nwatch;
	pthread_t loop_thread;
	atomic_bool running;
	atomic_bool stop;
	pthread_mutex_t lock; /* guards the post queue */
	struct post *post_head, *post_tail;
	size_t post_bytes;
	struct sb_server_stats stats;
	uint64_t hello_timeout_ns;
	uint64_t idle_timeout_ns;
	uint64_t next_deadline_ns; /* <= every connection's deadline; 0 = none */
};

/* sb_server.c: queue an Error frame (flags, id) on c; on failure c is dropped. */
void sb_server_conn_queue_error(struct sb_server *s, struct conn *c, uint8_t flags, uint32_t id,
                                int code, const char *message);
/* sb_server.c: write what the socket takes; closes (and frees c) when due. */
void sb_server_conn_flush(struct sb_server *s, struct conn *c);

/* sb_server_timer.c: (re)computes c's deadline from its state and now. */
void sb_server_timer_arm(struct sb_server *s, struct conn *c);
/* sb_server_timer.c: epoll_wait's timeout in ms, -1 when no deadline is set. */
int sb_server_timer_wait_ms(const struct sb_server *s);
/* sb_server_timer.c: sends an Error to and closes each connection past its deadline. */
void sb_server_timer_expire(struct sb_server *s);

#endif

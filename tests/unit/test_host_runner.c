/*
 * Unit tests for src/host/sb_runner: the parent's job runner against a fake
 * enclave (an sb_server on a Unix socket under SEALBID_VSOCK_DIR) whose
 * acknowledgements come from a separate thread, as slowly as a test asks.
 * The fake counts Input frames received and not yet acknowledged, the
 * number the enclave's window is about (SB_MSG_INPUT_WINDOW).
 *
 * Checked: every party's bytes arrive in order with the LAST flag on the
 * final chunk only (empty inputs, exact multiples of the chunk); never more
 * than 16 Inputs in flight, and the window is used in full; a 100 MB file
 * input streamed through sb_storage with the parent's peak RSS (VmHWM)
 * under 64 MiB; an Error reply to an Input and a failing reader fail the
 * run and leave output and receipt empty. Credentials: NeedCredentials on
 * an Input and on EndInputs is answered with SetCredentials from the
 * refresh callback (the job then completes); without a callback it fails
 * the run; credentials expiring before the job's timeout are refused
 * before anything is sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "aws/sb_storage.h"
#include "common/sb_time.h"
#include "host/sb_runner.h"
#include "wire/sb_server.h"
#include "wire/sb_vsock.h"

#define PORT      7311u
#define CID       16u
#define MAX_ACKS  4096
#define MAX_PARTY 4

struct party_seen {
	char name[SB_MSG_PARTY_NAME_MAX + 1];
	uint32_t next_seq;
	uint64_t bytes;
	uint64_t sum; /* sum of bytes * position, to catch reordering */
	unsigned lasts;
};

struct fake {
	char dir[64];
	struct sb_server *srv;
	pthread_t loop, acker;
	pthread_mutex_t m;
	pthread_cond_t cv;
	/* Acks the acker thread still owes: (conn, request id). */
	uint64_t ack_conn[MAX_ACKS];
	uint32_t ack_id[MAX_ACKS];
	size_t ack_head, ack_tail;
	unsigned ack_delay_us;
	/*
	 * Hold mode: acknowledge only once the window is full, or every input
	 * has ended (hold_lasts LAST chunks seen), or nothing came for a second
	 * (a parent that stops early): the fill does not depend on timing.
	 */
	bool hold;
	unsigned hold_lasts, lasts_seen;
	size_t pending, max_pending;
	bool violation, quit;
	const char *refuse_party; /* answer this party's first Input with an Error */
	size_t filler;            /* lines added to output.csv (a long Result) */
	struct party_seen parties[MAX_PARTY];
	size_t nparties;
	/* Credentials: ask for fresh ones on the first Input and/or on EndInputs. */
	bool need_on_input, need_on_end, asked_on_input, end_waiting;
	uint64_t end_conn, job_conn; /* job_conn: the latest BeginJob's connection */
	uint32_t end_id;
	unsigned creds_seen;
	char last_key[64];
	unsigned open_conns; /* connections the server has not closed yet */
};

static struct fake g_fake;

static struct party_seen *seen_party(struct fake *f, struct sb_slice name)
{
	for (size_t i = 0; i < f->nparties; i++)
		if (strlen(f->parties[i].name) == name.len &&
		    memcmp(f->parties[i].name, name.ptr, name.len) == 0)
			return &f->parties[i];
	if (f->nparties == MAX_PARTY)
		return NULL;
	struct party_seen *p = &f->parties[f->nparties++];
	memset(p, 0, sizeof(*p));
	memcpy(p->name, name.ptr, name.len);
	return p;
}

static sb_result post_result(struct fake *f, struct sb_server *srv, uint64_t conn, uint32_t id);

static sb_result need_creds(struct sb_server_request *req)
{
	struct sb_buf b = SB_BUF_INIT(16);
	sb_result rc = sb_msg_need_creds_append(&b, 1234567u);
	if (sb_ok(rc))
		rc = sb_server_reply(req, SB_MSG_NEED_CREDENTIALS, sb_buf_slice(&b));
	sb_buf_cleanup(&b);
	return rc;
}

static sb_result on_creds(struct sb_server_request *req)
{
	struct fake *f = &g_fake;
	struct sb_msg_creds c;
	bool finish;

	sb_msg_creds_init(&c);
	sb_result rc = sb_msg_creds_parse(req->payload, &c);
	pthread_mutex_lock(&f->m);
	f->creds_seen++;
	if (sb_ok(rc))
		(void)snprintf(f->last_key, sizeof(f->last_key), "%.*s",
			       (int)c.access_key_id.len, (const char *)c.access_key_id.data);
	finish = f->end_waiting;
	f->end_waiting = false;
	pthread_mutex_unlock(&f->m);
	sb_msg_creds_cleanup(&c);
	SB_GUARD(rc);
	if (req->state == SB_WIRE_STATE_READY)
		sb_server_set_state(req, SB_WIRE_STATE_CREDENTIALS);
	SB_GUARD(sb_server_reply(req, SB_MSG_SET_CREDENTIALS, SB_SLICE(NULL, 0)));
	return finish ? post_result(f, req->server, f->end_conn, f->end_id) : SB_OK_RESULT;
}

static sb_result on_begin(struct sb_server_request *req)
{
	static const uint8_t hash[48];
	g_fake.job_conn = req->conn_id; /* an earlier job's late Inputs are not asked about */
	sb_server_set_state(req, SB_WIRE_STATE_JOB);
	return sb_server_reply(req, SB_MSG_BEGIN_JOB, SB_SLICE(hash, sizeof(hash)));
}

static sb_result on_input(struct sb_server_request *req)
{
	struct fake *f = &g_fake;
	struct sb_msg_input in;
	bool refuse;

	SB_GUARD(sb_msg_input_parse(req->payload, &in));
	if (f->need_on_input && !f->asked_on_input && req->conn_id == f->job_conn) {
		f->asked_on_input = true;
		SB_GUARD(need_creds(req));
	}
	pthread_mutex_lock(&f->m);
	struct party_seen *p = seen_party(f, in.party);
	refuse = f->refuse_party != NULL && strlen(f->refuse_party) == in.party.len &&
		 memcmp(f->refuse_party, in.party.ptr, in.party.len) == 0;
	if (p == NULL || in.seq != p->next_seq || p->lasts != 0)
		f->violation = true;
	if (p != NULL) {
		for (size_t i = 0; i < in.chunk.len; i++)
			p->sum += (uint64_t)in.chunk.ptr[i] * (p->bytes + i + 1);
		p->bytes += in.chunk.len;
		p->next_seq = in.seq + 1;
		p->lasts += in.last ? 1u : 0u;
		f->lasts_seen += in.last ? 1u : 0u;
	}
	f->pending++;
	if (f->pending > f->max_pending)
		f->max_pending = f->pending;
	/* The enclave drops a job whose parent overruns the window. */
	if (f->pending > SB_MSG_INPUT_WINDOW)
		f->violation = true;
	if (!refuse) {
		f->ack_conn[f->ack_tail % MAX_ACKS] = req->conn_id;
		f->ack_id[f->ack_tail % MAX_ACKS] = req->id;
		f->ack_tail++;
		pthread_cond_broadcast(&f->cv);
	} else {
		f->pending--;
	}
	pthread_mutex_unlock(&f->m);
	if (refuse)
		return sb_server_reply_error(req, SB_ERR_JOB_INPUT, "refused by the test");
	return SB_OK_RESULT;
}

/* The Result: "bytes,sum" per party as output, a fixed receipt. */
static sb_result on_end(struct sb_server_request *req)
{
	struct fake *f = &g_fake;

	sb_server_set_state(req, SB_WIRE_STATE_DONE);
	if (f->need_on_end) { /* the Result waits for the fresh credentials */
		pthread_mutex_lock(&f->m);
		f->end_waiting = true;
		f->end_conn = req->conn_id;
		f->end_id = req->id;
		pthread_mutex_unlock(&f->m);
		return need_creds(req);
	}
	return post_result(f, req->server, req->conn_id, req->id);
}

static sb_result post_result(struct fake *f, struct sb_server *srv, uint64_t conn, uint32_t id)
{
	struct sb_buf out = SB_BUF_INIT(64u << 20);
	sb_result rc = SB_OK_RESULT;

	pthread_mutex_lock(&f->m);
	if (f->pending != 0)
		f->violation = true;
	for (size_t i = 0; i < f->nparties && sb_ok(rc); i++)
		rc = sb_buf_printf(&out, "%s,%llu,%llu,%u\n", f->parties[i].name,
				   (unsigned long long)f->parties[i].bytes,
				   (unsigned long long)f->parties[i].sum, f->parties[i].lasts);
	pthread_mutex_unlock(&f->m);
	/* A long output.csv: filler lines, so that ResultParts come first. */
	for (size_t i = 0; i < f->filler && sb_ok(rc); i++)
		rc = sb_buf_printf(&out, "filler,%zu\n", i);
	if (sb_ok(rc))
		rc = sb_server_post_result(srv, conn, id, sb_buf_slice(&out),
					   SB_SLICE_LIT("{\"receipt\":1}"));
	sb_buf_cleanup(&out);
	return rc;
}

static sb_result on_open(void *app, uint64_t conn_id, void **out_state)
{
	struct fake *f = app;
	(void)conn_id;
	*out_state = NULL;
	pthread_mutex_lock(&f->m);
	f->open_conns++;
	pthread_mutex_unlock(&f->m);
	return SB_OK_RESULT;
}

static void on_close(void *app, void *state)
{
	struct fake *f = app;
	(void)state;
	pthread_mutex_lock(&f->m);
	f->open_conns--;
	pthread_mutex_unlock(&f->m);
}

static const struct sb_server_dispatch table[] = {
	{SB_MSG_SET_CREDENTIALS, SB_MSG_SET_CREDENTIALS_STATES, on_creds},
	{SB_MSG_BEGIN_JOB, SB_WIRE_STATE_CREDENTIALS, on_begin},
	{SB_MSG_INPUT, SB_WIRE_STATE_JOB, on_input},
	{SB_MSG_END_INPUTS, SB_WIRE_STATE_JOB, on_end},
};

static bool may_ack(const struct fake *f, bool idle)
{
	if (f->ack_head == f->ack_tail)
		return false;
	return !f->hold || f->pending >= SB_MSG_INPUT_WINDOW || f->lasts_seen >= f->hold_lasts ||
	       idle;
}

/* Acknowledges Inputs in order, each after ack_delay_us (in hold mode, see above). */
static void *acker_main(void *arg)
{
	struct fake *f = arg;
	unsigned idle_ticks = 0;

	pthread_mutex_lock(&f->m);
	for (;;) {
		while (!f->quit && !may_ack(f, idle_ticks >= 100)) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 10000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			size_t before = f->ack_tail;
			if (pthread_cond_timedwait(&f->cv, &f->m, &until) == ETIMEDOUT &&
			    before == f->ack_tail)
				idle_ticks++;
			else
				idle_ticks = 0;
		}
		if (f->quit)
			break;
		idle_ticks = 0;
		unsigned delay = f->ack_delay_us;
		pthread_mutex_unlock(&f->m);
		if (delay > 0) {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)delay * 1000};
			(void)nanosleep(&ts, NULL);
		}
		pthread_mutex_lock(&f->m);
		uint64_t conn = f->ack_conn[f->ack_head % MAX_ACKS];
		uint32_t id = f->ack_id[f->ack_head % MAX_ACKS];
		f->ack_head++;
		f->pending--;
		pthread_mutex_unlock(&f->m);
		/* A post to a connection closed since (a failed job) is dropped. */
		sb_result r = sb_server_post(f->srv, conn, id, SB_MSG_INPUT, SB_SLICE(NULL, 0));
		(void)r;
		pthread_mutex_lock(&f->m);
	}
	pthread_mutex_unlock(&f->m);
	return NULL;
}

static void *loop_main(void *arg)
{
	struct fake *f = arg;
	sb_result r = sb_server_run(f->srv);
	assert_true(sb_ok(r));
	return NULL;
}

static int setup(void **state)
{
	struct fake *f = &g_fake;
	struct sb_server_config cfg = {.dispatch = table,
				       .dispatch_len = sizeof(table) / sizeof(table[0]),
				       .app = f,
				       .conn_open = on_open,
				       .conn_close = on_close};
	int lfd;

	memset(f, 0, sizeof(*f));
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/sb-runner-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	setenv(SB_VSOCK_ENV_DIR, f->dir, 1);
	setenv(SB_VSOCK_ENV_CID, "16", 1);
	pthread_mutex_init(&f->m, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (!sb_ok(sb_vsock_listen(PORT, &lfd)) || !sb_ok(sb_server_new(lfd, &cfg, &f->srv)))
		return -1;
	if (pthread_create(&f->loop, NULL, loop_main, f) != 0 ||
	    pthread_create(&f->acker, NULL, acker_main, f) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;
	char path[128];

	pthread_mutex_lock(&f->m);
	f->quit = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->m);
	pthread_join(f->acker, NULL);
	sb_server_stop(f->srv);
	pthread_join(f->loop, NULL);
	sb_server_free(f->srv);
	(void)snprintf(path, sizeof(path), "%s/%u.%u", f->dir, CID, PORT);
	(void)unlink(path);
	(void)rmdir(f->dir);
	return 0;
}

/* Resets what the fake saw, for the next job. */
static void fake_reset(struct fake *f, unsigned ack_delay_us, const char *refuse)
{
	pthread_mutex_lock(&f->m);
	/* Acks still owed to an earlier (failed) job are posted to nobody first. */
	while (f->ack_head != f->ack_tail) {
		pthread_mutex_unlock(&f->m);
		(void)nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
		pthread_mutex_lock(&f->m);
	}
	/* An earlier job's connection is gone before this one starts. */
	while (f->open_conns > 0) {
		pthread_mutex_unlock(&f->m);
		(void)nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
		pthread_mutex_lock(&f->m);
	}
	f->ack_delay_us = ack_delay_us;
	f->refuse_party = refuse;
	f->filler = 0;
	f->nparties = 0;
	f->max_pending = 0;
	f->hold = false;
	f->lasts_seen = 0;
	f->violation = false;
	f->need_on_input = f->need_on_end = f->asked_on_input = f->end_waiting = false;
	f->creds_seen = 0;
	f->last_key[0] = '\0';
	pthread_mutex_unlock(&f->m);
}

/* A synthetic input: len bytes of a pattern, or a failure after fail_at bytes. */
struct gen {
	uint64_t len, off, fail_at;
};

static uint8_t gen_byte(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

static sb_result gen_read(void *ctx, uint8_t *buf, size_t cap, size_t *n)
{
	struct gen *g = ctx;
	size_t k = 0;

	SB_ENSURE_MSG(g->fail_at == 0 || g->off < g->fail_at, SB_ERR_IO, "test reader fails");
	while (k < cap && g->off < g->len)
		buf[k++] = gen_byte(g->off++);
	*n = k;
	return SB_OK_RESULT;
}

static uint64_t gen_sum(uint64_t len)
{
	uint64_t s = 0;
	for (uint64_t i = 0; i < len; i++)
		s += (uint64_t)gen_byte(i) * (i + 1);
	return s;
}

static struct sb_runner_opts opts(void)
{
	return (struct sb_runner_opts){.cid = CID, .port = PORT, .connect_ms = 5000,
				       .job_ms = 60000};
}

static struct sb_msg_creds *test_creds(void)
{
	static struct sb_msg_creds c;
	sb_msg_creds_init(&c);
	assert_true(sb_ok(sb_buf_set(&c.access_key_id, SB_SLICE_LIT("AKIATESTRUNNER000001"))));
	assert_true(sb_ok(sb_buf_set(&c.secret_access_key, SB_SLICE_LIT("not-a-real-secret"))));
	return &c;
}

static void test_streams_every_size(void **state)
{
	struct fake *f = *state;
	const uint64_t sizes[] = {0, 1, SB_RUNNER_CHUNK - 1, SB_RUNNER_CHUNK,
				  2 * (uint64_t)SB_RUNNER_CHUNK, 3 * (uint64_t)SB_RUNNER_CHUNK + 5};
	const char *names[] = {"alice", "bob"};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct gen g[2] = {{.len = sizes[s]}, {.len = 7}};
		struct sb_runner_input in[2] = {{names[0], gen_read, &g[0]},
						{names[1], gen_read, &g[1]}};
		struct sb_buf out = SB_BUF_INIT(1u << 20), rec = SB_BUF_INIT(1u << 20);
		char want[256];
		struct sb_msg_creds *c = test_creds();
		struct sb_runner_opts o = opts();

		fake_reset(f, 0, NULL);
		assert_true(sb_ok(sb_runner_run(&o, c, SB_SLICE_LIT("{}"), in, 2, &out, &rec)));
		(void)snprintf(want, sizeof(want), "alice,%llu,%llu,1\nbob,7,%llu,1\n",
			       (unsigned long long)sizes[s], (unsigned long long)gen_sum(sizes[s]),
			       (unsigned long long)gen_sum(7));
		assert_string_equal(sb_buf_cstr(&out), want);
		assert_string_equal(sb_buf_cstr(&rec), "{\"receipt\":1}");
		assert_false(f->violation);
		sb_msg_creds_cleanup(c);
		sb_buf_cleanup(&out);
		sb_buf_cleanup(&rec);
	}
}

/* An output.csv over one frame arrives as ResultParts and the Result, in order. */
static void test_long_result_in_parts(void **state)
{
	struct fake *f = *state;
	const size_t fillers[] = {0, 1, 400000, 700000}; /* up to ~10 MiB: 2 parts */
	const char *names[] = {"alice", "bob"};

	for (size_t k = 0; k < sizeof(fillers) / sizeof(fillers[0]); k++) {
		struct gen g[2] = {{.len = 10}, {.len = 7}};
		struct sb_runner_input in[2] = {{names[0], gen_read, &g[0]},
						{names[1], gen_read, &g[1]}};
		struct sb_buf out = SB_BUF_INIT(64u << 20), rec = SB_BUF_INIT(1u << 20);
		struct sb_msg_creds *c = test_creds();
		struct sb_runner_opts o = opts();

		fake_reset(f, 0, NULL);
		f->filler = fillers[k];
		assert_true(sb_ok(sb_buf_append_str(&out, "kept|")));
		assert_true(sb_ok(sb_runner_run(&o, c, SB_SLICE_LIT("{}"), in, 2, &out, &rec)));
		const char *s = sb_buf_cstr(&out);
		assert_int_equal(strncmp(s, "kept|alice,10,", 14), 0);
		size_t lines = 0, next = 0;
		/* Line by line (strstr would rescan the rest under ASan). */
		for (const char *p = s, *end = s + out.len; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (strncmp(p, "filler,", 7) == 0) {
				assert_int_equal(strtoul(p + 7, NULL, 10), next++); /* every line, in order */
				lines++;
			}
			p = nl != NULL ? nl + 1 : end;
		}
		assert_int_equal(lines, fillers[k]);
		assert_string_equal(sb_buf_cstr(&rec), "{\"receipt\":1}");
		sb_msg_creds_cleanup(c);
		sb_buf_cleanup(&out);
		sb_buf_cleanup(&rec);
	}
}

/*
 * Held acks: the parent must wait for one before its 17th Input in flight,
 * and (deterministically) it does fill the window.
 */
static void test_window_is_respected_and_used(void **state)
{
	struct fake *f = *state;
	struct gen g[2] = {{.len = 40 * (uint64_t)SB_RUNNER_CHUNK}, {.len = 3}};
	struct sb_runner_input in[2] = {{"alice", gen_read, &g[0]}, {"bob", gen_read, &g[1]}};
	struct sb_buf out = SB_BUF_INIT(1u << 20), rec = SB_BUF_INIT(1u << 20);
	struct sb_runner_opts o = opts();
	struct sb_msg_creds *c = test_creds();

	fake_reset(f, 0, NULL);
	pthread_mutex_lock(&f->m);
	f->hold = true;
	f->hold_lasts = 2;
	pthread_mutex_unlock(&f->m);
	assert_true(sb_ok(sb_runner_run(&o, c, SB_SLICE_LIT("{}"), in, 2, &out, &rec)));
	assert_false(f->violation);
	assert_true(f->max_pending <= SB_MSG_INPUT_WINDOW);
	/* Acks held until the window is full: the limit is what bounds it. */
	assert_int_equal(f->max_pending, SB_MSG_INPUT_WINDOW);
	sb_msg_creds_cleanup(c);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&rec);
}

/*
 * Under valgrind or ASan the process's RSS is the tool's (shadow memory,
 * quarantined frees), not the runner's: the bound is checked only natively.
 */
static bool rss_is_meaningful(void)
{
	const char *pre = getenv("LD_PRELOAD");
#if defined(__SANITIZE_ADDRESS__)
	return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return false;
#endif
#endif
	return pre == NULL || strstr(pre, "vgpreload") == NULL;
}

static long vm_hwm_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

static sb_result storage_read(void *ctx, uint8_t *buf, size_t cap, size_t *n)
{
	return sb_storage_read(ctx, buf, cap, n);
}

/* 100 MB through sb_storage: peak RSS stays O(chunk * window). */
static void test_large_file_bounded_rss(void **state)
{
	struct fake *f = *state;
	const uint64_t size = 100ull * 1000 * 1000;
	char path[128], uri[160], want[128];
	struct sb_storage *st = NULL;
	struct sb_storage_reader *rd = NULL;
	struct gen small = {.len = 1};
	struct sb_buf out = SB_BUF_INIT(1u << 20), rec = SB_BUF_INIT(1u << 20);
	struct sb_runner_opts o = opts();
	struct sb_msg_creds *c = test_creds();
	int fd;

	(void)snprintf(path, sizeof(path), "%s/big.csv", f->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	/* Sparse: 100 MB of zeros that cost no disk; the last byte marks the end. */
	assert_int_equal(pwrite(fd, "z", 1, (off_t)size - 1), 1);
	close(fd);
	(void)snprintf(uri, sizeof(uri), "file://%s", path);
	assert_true(sb_ok(sb_storage_new(NULL, &st)));
	assert_true(sb_ok(sb_storage_open(st, uri, &rd)));
	assert_int_equal(sb_storage_reader_size(rd), size);
	struct sb_runner_input in[2] = {{"alice", storage_read, rd}, {"bob", gen_read, &small}};

	fake_reset(f, 0, NULL);
	assert_true(sb_ok(sb_runner_run(&o, c, SB_SLICE_LIT("{}"), in, 2, &out, &rec)));
	(void)snprintf(want, sizeof(want), "alice,%llu,%llu,1\n", (unsigned long long)size,
		       (unsigned long long)'z' * size);
	assert_memory_equal(sb_buf_cstr(&out), want, strlen(want));
	assert_false(f->violation);
	long hwm = vm_hwm_kib();
	fprintf(stderr, "test_host_runner: 100 MB input sent, VmHWM %ld KiB\n", hwm);
	assert_true(hwm > 0);
	if (rss_is_meaningful())
		assert_true(hwm < 64 * 1024);
	sb_storage_close(rd);
	sb_storage_free(st);
	(void)unlink(path);
	sb_msg_creds_cleanup(c);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&rec);
}

static void test_refused_input_fails(void **state)
{
	struct fake *f = *state;
	struct gen g[2] = {{.len = 5 * (uint64_t)SB_RUNNER_CHUNK}, {.len = 3}};
	struct sb_runner_input in[2] = {{"alice", gen_read, &g[0]}, {"bob", gen_read, &g[1]}};
	struct sb_buf out = SB_BUF_INIT(1u << 20), rec = SB_BUF_INIT(1u << 20);
	struct sb_runner_opts o = opts();
	struct sb_msg_creds *c = test_creds();

	fake_reset(f, 0, "bob");
	assert_int_equal(sb_runner_run(&o, c, SB_SLICE_LIT("{}"), in, 2, &out, &rec).code,
			 SB_ERR_WIRE_REMOTE);
	assert_int_equal(out.len, 0);
	assert_int_equal(rec.len, 0);
	sb_msg_creds_cleanup(c);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&rec);
}

static void test_failing_reader_fails(void **state)
{
	struct fake *f = *state;
	struct gen g[2] = {{.len = 3}, {.len = 9 * (uint64_t)SB_RUNNER_CHUNK,
					.fail_at = 4 * (uint64_t)SB_RUNNER_CHUNK}};
	struct sb_runner_input in[2] = {{"alice", gen_read, &g[0]}, {"bob", gen_read, &g[1]}};
	struct sb_buf out = SB_BUF_INIT(1u << 20), rec = SB_BUF_INIT(1u << 20);
	struct sb_runner_opts o = opts();
	struct sb_msg_creds *c = test_creds();

	fake_reset(f, 0, NULL);
	assert_int_equal(sb_runner_run(&o, c, SB_SLICE_LIT("{}"), in, 2, &out, &rec).code,
			 SB_ERR_IO);
	assert_non_null(strstr(sb_error_describe(), "input of bob"));
	assert_int_equal(out.len, 0);
	assert_int_equal(rec.len, 0);
	in[1].read = NULL;
	assert_int_equal(sb_runner_run(&o, c, SB_SLICE_LIT("{}"), in, 2, &out, &rec).code,
			 SB_ERR_NULL);
	sb_msg_creds_cleanup(c);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&rec);
}

static unsigned g_refreshes;

static sb_result fresh_creds(void *ctx, struct sb_msg_creds *out)
{
	(void)ctx;
	g_refreshes++;
	SB_GUARD(sb_buf_set(&out->access_key_id, SB_SLICE_LIT("AKIATESTFRESH0000002")));
	SB_GUARD(sb_buf_set(&out->secret_access_key, SB_SLICE_LIT("another-fake-secret")));
	out->expiration_ms = 4102444800000ull; /* 2100 */
	return SB_OK_RESULT;
}

static void test_need_creds_is_answered(void **state)
{
	struct fake *f = *state;
	struct gen g[2] = {{.len = 3 * (uint64_t)SB_RUNNER_CHUNK + 5}, {.len = 7}};
	struct sb_runner_input in[2] = {{"alice", gen_read, &g[0]}, {"bob", gen_read, &g[1]}};
	struct sb_buf out = SB_BUF_INIT(1u << 20), rec = SB_BUF_INIT(1u << 20);
	struct sb_runner_opts o = opts();
	struct sb_msg_creds *c = test_creds();
	char want[128];

	fake_reset(f, 0, NULL);
	f->need_on_input = f->need_on_end = true;
	o.refresh = fresh_creds;
	g_refreshes = 0;
	assert_true(sb_ok(sb_runner_run(&o, c, SB_SLICE_LIT("{}"), in, 2, &out, &rec)));
	assert_int_equal(g_refreshes, 2);
	assert_int_equal(f->creds_seen, 3); /* the first, then one per NeedCredentials */
	assert_string_equal(f->last_key, "AKIATESTFRESH0000002");
	assert_true(f->asked_on_input);
	assert_false(f->violation);
	(void)snprintf(want, sizeof(want), "alice,%llu,%llu,1\n",
		       (unsigned long long)(3 * (uint64_t)SB_RUNNER_CHUNK + 5),
		       (unsigned long long)gen_sum(3 * (uint64_t)SB_RUNNER_CHUNK + 5));
	assert_memory_equal(out.data, want, strlen(want));
	assert_true(sb_slice_eq_str(sb_buf_slice(&rec), "{\"receipt\":1}"));
	sb_msg_creds_cleanup(c);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&rec);
}

static void test_need_creds_without_refresh_fails(void **state)
{
	struct fake *f = *state;
	struct gen g[1] = {{.len = 2 * (uint64_t)SB_RUNNER_CHUNK}};
	struct sb_runner_input in[1] = {{"alice", gen_read, &g[0]}};
	struct sb_buf out = SB_BUF_INIT(1u << 20), rec = SB_BUF_INIT(1u << 20);
	struct sb_runner_opts o = opts();
	struct sb_msg_creds *c = test_creds();

	fake_reset(f, 0, NULL);
	f->need_on_end = true;
	assert_int_equal(sb_runner_run(&o, c, SB_SLICE_LIT("{}"), in, 1, &out, &rec).code,
			 SB_ERR_AWS_CREDENTIALS_EXPIRE);
	assert_non_null(strstr(sb_error_describe(), "cannot refresh"));
	assert_int_equal(f->creds_seen, 1);
	assert_int_equal(out.len, 0);
	assert_int_equal(rec.len, 0);
	sb_msg_creds_cleanup(c);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&rec);
}

static void test_expiring_creds_refused_at_start(void **state)
{
	struct fake *f = *state;
	struct gen g[1] = {{.len = 10}};
	struct sb_runner_input in[1] = {{"alice", gen_read, &g[0]}};
	struct sb_buf out = SB_BUF_INIT(1u << 20), rec = SB_BUF_INIT(1u << 20);
	struct sb_runner_opts o = opts(); /* job_ms 60 s */
	struct sb_msg_creds *c = test_creds();
	const uint64_t now = 1700000000000ull;

	/* Pure rule: never-expiring, long enough, refreshable pass; else refused. */
	c->expiration_ms = 0;
	assert_true(sb_ok(sb_runner_check_creds(&o, c, now)));
	c->expiration_ms = now + 60000 + SB_RUNNER_CREDS_MARGIN_MS;
	assert_true(sb_ok(sb_runner_check_creds(&o, c, now)));
	c->expiration_ms = now + 60000 + SB_RUNNER_CREDS_MARGIN_MS - 1;
	assert_int_equal(sb_runner_check_creds(&o, c, now).code, SB_ERR_AWS_CREDENTIALS_EXPIRE);
	assert_non_null(strstr(sb_error_describe(), "cannot be refreshed"));
	c->expiration_ms = now - 5000; /* already expired */
	assert_int_equal(sb_runner_check_creds(&o, c, now).code, SB_ERR_AWS_CREDENTIALS_EXPIRE);
	assert_non_null(strstr(sb_error_describe(), "expire in -5 s"));
	o.refresh = fresh_creds;
	assert_true(sb_ok(sb_runner_check_creds(&o, c, now)));
	o.refresh = NULL;
	assert_int_equal(sb_runner_check_creds(NULL, c, now).code, SB_ERR_NULL);

	/* A run with such credentials sends nothing at all. */
	fake_reset(f, 0, NULL);
	c->expiration_ms = sb_time_now_ms() + 20000;
	assert_int_equal(sb_runner_run(&o, c, SB_SLICE_LIT("{}"), in, 1, &out, &rec).code,
			 SB_ERR_AWS_CREDENTIALS_EXPIRE);
	assert_int_equal(f->creds_seen, 0);
	assert_int_equal(f->nparties, 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(rec.len, 0);
	sb_msg_creds_cleanup(c);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_file_bounded_rss),
		cmocka_unit_test(test_streams_every_size),
		cmocka_unit_test(test_long_result_in_parts),
		cmocka_unit_test(test_window_is_respected_and_used),
		cmocka_unit_test(test_refused_input_fails),
		cmocka_unit_test(test_failing_reader_fails),
		cmocka_unit_test(test_need_creds_is_answered),
		cmocka_unit_test(test_need_creds_without_refresh_fails),
		cmocka_unit_test(test_expiring_creds_refused_at_start),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

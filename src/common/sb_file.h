/*
 * Files: bounded reads and atomic writes (temporary file in the same
 * directory, fsync, rename, fsync of the directory), so a reader sees the
 * old contents or the new, never a partial file.
 */
#ifndef SB_FILE_H
#define SB_FILE_H

#include <limits.h>
#include <stdint.h>

#include "common/sb_buf.h"

/* Appends the whole file to out; fails with SB_ERR_TOO_LARGE past out->max. */
SB_RESULT sb_file_read(const char *path, struct sb_buf *out);
/*
 * Whether path may be replaced by a write: it is missing or a regular file
 * (lstat: a symlink is not followed). Anything else is SB_ERR_NOT_REGULAR.
 */
SB_RESULT sb_file_check_replaceable(const char *path);
/*
 * Replaces path atomically with data, mode 0600 or 0644; only a regular
 * file or nothing is replaced (sb_file_check_replaceable, at open and just
 * before the rename).
 */
SB_RESULT sb_file_write_atomic(const char *path, struct sb_slice data, unsigned mode);
/*
 * The same, streamed: bytes go to a temporary file (mode 0600 from the
 * start) next to path; sb_file_out_commit sets mode, fsyncs and renames it
 * over path; sb_file_out_abort (or any failed write or commit) unlinks it,
 * so path never holds a partial file. Caller storage; after _open, call
 * _commit or _abort exactly as needed (_abort is idempotent and a no-op
 * after a commit).
 */
struct sb_file_out {
	int fd; /* -1 when closed */
	char path[PATH_MAX];
	char tmp[PATH_MAX];
};

SB_RESULT sb_file_out_open(struct sb_file_out *o, const char *path);
SB_RESULT sb_file_out_write(struct sb_file_out *o, struct sb_slice data);
SB_RESULT sb_file_out_commit(struct sb_file_out *o, unsigned mode);
void sb_file_out_abort(struct sb_file_out *o);
/* Reads all of fd until EOF into out (bounded by out->max). */
SB_RESULT sb_fd_read_all(int fd, struct sb_buf *out);
/* Writes all of data to fd, retrying short writes and EINTR. */
SB_RESULT sb_fd_write_all(int fd, struct sb_slice data);
/*
 * Opens an existing regular file for reading without ever blocking or
 * following a final symbolic link (O_NONBLOCK | O_NOFOLLOW, then fstat): a
 * FIFO, device, directory or symlink is SB_ERR_NOT_REGULAR. Out: the fd
 * (caller closes) and the size at open time (size may be NULL).
 */
SB_RESULT sb_file_open_regular(const char *path, int *out_fd, uint64_t *size);
/*
 * Reads up to cap bytes into buf, fewer only at end of file (*n = 0 there),
 * giving up with SB_ERR_TIMEOUT when deadline_ns (sb_time_mono_ns; 0 = none)
 * passes while the fd has nothing to read.
 */
SB_RESULT sb_fd_read_full(int fd, uint8_t *buf, size_t cap, uint64_t deadline_ns, size_t *n);
/*
 * The local stack's state directory (dev CA, enclave records): $SEALBID_STATE,
 * else $XDG_STATE_HOME/sealbid, else $HOME/.local/state/sealbid.
 */
SB_RESULT sb_state_dir(char *out, size_t cap);
/* mkdir -p with mode for each created component. */
SB_RESULT sb_mkdir_p(const char *path, unsigned mode);

#endif

/*
 * Files: bounded reads and atomic writes (temporary file in the same
 * directory, fsync, rename, fsync of the directory), so a reader sees the
 * old contents or the new, never a partial file.
 */
#ifndef SB_FILE_H
#define SB_FILE_H

#include <limits.h>

#include "common/sb_buf.h"

/* Appends the whole file to out; fails with SB_ERR_TOO_LARGE past out->max. */
SB_RESULT sb_file_read(const char *path, struct sb_buf *out);
/* Replaces path atomically with data, mode 0600 or 0644. */
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
 * The local stack's state directory (dev CA, enclave records): $SEALBID_STATE,
 * else $XDG_STATE_HOME/sealbid, else $HOME/.local/state/sealbid.
 */
SB_RESULT sb_state_dir(char *out, size_t cap);
/* mkdir -p with mode for each created component. */
SB_RESULT sb_mkdir_p(const char *path, unsigned mode);

#endif

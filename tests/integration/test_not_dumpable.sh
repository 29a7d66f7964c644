#!/usr/bin/env bash
# Issue 10 item 14: sealbid-enclave and sealbid-kms are not dumpable
# (prctl PR_SET_DUMPABLE 0). The kernel makes a non-dumpable process's
# /proc/PID files owned by root instead of by the process's user, so: run
# each server as an unprivileged user (nobody, via setpriv, when the test
# runs as root; else as ourselves) and check that /proc/PID/status and
# /proc/PID/mem are owned by uid 0 while the process's own uid is not 0.
# A dumpable server fails the check. Core dumps and same-user ptrace are
# refused by the same flag; secret buffers' pages are also MADV_DONTDUMP
# (unit test test_common).
set -euo pipefail
: "${SB_BIN:?SB_BIN must point at the bin directory of a build}"

WORK=$(mktemp -d /tmp/sb-dump-XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; cat "$WORK"/*.log >&2 2>/dev/null || true; exit 1; }

if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed when run as root"
	AS=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
	RUN_UID=65534
else
	AS=()
	RUN_UID=$(id -u)
fi
chmod 0777 "$WORK"

# check NAME PID: the process runs as RUN_UID, its /proc files belong to root.
check() {
	local name=$1 pid=$2 uid f owner
	uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
	[ "$uid" = "$RUN_UID" ] || fail "$name runs as uid $uid, expected $RUN_UID"
	for f in status mem environ; do
		owner=$(stat -c %u "/proc/$pid/$f")
		[ "$owner" = 0 ] || fail "$name: /proc/$pid/$f is owned by uid $owner: the process is dumpable"
	done
	echo "ok   $name (pid $pid, uid $uid) is not dumpable"
}

# wait_for FILE TEXT PID
wait_for() {
	for _ in $(seq 1 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || fail "$1: exited at start"
		sleep 0.05
	done
	fail "$1: no '$2'"
}

# The test's own helpers are dumpable, so the check can tell (sleep as RUN_UID).
"${AS[@]}" sleep 30 &
PIDS+=($!)
sleep 0.2
owner=$(stat -c %u "/proc/${PIDS[0]}/status")
[ "$owner" = "$RUN_UID" ] || fail "a dumpable process's /proc files belong to uid $owner"
echo "ok   control: a dumpable process's /proc files belong to its user"

SEALBID_VSOCK_DIR="$WORK" SEALBID_VSOCK_CID=16 SEALBID_LOG=info \
	"${AS[@]}" "$SB_BIN/sealbid-enclave" --port 5005 2>"$WORK/enclave.log" &
PIDS+=($!)
wait_for "$WORK/enclave.log" "listening on port 5005" "${PIDS[1]}"
check sealbid-enclave "${PIDS[1]}"
SEALBID_VSOCK_DIR="$WORK" "$SB_BIN/sealbid" ping --cid 16 --port 5005 --count 2 >/dev/null ||
	fail "the enclave does not answer"

mkdir -m 0777 "$WORK/kms"
"${AS[@]}" "$SB_BIN/sealbid-kms" --listen 127.0.0.1:0 --data "$WORK/kms" \
	--port-file "$WORK/kms/port" 2>"$WORK/kms.log" &
PIDS+=($!)
wait_for "$WORK/kms.log" "listening on" "${PIDS[2]}"
check sealbid-kms "${PIDS[2]}"

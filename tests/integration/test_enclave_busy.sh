#!/usr/bin/env bash
# Issue 10 item 5: silent connections cannot lock parents out of the enclave.
# sealbid-enclave serves on the Unix mapping (SEALBID_VSOCK_DIR) with a short
# Hello deadline; a python3 peer opens 64 connections (every slot) and sends
# nothing. A new `sealbid ping` is then told "enclave busy" (not "Broken
# pipe"); once the Hello deadline has passed every silent connection has
# been sent an Error and closed, and ping works again. No AF_VSOCK socket.
set -euo pipefail
: "${SB_BIN:?SB_BIN must point at the bin directory of a build}"

WORK=$(mktemp -d /tmp/sb-busy-XXXXXX)
ENCLAVE_PID=""
HOLD_PID=""
cleanup() {
	for p in $HOLD_PID $ENCLAVE_PID; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -20 "$WORK/enclave.log" >&2 || true; exit 1; }

export SEALBID_VSOCK_DIR="$WORK"
HELLO_MS=2000
SEALBID_VSOCK_CID=16 SEALBID_LOG=info "$SB_BIN/sealbid-enclave" --port 5005 \
	--hello-timeout "$HELLO_MS" 2>"$WORK/enclave.log" &
ENCLAVE_PID=$!
for _ in $(seq 1 200); do
	grep -q "listening on port 5005" "$WORK/enclave.log" && break
	kill -0 "$ENCLAVE_PID" 2>/dev/null || fail "enclave exited at start"
	sleep 0.05
done
grep -q "listening on port 5005" "$WORK/enclave.log" || fail "enclave did not start"

"$SB_BIN/sealbid" ping --cid 16 --port 5005 --count 1 >/dev/null || fail "first ping"
echo "ok   ping before the flood"

# 64 silent connections; the script reports each one's fate once closed.
python3 - "$WORK/16.5005" 64 >"$WORK/hold.out" 2>&1 <<'PY' &
import socket, struct, sys, time
path, n = sys.argv[1], int(sys.argv[2])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    socks.append(s)
print("ready", flush=True)
deadline = time.monotonic() + 30
codes = []
for s in socks:
    s.settimeout(max(0.1, deadline - time.monotonic()))
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        print("no close:", e, flush=True)
        sys.exit(1)
    # One Error frame: magic, version, flags, type 0x0003?, length, id; then code.
    if len(data) < 20:
        print("no Error frame", flush=True)
        sys.exit(1)
    magic, ver, flags, typ, length, rid = struct.unpack(">IBBHII", data[:16])
    codes.append(struct.unpack(">I", data[16:20])[0])
print("closed", len(codes), "codes", sorted(set(codes)), flush=True)
PY
HOLD_PID=$!
for _ in $(seq 1 200); do
	grep -q ready "$WORK/hold.out" && break
	sleep 0.05
done
grep -q ready "$WORK/hold.out" || fail "the python peer did not connect: $(cat "$WORK/hold.out")"
T0=$(date +%s%N)

rc=0
"$SB_BIN/sealbid" ping --cid 16 --port 5005 --count 1 >"$WORK/out" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] || fail "ping with every slot taken: exit $rc: $(cat "$WORK/err")"
grep -q "enclave busy" "$WORK/err" || fail "ping with every slot taken says: $(cat "$WORK/err")"
! grep -qi "broken pipe" "$WORK/err" || fail "broken pipe reported: $(cat "$WORK/err")"
echo "ok   a new ping is told: $(cat "$WORK/err")"

# The silent peers are closed with an Error once the Hello deadline passes.
wait "$HOLD_PID" || fail "silent connections: $(cat "$WORK/hold.out")"
HOLD_PID=""
T1=$(date +%s%N)
grep -q "closed 64 codes" "$WORK/hold.out" || fail "silent connections: $(cat "$WORK/hold.out")"
elapsed=$(((T1 - T0) / 1000000))
[ "$elapsed" -le $((HELLO_MS + 5000)) ] || fail "silent connections closed after $elapsed ms"
echo "ok   64 silent connections closed after ${elapsed} ms: $(cat "$WORK/hold.out")"
grep -q "no Hello in time" "$WORK/enclave.log" || fail "no log line for the deadline"

"$SB_BIN/sealbid" ping --cid 16 --port 5005 --count 3 >/dev/null || fail "ping after the deadline"
echo "ok   ping works again after the Hello deadline"

# Usage: the deadline options are checked.
for bad in 0 abc 99999999999; do
	rc=0
	SEALBID_VSOCK_CID=16 "$SB_BIN/sealbid-enclave" --port 5006 --hello-timeout "$bad" \
		>/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "--hello-timeout $bad: exit $rc"
done
echo "ok   bad --hello-timeout values are usage errors"

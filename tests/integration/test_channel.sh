#!/usr/bin/env bash
# Integration test of the parent<->enclave channel over the Unix mapping
# (SEALBID_VSOCK_DIR): sealbid-enclave serves, `sealbid ping` measures round
# trips, raw bad frames from a python3 peer each get an Error frame and a
# close, and the enclave keeps answering afterwards; SIGTERM stops it cleanly.
# No AF_VSOCK socket is ever created.
set -euo pipefail
: "${SB_BIN:?SB_BIN must point at the bin directory of a build}"

WORK=$(mktemp -d /tmp/sb-channel-XXXXXX)
ENCLAVE_PID=""
DRAIN_PID=""
cleanup() {
	if [ -n "$ENCLAVE_PID" ]; then
		kill "$ENCLAVE_PID" 2>/dev/null || true
		wait "$ENCLAVE_PID" 2>/dev/null || true
	fi
	if [ -n "$DRAIN_PID" ]; then wait "$DRAIN_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

export SEALBID_VSOCK_DIR="$WORK"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1" >&2; }

# Start the enclave; its log goes through a FIFO so we can wait for
# "listening" without polling, then keep draining it into a file.
mkfifo "$WORK/log.fifo"
SEALBID_VSOCK_CID=16 SEALBID_LOG=info "$SB_BIN/sealbid-enclave" --port 5005 2>"$WORK/log.fifo" &
ENCLAVE_PID=$!
exec 3<"$WORK/log.fifo"
ready=0
while IFS= read -r -t 20 -u 3 line; do
	echo "$line" >>"$WORK/enclave.log"
	if [[ $line == *"listening on port 5005"* ]]; then ready=1; break; fi
done
cat <&3 >>"$WORK/enclave.log" &
DRAIN_PID=$!
exec 3<&-
[ "$ready" = 1 ] || { cat "$WORK/enclave.log" >&2; echo "enclave did not start" >&2; exit 1; }
ok "enclave listens on $WORK/16.5005"

# 1. sealbid ping, human and JSON output.
if out=$("$SB_BIN/sealbid" ping --cid 16 --port 5005 --count 100 2>&1) &&
	grep -q "100 pings" <<<"$out" && grep -q "median" <<<"$out"; then
	ok "sealbid ping --count 100"
else
	bad "sealbid ping --count 100: $out"
fi
if json=$("$SB_BIN/sealbid" ping --cid 16 --port 5005 --count 100 --window 8 --size 512 --json) &&
	python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["count"] == 100 and j["payload_bytes"] == 512 and j["protocol_version"] == 1, j
assert 0 < j["min_ms"] <= j["median_ms"] <= j["p99_ms"] <= j["max_ms"], j
assert j["pings_per_second"] > 0, j
' "$json"; then
	ok "sealbid ping --json"
else
	bad "sealbid ping --json: ${json:-}"
fi

# 2. Usage and failures: exit 2 for usage, 1 with one stderr line for failure.
expect_exit() {
	local want=$1 name=$2
	shift 2
	local rc=0
	"$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	if [ "$rc" = "$want" ]; then ok "$name (exit $rc)"; else bad "$name: exit $rc, want $want: $(cat "$WORK/err")"; fi
}
expect_exit 0 "ping --help" "$SB_BIN/sealbid" ping --help
expect_exit 2 "ping without --cid" "$SB_BIN/sealbid" ping --port 5005
expect_exit 2 "ping --count 0" "$SB_BIN/sealbid" ping --cid 16 --count 0
expect_exit 2 "ping --port abc" "$SB_BIN/sealbid" ping --cid 16 --port abc
expect_exit 2 "ping --bogus" "$SB_BIN/sealbid" ping --cid 16 --bogus 1
expect_exit 1 "ping to a port nobody serves" "$SB_BIN/sealbid" ping --cid 16 --port 5006
if [ "$(wc -l <"$WORK/err")" = 1 ]; then ok "failure is one stderr line"; else bad "failure output: $(cat "$WORK/err")"; fi
expect_exit 2 "enclave --port 0" "$SB_BIN/sealbid-enclave" --port 0

# 3. Raw bad frames: each gets an Error frame back, then the connection closes.
cat >"$WORK/bad_frames.py" <<'PY'
import socket, struct, sys

PATH = sys.argv[1]
MAGIC = 0x53424944
HELLO = struct.pack(">IBBHII", MAGIC, 1, 0, 1, 4, 1) + bytes([1, 1, 0, 1])
# Stable error numbers from src/common/errors/*.def, and their messages.
TRUNCATED, BAD_STATE = 5, 18
BAD_MAGIC, BAD_VERSION, BAD_FLAGS, OVERSIZE, UNKNOWN_TYPE, UNEXPECTED = 2003, 2004, 2005, 2006, 2007, 2008

def frame(t, payload=b"", rid=9, flags=0, magic=MAGIC, ver=1, length=None):
    n = len(payload) if length is None else length
    return struct.pack(">IBBHII", magic, ver, flags, t, n, rid) + payload

def exchange(data, half_close=False):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(PATH)
    s.sendall(data)
    if half_close:
        s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        got += chunk
    s.close()
    return got

def frames(data):
    out = []
    while data:
        assert len(data) >= 16, "truncated reply"
        magic, ver, flags, t, n, rid = struct.unpack(">IBBHII", data[:16])
        assert magic == MAGIC and ver == 1, "bad reply header"
        out.append((flags, t, rid, data[16:16 + n]))
        data = data[16 + n:]
    return out

cases = [
    ("bad magic", frame(2, magic=0x41414141), False, BAD_MAGIC, "bad magic"),
    ("bad version", frame(1, bytes([1, 1, 0, 1]), ver=7), False, BAD_VERSION, "frame version"),
    ("unknown flags", HELLO + frame(2, flags=0x80), False, BAD_FLAGS, "unknown flags"),
    ("oversize length", frame(1, length=0x7FFFFFFF), False, OVERSIZE, "exceeds"),
    ("Ping before Hello", frame(2, b"x"), False, BAD_STATE, "before the Hello"),
    ("unknown type", HELLO + frame(0x1234), False, UNKNOWN_TYPE, "unknown message type"),
    ("Result from the parent", HELLO + frame(9), False, UNEXPECTED, "not accepted"),
    ("Pong from the parent", HELLO + frame(3), False, UNEXPECTED, "not accepted"),
    ("header cut at EOF", HELLO + frame(2)[:9], True, TRUNCATED, "frame header"),
    ("payload cut at EOF", HELLO + frame(2, b"abcdef")[:19], True, TRUNCATED, "payload"),
]
failed = 0
for name, data, half, code, text in cases:
    try:
        reply = frames(exchange(data, half))
        flags, t, rid, body = reply[-1]
        assert t == 4, "last frame is type %d, not Error" % t
        ecode, n = struct.unpack(">IH", body[:6])
        msg = body[6:6 + n].decode("ascii")
        assert len(body) == 6 + n, "Error payload has trailing bytes"
        assert ecode == code, "code %d, want %d (%s)" % (ecode, code, msg)
        assert text in msg, "message %r lacks %r" % (msg, text)
        print("  %-30s -> Error %d: %s" % (name, ecode, msg))
    except Exception as e:
        failed += 1
        print("  %-30s FAILED: %s" % (name, e), file=sys.stderr)
sys.exit(1 if failed else 0)
PY
if python3 "$WORK/bad_frames.py" "$WORK/16.5005"; then
	ok "bad frames get an Error frame and a close"
else
	bad "bad frames"
fi

# 4. The enclave still serves after all that.
if "$SB_BIN/sealbid" ping --cid 16 --port 5005 --count 50 >/dev/null; then
	ok "enclave still answers ping after bad frames"
else
	bad "enclave stopped answering"
fi
if grep -q "protocol error" "$WORK/enclave.log"; then ok "protocol errors are logged"; else bad "no protocol errors in log"; fi

# 5. SIGTERM: a clean stop with exit status 0.
kill -TERM "$ENCLAVE_PID"
rc=0
wait "$ENCLAVE_PID" || rc=$?
ENCLAVE_PID=""
wait "$DRAIN_PID" 2>/dev/null || true
DRAIN_PID=""
if [ "$rc" = 0 ] && grep -q "stopping" "$WORK/enclave.log"; then ok "SIGTERM stops the enclave cleanly"; else bad "SIGTERM: exit $rc"; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

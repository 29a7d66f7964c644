#!/usr/bin/env bash
# Issue 10 item 6: sealbid-kms is not starved by slowloris clients. A python3
# peer opens 1100 connections from the loopback address 127.0.0.2 (traffic
# still goes to the server on 127.0.0.1) and keeps each one trickling a
# header line per second, never finishing its request. Meanwhile a genuine
# SigV4 request (the AWS CLI, from 127.0.0.1) must still succeed in time: the
# per-address limit (--max-per-ip) caps what the flood holds. A client that
# stalls in the middle of its headers is closed after --idle-timeout.
source "$(dirname "$0")/test_kms_lib.bash"
[ -x "$AWS" ] || fail "$AWS (Debian awscli) is not installed"
FLOOD_PID=
stop_flood() {
	if [ -n "$FLOOD_PID" ]; then kill "$FLOOD_PID" 2>/dev/null || true; wait "$FLOOD_PID" 2>/dev/null || true; fi
	FLOOD_PID=
}
trap 'stop_flood; cleanup' EXIT

# Usage: the limits are checked.
for args in "--idle-timeout 0" "--idle-timeout 3601" "--max-connections 0" \
	"--max-per-ip x" "--max-connections 10 --max-per-ip 11"; do
	rc=0
	# shellcheck disable=SC2086
	"$SB_BIN/sealbid-kms" --listen 127.0.0.1:0 --data "$T" $args >/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "sealbid-kms $args: exit $rc, want 2"
done
echo "ok   bad limit options are usage errors"

write_config "$T/config.json"
mkdir -p "$T/data"
IDLE=2
start_kms "$T/config.json" "$T/data" --idle-timeout "$IDLE" ${SLOWLORIS_KMS_ARGS:-}

# 1. A stalled half-sent request is closed after the idle timeout.
python3 - "$KMS_PORT" "$IDLE" <<'PY' || fail "stalled connection"
import socket, sys, time
port, idle = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: TrentService.ListKeys\r\n")
t0 = time.monotonic()
s.settimeout(idle + 10)
try:
    while s.recv(4096):
        pass
except ConnectionResetError:
    pass
except socket.timeout:
    sys.exit("not closed within %d s" % (idle + 10))
took = time.monotonic() - t0
print("ok   stalled headers closed after %.1f s" % took)
if not (idle - 0.5 <= took <= idle + 3):
    sys.exit("closed after %.1f s, idle timeout %d s" % (took, idle))
PY

# 2. The flood: 1100 trickling connections from 127.0.0.2.
python3 - "$KMS_PORT" 1100 >"$T/flood.out" 2>&1 <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        s.setblocking(False)
        socks.append(s)
    except OSError:
        s.close()
print("connected", len(socks), flush=True)
while True:
    alive = []
    for s in socks:
        try:
            s.send(b"X-Slow: a\r\n")
            alive.append(s)
        except BlockingIOError:
            alive.append(s)
        except OSError:
            s.close()
    socks = alive
    print("alive", len(socks), flush=True)
    time.sleep(0.5)
PY
FLOOD_PID=$!
for _ in $(seq 1 400); do
	grep -q connected "$T/flood.out" && break
	kill -0 "$FLOOD_PID" 2>/dev/null || fail "flood script: $(cat "$T/flood.out")"
	sleep 0.05
done
grep -q connected "$T/flood.out" || fail "flood script did not connect"
sleep 3 # longer than the idle timeout: trickling keeps the flood's connections alive
alive=$(grep alive "$T/flood.out" | tail -1)
echo "ok   flood: $(grep connected "$T/flood.out"), now $alive"

T0=$(date +%s%N)
out=$(AWS_MAX_ATTEMPTS=1 timeout 20 bash -c "$(declare -f aws_as); AWS=$AWS KMS_PORT=$KMS_PORT T=$T \
	aws_as ${B1[0]} ${B1[1]} kms create-key --description genuine --cli-connect-timeout 5 \
	--cli-read-timeout 10" 2>&1) || fail "genuine request during the flood: $out"
T1=$(date +%s%N)
grep -q '"KeyId"' <<<"$out" || fail "genuine request: $out"
echo "ok   genuine CreateKey during the flood in $(((T1 - T0) / 1000000)) ms"
kill -0 "$FLOOD_PID" 2>/dev/null || fail "flood script died: $(tail -3 "$T/flood.out")"
stop_flood

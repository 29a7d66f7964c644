#!/usr/bin/env bash
# sealbid proxy over the Unix mapping of vsock: large payloads both ways,
# many connections at once, half-close, a refused second target, clean
# shutdown on SIGTERM. Everything on 127.0.0.1 / a temp dir.
set -euo pipefail
: "${SB_BIN:?}" "${SB_SRC:?}"
STUBS="$SB_SRC/tests/integration/stubs"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export SEALBID_VSOCK_DIR="$work/vsock"
mkdir -p "$SEALBID_VSOCK_DIR"

coproc ECHO { exec python3 "$STUBS/echo_server.py"; }
pids+=("$ECHO_PID")
read -r echo_port <&"${ECHO[0]}"
[ -n "$echo_port" ] || { echo "echo server did not start" >&2; exit 1; }

"$SB_BIN/sealbid" proxy --port 8000 --to "127.0.0.1:$echo_port" --cid 3 2>"$work/proxy.err" &
proxy=$!
pids+=("$proxy")

# 1. one connection, 64 MiB each way
python3 "$STUBS/proxy_client.py" "$SEALBID_VSOCK_DIR/3.8000" $((64 << 20)) 1
# 2. sixteen concurrent connections, 4 MiB each
python3 "$STUBS/proxy_client.py" "$SEALBID_VSOCK_DIR/3.8000" $((4 << 20)) 16
# 3. tiny payload, half-close right away
python3 "$STUBS/proxy_client.py" "$SEALBID_VSOCK_DIR/3.8000" 5 4

# Usage errors exit 2 with one line; --help exits 0.
set +e
"$SB_BIN/sealbid" proxy --port 8001 2>/dev/null; rc1=$?
"$SB_BIN/sealbid" proxy --port 8001 --to nohost 2>/dev/null; rc2=$?
"$SB_BIN/sealbid" proxy --port x --to h:1 2>/dev/null; rc3=$?
"$SB_BIN/sealbid" proxy --help >/dev/null; rc4=$?
set -e
[ "$rc1" = 2 ] && [ "$rc2" = 2 ] && [ "$rc3" = 2 ] && [ "$rc4" = 0 ] || {
  echo "unexpected exit codes: $rc1 $rc2 $rc3 $rc4" >&2; exit 1; }

# A target nobody listens on: the client sees EOF, the proxy keeps serving.
# (Port 1: outside the ephemeral range, so TCP cannot self-connect to it.)
"$SB_BIN/sealbid" proxy --port 8002 --to "127.0.0.1:1" 2>/dev/null &
dead=$!
pids+=("$dead")
if python3 "$STUBS/proxy_client.py" "$SEALBID_VSOCK_DIR/3.8002" 100 1 2>/dev/null; then
  echo "relay to a dead target should fail" >&2; exit 1
fi
kill -TERM "$dead"; wait "$dead"

# Clean shutdown on SIGTERM: exit status 0, promptly.
kill -TERM "$proxy"
timeout 10 tail --pid="$proxy" -f /dev/null
wait "$proxy"
echo "test_aws_proxy: ok"

#!/usr/bin/env bash
# Issue 10 item 7: sealbid-kms refuses requests whose HTTP framing is
# ambiguous (RFC 9112 §6.3, §6.1): two Content-Length headers with differing
# values, or Content-Length with Transfer-Encoding, get 400
# ValidationException and the connection is closed (a request smuggled after
# them is never served). Identical duplicates and a single Content-Length
# are framed normally. Raw requests from python3 to 127.0.0.1.
source "$(dirname "$0")/test_kms_lib.bash"

write_config "$T/config.json"
mkdir -p "$T/data"
start_kms "$T/config.json" "$T/data"

python3 - "$KMS_PORT" <<'PY' || fail "HTTP framing"
import socket, sys
port = int(sys.argv[1])
HEAD = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: TrentService.ListKeys\r\n"
        b"Content-Type: application/x-amz-json-1.1\r\n")
# A second, unsigned request glued behind the first: served only if the
# server reads the stream with the framing the attacker intends.
SMUGGLED = HEAD + b"Content-Length: 2\r\n\r\n{}"

def exchange(raw):
    """All the server sends until it closes or goes quiet for 3 s."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(3)
    s.sendall(raw)
    data, closed = b"", False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    s.close()
    return data, closed

failed = 0
def check(name, raw, refused):
    global failed
    data, closed = exchange(raw)
    responses = data.count(b"HTTP/1.1 ")
    status = data[9:12]
    ok = (status == b"400" and b"ValidationException" in data and closed and responses == 1
          if refused else
          status == b"400" and b"MissingAuthenticationToken" in data and b"ValidationException" not in data)
    print(("ok   " if ok else "FAIL ") + name + (": refused and closed" if refused else ": framed normally"))
    if not ok:
        print("     got %d responses, closed=%s: %r" % (responses, closed, data[:400]))
        failed += 1

check("two differing Content-Length", HEAD + b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}" + SMUGGLED, True)
check("differing Content-Length, reversed", HEAD + b"Content-Length: 40\r\nContent-Length: 2\r\n\r\n{}" + SMUGGLED, True)
check("Content-Length and Transfer-Encoding", HEAD + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", True)
check("Transfer-Encoding and Content-Length", HEAD + b"Transfer-Encoding: chunked\r\ncontent-length: 7\r\n\r\n2\r\n{}\r\n0\r\n\r\n", True)
check("identical Content-Length twice", HEAD + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", False)
check("one Content-Length", HEAD + b"Content-Length: 2\r\n\r\n{}", False)
sys.exit(1 if failed else 0)
PY
grep -q "refusing a request: .*conflicting Content-Length" "$T/kms.log" || fail "no log line for the refusal"
kill -0 "$KMS_PID" || fail "sealbid-kms died"
echo "ok   sealbid-kms still serving"

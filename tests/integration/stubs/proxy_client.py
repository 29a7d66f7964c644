#!/usr/bin/env python3
"""Client side of the proxy test: connects to the proxy's Unix-mapped vsock
socket, streams N random bytes while reading the echo concurrently, half-closes,
and checks that exactly the same bytes came back followed by EOF.
usage: proxy_client.py SOCKET_PATH NBYTES [CONNECTIONS]"""
import hashlib, os, socket, sys, threading, time


def connect(path):
    delay = 0.01
    for _ in range(200):  # bounded backoff while the proxy starts
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
    raise SystemExit("proxy socket never accepted: " + path)


def one(path, n, errors):
    data = os.urandom(n)
    s = connect(path)
    got = hashlib.sha256()
    count = [0]

    def reader():
        while True:
            b = s.recv(1 << 16)
            if not b:
                return
            got.update(b)
            count[0] += len(b)

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)  # half-close: the echo must still come back
    t.join(120)
    s.close()
    if count[0] != n or got.digest() != hashlib.sha256(data).digest():
        errors.append("echo mismatch: sent %d bytes, got %d" % (n, count[0]))


def guarded(path, n, errors):
    # A failure in a thread (e.g. EPIPE when the proxy hangs up) must count.
    try:
        one(path, n, errors)
    except (OSError, SystemExit) as e:
        errors.append("connection failed: %s" % e)


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    errors = []
    ts = [threading.Thread(target=guarded, args=(path, n, errors)) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise SystemExit("; ".join(errors))
    print("ok: %d connection(s) x %d bytes echoed" % (conns, n))


if __name__ == "__main__":
    main()

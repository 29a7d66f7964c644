#!/usr/bin/env python3
"""IMDSv2 stand-in for sealbid's tests (127.0.0.1, random port printed on stdout).

PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds (1..21600) and
returns a fresh token; every GET needs a valid, unexpired token, else 401.
Credentials expire IMDS_STUB_EXPIRY_S seconds from now (default 3600).
IMDS_STUB_MODE: "" (normal), "norole" (no role attached: 404), "badjson".
IMDS_STUB_SESSIONS: a JSON file [{"AccessKeyId", "SecretAccessKey", "Token",
"Start": unix s, "Expiration": ISO 8601}, ...]: the credentials served are the
latest session whose Start has passed (rotating, short-lived credentials
that the test also registered with sealbid-kms).
Test controls: POST /_expire_tokens, GET /_stats (JSON counters).
"""
import json, os, secrets, sys, threading, time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROLE = "sealbid-role"
BASE = "/latest/meta-data/iam/security-credentials/"
lock = threading.Lock()
tokens = {}
stats = {"token_puts": 0, "cred_gets": 0, "unauthorized": 0, "list_gets": 0}
MODE = os.environ.get("IMDS_STUB_MODE", "")
EXPIRY = int(os.environ.get("IMDS_STUB_EXPIRY_S", "3600"))
SESSIONS = os.environ.get("IMDS_STUB_SESSIONS", "")


def current_session():
    with open(SESSIONS) as f:
        sessions = json.load(f)
    now = time.time()
    started = [s for s in sessions if s["Start"] <= now]
    return started[-1] if started else sessions[0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def drain(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_PUT(self):
        self.drain()
        if self.path != "/latest/api/token":
            return self.reply(404)
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.reply(400)
        tok = secrets.token_urlsafe(32)
        with lock:
            tokens[tok] = time.time() + int(ttl)
            stats["token_puts"] += 1
        self.reply(200, tok.encode())

    def do_POST(self):
        self.drain()
        if self.path == "/_expire_tokens":
            with lock:
                tokens.clear()
            return self.reply(200, b"{}")
        self.reply(404)

    def authorized(self):
        tok = self.headers.get("X-aws-ec2-metadata-token")
        with lock:
            ok = tok is not None and tokens.get(tok, 0) > time.time()
            if not ok:
                stats["unauthorized"] += 1
        return ok

    def do_GET(self):
        if self.path == "/_stats":
            with lock:
                body = json.dumps(stats).encode()
            return self.reply(200, body, "application/json")
        if not self.authorized():
            return self.reply(401)
        if self.path == BASE:
            with lock:
                stats["list_gets"] += 1
            if MODE == "norole":
                return self.reply(404)
            return self.reply(200, ROLE.encode())
        if self.path == BASE + ROLE:
            with lock:
                stats["cred_gets"] += 1
                n = stats["cred_gets"]
            if MODE == "badjson":
                return self.reply(200, b'{"Code":"Success","AccessKeyId":5}')
            if SESSIONS:
                s = current_session()
                body = {"Code": "Success", "Type": "AWS-HMAC",
                        "LastUpdated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "AccessKeyId": s["AccessKeyId"], "SecretAccessKey": s["SecretAccessKey"],
                        "Token": s["Token"], "Expiration": s["Expiration"]}
                return self.reply(200, json.dumps(body).encode(), "text/plain")
            exp = datetime.now(timezone.utc) + timedelta(seconds=EXPIRY)
            body = {
                "Code": "Success",
                "LastUpdated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Type": "AWS-HMAC",
                "AccessKeyId": "ASIAIMDS%012d" % n,
                "SecretAccessKey": "imdsSecret/%d+abcdefghijklmnopqrstuvwxyz" % n,
                "Token": "imdsToken%dAQoDYXdzEJr" % n,
                "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            return self.reply(200, json.dumps(body).encode(), "text/plain")
        self.reply(404)


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

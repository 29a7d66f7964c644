#!/usr/bin/env python3
"""STS AssumeRole stand-in for sealbid's tests (127.0.0.1, random port on stdout).

POST / with a form body Action=AssumeRole&Version=2011-06-15&RoleArn=...:
needs a SigV4 Authorization header for service "sts"; returns temporary
credentials in the AssumeRoleResponse XML shape. A RoleArn containing
"denied" gets a 403 ErrorResponse (AccessDenied). GET /_stats: JSON with the
call count and what the last call carried (signer key id, role, session).
"""
import json, re, sys, threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

lock = threading.Lock()
stats = {"calls": 0, "last_signer": "", "last_role": "", "last_session": "",
         "last_external_id": "", "last_duration": "", "last_token": ""}

ERR = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
       '<Type>Sender</Type><Code>{code}</Code><Message>{msg}</Message></Error>'
       '<RequestId>r-1</RequestId></ErrorResponse>')
OK = ('<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
      '<AssumeRoleResult><AssumedRoleUser><Arn>{role}/s</Arn>'
      '<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser><Credentials>'
      '<AccessKeyId>ASIASTS{n:013d}</AccessKeyId>'
      '<SecretAccessKey>stsSecret{n}/abc+def&amp;</SecretAccessKey>'
      '<SessionToken>stsToken{n}FwoGZXIvYXdzE</SessionToken>'
      '<Expiration>{exp}</Expiration></Credentials></AssumeRoleResult>'
      '<ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></AssumeRoleResponse>')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype="text/xml"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_stats":
            with lock:
                return self.reply(200, json.dumps(stats), "application/json")
        self.reply(404, "")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(n).decode())
        auth = self.headers.get("Authorization", "")
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/\d{8}/[a-z0-9-]+/sts/aws4_request, "
                     r"SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$", auth)
        if not m:
            return self.reply(403, ERR.format(code="MissingAuthenticationToken", msg="no SigV4"))
        if form.get("Action") != ["AssumeRole"] or form.get("Version") != ["2011-06-15"]:
            return self.reply(400, ERR.format(code="InvalidAction", msg="bad action"))
        role = form.get("RoleArn", [""])[0]
        with lock:
            stats["calls"] += 1
            stats["last_signer"] = m.group(1)
            stats["last_role"] = role
            stats["last_session"] = form.get("RoleSessionName", [""])[0]
            stats["last_external_id"] = form.get("ExternalId", [""])[0]
            stats["last_duration"] = form.get("DurationSeconds", [""])[0]
            stats["last_token"] = self.headers.get("X-Amz-Security-Token", "")
            count = stats["calls"]
        if "denied" in role:
            return self.reply(403, ERR.format(code="AccessDenied",
                                              msg="not authorized to perform sts:AssumeRole"))
        exp = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.reply(200, OK.format(role=role, n=count, exp=exp))


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

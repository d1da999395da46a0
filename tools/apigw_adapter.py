#!/usr/bin/env python3
"""A loopback stand-in for API Gateway (HTTP API, payload format 2.0) in front of a
function served by `cargo lambda watch`, for tests only.

Each plain HTTP request becomes the event API Gateway would send, posted to the
Lambda invoke API (`<lambda>/2015-03-31/functions/<function>/invocations`); the
function's proxy answer (statusCode, headers, multiValueHeaders, cookies, body,
isBase64Encoded) becomes the HTTP response. A function error, or an answer that is
not a proxy answer, becomes API Gateway's own 500 `{"message": "Internal Server
Error"}` with an `X-Adapter-Error` header saying why.

IAM: API Gateway verifies SigV4 and puts the caller in
`requestContext.authorizer.iam`. This adapter verifies no signature: a request whose
`Authorization` header equals `--iam-authorization` (a fixed test value) gets a fixed
test identity there; any other request gets none, and the function must refuse its
admin routes by itself. Never run this outside tests.

    python tools/apigw_adapter.py --lambda http://127.0.0.1:9000 --function signout-api \
        [--port 0] [--iam-authorization 'AWS4-HMAC-SHA256 Credential=...'] [--exit-on-stdin-eof]

Prints `listening on http://127.0.0.1:<port>` once it accepts connections.
"""

import argparse
import base64
import datetime
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TEXT_TYPES = (
    "text/",
    "application/json",
    "application/x-www-form-urlencoded",
    "application/xml",
    "application/javascript",
)

TEST_IDENTITY = {
    "accessKey": "AKIAIOSFODNN7EXAMPLE",
    "accountId": "123456789012",
    "callerId": "AIDACKCEVSQ6C2EXAMPLE",
    "cognitoIdentity": None,
    "principalOrgId": None,
    "userArn": "arn:aws:iam::123456789012:user/contract-test",
    "userId": "AIDACKCEVSQ6C2EXAMPLE",
}


def is_text(content_type, body):
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct and not (ct.startswith(TEXT_TYPES) or ct.endswith("+json") or ct.endswith("+xml")):
        return False
    try:
        body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def build_event(method, target, headers, body, iam_authorization):
    """The HTTP API 2.0 event for one request. `headers` is a list of (name, value)."""
    path, _, query = target.partition("?")
    joined = {}
    cookies = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        # API Gateway joins repeated headers with commas.
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    params = {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        params[k] = f"{params[k]},{v}" if k in params else v
    host = joined.get("host", "api.example.test")
    now = datetime.datetime.now(datetime.timezone.utc)
    context = {
        "accountId": "123456789012",
        "apiId": "contract",
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": "$default",
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if iam_authorization and joined.get("authorization") == iam_authorization:
        context["authorizer"] = {"iam": dict(TEST_IDENTITY)}
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if params:
        event["queryStringParameters"] = params
    if body:
        if is_text(joined.get("content-type"), body):
            event["body"] = body.decode("utf-8")
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def proxy_answer(raw):
    """(status, [(name, value)], body bytes) of a payload 2.0 proxy answer, or raises ValueError."""
    answer = json.loads(raw)
    if not isinstance(answer, dict) or "statusCode" not in answer:
        raise ValueError("not a proxy answer: " + raw[:200].decode("utf-8", "replace"))
    if "errorType" in answer or "errorMessage" in answer:
        raise ValueError("function error")
    status = int(answer["statusCode"])
    headers = []
    seen = set()
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        for v in values or []:
            headers.append((name, str(v)))
        seen.add(name.lower())
    for name, value in (answer.get("headers") or {}).items():
        if name.lower() not in seen:
            headers.append((name, str(value)))
    for cookie in answer.get("cookies") or []:
        headers.append(("Set-Cookie", cookie))
    body = answer.get("body") or ""
    data = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode("utf-8")
    return status, headers, data


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "apigw-adapter"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet: the test prints what it needs
        pass

    def handle_any(self):
        cfg = self.server.cfg
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        event = build_event(self.command, self.path, self.headers.items(), body, cfg.iam_authorization)
        url = f"{cfg.lambda_endpoint}/2015-03-31/functions/{cfg.function}/invocations"
        request = urllib.request.Request(
            url, data=json.dumps(event).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=cfg.timeout) as r:
                raw = r.read()
            status, headers, data = proxy_answer(raw)
        except (urllib.error.URLError, OSError, ValueError, json.JSONDecodeError) as e:
            reason = str(e).replace("\r", " ").replace("\n", " ")[:200]
            status, data = 500, b'{"message":"Internal Server Error"}'
            headers = [("Content-Type", "application/json"), ("X-Adapter-Error", reason)]
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def __getattr__(self, name):
        # Every method goes to the function, as API Gateway's `$default` route sends them
        # (http.server would answer 501 for one it has no `do_` method for).
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lambda", dest="lambda_endpoint", required=True)
    parser.add_argument("--function", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--iam-authorization", default=None)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    cfg = parser.parse_args()
    cfg.lambda_endpoint = cfg.lambda_endpoint.rstrip("/")
    server = ThreadingHTTPServer(("127.0.0.1", cfg.port), Handler)
    server.daemon_threads = True
    server.cfg = cfg
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    if cfg.exit_on_stdin_eof:
        sys.stdin.read()
    else:
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()

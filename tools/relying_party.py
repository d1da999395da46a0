#!/usr/bin/env python3
"""A relying party on loopback that receives sign-out events and validates
them as a real one would, with a third-party JOSE library (joserfc, pinned in
tools/requirements.txt), never with the project's own code. Tests only.

* `POST /bcl/<client_id>`: an OpenID Connect Back-Channel Logout 1.0
  request (§2.5: `application/x-www-form-urlencoded`, `logout_token`). The
  token is validated as §2.6 says: signature against the JWKS at --jwks-url
  (fetched on first use, again on an unknown `kid`), `alg` RS256, header
  `typ` `logout+jwt`, `iss` equal to --issuer, `aud` containing the client
  id, `iat` present and not in the future, `exp` in the future, `jti`
  present, `events` with the back-channel logout member (an object), `sub`
  or `sid`, no `nonce`. Valid: 200, or the status set for that client by
  `POST /_status/<client_id>` with body `500` (to make deliveries fail).
  Invalid: 400 `{"error": "invalid_request"}`. Status `0` means "hang": the
  request is recorded, then answered 503 only after HANG_SECONDS (a receiver
  stuck while the function is killed). A `jti` seen before is answered
  200 and counted as a duplicate, not applied twice (§2.6 step 10, optional).
* `POST /ssf`: an RFC 8935 push of a SET (`application/secevent+jwt`):
  signature, `typ` `secevent+jwt`, `iss`, `aud` equal to --ssf-audience,
  `iat`, `jti`, `events`. Valid: 202; invalid: 400 with an RFC 8935 error.
* `GET /_received`: every request as JSON, in arrival order:
  `{"path", "valid", "error", "header", "claims", "duplicate", "status", "received_at",
  "token"}` (`token`: the JWS as received, for tests that search logs for it)
  (`received_at`: epoch seconds, as a float, when the request arrived).

Logs one line per request (path, verdict, jti, sid, sub): never a token.

    python tools/relying_party.py --jwks-url URL --issuer ISS [--ssf-audience AUD]
        [--port 0] [--exit-on-stdin-eof]

Prints `listening on http://127.0.0.1:<port>` once it accepts connections.
"""

import argparse
import json
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from stdin_exit import exit_when_stdin_closes  # tools/stdin_exit.py: this directory is on sys.path

BACKCHANNEL_LOGOUT = "http://schemas.openid.net/event/backchannel-logout"
LEEWAY = 60
# How long a delivery waits for an answer in "hang" mode (status 0).
HANG_SECONDS = 30


class Invalid(Exception):
    pass


class State:
    def __init__(self, jwks_url: str, issuer: str, ssf_audience: str | None):
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.ssf_audience = ssf_audience
        self.keys = None
        self.lock = threading.Lock()
        self.received: list = []
        self.seen_jti: set = set()
        self.status: dict = {}

    def key_set(self, refresh: bool = False) -> KeySet:
        with self.lock:
            if self.keys is None or refresh:
                with urllib.request.urlopen(self.jwks_url, timeout=10) as r:
                    self.keys = KeySet.import_key_set(json.loads(r.read()))
            return self.keys

    def verify(self, token: str, typ: str):
        """(header, claims) of a token whose signature verifies."""
        try:
            header = jws.extract_compact(token.encode()).protected
        except (JoseError, ValueError) as e:
            raise Invalid(f"not a JWS: {e}")
        if header.get("alg") != "RS256":
            raise Invalid("alg is not RS256")
        if header.get("typ") != typ:
            raise Invalid(f"typ is not {typ}")
        keys = self.key_set()
        if not any(k.kid == header.get("kid") for k in keys.keys):
            keys = self.key_set(refresh=True)  # a key rotated in since
        try:
            token_ = jwt.decode(token, keys, algorithms=["RS256"])
        except JoseError as e:
            raise Invalid(f"signature: {e.error}")
        return dict(token_.header), dict(token_.claims)

    def common_claims(self, claims: dict, aud: str) -> None:
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": aud},
            iat={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as e:
            raise Invalid(f"claims: {e.error} {e.description or ''}".strip())
        if claims["iat"] > time.time() + LEEWAY:
            raise Invalid("iat is in the future")

    def logout_token(self, token: str, client_id: str):
        header, claims = self.verify(token, "logout+jwt")
        self.common_claims(claims, client_id)
        if "exp" not in claims:
            raise Invalid("no exp")  # the registry checks it when present
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT), dict):
            raise Invalid("events lacks the back-channel logout member")
        if not claims.get("sub") and not claims.get("sid"):
            raise Invalid("neither sub nor sid")
        if "nonce" in claims:
            raise Invalid("a logout token must not carry nonce")
        return header, claims

    def set_token(self, token: str):
        header, claims = self.verify(token, "secevent+jwt")
        self.common_claims(claims, self.ssf_audience or "")
        if not isinstance(claims.get("events"), dict) or not claims["events"]:
            raise Invalid("no events")
        return header, claims


def make_handler(state: State):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # our own lines only, below
            pass

        def answer(self, status: int, body: dict | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self):
            if self.path == "/_received":
                with state.lock:
                    self.answer(200, state.received)
            else:
                self.answer(404, {"error": "not_found"})

        def record(self, entry: dict) -> None:
            claims = entry.get("claims") or {}
            print(
                f"relying party: {entry['path']} {'verified' if entry['valid'] else 'REJECTED'}"
                f" status={entry['status']} jti={claims.get('jti')} sid={claims.get('sid')}"
                f" sub={claims.get('sub') or (claims.get('sub_id') or {}).get('format')}"
                f"{' duplicate' if entry.get('duplicate') else ''}"
                f"{' error=' + entry['error'] if entry.get('error') else ''}",
                flush=True,
            )
            with state.lock:
                state.received.append(entry)

        def do_POST(self):
            path = urllib.parse.urlsplit(self.path).path
            raw = self.body()
            if path.startswith("/_status/"):
                state.status[path.removeprefix("/_status/")] = int(raw or b"200")
                return self.answer(204)
            entry = {"path": path, "valid": False, "error": None, "duplicate": False, "received_at": time.time()}
            try:
                if path.startswith("/bcl/"):
                    client_id = path.removeprefix("/bcl/")
                    ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                    if ctype != "application/x-www-form-urlencoded":
                        raise Invalid(f"content type {ctype}")
                    form = urllib.parse.parse_qs(raw.decode(), strict_parsing=True)
                    tokens = form.get("logout_token") or []
                    if len(tokens) != 1 or set(form) != {"logout_token"}:
                        raise Invalid("the body must be exactly one logout_token")
                    entry["token"] = tokens[0]  # for the tests' secret search; never printed
                    entry["header"], entry["claims"] = state.logout_token(tokens[0], client_id)
                    ok_status = state.status.get(client_id, 200)
                elif path == "/ssf":
                    ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                    if ctype != "application/secevent+jwt":
                        raise Invalid(f"content type {ctype}")
                    entry["token"] = raw.decode()
                    entry["header"], entry["claims"] = state.set_token(raw.decode())
                    ok_status = state.status.get("ssf", 202)
                else:
                    entry["status"] = 404
                    self.record(entry)
                    return self.answer(404, {"error": "not_found"})
            except Invalid as e:
                entry["error"] = str(e)
                entry["status"] = 400
                self.record(entry)
                if path == "/ssf":  # RFC 8935 §2.3's error shape
                    return self.answer(400, {"err": "invalid_request", "description": str(e)})
                return self.answer(400, {"error": "invalid_request", "error_description": str(e)})
            if ok_status == 0:  # "hang": answer only after a long while (crash tests)
                entry["valid"], entry["status"] = True, 0
                self.record(entry)
                time.sleep(HANG_SECONDS)
                return self.answer(503)
            entry["valid"] = True
            entry["status"] = ok_status
            jti = entry["claims"]["jti"]
            if ok_status in (200, 202, 204):
                with state.lock:
                    entry["duplicate"] = jti in state.seen_jti
                    state.seen_jti.add(jti)
            self.record(entry)
            self.answer(ok_status)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jwks-url", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--ssf-audience")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()
    if args.exit_on_stdin_eof:
        exit_when_stdin_closes()
    state = State(args.jwks_url, args.issuer, args.ssf_audience)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

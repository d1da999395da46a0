"""The `*.test` sites of the browser suite, behind one local TLS front.

Chromium maps every `*.test` name to this front (`--host-resolver-rules`,
port 443 rewritten to the front's port), so each site has its own origin and
its own registrable domain, and `Secure`, `__Host-` and `SameSite` behave as
in production. The front dispatches on the Host header:

| site | what answers |
| --- | --- |
| `app.test` | the application: a page that signs in through the hosted UI, keeps its tokens in `sessionStorage`, asks `GET https://api.test/session` whether it is signed in, and links to `/logout` |
| `api.test` | our functions under `cargo lambda watch`, as API Gateway (HTTP API, payload 2.0) calls them: `/logout*` the logout function, everything else the sign-out API; CORS for `https://app.test`, as the API's CORS configuration would answer; and `/_app/signed-in`, a stand-in for the application's backend on the API domain, which sets its session and refresh-token cookies at sign-in |
| `auth.test` | the emulator's hosted UI (the pool's custom domain), proxied with `X-Forwarded-Proto: https` |
| `idp.test` | a minimal federated OpenID provider (`IdP` in the pool): a sign-in form that sets its own `idp_session` cookie, and an `end_session_endpoint` (`/logout`) honouring `post_logout_redirect_uri` (registered: the app's signed-out page) and `state` |
| any other | an attacker's site: records every request (`hits`), serves what `evil_pages` holds |

Nothing here logs a request, a token or a cookie.
"""

import datetime
import html
import http.client
import json
import os
import secrets
import ssl
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import apigw_adapter  # noqa: E402  tools/apigw_adapter.py: the API Gateway event and answer

APP = "https://app.test"
API = "https://api.test"
AUTH = "https://auth.test"
IDP = "https://idp.test"
IDP_NAME = "IdP"
IDP_SESSION = "idp_session"
APP_CALLBACK = f"{APP}/callback"
SIGNED_OUT = f"{APP}/signed-out"
# A state that breaks naive encoders (as in functions/logout/tests/common).
STATE = "af0ifjsldkj/é ü&x=1+2%20<>\"'#frag"
# The application's cookies on api.test, with the attributes the logout
# function is configured to expire them with (testkit::browser::COOKIES).
APP_COOKIES = (
    ("__Host-session", "Path=/; Secure; HttpOnly; SameSite=Lax"),
    ("refresh_token", "Path=/logout; Secure; HttpOnly; SameSite=None"),
)


def test_certificate(directory: str) -> tuple[str, str]:
    """A throwaway self-signed certificate for `*.test` (the browser is told
    to accept it); (certificate path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "browser suite")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("*.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


def app_home(client_id: str) -> str:
    sign_in = f"{AUTH}/oauth2/authorize?" + urllib.parse.urlencode(
        {
            "client_id": client_id,
            "redirect_uri": APP_CALLBACK,
            "response_type": "code",
            "scope": "openid",
            "state": "signin",
        }
    )
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Example app</title></head>
<body>
<h1 id="status">Checking your session…</h1>
<p><a id="signin" href="{html.escape(sign_in)}">Sign in</a></p>
<p><a id="signin-idp" href="{html.escape(sign_in + "&identity_provider=" + IDP_NAME)}">Sign in with IdP</a></p>
<p><a id="signout" hidden>Sign out</a></p>
<p><a id="signout-cognito" hidden>Sign out (Cognito style)</a></p>
<script>
const CLIENT = {json.dumps(client_id)};
const STATE = {json.dumps(STATE)};
function logout(params) {{
  return "{API}/logout?" + new URLSearchParams(params).toString();
}}
async function check() {{
  const status = document.getElementById("status");
  const out = document.getElementById("signout");
  const cognito = document.getElementById("signout-cognito");
  out.hidden = cognito.hidden = true;
  const access = sessionStorage.getItem("access");
  if (!access) {{ status.textContent = "You are signed out"; return; }}
  const r = await fetch("{API}/session", {{
    headers: {{ authorization: "Bearer " + access }}, cache: "no-store" }});
  if (r.status !== 200) {{ status.textContent = "You are signed out"; return; }}
  const session = await r.json();
  status.textContent = "You are signed in as " + session.claims.username;
  out.href = logout({{ client_id: CLIENT, post_logout_redirect_uri: "{SIGNED_OUT}",
    id_token_hint: sessionStorage.getItem("id"), state: STATE }});
  cognito.href = logout({{ client_id: CLIENT, logout_uri: "{SIGNED_OUT}", state: STATE }});
  out.hidden = cognito.hidden = false;
}}
window.addEventListener("pageshow", check);
</script>
</body>
</html>
"""


APP_SIGNED_OUT = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Signed out</title></head>
<body>
<h1>You have signed out of Example app</h1>
<p><a href="/">Back to Example app</a></p>
</body>
</html>
"""


def callback_page(tokens: dict, handle: str) -> str:
    keep = json.dumps({"access": tokens["access_token"], "id": tokens["id_token"]})
    go = json.dumps(f"{API}/_app/signed-in?handle={handle}")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in…</title></head>
<body><p>Signing in…</p>
<script>
const t = {keep};
sessionStorage.setItem("access", t.access);
sessionStorage.setItem("id", t.id);
location.replace({go});
</script></body></html>
"""


class Sites:
    """The front and everything behind it; `start()` returns the port."""

    def __init__(self, emulator: str, lambda_endpoint: str, client_id: str):
        self.emulator = urllib.parse.urlparse(emulator)
        self.lambda_endpoint = lambda_endpoint.rstrip("/")
        self.client_id = client_id
        self.tokens: list[dict] = []  # every sign-in's tokens, in order
        self._handles: dict[str, dict] = {}
        self.hits: list[str] = []  # requests to any other site: "host path"
        self.idp_sessions: dict[str, str] = {}  # idp_session cookie -> subject
        self.idp_forms = 0  # how often the IdP asked for credentials
        self.evil_pages: dict[str, str] = {}
        self._lock = threading.Lock()
        self.server = None

    def start(self) -> int:
        directory = tempfile.mkdtemp(prefix="browser-suite-")
        cert, key = test_certificate(directory)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        sites = self

        class Handler(_Handler):
            pass

        Handler.sites = sites
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.server.server_address[1]

    def stop(self):
        if self.server:
            self.server.shutdown()

    def last_tokens(self) -> dict:
        with self._lock:
            return self.tokens[-1]

    def evil_hits(self) -> list[str]:
        with self._lock:
            return list(self.hits)

    # -- app.test: the code exchange, as the application's backend does it
    def exchange(self, code: str) -> dict | None:
        form = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
                "redirect_uri": APP_CALLBACK,
            }
        )
        status, _, body = self.to_emulator(
            "POST",
            "/oauth2/token",
            [("Content-Type", "application/x-www-form-urlencoded")],
            form.encode(),
        )
        return json.loads(body) if status == 200 else None

    def to_emulator(self, method, path, headers, body):
        conn = http.client.HTTPConnection(self.emulator.hostname, self.emulator.port, timeout=60)
        sent = [(k, v) for k, v in headers if k.lower() not in ("host", "connection")]
        sent += [("Host", "auth.test"), ("X-Forwarded-Proto", "https")]
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in sent:
            if k.lower() != "content-length":
                conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, r.getheaders(), data

    def to_function(self, function, method, target, headers, body):
        event = apigw_adapter.build_event(method, target, headers, body, None)
        request = urllib.request.Request(
            f"{self.lambda_endpoint}/2015-03-31/functions/{function}/invocations",
            data=json.dumps(event).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=600) as r:
            return apigw_adapter.proxy_answer(r.read())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "browser-suite"
    sys_version = ""
    sites: Sites

    def log_message(self, fmt, *args):  # quiet: no URL, token or cookie in any log
        pass

    def reply(self, status, headers=(), body=b""):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def page(self, status, text, headers=()):
        self.reply(
            status,
            [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"), *headers],
            text.encode(),
        )

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        if host == "app.test":
            self.app()
        elif host == "api.test":
            self.api(body)
        elif host == "idp.test":
            self.idp(body)
        elif host == "auth.test":
            self.reply(*self.sites.to_emulator(self.command, self.path, self.headers.items(), body))
        else:
            self.evil(host)

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)

    # -- app.test
    def app(self):
        sites = self.sites
        path, _, query = self.path.partition("?")
        params = dict(urllib.parse.parse_qsl(query))
        if path == "/":
            return self.page(200, app_home(sites.client_id))
        if path in ("/signed-out", "/bye"):
            return self.page(200, APP_SIGNED_OUT)
        if path == "/callback" and "code" in params:
            tokens = sites.exchange(params["code"])
            if tokens is None:
                return self.page(400, "<!doctype html><title>Sign-in failed</title>")
            handle = secrets.token_urlsafe(16)
            with sites._lock:
                sites.tokens.append(tokens)
                sites._handles[handle] = tokens
            return self.page(200, callback_page(tokens, handle))
        self.page(404, "<!doctype html><title>Not found</title>")

    # -- api.test
    def api(self, body):
        sites = self.sites
        path = self.path.partition("?")[0]
        cors = [
            ("Access-Control-Allow-Origin", APP),
            ("Access-Control-Allow-Headers", "authorization, content-type"),
            ("Access-Control-Allow-Methods", "GET, POST"),
            ("Vary", "Origin"),
        ]
        if path == "/_app/signed-in":
            handle = dict(urllib.parse.parse_qsl(self.path.partition("?")[2])).get("handle", "")
            with sites._lock:
                tokens = sites._handles.pop(handle, None)
            if tokens is None:
                return self.page(400, "<!doctype html><title>Unknown sign-in</title>")
            values = {"__Host-session": secrets.token_urlsafe(24), "refresh_token": tokens["refresh_token"]}
            cookies = [("Set-Cookie", f"{n}={values[n]}; {attrs}") for n, attrs in APP_COOKIES]
            return self.reply(302, [("Location", f"{APP}/"), ("Cache-Control", "no-store"), *cookies])
        if self.command == "OPTIONS" and self.headers.get("Origin") == APP:
            return self.reply(204, [*cors, ("Access-Control-Max-Age", "0")])
        function = "logout" if path == "/logout" or path.startswith("/logout/") else "signout-api"
        try:
            status, headers, data = sites.to_function(
                function, self.command, self.path, self.headers.items(), body
            )
        except Exception:  # noqa: BLE001 - API Gateway's own 500
            status, headers, data = 500, [("Content-Type", "application/json")], b'{"message":"Internal Server Error"}'
        if function == "signout-api" and self.headers.get("Origin") == APP:
            headers = [*headers, *cors]
        self.reply(status, headers, data)

    # -- idp.test: the federated provider
    def idp(self, body):
        sites = self.sites
        path, _, query = self.path.partition("?")
        params = dict(urllib.parse.parse_qsl(query if self.command == "GET" else body.decode()))
        cookies = dict(
            part.strip().split("=", 1) for part in (self.headers.get("Cookie") or "").split(";") if "=" in part
        )
        if path == "/authorize":
            if params.get("redirect_uri") != f"{AUTH}/oauth2/idpresponse":
                return self.page(400, "<!doctype html><title>Unknown redirect_uri</title>")
            back = lambda subject: f"{params['redirect_uri']}?" + urllib.parse.urlencode(  # noqa: E731
                {"code": subject, "state": params.get("state", "")}
            )
            with sites._lock:
                subject = sites.idp_sessions.get(cookies.get(IDP_SESSION, ""))
            if self.command == "GET" and subject:
                return self.reply(302, [("Location", back(subject)), ("Cache-Control", "no-store")])
            if self.command == "POST" and params.get("username") and params.get("password") == "idp-password":
                sid = secrets.token_urlsafe(24)
                with sites._lock:
                    sites.idp_sessions[sid] = params["username"]
                return self.reply(
                    302,
                    [("Location", back(params["username"])), ("Cache-Control", "no-store"),
                     ("Set-Cookie", f"{IDP_SESSION}={sid}; Path=/; Secure; HttpOnly; SameSite=Lax")],
                )  # fmt: skip
            with sites._lock:
                sites.idp_forms += 1
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in params.items()
                if k in ("redirect_uri", "state", "client_id")
            )
            return self.page(
                200,
                '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>IdP sign-in</title></head>'
                '<body><h1>Sign in to IdP</h1><form method="post" action="/authorize">' + hidden +
                '<p><label for="u">IdP username</label> <input id="u" name="username"></p>'
                '<p><label for="p">IdP password</label> <input id="p" name="password" type="password"></p>'
                '<p><button type="submit">Continue</button></p></form></body></html>',
            )
        if path == "/logout":  # end_session_endpoint
            target = params.get("post_logout_redirect_uri")
            if target != SIGNED_OUT:
                return self.page(400, "<!doctype html><title>Unknown post_logout_redirect_uri</title>")
            with sites._lock:
                sites.idp_sessions.pop(cookies.get(IDP_SESSION, ""), None)
            location = target + ("?" + urllib.parse.urlencode({"state": params["state"]}) if "state" in params else "")
            return self.reply(
                302,
                [("Location", location), ("Cache-Control", "no-store"),
                 ("Set-Cookie", f"{IDP_SESSION}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")],
            )  # fmt: skip
        self.page(404, "<!doctype html><title>Not found</title>")

    # -- anything else: the attacker's site
    def evil(self, host):
        sites = self.sites
        with sites._lock:
            sites.hits.append(f"{host} {self.path.partition('?')[0]}")
            text = sites.evil_pages.get(self.path.partition("?")[0])
        if text is None:
            return self.page(200, "<!doctype html><html lang=\"en\"><title>Elsewhere</title><h1>You left the site</h1></html>")
        self.page(200, text)

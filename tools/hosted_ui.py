"""Cognito's hosted UI, the part a sign-out passes through, for the emulator.

moto has user pool domains (CreateUserPoolDomain) but no hosted UI. This
module answers, on the emulator's own port, every request whose Host is a
pool's domain: `<prefix>.auth.<region>.amazoncognito.com` for a prefix
domain, or the custom domain itself (e.g. `auth.test`). Every other request
goes to moto as before. What it serves, as AWS documents the endpoints:

* `GET /logout?client_id=..&logout_uri=..`: `logout_uri` must equal, byte
  for byte, one of the app client's `LogoutURLs`; Cognito then expires its
  `cognito` session cookie and answers 302 to `logout_uri`, adding nothing
  (no `state`). `GET /logout?client_id=..&redirect_uri=..&response_type=..`
  (`state`, `scope` optional) signs out the same way and answers 302 to the
  sign-in page with those parameters; `redirect_uri` must be one of the
  client's `CallbackURLs`. An unknown client, a `logout_uri` not
  registered, or neither form: 302 to `/error?error=redirect_mismatch`
  (`client_id` missing: `/error` with Cognito's "Required String
  parameter" text), whose page says "An error was encountered with the
  requested page." as Cognito's does; no cookie is touched.
* `GET /login` (and `/oauth2/authorize`, which sends the browser to it):
  `client_id`, `redirect_uri` (one of the client's `CallbackURLs`),
  `response_type=code`, optional `state`. With a live `cognito` cookie the
  browser is sent straight back with a code (single sign-on); otherwise a
  sign-in form. `POST /login` checks the user name (or a verified alias)
  and password against the pool (ADMIN_USER_PASSWORD_AUTH, so the Pre Token
  Generation trigger runs as at any sign-in), sets the `cognito` cookie
  (host-only, `Path=/`, `HttpOnly`, `SameSite=Lax`, `Secure` when the
  request came over HTTPS: `X-Forwarded-Proto: https` from a TLS front, one
  hour) and answers 302 to `redirect_uri?code=..[&state=..]`.
* `POST /oauth2/token`, `grant_type=authorization_code`: `code` (single
  use, five minutes), `client_id`, `redirect_uri` (the one the code was
  issued for); a client with a secret authenticates with HTTP Basic or
  `client_secret`. Answers `{id_token, access_token, refresh_token,
  expires_in, token_type}`, or `{"error": "invalid_grant" | "invalid_client"
  | "unsupported_grant_type"}` with 400.

* Federation with an OIDC provider the pool has (CreateIdentityProvider,
  ProviderType OIDC, `authorize_url` in ProviderDetails):
  `/oauth2/authorize?identity_provider=<name>&client_id=..&redirect_uri=..&response_type=code`
  sends the browser to the provider's `authorize_url` (its `client_id`,
  `redirect_uri=https://<domain>/oauth2/idpresponse`, `state`); the provider
  returns to `/oauth2/idpresponse?code=..&state=..`, where Cognito links the
  federated user `<name>_<subject>` (created on first sign-in) and mints
  tokens whose ID token carries the `identities` claim, then returns to the
  app as after a sign-in. Simplification: the emulator does not call the
  provider's token endpoint (test providers live on host names only the
  browser resolves); it takes the code as the provider's subject, so use it
  only with a test provider.

The session cookie's value is an opaque random id; the emulator keeps the
session (pool, user, expiry) in memory. Pages are fixed HTML that reflects
no input except the hidden form fields, escaped.
"""

import base64
import datetime
import html
import json
import secrets
import threading
import time
import urllib.parse

from joserfc import jwt as jose_jwt
from moto.cognitoidp import models as cognito_models
from moto.core.exceptions import JsonRESTError

SESSION_COOKIE = "cognito"
SESSION_SECONDS = 3600
CODE_SECONDS = 300
ERROR_TEXT = "An error was encountered with the requested page."

_lock = threading.Lock()
_sessions: dict[str, tuple[str, str, float]] = {}  # id -> (pool id, username, expiry)
_codes: dict[str, dict] = {}  # code -> {pool, client, redirect_uri, tokens, expiry}
_federating: dict[str, dict] = {}  # our state at the provider -> the app's request


def _backends():
    for _account, regional in list(cognito_models.cognitoidp_backends.items()):
        for region, backend in list(regional.items()):
            yield region, backend


def _domain_of(host: str):
    """(backend, pool) whose domain is `host` (port ignored), or None."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip().lower().rstrip(".")
    if not name:
        return None
    for region, backend in _backends():
        for domain, entry in list(backend.user_pool_domains.items()):
            d = domain.lower()
            if name == d or name == f"{d}.auth.{region}.amazoncognito.com":
                pool = backend.user_pools.get(entry.user_pool_id)
                if pool is not None:
                    return backend, pool
    return None


def _page(title: str, body: str = "") -> bytes:
    return (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n{body}</body>\n</html>\n"
    ).encode()


def _form(fields: dict, message: str = "") -> bytes:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">\n'
        for k, v in fields.items()
    )
    notice = f'<p role="alert">{message}</p>\n' if message else ""
    return _page(
        "Sign in",
        notice
        + '<form method="post" action="/login">\n'
        + hidden
        + '<p><label for="username">Username</label>\n'
        + '<input id="username" name="username" autocomplete="username" required></p>\n'
        + '<p><label for="password">Password</label>\n'
        + '<input id="password" name="password" type="password"'
        + ' autocomplete="current-password" required></p>\n'
        + '<p><button type="submit">Sign in</button></p>\n</form>\n',
    )


class _Request:
    def __init__(self, environ):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET")
        self.path = environ.get("PATH_INFO", "/")
        self.query = urllib.parse.parse_qsl(
            environ.get("QUERY_STRING", ""), keep_blank_values=True
        )
        self.form = []
        if self.method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            self.form = urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        self.https = (
            environ.get("HTTP_X_FORWARDED_PROTO", "").lower() == "https"
            or environ.get("wsgi.url_scheme") == "https"
        )

    def param(self, name: str, source=None):
        """The parameter's only value; None when absent or repeated."""
        values = [v for k, v in (source if source is not None else self.query) if k == name]
        return values[0] if len(values) == 1 else None

    def cookie(self, name: str):
        for part in self.environ.get("HTTP_COOKIE", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == name:
                return v
        return None


def _cookie(req: _Request, value: str, max_age: int) -> str:
    parts = [f"{SESSION_COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age:
        parts.append(f"Max-Age={max_age}")
    else:
        parts += ["Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT"]
    if req.https:
        parts.append("Secure")
    return "; ".join(parts)


def _with_query(url: str, pairs) -> str:
    extra = urllib.parse.urlencode(pairs)
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + extra


def _answer(start_response, status: str, body: bytes = b"", headers=()):
    base = [
        ("Cache-Control", "no-store"),
        ("Content-Length", str(len(body))),
    ]
    if body:
        base += [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
            ("X-Frame-Options", "DENY"),
        ]
    start_response(status, base + list(headers))
    return [body]


def _redirect(start_response, url: str, headers=()):
    return _answer(start_response, "302 Found", b"", [("Location", url), *headers])


def _error(start_response, client_id, error="redirect_mismatch"):
    pairs = [("error", error)]
    if client_id:
        pairs.append(("client_id", client_id))
    return _redirect(start_response, "/error?" + urllib.parse.urlencode(pairs))


def _client(pool, client_id):
    return pool.clients.get(client_id) if client_id else None


def _live_session(req: _Request, pool):
    sid = req.cookie(SESSION_COOKIE)
    with _lock:
        entry = _sessions.get(sid) if sid else None
        if entry and (entry[0] != pool.id or entry[2] < time.time()):
            entry = None
    return entry


def _sign_in(backend, pool, client, username, password):
    """Cognito's tokens for this user, or None when the credentials are wrong."""
    try:
        result = backend.admin_initiate_auth(
            pool.id,
            client.id,
            "ADMIN_USER_PASSWORD_AUTH",
            {"USERNAME": username, "PASSWORD": password},
        )
    except JsonRESTError:
        return None
    return result.get("AuthenticationResult")


def _issue_code(pool, client, redirect_uri, tokens) -> str:
    code = secrets.token_urlsafe(24)
    with _lock:
        _codes[code] = {
            "pool": pool.id,
            "client": client.id,
            "redirect_uri": redirect_uri,
            "tokens": tokens,
            "expiry": time.time() + CODE_SECONDS,
        }
    return code


def _login(req, start_response, backend, pool):
    source = req.form if req.method == "POST" else req.query
    client_id = req.param("client_id", source)
    client = _client(pool, client_id)
    redirect_uri = req.param("redirect_uri", source)
    state = req.param("state", source)
    response_type = req.param("response_type", source)
    callbacks = (client.extended_config.get("CallbackURLs") or []) if client else []
    if client is None or redirect_uri not in callbacks:
        return _error(start_response, client_id)
    if response_type != "code":
        return _error(start_response, client_id, "unsupported_response_type")
    back = [("state", state)] if state is not None else []
    fields = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code"}
    if state is not None:
        fields["state"] = state
    if req.method == "GET":
        session = _live_session(req, pool)
        if session is None:
            return _answer(start_response, "200 OK", _form(fields))
        user = pool._get_user(session[1])
        tokens = user and _tokens_for_session(backend, pool, client, user)
        if not tokens:
            return _answer(start_response, "200 OK", _form(fields))
        code = _issue_code(pool, client, redirect_uri, tokens)
        return _redirect(start_response, _with_query(redirect_uri, [("code", code), *back]))
    username = req.param("username", req.form) or ""
    tokens = _sign_in(backend, pool, client, username, req.param("password", req.form) or "")
    if not tokens:
        return _answer(
            start_response, "200 OK", _form(fields, "Incorrect username or password.")
        )
    user = pool._get_user(username)
    sid = secrets.token_urlsafe(32)
    with _lock:
        _sessions[sid] = (pool.id, user.username, time.time() + SESSION_SECONDS)
    code = _issue_code(pool, client, redirect_uri, tokens)
    return _redirect(
        start_response,
        _with_query(redirect_uri, [("code", code), *back]),
        [("Set-Cookie", _cookie(req, sid, SESSION_SECONDS))],
    )


def _tokens_for_session(backend, pool, client, user):
    """New tokens for a user signed in at the hosted UI (single sign-on)."""
    try:
        return backend.admin_initiate_auth(
            pool.id,
            client.id,
            "ADMIN_NO_SRP_AUTH",
            {"USERNAME": user.username, "PASSWORD": user.password},
        ).get("AuthenticationResult")
    except JsonRESTError:
        return None


def _logout(req, start_response, pool):
    client_id = req.param("client_id")
    if client_id is None:
        return _error(start_response, None, "Required String parameter 'client_id' is not present")
    client = _client(pool, client_id)
    logout_uri = req.param("logout_uri")
    redirect_uri = req.param("redirect_uri")
    response_type = req.param("response_type")
    if client is None:
        return _error(start_response, client_id)
    if logout_uri is not None:
        if logout_uri not in (client.extended_config.get("LogoutURLs") or []):
            return _error(start_response, client_id)
        target = logout_uri
    elif redirect_uri is not None and response_type is not None:
        if redirect_uri not in (client.extended_config.get("CallbackURLs") or []):
            return _error(start_response, client_id)
        pairs = [("client_id", client_id), ("redirect_uri", redirect_uri), ("response_type", response_type)]
        for extra in ("state", "scope"):
            if req.param(extra) is not None:
                pairs.append((extra, req.param(extra)))
        target = "/login?" + urllib.parse.urlencode(pairs)
    else:
        return _error(start_response, client_id, "Required String parameter 'redirect_uri' is not present")
    sid = req.cookie(SESSION_COOKIE)
    if sid:
        with _lock:
            _sessions.pop(sid, None)
    return _redirect(start_response, target, [("Set-Cookie", _cookie(req, "", 0))])


def _token(req, start_response, pool):
    def oauth_error(code, status="400 Bad Request"):
        body = ('{"error":"%s"}' % code).encode()
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
             ("Cache-Control", "no-store")],
        )  # fmt: skip
        return [body]

    if req.method != "POST":
        return oauth_error("invalid_request", "405 Method Not Allowed")
    if req.param("grant_type", req.form) != "authorization_code":
        return oauth_error("unsupported_grant_type")
    client_id = req.param("client_id", req.form)
    secret = req.param("client_secret", req.form)
    auth = req.environ.get("HTTP_AUTHORIZATION", "")
    if auth.lower().startswith("basic "):
        try:
            user, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            client_id = urllib.parse.unquote(user)
            secret = urllib.parse.unquote(secret)
        except ValueError:
            return oauth_error("invalid_client", "401 Unauthorized")
    client = _client(pool, client_id)
    if client is None or (client.generate_secret and secret != client.secret):
        return oauth_error("invalid_client", "401 Unauthorized")
    with _lock:
        grant = _codes.pop(req.param("code", req.form) or "", None)
    if (
        grant is None
        or grant["expiry"] < time.time()
        or grant["pool"] != pool.id
        or grant["client"] != client.id
        or grant["redirect_uri"] != req.param("redirect_uri", req.form)
    ):
        return oauth_error("invalid_grant")
    t = grant["tokens"]
    body = json.dumps(
        {
            "id_token": t["IdToken"],
            "access_token": t["AccessToken"],
            "refresh_token": t.get("RefreshToken"),
            "expires_in": t.get("ExpiresIn", 3600),
            "token_type": "Bearer",
        }
    ).encode()
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
         ("Cache-Control", "no-store")],
    )  # fmt: skip
    return [body]


def _federate(req, start_response, pool):
    client_id = req.param("client_id")
    client = _client(pool, client_id)
    redirect_uri = req.param("redirect_uri")
    provider = pool.identity_providers.get(req.param("identity_provider"))
    if client is None or redirect_uri not in (client.extended_config.get("CallbackURLs") or []):
        return _error(start_response, client_id)
    details = (provider.extended_config.get("ProviderDetails") or {}) if provider else {}
    if not details.get("authorize_url") or req.param("response_type") != "code":
        return _error(start_response, client_id, "invalid_request")
    ours = secrets.token_urlsafe(24)
    with _lock:
        _federating[ours] = {
            "client": client.id,
            "redirect_uri": redirect_uri,
            "state": req.param("state"),
            "provider": provider.name,
            "expiry": time.time() + CODE_SECONDS,
        }
    scheme = "https" if req.https else "http"
    back = f"{scheme}://{req.environ.get('HTTP_HOST', '')}/oauth2/idpresponse"
    query = urllib.parse.urlencode(
        {
            "client_id": details.get("client_id", ""),
            "redirect_uri": back,
            "response_type": "code",
            "scope": details.get("authorize_scopes", "openid"),
            "state": ours,
        }
    )
    return _redirect(start_response, f"{details['authorize_url']}?{query}")


def _idp_response(req, start_response, backend, pool):
    with _lock:
        pending = _federating.pop(req.param("state") or "", None)
    subject = req.param("code")
    if pending is None or pending["expiry"] < time.time() or not subject:
        return _error(start_response, None, "invalid_request")
    client = pool.clients.get(pending["client"])
    username = f"{pending['provider']}_{subject}"
    user = pool._get_user(username)
    if user is None:
        backend.admin_create_user(pool.id, username, "SUPPRESS", None, [])
        backend.admin_set_user_password(pool.id, username, secrets.token_urlsafe(24) + "aA1!", True)
        user = pool._get_user(username)
    tokens = _tokens_for_session(backend, pool, client, user)
    if not tokens:
        return _error(start_response, client.id, "invalid_request")
    claims = json.loads(
        base64.urlsafe_b64decode(tokens["IdToken"].split(".")[1] + "==")
    )
    claims["identities"] = [
        {
            "userId": subject,
            "providerName": pending["provider"],
            "providerType": "OIDC",
            "issuer": None,
            "primary": "true",
            "dateCreated": str(int(datetime.datetime.now().timestamp() * 1000)),
        }
    ]
    tokens = dict(tokens, IdToken=jose_jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, pool.json_web_key))
    sid = secrets.token_urlsafe(32)
    with _lock:
        _sessions[sid] = (pool.id, user.username, time.time() + SESSION_SECONDS)
    code = _issue_code(pool, client, pending["redirect_uri"], tokens)
    back = [("code", code)] + ([("state", pending["state"])] if pending["state"] is not None else [])
    return _redirect(
        start_response,
        _with_query(pending["redirect_uri"], back),
        [("Set-Cookie", _cookie(req, sid, SESSION_SECONDS))],
    )


def handle(environ, start_response):
    """Answers a hosted-UI request; None when `environ` is not one."""
    found = _domain_of(environ.get("HTTP_HOST", ""))
    if found is None:
        return None
    backend, pool = found
    req = _Request(environ)
    if req.path == "/logout" and req.method == "GET":
        return _logout(req, start_response, pool)
    if req.path == "/oauth2/authorize" and req.param("identity_provider"):
        return _federate(req, start_response, pool)
    if req.path == "/oauth2/idpresponse":
        return _idp_response(req, start_response, backend, pool)
    if req.path in ("/login", "/oauth2/authorize") and req.method in ("GET", "POST"):
        if req.path == "/oauth2/authorize":
            return _redirect(start_response, "/login?" + environ.get("QUERY_STRING", ""))
        return _login(req, start_response, backend, pool)
    if req.path == "/oauth2/token":
        return _token(req, start_response, pool)
    if req.path == "/error":
        return _answer(start_response, "400 Bad Request", _page(ERROR_TEXT, "<p>Try again later.</p>\n"))
    return _answer(start_response, "404 Not Found", _page(ERROR_TEXT))


def with_hosted_ui(app_class):
    """A subclass of moto's WSGI dispatcher that answers requests for a user
    pool's domain and passes every other request to moto."""

    class HostedUiApp(app_class):
        def __call__(self, environ, start_response):
            answer = handle(environ, start_response)
            if answer is not None:
                return answer
            return super().__call__(environ, start_response)

    return HostedUiApp


def activate() -> None:
    import moto.server  # moto.server.main builds this class's app

    moto.server.DomainDispatcherApplication = with_hosted_ui(
        moto.server.DomainDispatcherApplication
    )

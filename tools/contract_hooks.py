"""Schemathesis hooks for the contract test (functions/signout-api/tests/contract.rs).

Random strings never verify as Cognito tokens, so without help schemathesis would only
reach the error answers. These hooks give it real credentials from the emulator:

* every request to a bearer route (`POST /signout`, `GET /session`) carries a fresh
  access token of the test user, signed in just before (a sign-out by an earlier
  request must not turn every later one into a 401);
* every second positive request to `POST /revoke` and `POST /introspect` carries a
  real token in its `token` field, in turn an access, ID and refresh token of the
  client the request authenticates as;
* every second positive request to the admin routes names the fixture's own admin
  target user (never the bearer user: a block would end their sign-ins) or one of its
  app clients, so the 200 answers are reached too.

Settings come from the environment the test sets: CONTRACT_ENDPOINT (the emulator),
CONTRACT_CLIENT_ID, CONTRACT_SECRET_CLIENT_ID, CONTRACT_SECRET_CLIENT_SECRET,
CONTRACT_USERNAME, CONTRACT_ADMIN_USERNAME, CONTRACT_PASSWORD,
CONTRACT_SIGV4_AUTHORIZATION (the value tools/apigw_adapter.py treats as signed).
"""

import base64
import hashlib
import hmac
import itertools
import os
import threading

import boto3
import schemathesis
from schemathesis.core.parameters import ParameterLocation

ENV = os.environ
_local = threading.local()
_turns = itertools.count()
_lock = threading.Lock()


def _idp():
    if not hasattr(_local, "idp"):
        _local.idp = boto3.client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=ENV["CONTRACT_ENDPOINT"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    return _local.idp


def sign_in(confidential=False):
    """Tokens of a fresh USER_PASSWORD_AUTH sign-in of the bearer user."""
    username = ENV["CONTRACT_USERNAME"]
    client = ENV["CONTRACT_SECRET_CLIENT_ID"] if confidential else ENV["CONTRACT_CLIENT_ID"]
    params = {"USERNAME": username, "PASSWORD": ENV["CONTRACT_PASSWORD"]}
    if confidential:
        tag = hmac.new(
            ENV["CONTRACT_SECRET_CLIENT_SECRET"].encode(), (username + client).encode(), hashlib.sha256
        ).digest()
        params["SECRET_HASH"] = base64.b64encode(tag).decode()
    out = _idp().initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params)
    return out["AuthenticationResult"]


def turn():
    with _lock:
        return next(_turns)


BEARER_ROUTES = ("/signout", "/session")


def basic(client_id, secret):
    pair = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(pair).decode()


@schemathesis.auth(refresh_interval=None)
class Credentials:
    """The `Authorization` header of each operation. (Schemathesis drops programmatic auth
    when its config file defines any, so every scheme is provided here.)

    * bearer routes: a fresh access token of the public client;
    * `POST /revoke`: Basic credentials of the confidential client (the real tokens the
      hook puts in the body are that client's too), or, every second time, none: the
      request then names the public client with `client_id`;
    * IAM routes, and `POST /introspect` every second time: the adapter's test SigV4
      value; `POST /introspect` otherwise: the confidential client's Basic credentials.
    """

    def get(self, case, ctx):
        path = ctx.operation.path
        if path in BEARER_ROUTES:
            return "Bearer " + sign_in()["AccessToken"]
        confidential = basic(ENV["CONTRACT_SECRET_CLIENT_ID"], ENV["CONTRACT_SECRET_CLIENT_SECRET"])
        if path == "/revoke":
            return confidential if turn() % 2 else ""
        if path == "/introspect" and turn() % 2:
            return confidential
        return ENV["CONTRACT_SIGV4_AUTHORIZATION"]

    def set(self, case, data, ctx):
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        if data:
            headers["Authorization"] = data
        elif case.operation.path == "/revoke" and isinstance(case.body, dict):
            case.body["client_id"] = ENV["CONTRACT_CLIENT_ID"]
        case.headers = headers


def _positive(case, location):
    return case.meta is None or not case.meta.is_negative_at(location)


@schemathesis.hook
def map_case(context, case):
    path = case.operation.path
    t = turn()
    if t % 2:
        return case
    if path in ("/revoke", "/introspect") and isinstance(case.body, dict):
        if _positive(case, ParameterLocation.BODY) and isinstance(case.body.get("token"), str):
            # The client the request authenticates as: Basic credentials name the
            # confidential client, a request without them the public one.
            headers = {k.lower(): v for k, v in (case.headers or {}).items()}
            confidential = headers.get("authorization", "").startswith("Basic ")
            tokens = sign_in(confidential=confidential)
            kind = ("AccessToken", "IdToken", "RefreshToken")[(t // 2) % 3]
            case.body["token"] = tokens[kind]
    elif path.startswith("/admin/") and case.path_parameters:
        if _positive(case, ParameterLocation.PATH):
            if "username" in case.path_parameters:
                case.path_parameters["username"] = ENV["CONTRACT_ADMIN_USERNAME"]
            if "client_id" in case.path_parameters:
                which = "CONTRACT_CLIENT_ID" if (t // 2) % 2 else "CONTRACT_SECRET_CLIENT_ID"
                case.path_parameters["client_id"] = ENV[which]
    return case

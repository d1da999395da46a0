"""Local AWS emulator: moto's server plus the Cognito actions moto lacks.

moto 5.x serves DynamoDB and Cognito user pools but has no `RevokeToken`.
This wrapper adds it to moto's Cognito backend, as AWS documents it:

* the refresh token stops working (REFRESH_TOKEN_AUTH answers NotAuthorized);
* every access and ID token minted from it (same `origin_jti`) stops working at
  Cognito's own APIs (GetUser, GlobalSignOut, ...);
* the user's other sessions are untouched;
* a client with a secret must send it (NotAuthorizedException otherwise);
* the token must belong to the calling client (UnauthorizedException otherwise);
* an access or ID token is refused with UnsupportedTokenTypeException;
* an unknown or already revoked refresh token answers success (RFC 7009 style).

It also lets users be found by a verified alias (`AliasAttributes` email or
phone_number), as AdminGetUser and friends accept in AWS; moto only knows
`UsernameAttributes`.

And it runs the Pre Token Generation Lambda trigger, which moto never invokes.
When a pool's LambdaConfig names one (`PreTokenGenerationConfig` with
LambdaVersion V1_0, V2_0 or V3_0, or the legacy `PreTokenGeneration` ARN, V1_0)
and EMULATOR_LAMBDA_ENDPOINT is set (e.g. http://127.0.0.1:9000, the invoke API
of `cargo lambda watch`), every token issuance (sign-in, challenge answer,
refresh) POSTs Cognito's event for that version once to
`{endpoint}/2015-03-31/functions/{name}/invocations` (name: the ARN's function
name) and applies the answer as Cognito does: V1 overrides the ID token only,
V2/V3 the ID and access tokens (claims and scopes); `groupOverrideDetails`
replaces `cognito:groups` in both; claims such as iss, sub, aud, exp, iat, jti,
origin_jti, token_use, auth_time and client_id are never overridden. A function
error, an answer slower than 5 s, or no answer fails the sign-in with
UserLambdaValidationException "PreTokenGeneration failed with error ..."; an
answer that is not a JSON object fails it with InvalidLambdaResponseException.
Without the variable, or without the trigger, tokens are minted as before.

With EMULATOR_REPLICATE_REGIONS (e.g. us-east-1,eu-west-1) it also simulates
DynamoDB global tables between those Regions (tools/replication.py: random
delivery delay EMULATOR_REPLICATION_DELAY_MS=MIN-MAX, default 0-300, seeded by
EMULATOR_REPLICATION_SEED; last writer wins per item; conditions see only the
local Region), and GET /_replication answers its counters as JSON
{"captured","applied","dropped_lww","pending"}: wait for pending == 0.

And Cognito's hosted UI where a sign-out passes through it (tools/hosted_ui.py):
on the same port, a request whose Host is a pool's domain (CreateUserPoolDomain:
`<prefix>.auth.<region>.amazoncognito.com`, or a custom domain such as
`auth.test`) gets `GET /logout` (client_id + logout_uri, or client_id +
redirect_uri + response_type) as AWS documents it, a minimal sign-in page
(`GET`/`POST /login`) that sets the `cognito` session cookie, and the
authorization code exchange at `POST /oauth2/token`.

And the DynamoDB Streams event source mapping moto does not run
(tools/stream_poller.py): with EMULATOR_STREAM_FUNCTION (e.g. `events`) and
EMULATOR_LAMBDA_ENDPOINT set, every table's stream is polled and its records
are sent to that function as Lambda would, partial batch responses honoured,
retries exhausted into an on-failure SQS queue; GET /_streams answers its
counters. An UpdateItem that creates its item writes one INSERT stream record,
as DynamoDB does (moto alone writes two).

Usage: python tools/emulator.py --port 5000 [--host 127.0.0.1] [--exit-on-stdin-eof]

With --exit-on-stdin-eof the server exits when its standard input closes, so a
test process that dies (even by SIGKILL) never leaves an emulator behind.
"""

import argparse
import base64
import functools
import inspect
import json
import os
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

from joserfc import jwt as jose_jwt
from moto.cognitoidp import models as cognito_models
from moto.cognitoidp.exceptions import NotAuthorizedError
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import EmptyResult

import hosted_ui  # tools/hosted_ui.py
import replication  # tools/replication.py: this script's directory is on sys.path
import stream_poller  # tools/stream_poller.py
from stdin_exit import exit_when_stdin_closes  # tools/stdin_exit.py


class UnsupportedTokenTypeException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__(error_type="UnsupportedTokenTypeException", message=message)


class UnauthorizedException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__(error_type="UnauthorizedException", message=message)


def _claims(jwt: str) -> dict:
    try:
        payload = jwt.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload))
    except Exception:  # noqa: BLE001 - any undecodable token has no claims
        return {}


def _backend_revoke_token(self, token: str, client_id: str, client_secret):
    pool = None
    for candidate in self.user_pools.values():
        if client_id in candidate.clients:
            pool = candidate
            break
    if pool is None:
        raise NotAuthorizedError("Invalid client id provided")
    client = pool.clients[client_id]
    if client.generate_secret and client_secret != client.secret:
        raise NotAuthorizedError("Client secret is required and did not match")
    if client.extended_config.get("EnableTokenRevocation") is False:
        raise UnauthorizedException("Token revocation is not enabled for this client")
    if token.count(".") == 2:
        raise UnsupportedTokenTypeException("Only refresh tokens can be revoked")
    entry = pool.refresh_tokens.get(token)
    if entry is None:
        return  # unknown or already revoked: nothing to do, success
    owner_client, _username, origin_jti = entry
    if owner_client != client_id:
        raise UnauthorizedException("Token was not issued to this client")
    pool.refresh_tokens[token] = None
    for store in (pool.access_tokens, pool.id_tokens):
        for minted in list(store):
            if _claims(minted).get("origin_jti") == origin_jti:
                store.pop(minted, None)


def _response_revoke_token(self):
    self.backend.revoke_token(
        self._get_param("Token"),
        self._get_param("ClientId"),
        self._get_param("ClientSecret"),
    )
    return EmptyResult()


_moto_get_user = cognito_models.CognitoIdpUserPool._get_user


def _get_user_by_name_or_alias(self, username: str):
    user = _moto_get_user(self, username)
    if user:
        return user
    for alias in self.extended_config.get("AliasAttributes") or []:
        for candidate in self.users.values():
            attrs = cognito_models.flatten_attrs(candidate.attributes)
            if attrs.get(alias) == username and attrs.get(f"{alias}_verified") == "true":
                return candidate
    return None


cognito_models.CognitoIdpUserPool._get_user = _get_user_by_name_or_alias
cognito_models.CognitoIdpBackend.revoke_token = _backend_revoke_token
CognitoIdpResponse.revoke_token = _response_revoke_token

# --- Pre Token Generation trigger ------------------------------------------

LAMBDA_ENDPOINT_ENV = "EMULATOR_LAMBDA_ENDPOINT"
LAMBDA_TIMEOUT_SECONDS = 5
# The scopes moto puts in every access token (API sign-ins, no OAuth scopes).
_SIGN_IN_SCOPES = ["aws.cognito.signin.user.admin"]
# Claims Cognito does not let the trigger add, override or suppress.
_PROTECTED_CLAIMS = frozenset(
    {
        "iss", "sub", "token_use", "exp", "iat", "jti", "origin_jti",
        "client_id", "aud", "auth_time",
        "acr", "amr", "at_hash", "azp", "cognito:username", "identities",
        "nbf", "nonce",
    }
)  # fmt: skip


class UserLambdaValidationException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__(error_type="UserLambdaValidationException", message=message)


class InvalidLambdaResponseException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__(error_type="InvalidLambdaResponseException", message=message)


def _trigger_failed(reason) -> UserLambdaValidationException:
    return UserLambdaValidationException(
        f"PreTokenGeneration failed with error {reason}."
    )


# The issuance in progress on this request thread: its `source` (triggerSource)
# and `answers`, the trigger's answer per origin_jti, so that the access and
# the ID token, which moto mints with separate calls, share one invocation.
# Set around the backend's auth entry points (see _issuing below).
_issuance = threading.local()


def _pre_token_trigger(pool) -> tuple[str, str] | None:
    """(function ARN or name, "V1_0" | "V2_0" | "V3_0") configured on the pool."""
    lambda_config = pool.extended_config.get("LambdaConfig") or {}
    config = lambda_config.get("PreTokenGenerationConfig") or {}
    if config.get("LambdaArn"):
        return config["LambdaArn"], config.get("LambdaVersion") or "V1_0"
    if lambda_config.get("PreTokenGeneration"):
        return lambda_config["PreTokenGeneration"], "V1_0"
    return None


def _function_name(arn: str) -> str:
    """`arn:aws:lambda:<region>:<account>:function:<name>` -> name; a bare name
    is returned as is."""
    if ":function:" in arn:
        return arn.split(":function:", 1)[1].split(":")[0]
    return arn


def _pre_token_event(pool, client_id, username, version, source) -> dict:
    """The event Cognito sends for this version (see the developer guide,
    "Pre token generation Lambda trigger")."""
    user = pool._get_user(username)
    attributes = cognito_models.flatten_attrs(user.attributes)  # includes sub
    attributes["cognito:user_status"] = getattr(user.status, "value", user.status)
    groups = sorted(
        user.groups,
        key=lambda g: (g.precedence is None, g.precedence or 0, g.group_name),
    )
    roles = [g.role_arn for g in groups if g.role_arn]
    request = {
        "userAttributes": attributes,
        "groupConfiguration": {
            "groupsToOverride": [g.group_name for g in groups],
            "iamRolesToOverride": roles,
            "preferredRole": roles[0] if roles else None,
        },
    }
    if version == "V1_0":
        response = {"claimsOverrideDetails": None}
    else:
        request["scopes"] = list(_SIGN_IN_SCOPES)
        response = {"claimsAndScopeOverrideDetails": None}
    return {
        "version": {"V2_0": "2", "V3_0": "3"}.get(version, "1"),
        "triggerSource": source,
        "region": pool.region,
        "userPoolId": pool.id,
        "userName": user.username,
        "callerContext": {
            "awsSdkVersion": "aws-sdk-unknown-unknown",
            "clientId": client_id,
        },
        "request": request,
        "response": response,
    }


def _invoke(endpoint: str, function_name: str, event: dict) -> dict:
    """POSTs the event to the Lambda invoke API; returns the function's answer."""
    name = urllib.parse.quote(function_name, safe="")
    request = urllib.request.Request(
        f"{endpoint.rstrip('/')}/2015-03-31/functions/{name}/invocations",
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        try:
            with urllib.request.urlopen(request, timeout=LAMBDA_TIMEOUT_SECONDS) as r:
                status, headers, body = r.status, r.headers, r.read()
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, error.headers, error.read()
    except OSError as error:  # URLError, refused connection, timeout
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError):
            reason = "Socket timeout while invoking Lambda function"
        raise _trigger_failed(reason)
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    message = answer.get("errorMessage") if isinstance(answer, dict) else None
    if status >= 400 or headers.get("X-Amz-Function-Error") or message:
        text = body.decode(errors="replace").strip()
        raise _trigger_failed(message or text or f"HTTP {status}")
    if not isinstance(answer, dict):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    return answer


def _pre_token_answer(pool, client_id, username, origin_jti):
    """(version, the function's `response`) for this issuance, invoking the
    function on first use; None when no trigger or no endpoint is configured."""
    endpoint = os.environ.get(LAMBDA_ENDPOINT_ENV)
    trigger = _pre_token_trigger(pool)
    if not endpoint or trigger is None:
        return None
    answers = getattr(_issuance, "answers", None)
    if answers is not None and origin_jti in answers:
        return answers[origin_jti]
    arn, version = trigger
    source = getattr(_issuance, "source", None) or "TokenGeneration_Authentication"
    event = _pre_token_event(pool, client_id, username, version, source)
    answer = _invoke(endpoint, _function_name(arn), event)
    result = version, answer.get("response") or {}
    if answers is not None:
        answers[origin_jti] = result
    return result


def _apply_overrides(claims: dict, token_use: str, version: str, response: dict):
    """Applies the function's answer to one token's claims, as Cognito does."""
    if version == "V1_0":  # claims for the ID token only
        details = response.get("claimsOverrideDetails") or {}
        generation = details if token_use == "id" else {}
    else:
        details = response.get("claimsAndScopeOverrideDetails") or {}
        key = "idTokenGeneration" if token_use == "id" else "accessTokenGeneration"
        generation = details.get(key) or {}
    if "groupOverrideDetails" in details:  # both tokens, every version
        groups = (details["groupOverrideDetails"] or {}).get("groupsToOverride")
        if groups:
            claims["cognito:groups"] = list(groups)
        else:
            claims.pop("cognito:groups", None)
    for name, value in (generation.get("claimsToAddOrOverride") or {}).items():
        if name not in _PROTECTED_CLAIMS:
            claims[name] = value
    for name in generation.get("claimsToSuppress") or []:  # suppress wins
        if name not in _PROTECTED_CLAIMS:
            claims.pop(name, None)
    added = generation.get("scopesToAdd") or []
    suppressed = generation.get("scopesToSuppress") or []
    if token_use == "access" and (added or suppressed):
        scopes = claims.get("scope", "").split()
        scopes += [s for s in added if s not in scopes]
        scopes = [s for s in scopes if s not in suppressed]
        if scopes:
            claims["scope"] = " ".join(scopes)
        else:
            claims.pop("scope", None)


_moto_create_jwt = cognito_models.CognitoIdpUserPool.create_jwt


def _create_jwt_with_trigger(
    self, client_id, username, token_use, expires_in=60 * 60, extra_data=None
):
    token, expires_in = _moto_create_jwt(
        self, client_id, username, token_use, expires_in, extra_data
    )
    origin_jti = (extra_data or {}).get("origin_jti")
    answer = origin_jti and _pre_token_answer(self, client_id, username, origin_jti)
    if not answer:
        return token, expires_in
    claims = _claims(token)
    _apply_overrides(claims, token_use, *answer)
    header = {"kid": "dummy", "alg": "RS256"}  # as moto signs its tokens
    return jose_jwt.encode(header, claims, self.json_web_key), expires_in


def _source_for_flow(auth_flow) -> str:
    if getattr(auth_flow, "value", auth_flow) in ("REFRESH_TOKEN", "REFRESH_TOKEN_AUTH"):
        return "TokenGeneration_RefreshTokens"
    return "TokenGeneration_Authentication"


def _source_for_challenge(challenge_name) -> str:
    if challenge_name == "NEW_PASSWORD_REQUIRED":
        return "TokenGeneration_NewPasswordChallenge"
    return "TokenGeneration_Authentication"


def _issuing(method, parameter: str, source_of):
    """Wraps a backend auth entry point in an issuance context whose
    triggerSource is `source_of(<the call's parameter>)`."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if getattr(_issuance, "answers", None) is not None:  # admin -> public call
            return method(self, *args, **kwargs)
        value = signature.bind(self, *args, **kwargs).arguments[parameter]
        _issuance.source, _issuance.answers = source_of(value), {}
        try:
            return method(self, *args, **kwargs)
        finally:
            _issuance.source, _issuance.answers = None, None

    return wrapper


for _name, _parameter, _source_of in (
    ("initiate_auth", "auth_flow", _source_for_flow),
    ("admin_initiate_auth", "auth_flow", _source_for_flow),
    ("respond_to_auth_challenge", "challenge_name", _source_for_challenge),
    ("admin_respond_to_auth_challenge", "challenge_name", _source_for_challenge),
):
    _method = getattr(cognito_models.CognitoIdpBackend, _name)
    setattr(
        cognito_models.CognitoIdpBackend,
        _name,
        _issuing(_method, _parameter, _source_of),
    )
cognito_models.CognitoIdpUserPool.create_jwt = _create_jwt_with_trigger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()
    if args.exit_on_stdin_eof:
        exit_when_stdin_closes()
    replication.activate()  # before moto.server.main builds its app
    hosted_ui.activate()
    stream_poller.activate(args.port)
    from moto.server import main as moto_main

    moto_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()

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

Usage: python tools/emulator.py --port 5000 [--host 127.0.0.1] [--exit-on-stdin-eof]

With --exit-on-stdin-eof the server exits when its standard input closes, so a
test process that dies (even by SIGKILL) never leaves an emulator behind.
"""

import argparse
import base64
import json
import os
import sys
import threading

from moto.cognitoidp import models as cognito_models
from moto.cognitoidp.exceptions import NotAuthorizedError
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import EmptyResult


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


def _exit_when_stdin_closes() -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()
    if args.exit_on_stdin_eof:
        threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    from moto.server import main as moto_main

    moto_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()

"""Signs test tokens with the emulator's own key (moto's, `kid` "dummy").

Tests use it for tokens Cognito would mint but the emulator cannot: expired
ones, ones carrying a trigger's stamp at a chosen instant. It reads a JSON
object `{"header": {...}, "claims": {...}}` on stdin and prints the JWT.
The header defaults to `{"alg": "RS256", "kid": "dummy"}`.
"""

import json
import sys

from joserfc import jwk, jwt
from moto.utilities.utils import load_resource


def main() -> None:
    spec = json.load(sys.stdin)
    key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    header = spec.get("header") or {"alg": "RS256", "kid": "dummy"}
    sys.stdout.write(jwt.encode(header, spec["claims"], key))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Authorizer events with distinct valid tokens, to fill the verified-token cache.

    distinct_tokens.py --event authorizer.json --count 10000 > events.jsonl

Each event is the given REST TOKEN event with its access token re-signed by
the emulator's own key (moto's, kid "dummy", as tools/mint_token.py does) with
another `jti`: every token is new to the cache, verifies, and belongs to the
same user and session (so the verdict cache, not the store, answers most).
One JSON event per line.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys

from joserfc import jwk, jwt
from moto.utilities.utils import load_resource


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--event", required=True)
    p.add_argument("--count", type=int, default=10_000)
    a = p.parse_args()
    event = json.load(open(a.event))
    token = event["authorizationToken"].removeprefix("Bearer ")
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    header = {"alg": "RS256", "kid": "dummy"}
    out = sys.stdout
    for i in range(a.count):
        claims["jti"] = f"bench-distinct-{i:06d}"
        event["authorizationToken"] = jwt.encode(header, claims, key)
        out.write(json.dumps(event) + "\n")


if __name__ == "__main__":
    main()

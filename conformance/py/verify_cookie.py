"""Verifies a session-jwt cookie with PyJWT: the Python snippets of
docs/verifying-elsewhere.md (shown there verbatim), run against a live
reference app by conformance/tests/federated.rs.

    python3 verify_cookie.py secret <shared secret>  <token>
    python3 verify_cookie.py pem    <public key file> <token>
    python3 verify_cookie.py jwks   <JWKS URL>        <token>

Prints the verified claims as JSON; a refused token prints why on stderr and
exits 1. Needs PyJWT 2 with its crypto extra: pip install "pyjwt[crypto]".
"""
import json
import sys

import jwt  # PyJWT >= 2, with the crypto extra for RS256 and ES256

# Pinned: the algorithms the app signs with, never the token's own choice.
# Keep only the one your app uses.
HMAC_ALGORITHMS = ["HS256"]
PUBLIC_KEY_ALGORITHMS = ["RS256", "ES256"]

FIELDS = {"id": "user_id", "u": "username", "e": "email"}  # short -> long


def verify(token: str, key, algorithms: list) -> dict:
    claims = jwt.decode(
        token,
        key,
        algorithms=algorithms,
        options={"require": ["sk", "iat", "exp"]},
    )
    for short, long in FIELDS.items():
        if short in claims:
            claims[long] = claims[short]
    return claims


# (a) The shared secret (the app's SESSION_JWT_KEY).
def verify_with_secret(token: str, secret: str) -> dict:
    return verify(token, secret, HMAC_ALGORITHMS)


# (b) The app's public key, a PEM file (read it once in a real service).
def verify_with_public_key(token: str, pem_path: str) -> dict:
    with open(pem_path, "rb") as f:
        public_key = f.read()
    return verify(token, public_key, PUBLIC_KEY_ALGORITHMS)


# (c) The app's JWKS URL. One client per URL: it caches the keys, and the
# token's kid picks one (an unknown kid is an error, not a fallback).
jwks_clients = {}


def verify_with_jwks(token: str, url: str) -> dict:
    if url not in jwks_clients:
        jwks_clients[url] = jwt.PyJWKClient(url)
    signing_key = jwks_clients[url].get_signing_key_from_jwt(token)
    return verify(token, signing_key.key, PUBLIC_KEY_ALGORITHMS)


def main() -> int:
    mode, key, token = sys.argv[1:4]
    verify_with = {
        "secret": verify_with_secret,
        "pem": verify_with_public_key,
        "jwks": verify_with_jwks,
    }[mode]
    try:
        claims = verify_with(token, key)
    except jwt.PyJWTError as e:  # InvalidTokenError, PyJWKClientError
        print(f"refused: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(claims))
    return 0


if __name__ == "__main__":
    sys.exit(main())

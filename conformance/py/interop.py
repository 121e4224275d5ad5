"""Verifies a session-jwt cookie with other JWT libraries.

Reads one JSON request on stdin, prints one JSON answer on stdout.
  {"lib": "pyjwt", "token": ..., "alg": ..., "key": <secret or public PEM>}
  {"lib": "django", "token": ..., "key": <secret> | [<private path>, <public path>]}
Exit 3 when a needed package is missing (the caller decides whether that fails).
"""
import json
import sys

req = json.load(sys.stdin)

try:
    import jwt
    if req["lib"] == "django":
        import django  # noqa: F401
        import django_session_jwt  # noqa: F401
except ImportError as e:
    print(f"python package missing: {e}", file=sys.stderr)
    sys.exit(3)

if req["lib"] == "pyjwt":
    header = jwt.get_unverified_header(req["token"])
    claims = jwt.decode(
        req["token"],
        req["key"],
        algorithms=[req["alg"]],
        options={"require": ["iat", "sk"]},
    )
    print(json.dumps({"header": header, "claims": claims}))
elif req["lib"] == "django":
    from django.conf import settings

    key = req["key"]
    settings.configure(
        SECRET_KEY="django-insecure-conformance-not-used-for-jwt-0123456789",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
        ],
        DJANGO_SESSION_JWT={
            "KEY": tuple(key) if isinstance(key, list) else key,
            # django-session-jwt's own test settings, as the reference app.
            "FIELDS": [
                ("id", "id", "user_id"),
                ("username", "u", "username"),
                ("email", "e", "email"),
                ("profile.team", "t", "team"),
                ("invalid", "i", "invalid"),
            ],
        },
    )
    django.setup()
    from django_session_jwt.middleware.session import verify_jwt

    print(json.dumps({"claims": verify_jwt(req["token"])}))
else:
    print(f"unknown lib {req['lib']}", file=sys.stderr)
    sys.exit(2)

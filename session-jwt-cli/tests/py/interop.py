"""Helper for session-jwt-cli's interoperability tests (tests/interop.rs).

Runs PyJWT and django-session-jwt the way an app or a consuming service
would, and prints results as JSON on stdout.

    interop.py check
        exit 0 when PyJWT, cryptography, django and django-session-jwt import.
    interop.py dsj-create --alg HS256 --secret S --sk KEY [--expires N]
    interop.py dsj-create --alg RS256 --private P.pem --public P.pub --sk KEY [--expires N]
        a token from django-session-jwt's create_jwt for the reference user
        (id 1, john, john@domain.com, profile.team core).
    interop.py dsj-verify (--secret S | --private P.pem --public P.pub) TOKEN
        django-session-jwt's verify_jwt(TOKEN) as JSON ({} when refused).
    interop.py pyjwt-verify --alg ALG (--secret S | --public P.pub) TOKEN
        PyJWT's jwt.decode(TOKEN, key, algorithms=[ALG]) as JSON; exit 1
        with the exception on stderr when refused.
"""

import argparse
import json
import sys
import types

# The reference app's fields, as django-session-jwt's test settings.
FIELDS = [
    ("id", "id", "user_id"),
    ("username", "u", "username"),
    ("email", "e", "email"),
    ("profile.team", "t", "team"),
    ("invalid", "i", "invalid"),
]


def get_fields(user):
    """The CALLABLE of the settings: extra claims."""
    return {"foo": "bar"}


def reference_user():
    return types.SimpleNamespace(
        id=1,
        username="john",
        email="john@domain.com",
        profile=types.SimpleNamespace(team="core"),
    )


def dsj(args):
    """django-session-jwt's session module, configured by args."""
    import django
    from django.conf import settings

    if args.secret is not None:
        key = args.secret
    else:
        key = (args.private, args.public)
    settings.configure(
        SECRET_KEY="not-the-jwt-key-" + "x" * 40,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
        ],
        DATABASES={},
        USE_TZ=True,
        DJANGO_SESSION_JWT={
            "FIELDS": list(FIELDS),
            "KEY": key,
            "CALLABLE": "__main__.get_fields",
            "EXPIRES": getattr(args, "expires", None),
        },
    )
    django.setup()
    from django_session_jwt.middleware import session

    return session


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check")
    for name in ("dsj-create", "dsj-verify", "pyjwt-verify"):
        p = sub.add_parser(name)
        p.add_argument("--alg", default="HS256")
        p.add_argument("--secret")
        p.add_argument("--private")
        p.add_argument("--public")
        if name == "dsj-create":
            p.add_argument("--sk", required=True)
            p.add_argument("--expires", type=int, default=28800)
        else:
            p.add_argument("token")
    args = parser.parse_args()

    if args.cmd == "check":
        import cryptography  # noqa: F401
        import django  # noqa: F401
        import django_session_jwt  # noqa: F401
        import jwt

        print("PyJWT", jwt.__version__)
        return 0

    if args.cmd == "dsj-create":
        session = dsj(args)
        if session.ALGO != args.alg:
            print(f"django-session-jwt chose {session.ALGO}, not {args.alg}", file=sys.stderr)
            return 2
        token = session.create_jwt(reference_user(), args.sk, args.expires)
        print(token if isinstance(token, str) else token.decode())
        return 0

    if args.cmd == "dsj-verify":
        session = dsj(args)
        print(json.dumps(session.verify_jwt(args.token), sort_keys=True))
        return 0

    import jwt

    if args.secret is not None:
        key = args.secret
    else:
        with open(args.public, "rb") as f:
            key = f.read()
    try:
        claims = jwt.decode(args.token, key, algorithms=[args.alg])
    except jwt.PyJWTError as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(claims, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A minimal Django app sharing its sessions with the Rust reference app.

Everything that must match the Rust side comes from the same environment
variables as the reference app (docs/reference-app.md, "Django mode"):

- DATABASE_URL       the shared database (sqlite:///PATH or postgres://...)
- DJANGO_SECRET_KEY  SECRET_KEY: signs session_data, keys the auth hash
- SESSION_JWT_KEY    django-session-jwt's KEY: signs the cookie's JWT
- SESSION_COOKIE_NAME (default sessionid)

and the JWT fields are the reference app's.
"""

import os
from urllib.parse import unquote, urlsplit


def database_from_url(url):
    """Django's DATABASES entry for a DATABASE_URL as the Rust app reads it."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///absolute/path or sqlite://relative/path
        path = url[len("sqlite://"):].split("?", 1)[0]
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(path)}
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    raise ValueError("DATABASE_URL: use sqlite:///PATH or postgres://...")


SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "interop",
]
MIDDLEWARE = [
    # django-session-jwt's, in place of django.contrib.sessions' own.
    "django_session_jwt.middleware.session.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "interop.urls"
DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

# Django's defaults, spelled out: they must match the Rust app.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = os.environ.get("SESSION_COOKIE_NAME", "sessionid")
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", "1209600"))
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

DJANGO_SESSION_JWT = {
    "KEY": os.environ["SESSION_JWT_KEY"],
    "SESSION_FIELD": "sk",
    "FIELDS": [
        ("id", "id", "user_id"),
        ("username", "u", "username"),
        ("email", "e", "email"),
        ("profile.team", "t", "team"),
        ("invalid", "i", "invalid"),
    ],
    "CALLABLE": "interop.views.extra_claims",
    "EXPIRES": int(os.environ.get("SESSION_JWT_EXPIRES", "28800")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}

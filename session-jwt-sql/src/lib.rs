//! A SQL [`SessionStore`](session_jwt_core::SessionStore) for session-jwt, on
//! SQLite (embedded, persistent: sessions survive a restart without a
//! server) or PostgreSQL (shared by every instance of an app); and **Django
//! mode**, in which the sessions are those of a running Django app, in its
//! `django_session` table and its signed format, so that one login is valid
//! on both sides.
//!
//! ```
//! use session_jwt_core::time::{Duration, OffsetDateTime};
//! use session_jwt_core::{Record, SaveMode, SessionKey, SessionStore};
//! use session_jwt_sql::SqlStore;
//! use std::sync::Arc;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir()?;
//! let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
//! // `connect` checks the database answers and, with `with_create_table`,
//! // creates the table; `build` would connect on first use instead.
//! let store = SqlStore::builder(&url).with_create_table(true).connect().await?;
//!
//! let now = OffsetDateTime::now_utc();
//! let key = SessionKey::generate();
//! let mut items = serde_json::Map::new();
//! items.insert("cart".into(), "apple".into());
//! let record = Arc::new(Record { items, expires: now + Duration::hours(1) });
//! assert!(store.save(&key, &record, SaveMode::Create, now).await?);
//! // A create never overwrites; an update never resurrects.
//! assert!(!store.save(&key, &record, SaveMode::Create, now).await?);
//! assert_eq!(store.load(&key, now).await?.unwrap().items["cart"], "apple");
//! store.delete(&key).await?;
//! assert!(!store.save(&key, &record, SaveMode::Update, now).await?);
//! assert_eq!(store.load(&key, now).await?, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Normally an adapter calls the store; an app only builds it and hands it
//! over (the reference apps do so when `DATABASE_URL` is set).
//!
//! # Connection
//!
//! A pool of connections per [`SqlStore`] (clones share it), made from a URL:
//! `sqlite://PATH` (relative, or `sqlite:///absolute/path`; the file is
//! created if absent, except in Django mode) or
//! `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (with `?sslmode=...` and
//! the other libpq parameters sqlx understands). Every operation is bounded:
//! a connection by [`Builder::with_acquire_timeout`] (2 s), the whole
//! operation by [`Builder::with_timeout`] (5 s, also SQLite's busy timeout
//! and PostgreSQL's `statement_timeout`). So while the database is down,
//! hangs or holds a lock, requests fail within seconds with
//! [`StoreError::Unavailable`](session_jwt_core::StoreError::Unavailable)
//! (adapters answer 503; nobody is logged out, nothing is overwritten), and
//! once it is back the pool reconnects by itself. A URL that does not parse,
//! or names a backend this build lacks (features `sqlite`, `postgres`, both
//! on by default), is an [`Error::Url`] naming `DATABASE_URL`, without the
//! URL itself (it may hold a password).
//!
//! # The table
//!
//! [`DEFAULT_TABLE`] (`session_jwt_session`), or [`Builder::with_table`]:
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS session_jwt_session (
//!     session_key VARCHAR(128) NOT NULL PRIMARY KEY,
//!     record TEXT NOT NULL,      -- the core's record JSON (Record::to_json)
//!     user_id TEXT,              -- _auth_user_id, for "log out everywhere"
//!     expires BIGINT NOT NULL    -- Unix milliseconds
//! );
//! CREATE INDEX IF NOT EXISTS session_jwt_session_user_id ON session_jwt_session (user_id);
//! CREATE INDEX IF NOT EXISTS session_jwt_session_expires ON session_jwt_session (expires);
//! ```
//!
//! The app chooses who creates it: [`SqlStore::migrate`] (or
//! [`Builder::with_create_table`], at connect or on first use), or its own
//! migration tool with the statements of [`SqlStore::migration`]. The
//! record is the core's format, not this crate's: an app of any framework
//! with the same database and table reads and writes the same sessions.
//!
//! # Guarantees
//!
//! The same as the Redis store's:
//!
//! - **Expiry honoured on read**: a row whose `expires` has passed is never
//!   loaded. Rows are not deleted by themselves: [`SqlStore::purge_expired`]
//!   (Django's `clearsessions`) reclaims them, from a periodic task.
//! - **Create never overwrites**: `INSERT ... ON CONFLICT (session_key) DO
//!   UPDATE ... WHERE` the existing row has expired; a live session under the
//!   key makes `save` return `false` and write nothing.
//! - **Update never resurrects**: `UPDATE ... WHERE session_key = ? AND
//!   expires > now`: a session deleted meanwhile (a logout elsewhere, a "log
//!   out everywhere") stays deleted.
//! - **Atomic key cycling**: [`cycle`](session_jwt_core::SessionStore::cycle)
//!   is one transaction (SQLite `BEGIN IMMEDIATE`): delete the old row if
//!   live, insert the new one only then. A logout racing a login: exactly
//!   one wins, and a logout that wins stays a logout.
//! - **Per-user index**: the `user_id` column, set on every write from the
//!   record's `_auth_user_id`, makes
//!   [`delete_user_sessions`](session_jwt_core::SessionStore::delete_user_sessions)
//!   one indexed `DELETE`.
//! - **Failures are errors**, never "no session": a lost connection, a
//!   timeout or a busy database is `Unavailable`; a row that does not decode
//!   is `Corrupt`.
//!
//! # Django mode
//!
//! With [`Builder::with_django`] the store reads and writes Django's own
//! `django_session` table (`session_key`, `session_data`, `expire_date`), in
//! Django's own format: `session_data` is `django.core.signing.dumps(items,
//! salt="django.contrib.sessions.SessionStore", compress=True)` under the
//! app's `SECRET_KEY` ([`DjangoSettings`]), `expire_date` is the record's
//! expiry. A Django app using the same database and secret, with
//! django-session-jwt and the same signing key and cookie name, then shares
//! every session with the Rust app:
//!
//! - the logged-in user is Django's `_auth_user_id` and `_auth_user_hash`
//!   (the core's own item names); `_auth_user_backend`
//!   (`django.contrib.auth.backends.ModelBackend`) is written for a user
//!   logged in on the Rust side and dropped when read, as is
//!   django-session-jwt's per-request `jwt` item;
//! - [`DjangoUsers`] is a [`UserLoader`](session_jwt_core::UserLoader) over
//!   Django's `auth_user` table whose users' session auth hash is Django's
//!   `get_session_auth_hash` ([`django_session_auth_hash`]), and which checks
//!   and writes Django's PBKDF2-SHA256 password hashes: a password change on
//!   either side logs the user's other sessions out on both;
//! - `session_data` whose signature does not verify (another secret,
//!   tampering), or that does not decode, is an anonymous visitor (a
//!   warning is logged), never an error page: Django does the same.
//!
//! Django's table has no user column, so `delete_user_sessions` reads every
//! live session there (Django has no such operation; a password change does
//! not need it). `docs/django-mode.md` lists what must match between the two
//! apps.
//!
//! # Tests
//!
//! The feature `testing` adds `testing::PostgresServer`, which runs a
//! private PostgreSQL cluster per test.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod django;
mod error;
pub mod password;
mod sql;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod users;

pub use django::{
    BACKEND_ITEM, DjangoSettings, JWT_ITEM, MODEL_BACKEND, SESSION_SALT, django_session_auth_hash,
};
pub use error::Error;
pub use store::{Backend, Builder, DEFAULT_TABLE, DJANGO_TABLE, SqlStore};
pub use users::{DJANGO_USER_TABLE, DjangoUser, DjangoUsers};

//! A Redis [`SessionStore`](session_jwt_core::SessionStore) for session-jwt:
//! sessions shared by every instance of an app, and by apps of other
//! frameworks, with Redis's own expiry and a per-user index for "log out
//! everywhere".
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use session_jwt_core::time::{Duration, OffsetDateTime};
//! use session_jwt_core::{Record, SaveMode, SessionKey, SessionStore};
//! use session_jwt_redis::RedisStore;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! // Inside a Tokio runtime. `connect` checks that Redis answers; `build`
//! // would connect on first use instead.
//! let store = RedisStore::builder("redis://:password@127.0.0.1:6379/0")
//!     .with_key_prefix("myapp:session:")
//!     .connect()
//!     .await?;
//!
//! let now = OffsetDateTime::now_utc();
//! let key = SessionKey::generate();
//! let record = Arc::new(Record { items: Default::default(), expires: now + Duration::hours(1) });
//! assert!(store.save(&key, &record, SaveMode::Create, now).await?);
//! assert_eq!(store.load(&key, now).await?, Some(record));
//! store.delete(&key).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Normally an adapter calls the store; an app only builds it and hands it
//! over (the reference apps do so when `REDIS_URL` is set).
//!
//! # Connection
//!
//! One multiplexed connection per [`RedisStore`] (clones share it), managed
//! by [`redis::aio::ConnectionManager`], which reconnects by itself. The URL
//! is `redis://[[user]:password@]host[:port][/db]`. Every command is bounded:
//! a connection attempt by [`Builder::with_connection_timeout`] (1 s), an
//! answer by [`Builder::with_response_timeout`] (2 s), with one retry of a
//! failed connection by default. So while Redis is down or hangs, requests
//! fail within a few seconds with
//! [`StoreError::Unavailable`](session_jwt_core::StoreError::Unavailable)
//! (adapters answer 503; nobody is logged out, nothing is overwritten), and
//! once Redis is back the next command reconnects.
//!
//! TLS (`rediss://`) is available with the `tls-rustls` feature (rustls with
//! the *ring* provider and the system's root certificates).
//!
//! # Key layout
//!
//! With the prefix `P` (default [`DEFAULT_KEY_PREFIX`], `session-jwt:`):
//!
//! | key | type | content | expiry |
//! |---|---|---|---|
//! | `P{session key}` | string | the core's record JSON ([`Record::to_json`](session_jwt_core::Record::to_json)) | the record's `expires` (`PXAT`) |
//! | `P` `user:{user id}` | set | the session keys of that user | at least the latest `expires` of its records |
//!
//! Session keys are `[A-Za-z0-9_-]`, so a record key never looks like a user
//! set's. The record is the core's format, not this crate's: an app of any
//! framework (or another language) with the same Redis, database and prefix
//! reads and writes the same sessions.
//!
//! # Expiry
//!
//! Redis's own: a record is written with `PXAT` its `expires` (Unix
//! milliseconds) and disappears then, without any sweeper. A record that has
//! already expired at `now` is never written; saving it ends the session:
//! with [`SaveMode::Create`](session_jwt_core::SaveMode::Create) `save`
//! returns `true` if the key was free (and writes nothing), with
//! [`SaveMode::Update`](session_jwt_core::SaveMode::Update) an existing
//! record is deleted (and `save` returns whether there was one).
//!
//! # Create and update
//!
//! - [`SaveMode::Create`](session_jwt_core::SaveMode::Create) is
//!   `SET key value NX PXAT ms`: a new session key never overwrites a record;
//!   if one exists, `save` returns `false` and writes nothing.
//! - [`SaveMode::Update`](session_jwt_core::SaveMode::Update) is
//!   `SET key value XX PXAT ms`: a session deleted meanwhile (a logout at
//!   another instance, a "log out everywhere") is never resurrected; `save`
//!   returns `false` and writes nothing.
//!
//! # Per-user index ("log out everywhere")
//!
//! A record with a user ([`Record::user_id`](session_jwt_core::Record::user_id))
//! adds its session key to the set `P` `user:{id}` in the same Lua script as
//! the `SET` (only if the `SET` happened), and extends the set's expiry to at
//! least the record's. [`delete`](session_jwt_core::SessionStore::delete)
//! reads the user from the record itself inside its script, so no side key
//! is needed and the record and the set change together.
//! [`delete_user_sessions`](session_jwt_core::SessionStore::delete_user_sessions)
//! deletes, in one script, each record of the set that still belongs to the
//! user (except the one to keep) and returns how many it deleted.
//!
//! The set may hold stale keys (sessions that expired, or whose user
//! changed); they are harmless, since every key is checked against its
//! record before deletion. They are dropped by the next
//! `delete_user_sessions`, and keys of expired sessions also when a new
//! session joins a set of more than 16 keys, so a set stays about as large
//! as the user's live sessions; the set itself expires with the user's last
//! session.
//!
//! Scripts read keys they compute (the user set of a record), so this store
//! is for a single Redis (or a primary with replicas), not Redis Cluster. It
//! needs Redis 6.2 or later (`SET ... PXAT`).
//!
//! # Tests
//!
//! The feature `testing` adds `testing::RedisServer`, which runs a
//! private `redis-server` process per test.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::Error;
pub use store::{Builder, DEFAULT_KEY_PREFIX, RedisStore};

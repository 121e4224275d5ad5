//! Server-side sessions whose cookie is a signed JWT — django-session-jwt for
//! Rust, without I/O.
//!
//! The cookie's value is a JWS carrying the session key (`sk`), chosen user
//! fields under short names, and custom claims. The app loads its session
//! from a [`SessionStore`] by `sk`; other services verify the same cookie with
//! the shared secret or the public key ([`TokenCodec::verify`]), without the
//! store.
//!
//! This crate decides; the framework adapters act. It never reads the clock
//! (every time-dependent call takes `now`), never touches the network and
//! knows no web framework.
//!
//! ```text
//!   request                                                       response
//!  Cookie: ──► read_cookies(headers, now) ──► Incoming
//!                                               │ session_key()
//!                                               ▼
//!                                  adapter: store.load(key) ──► Option<Record>
//!                                               │
//!                        open(incoming, record, now) ──► Session ──► handler
//!                                                                       │
//!                                          finish(&session, now) ◄──────┘
//!                                               │
//!                                               ▼ Outcome
//!                          save: Option<Save>  ──► adapter: store.save(..)
//!                          delete: Vec<key>    ──► adapter: store.delete(..)
//!                          cookie: CookieAction ─────────────────────► Set-Cookie:
//! ```
//!
//! [`SessionJwt::load`] and [`SessionJwt::save`] drive these steps over any
//! [`SessionStore`], which is all an adapter needs:
//!
//! ```
//! use session_jwt_core::{Key, MemoryStore, SessionJwt};
//! use time::OffsetDateTime;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let engine = SessionJwt::builder()
//!     .with_key(Key::hmac("a secret of at least thirty-two bytes!")?)?
//!     .with_fields([("username", "u", "username")])
//!     .build()?;
//! let store = MemoryStore::new();
//! let now = OffsetDateTime::now_utc(); // the adapter reads the clock, once
//!
//! // A first request, without a cookie: an empty, anonymous session.
//! let session = engine.load(&store, [], now).await?;
//! session.insert("cart", vec!["apple"])?;
//! let headers = engine.save(&store, &session, now).await?;
//! let set_cookie = headers.set_cookie.expect("a modified session sets the cookie");
//! assert!(set_cookie.starts_with("sessionid=ey"));
//! assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
//!
//! // The next request sends the cookie back and finds the session.
//! let cookie = set_cookie.split(';').next().unwrap();
//! let session = engine.load(&store, [cookie.as_bytes()], now).await?;
//! assert_eq!(session.get::<Vec<String>>("cart"), Some(vec!["apple".to_string()]));
//! // Nothing changed: nothing to save, no cookie to send.
//! assert_eq!(engine.save(&store, &session, now).await?.set_cookie, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
mod cache;
pub mod config;
pub mod engine;
pub mod env;
pub mod error;
pub mod fields;
pub mod key;
pub mod session;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;

pub(crate) use engine::Shared;

/// The longest cookie, session or token lifetime accepted: 100 years. Larger
/// values are configuration errors, so that no date computed from them can
/// overflow at request time.
pub const MAX_LIFETIME_SECS: u64 = 100 * 365 * 24 * 3600 + 25 * 24 * 3600;

pub use auth::AuthUser;
pub use auth::UserLoader;
pub use config::{Builder, CookieSettings, KeySettings, LimitSettings, SameSite, Settings};
pub use engine::{CookieAction, Incoming, LazySession, Outcome, ResponseHeaders, Save, SessionJwt};
pub use error::{ConfigError, StoreError, TokenError};
pub use fields::{ClaimsProvider, Field, Fields};
pub use key::{Algorithm, Key, KeyRing, Secret};
pub use session::{Expiry, Session, SessionError, SessionKey};
pub use store::{MemoryStore, Record, SaveMode, SessionStore};
pub use token::{TokenCodec, TokenSettings, VerifiedClaims, insecure};

/// The `time` crate, re-exported so adapters and apps use the same version.
pub use time;

//! Server-side sessions whose cookie is a signed JWT, for
//! [Rocket](rocket): django-session-jwt for Rust.
//!
//! [`SessionFairing`] gives each request a [`Session`] (loaded from a
//! [`SessionStore`] by the key in the cookie's token, when a guard first
//! asks for it) and writes the cookie back; the request guards
//! [`CurrentUser`], [`LoginRequired`] and [`ApiUser`] resolve the logged-in
//! user; [`jwks_route`] publishes the public keys so other services can
//! verify the cookie. The configuration can come from `Rocket.toml`
//! ([`SessionFairing::from_config`], the [`config`] module). Every rule about
//! tokens, cookies and sessions lives in [`session_jwt_core`] (re-exported as
//! [`core`]); this crate is the Rocket glue, and the one dependency an app
//! needs.
//!
//! ```
//! use rocket::local::asynchronous::Client;
//! use rocket::{get, routes};
//! use session_jwt_rocket::{Key, Session, SessionFairing, SessionJwt};
//!
//! #[get("/")]
//! fn visit(session: Session) -> String {
//!     let n = session.get::<u64>("visits").unwrap_or(0) + 1;
//!     session.insert("visits", n).expect("a number serializes");
//!     format!("visit {n}")
//! }
//!
//! # rocket::async_test(async {
//! let engine = SessionJwt::builder()
//!     .with_key(Key::hmac("a secret of at least thirty-two bytes!")?)?
//!     .build()?;
//! let rocket = rocket::build()
//!     .mount("/", routes![visit])
//!     .attach(SessionFairing::memory(engine));
//! // `rocket.launch()` serves it; here a test client drives it.
//! let client = Client::tracked(rocket).await?;
//! let resp = client.get("/").dispatch().await;
//! let set_cookie = resp.headers().get_one("Set-Cookie").unwrap_or_default();
//! assert!(set_cookie.starts_with("sessionid=ey") && set_cookie.contains("HttpOnly"));
//! assert_eq!(resp.into_string().await.as_deref(), Some("visit 1"));
//! // The tracked client sends the cookie back, as a browser does.
//! let resp = client.get("/").dispatch().await;
//! assert_eq!(resp.into_string().await.as_deref(), Some("visit 2"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! With `Rocket.toml` instead of code (see [`config`]):
//!
//! ```toml
//! [default.session_jwt.key]
//! secret = "a secret of at least thirty-two bytes!"
//! [default.session_jwt.cookie]
//! secure = true
//! ```
//!
//! ```no_run
//! # use session_jwt_rocket::{MemoryStore, SessionFairing};
//! let rocket = rocket::build().attach(SessionFairing::from_config(MemoryStore::new()));
//! ```
//!
//! # Status codes
//!
//! | situation | answer |
//! |---|---|
//! | the store fails (load or save) | 503, reason logged with `tracing::error!`; nobody is logged out |
//! | [`LoginRequired`] for an anonymous visitor | 302 to `login_url?next=<path>` |
//! | [`ApiUser`] for an anonymous visitor | 401 |
//! | a handler fails (5xx) | the session is not saved, no cookie is sent (deletions still happen) |
//! | a route names a guard, but the fairing is not attached | the launch stops (the guards are [sentinels](rocket::Sentinel)); a guard run another way answers 500 "SessionFairing is not attached" |
//! | a user guard whose type is not the engine's [`UserLoader`]'s `User`, on a logged-in session | 500 |
//! | a bad `session_jwt` configuration | ignite fails, the setting named in the log |
//!
//! # Logging
//!
//! This crate and the core log with `tracing`. Rocket 0.5 logs with `log`:
//! without a `tracing` subscriber, the events go to Rocket's logger; with
//! one (`tracing_subscriber`'s `init()` also captures `log`), Rocket's go to
//! it as well.
//!
//! Feature `testing`: the `testing` module, helpers for Rocket's local
//! test clients.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
mod error;
mod fairing;
mod guards;
mod jwks;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::Error;
pub use fairing::{DEFAULT_LOGIN_URL, SessionFairing, Sessions};
pub use guards::{ApiUser, CurrentUser, LoginRequired, Session};
pub use jwks::{JWKS_PATH, jwks_route};

/// The core crate, for everything not re-exported below.
pub use session_jwt_core as core;

pub use session_jwt_core::auth::{login_redirect, safe_next, session_auth_hash};
pub use session_jwt_core::{
    AuthUser, Builder, ConfigError, Expiry, Key, KeyRing, MemoryStore, Record, SameSite, SaveMode,
    Secret, SessionError, SessionJwt, SessionKey, SessionStore, Settings, StoreError, UserLoader,
    env, time,
};

/// The attribute for implementing [`SessionStore`] and [`UserLoader`]
/// (re-exported, so apps need no `async-trait` line of their own).
pub use async_trait::async_trait;

//! Server-side sessions whose cookie is a signed JWT, for [Poem](poem):
//! django-session-jwt for Rust.
//!
//! [`SessionMiddleware`] gives each request a [`Session`] (loaded from a
//! [`SessionStore`] by the key in the cookie's token) and writes the cookie
//! back; [`CurrentUser`], [`LoginRequired`] and [`ApiUser`] resolve the
//! logged-in user; [`jwks_endpoint`] publishes the public keys so other
//! services can verify the cookie. Every rule about tokens, cookies and
//! sessions lives in [`session_jwt_core`] (re-exported as [`core`]); this
//! crate is the Poem glue, and the one dependency an app needs.
//!
//! ```
//! use poem::{EndpointExt, Route, get, handler, post};
//! use poem::http::header::SET_COOKIE;
//! use poem::test::TestClient;
//! use session_jwt_poem::{Key, Session, SessionJwt, SessionMiddleware};
//!
//! #[handler]
//! fn visit(session: Session) -> String {
//!     let n = session.get::<u64>("visits").unwrap_or(0) + 1;
//!     session.insert("visits", n).expect("a number serializes");
//!     format!("visit {n}")
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let engine = SessionJwt::builder()
//!     .with_key(Key::hmac("a secret of at least thirty-two bytes!")?)?
//!     .build()?;
//! let app = Route::new()
//!     .at("/", get(visit))
//!     .with(SessionMiddleware::memory(engine));
//! // `poem::Server::new(TcpListener::bind(..)).run(app)` serves it; here a
//! // test client drives it.
//! let client = TestClient::new(app);
//! let resp = client.get("/").send().await;
//! let cookie = resp.0.headers()[SET_COOKIE].to_str()?.split(';').next().unwrap().to_owned();
//! resp.assert_text("visit 1").await;
//! let resp = client.get("/").header("Cookie", cookie).send().await;
//! resp.assert_text("visit 2").await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Status codes
//!
//! | situation | answer |
//! |---|---|
//! | the store fails (load or save) | 503, reason logged with `tracing::error!`; nobody is logged out |
//! | [`LoginRequired`] for an anonymous visitor | 302 to `login_url?next=<path>` |
//! | [`ApiUser`] for an anonymous visitor | 401 |
//! | an extractor on a route without the middleware | 500 "SessionMiddleware is not installed" |
//! | a user extractor without a registered [`UserLoader`] | 500 |
//!
//! Feature `testing`: the `testing` module, helpers for `poem::test::TestClient`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod jwks;
mod middleware;
mod session;
#[cfg(feature = "testing")]
pub mod testing;
mod user;

pub use error::Error;
pub use jwks::{JwksEndpoint, jwks_endpoint};
pub use middleware::{DEFAULT_LOGIN_URL, SessionEndpoint, SessionMiddleware};
pub use session::Session;
pub use user::{ApiUser, CurrentUser, LoginRequired, UserLoader};

/// The core crate, for everything not re-exported below.
pub use session_jwt_core as core;

pub use session_jwt_core::auth::{login_redirect, safe_next, session_auth_hash};
pub use session_jwt_core::{
    AuthUser, Builder, ConfigError, Expiry, Key, KeyRing, MemoryStore, Record, SameSite, SaveMode,
    Secret, SessionError, SessionJwt, SessionKey, SessionStore, Settings, StoreError, env, time,
};

/// The attribute for implementing [`SessionStore`] and [`UserLoader`]
/// (re-exported, so apps need no `async-trait` line of their own).
pub use async_trait::async_trait;

//! Server-side sessions whose cookie is a signed JWT, for [Warp](warp):
//! django-session-jwt for Rust.
//!
//! [`Sessions::wrap`] is applied once, to the whole route tree: it gives
//! every request its [`Session`] (loaded from a [`SessionStore`] by the key
//! in the cookie's token, when a filter first asks for it) and, once the
//! routes have answered, saves it and writes the cookie. Inside,
//! [`Sessions::session`], [`Sessions::current_user`],
//! [`Sessions::login_required`] and [`Sessions::api_user`] are filters like
//! any other; [`jwks`] publishes the public keys so other services can verify
//! the cookie. Every rule about tokens, cookies, sessions and users lives in
//! [`session_jwt_core`] (re-exported as [`core`]); this crate is the Warp
//! glue, and the one dependency an app needs besides `warp`.
//!
//! ```
//! use session_jwt_warp::{Key, Session, SessionJwt, Sessions};
//! use warp::Filter;
//!
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
//! let sessions = Sessions::memory(engine);
//! let routes = warp::path::end().and(sessions.session()).map(visit);
//! let app = sessions.wrap(routes);
//! // `warp::serve(app).run(([127, 0, 0, 1], 8000))` serves it; here
//! // `warp::test` drives it.
//! let resp = warp::test::request().path("/").reply(&app).await;
//! assert_eq!(resp.body(), "visit 1");
//! let cookie = resp.headers()["set-cookie"].to_str()?.split(';').next().unwrap().to_owned();
//! let resp = warp::test::request().path("/").header("cookie", cookie).reply(&app).await;
//! assert_eq!(resp.body(), "visit 2");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Why one wrapper, and no `(reply, session)` tuples
//!
//! A route cannot forget to save its session, because routes never save:
//! the wrapper does, after whatever answered, whether a reply, a rejection
//! the app recovered inside the wrapper, or one of this crate's rejections
//! (which the wrapper answers itself, so that a stale session found by
//! [`Sessions::login_required`] is deleted with its 302). The session is
//! loaded lazily and at most once per request, however many `or` branches
//! ask for it, and the clock is read once per request.
//!
//! Warp lets no filter write per-request state for filters inside it
//! (request extensions are read-only to filters, and the sealed `Filter`
//! trait lets no filter run code around another's future, so a
//! `tokio::task_local!` cannot be scoped around the routes). The other ways
//! cost more than they give:
//!
//! - a tower layer around `warp::service(routes)` that puts the session in
//!   the request's extensions: `warp::serve` takes filters only, so the app
//!   would have to be served by hand with hyper, and `warp::addr::remote()`
//!   would then be `None` (warp's remote-address extension is private to
//!   warp);
//! - running the routes from inside a filter, as a service over a rebuilt
//!   request: warp forbids nested routing in the same task, so each request
//!   would need a spawned task and a copy of its head, and would lose the
//!   remote address too.
//!
//! So the wrapper registers the request's session under the tokio task that
//! runs it, as a task-local would be, and the filters find it there (the
//! details are in the source, `src/request.rs`). `warp::serve` runs one
//! request at a time per task (one HTTP/1 connection, or one HTTP/2
//! stream); two wrapped requests in one task at once (a test joining two
//! `warp::test` requests, a tree wrapped twice) make the filters answer 500
//! ([`Error::Ambiguous`]) rather than guess. The app keeps `warp::serve`,
//! `warp::test` and every warp filter.
//!
//! # Status codes
//!
//! | situation | answer |
//! |---|---|
//! | the store fails (load or save) | 503, reason logged with `tracing::error!`; nobody is logged out |
//! | [`Sessions::login_required`] for an anonymous visitor | 302 to `login_url?next=<path>` |
//! | [`Sessions::api_user`] for an anonymous visitor | 401 |
//! | a session filter outside [`Sessions::wrap`] | 500 ([`Error::NotWrapped`]) |
//! | a user filter whose type is not the engine's [`UserLoader`]'s | 500 ([`Error::Session`]) |
//!
//! These come from the rejections in [`Error`]; [`Sessions::wrap`] answers
//! them, and [`recover`] does the same for an app that recovers rejections
//! itself. Other rejections are warp's to answer: only the session's
//! deletions are saved for them (there is no response to carry a cookie), so
//! recover the app's own rejections inside the wrapper.
//!
//! Feature `testing`: the [`testing`] module, helpers for `warp::test`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod filters;
mod jwks;
mod request;
mod sessions;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, recover};
pub use jwks::jwks;
pub use sessions::{DEFAULT_LOGIN_URL, Sessions};

/// The core crate, for everything not re-exported below.
pub use session_jwt_core as core;

pub use session_jwt_core::auth::{login_redirect, safe_next, session_auth_hash};
pub use session_jwt_core::{
    AuthUser, Builder, ConfigError, Expiry, Key, KeyRing, MemoryStore, Record, SameSite, SaveMode,
    Secret, Session, SessionError, SessionJwt, SessionKey, SessionStore, Settings, StoreError,
    UserLoader, env, time,
};

/// The attribute for implementing [`SessionStore`] and [`UserLoader`]
/// (re-exported, so apps need no `async-trait` line of their own).
pub use async_trait::async_trait;

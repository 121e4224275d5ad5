//! Test support (feature `testing`): log a user in for Rocket's local test
//! clients without a login route (django-session-jwt's test `Client.login`),
//! and read the session a test client holds. For
//! [`rocket::local::asynchronous::Client`] in [`asynchronous`], for
//! [`rocket::local::blocking::Client`] in [`blocking`].
//!
//! A *tracked* client (`Client::tracked`) keeps the cookie of [`login`](asynchronous::login)
//! and sends it with its next requests, as a browser would; with an
//! untracked client, add the returned cookie to each request with
//! `.cookie(..)`.
//!
//! ```
//! use rocket::local::asynchronous::Client;
//! use rocket::{get, routes};
//! use session_jwt_rocket::testing::asynchronous::{login, session};
//! use session_jwt_rocket::{
//!     AuthUser, CurrentUser, Key, SessionFairing, SessionJwt, StoreError, UserLoader, async_trait,
//! };
//!
//! #[derive(Clone, serde::Serialize)]
//! struct User { id: u64 }
//! impl AuthUser for User {
//!     fn id(&self) -> String { self.id.to_string() }
//!     fn session_auth_hash(&self) -> String { "hash".into() }
//! }
//! struct Users;
//! #[async_trait]
//! impl UserLoader for Users {
//!     type User = User;
//!     async fn load_user(&self, id: &str) -> Result<Option<User>, StoreError> {
//!         Ok(id.parse().ok().map(|id| User { id }))
//!     }
//! }
//!
//! #[get("/")]
//! fn whoami(user: CurrentUser<User>) -> String {
//!     user.as_ref().map_or("anonymous".into(), |u| u.id.to_string())
//! }
//!
//! # rocket::async_test(async {
//! let engine = SessionJwt::builder()
//!     .with_key(Key::hmac("a secret of at least thirty-two bytes!")?)?
//!     .build()?;
//! let rocket = rocket::build()
//!     .mount("/", routes![whoami])
//!     .attach(SessionFairing::memory(engine).with_user_loader(Users));
//! let client = Client::tracked(rocket).await?;
//!
//! assert_eq!(client.get("/").dispatch().await.into_string().await.unwrap(), "anonymous");
//! login(&client, &User { id: 7 }).await?;
//! assert_eq!(client.get("/").dispatch().await.into_string().await.unwrap(), "7");
//! assert_eq!(session(&client).await?.user_id().as_deref(), Some("7"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! How it works: the fairing (with this feature) mounts one route,
//! `GET /__session_jwt/testing`, ranked before every route of the app. It
//! does something only for a request these helpers made in-process (marked
//! in the request's local cache under a private type), and forwards every
//! other request, so the app's routes, catch-alls included, are unchanged.
//! The helpers run the core's own test login
//! ([`session_jwt_core::testing::login_cookie`]) inside that request, on the
//! client's runtime, where the store lives.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use rocket::http::{Cookie, Method, Status};
use rocket::outcome::Outcome;
use rocket::route::{self, Handler, Route};
use rocket::{Data, Orbit, Request, Response, Rocket};
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{AuthUser, Session, SessionJwt, SessionStore, StoreError};

use crate::Error;
use crate::fairing::Sessions;

/// The path of the testing route.
const PATH: &str = "/__session_jwt/testing";
/// Before every route of an app: default ranks are -12 to -1, and apps
/// rarely rank below that.
const RANK: isize = -1_000;

type BoxFuture = Pin<Box<dyn Future<Output = Option<String>> + Send>>;
/// A test operation, run by the testing route: returns a `Set-Cookie` value
/// for the client to keep.
type Op = Box<dyn FnOnce(SessionJwt, Arc<dyn SessionStore>) -> BoxFuture + Send>;

/// Where an operation leaves its result for the helper.
type Slot<T> = Arc<Mutex<Option<Result<T, Error>>>>;

/// The request-local marker: only this module can make one.
struct TestOp(Mutex<Option<Op>>);

/// The routes the fairing mounts with this feature.
pub(crate) fn routes() -> Vec<Route> {
    vec![Route::ranked(RANK, Method::Get, PATH, TestRoute)]
}

#[derive(Clone, Copy)]
struct TestRoute;

#[rocket::async_trait]
impl Handler for TestRoute {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> route::Outcome<'r> {
        let op = req
            .local_cache(|| TestOp(Mutex::new(None)))
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let (Some(op), Ok(sessions)) = (op, Sessions::of(req)) else {
            return Outcome::Forward((data, Status::NotFound));
        };
        let set_cookie = op(sessions.engine().clone(), sessions.store().clone()).await;
        let mut resp = Response::build().status(Status::NoContent).finalize();
        if let Some(value) = set_cookie {
            resp.adjoin_raw_header("Set-Cookie", value);
        }
        Outcome::Success(resp)
    }
}

/// An operation that stores its result in a slot the caller keeps.
fn op<T: Send + 'static, F>(
    run: impl FnOnce(SessionJwt, Arc<dyn SessionStore>) -> F + Send + 'static,
) -> (Op, Slot<T>)
where
    F: Future<Output = (Option<String>, Result<T, Error>)> + Send + 'static,
{
    let slot = Arc::new(Mutex::new(None));
    let out = slot.clone();
    let op: Op = Box::new(move |engine, store| {
        Box::pin(async move {
            let (set_cookie, result) = run(engine, store).await;
            *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
            set_cookie
        })
    });
    (op, slot)
}

/// The result an operation left, or [`Error::FairingMissing`] when the
/// testing route never ran it.
fn result<T>(slot: &Mutex<Option<Result<T, Error>>>) -> Result<T, Error> {
    slot.lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .unwrap_or(Err(Error::FairingMissing))
}

fn login_op<U: AuthUser + Clone + Send + Sync + 'static>(user: &U) -> (Op, Slot<Cookie<'static>>) {
    let user = user.clone();
    op(move |engine, store| async move {
        let now = OffsetDateTime::now_utc();
        match session_jwt_core::testing::login_cookie(&engine, &*store, &user, now).await {
            Ok(pair) => match Cookie::parse(pair.clone()) {
                Ok(cookie) => (Some(pair), Ok(cookie)),
                Err(_) => (
                    None,
                    Err(Error::Store(StoreError::Other("not a cookie".into()))),
                ),
            },
            Err(e) => (None, Err(Error::Store(e))),
        }
    })
}

/// The session-cookie pair (`name=value`) a client holds, if any.
fn held_cookie(rocket: &Rocket<Orbit>, jar: &rocket::http::CookieJar<'_>) -> Option<String> {
    let name = &rocket.state::<Sessions>()?.engine().cookie_settings().name;
    jar.get(name).map(|c| format!("{}={}", c.name(), c.value()))
}

fn session_op(cookie: Option<String>) -> (Op, Slot<Session>) {
    op(move |engine, store| async move {
        let headers = cookie.iter().map(|c| c.as_bytes());
        let now = OffsetDateTime::now_utc();
        let session = engine
            .load(&*store, headers, now)
            .await
            .map_err(Error::Store);
        (None, session)
    })
}

/// Helpers for [`rocket::local::asynchronous::Client`].
pub mod asynchronous {
    use rocket::http::Cookie;
    use rocket::local::asynchronous::Client;
    use session_jwt_core::{AuthUser, Session};

    use super::{PATH, TestOp, held_cookie, login_op, result, session_op};
    use crate::Error;

    async fn run(client: &Client, op: super::Op) {
        let req = client.get(PATH);
        req.inner()
            .local_cache(|| TestOp(std::sync::Mutex::new(Some(op))));
        req.dispatch().await;
    }

    /// Logs `user` in without a login route: creates a session logged in as
    /// `user` in the app's store and returns its cookie. A tracked client
    /// keeps it and sends it with its next requests; add it to the requests
    /// of an untracked one with `.cookie(..)`.
    ///
    /// The engine must have a [`UserLoader`](crate::UserLoader) for `U`.
    pub async fn login<U: AuthUser + Clone + Send + Sync + 'static>(
        client: &Client,
        user: &U,
    ) -> Result<Cookie<'static>, Error> {
        let (op, slot) = login_op(user);
        run(client, op).await;
        result(&slot)
    }

    /// The session a tracked client holds, as its next request would load
    /// it (empty and anonymous without a cookie, or when the cookie does not
    /// verify or its record is gone). Reading it changes nothing.
    pub async fn session(client: &Client) -> Result<Session, Error> {
        let cookie = held_cookie(client.rocket(), &client.cookies());
        session_for_cookie(client, cookie).await
    }

    /// The session a request with this session cookie (`name=value`) would
    /// load now.
    pub async fn session_for_cookie(
        client: &Client,
        cookie: impl Into<Option<String>>,
    ) -> Result<Session, Error> {
        let (op, slot) = session_op(cookie.into());
        run(client, op).await;
        result(&slot)
    }
}

/// Helpers for [`rocket::local::blocking::Client`]: the same as
/// [`asynchronous`], blocking.
pub mod blocking {
    use rocket::http::Cookie;
    use rocket::local::blocking::Client;
    use session_jwt_core::{AuthUser, Session};

    use super::{PATH, TestOp, held_cookie, login_op, result, session_op};
    use crate::Error;

    fn run(client: &Client, op: super::Op) {
        let req = client.get(PATH);
        req.inner()
            .local_cache(|| TestOp(std::sync::Mutex::new(Some(op))));
        req.dispatch();
    }

    /// [`asynchronous::login`](super::asynchronous::login), blocking.
    pub fn login<U: AuthUser + Clone + Send + Sync + 'static>(
        client: &Client,
        user: &U,
    ) -> Result<Cookie<'static>, Error> {
        let (op, slot) = login_op(user);
        run(client, op);
        result(&slot)
    }

    /// [`asynchronous::session`](super::asynchronous::session), blocking.
    pub fn session(client: &Client) -> Result<Session, Error> {
        let cookie = held_cookie(client.rocket(), &client.cookies());
        session_for_cookie(client, cookie)
    }

    /// [`asynchronous::session_for_cookie`](super::asynchronous::session_for_cookie),
    /// blocking.
    pub fn session_for_cookie(
        client: &Client,
        cookie: impl Into<Option<String>>,
    ) -> Result<Session, Error> {
        let (op, slot) = session_op(cookie.into());
        run(client, op);
        result(&slot)
    }
}

//! The request guards: [`Session`], and the user guards [`CurrentUser`]
//! (optional), [`LoginRequired`] (pages: 302 to the login URL) and
//! [`ApiUser`] (API routes: 401).
//!
//! The user guards read the user the engine loaded and checked with the
//! session ([`Session::user`](session_jwt_core::Session::user), Django's
//! `get_user`): no second load, and a user whose password changed elsewhere
//! is already logged out.
//!
//! Every guard is a [`Sentinel`]: a route that names one in its signature
//! stops the launch (with a logged reason) when [`SessionFairing`] is not
//! attached.
//!
//! [`SessionFairing`]: crate::SessionFairing

use std::ops::Deref;

use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::{Ignite, Rocket, Sentinel};
use session_jwt_core::AuthUser;
use session_jwt_core::auth::login_redirect;

use crate::error::Error;
use crate::fairing::{RequestState, Sessions, fairing_missing};

/// The request's session, loaded from the store when this guard first runs
/// (the same handle for every later guard of the request): a cheap handle on
/// the core's [`Session`](session_jwt_core::Session), whose methods it
/// derefs to (`get`, `insert`, `cycle_key`, `flush`, `set_expiry`, `login`,
/// `logout`, `claims`, ...). They take `&self`: the session has interior
/// mutability, so a handler needs no `mut`. Changes are saved by
/// [`SessionFairing`](crate::SessionFairing) after the handler.
///
/// Fails with 503 when the store fails (never an anonymous session), and
/// with 500 when the fairing is not attached. As `Option<Session>` it is
/// `None` then (and the fairing still answers 503 for a store failure); as
/// `Result<Session, Error>` the handler gets the error.
#[derive(Debug, Clone)]
pub struct Session(session_jwt_core::Session);

impl Session {
    /// The core's session handle.
    #[must_use]
    pub fn into_inner(self) -> session_jwt_core::Session {
        self.0
    }
}

impl Deref for Session {
    type Target = session_jwt_core::Session;

    fn deref(&self) -> &session_jwt_core::Session {
        &self.0
    }
}

impl From<Session> for session_jwt_core::Session {
    fn from(s: Session) -> Self {
        s.0
    }
}

/// The request's session, through the fairing's state.
async fn session(req: &Request<'_>) -> Result<session_jwt_core::Session, Error> {
    let state = RequestState::of(req)?;
    let sessions = Sessions::of(req)?;
    state.lazy.get(&**sessions.store()).await.map_err(|e| {
        tracing::error!(error = %e, "session store failed to load a session; answering 503");
        Error::Store(e)
    })
}

/// The session's user, as the engine checked it.
async fn user<U: Clone + Send + Sync + 'static>(req: &Request<'_>) -> Result<Option<U>, Error> {
    session(req).await?.user::<U>().map_err(Error::from)
}

fn outcome<T>(result: Result<T, Error>) -> request::Outcome<T, Error> {
    match result {
        Ok(value) => Outcome::Success(value),
        Err(e) => Outcome::Error((e.status(), e)),
    }
}

/// Whether the fairing is missing from `rocket` (logged): a sentinel's abort.
fn abort_without_fairing(rocket: &Rocket<Ignite>) -> bool {
    if rocket.state::<Sessions>().is_none() {
        let _ = fairing_missing();
        return true;
    }
    false
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Session {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Error> {
        outcome(session(req).await.map(Session))
    }
}

impl Sentinel for Session {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        abort_without_fairing(rocket)
    }
}

/// The logged-in user of type `U`, or `None` for an anonymous visitor. `U`
/// is the `User` of the [`UserLoader`](crate::UserLoader) registered with
/// the engine. Fails only when the store fails (503) or for a mistake in the
/// app (no fairing; a logged-in session whose user is not a `U`: 500).
#[derive(Debug, Clone)]
pub struct CurrentUser<U>(pub Option<U>);

impl<U> CurrentUser<U> {
    /// The user, if logged in.
    #[must_use]
    pub fn into_inner(self) -> Option<U> {
        self.0
    }
}

impl<U> Deref for CurrentUser<U> {
    type Target = Option<U>;

    fn deref(&self) -> &Option<U> {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r, U: AuthUser + Clone + Send + Sync + 'static> FromRequest<'r> for CurrentUser<U> {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Error> {
        outcome(user(req).await.map(CurrentUser))
    }
}

impl<U> Sentinel for CurrentUser<U> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        abort_without_fairing(rocket)
    }
}

/// The logged-in user of a page that requires login (Django's
/// `login_required`). For an anonymous visitor the guard fails with 302 and
/// the response carries `Location:` the login URL
/// ([`SessionFairing::with_login_url`](crate::SessionFairing::with_login_url))
/// with `?next=` and this page's path and query, percent-encoded
/// ([`login_redirect`]).
///
/// Rocket answers a failed guard through its catchers, and a catcher cannot
/// see the guard's error; so the fairing adds the `Location` to the 302 the
/// catcher made (a 302 catcher of the app's chooses the body). A handler
/// that takes `Result<LoginRequired<U>, Error>` handles the anonymous
/// visitor itself, and can answer with the error (`Error` is a responder).
#[derive(Debug, Clone)]
pub struct LoginRequired<U>(pub U);

impl<U> LoginRequired<U> {
    /// The user.
    #[must_use]
    pub fn into_inner(self) -> U {
        self.0
    }
}

impl<U> Deref for LoginRequired<U> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r, U: AuthUser + Clone + Send + Sync + 'static> FromRequest<'r> for LoginRequired<U> {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Error> {
        let result = match user::<U>(req).await {
            Ok(Some(user)) => Ok(LoginRequired(user)),
            Ok(None) => match (Sessions::of(req), RequestState::of(req)) {
                (Ok(sessions), Ok(state)) => {
                    // The URI as sent (Rocket keeps the mount point in it).
                    let location = login_redirect(sessions.login_url(), &req.uri().to_string());
                    state.set_redirect(location.clone());
                    Err(Error::LoginRequired { location })
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
            Err(e) => Err(e),
        };
        outcome(result)
    }
}

impl<U> Sentinel for LoginRequired<U> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        abort_without_fairing(rocket)
    }
}

/// The logged-in user of an API route: an anonymous visitor is answered with
/// 401 (no redirect, which an API client could not follow usefully).
#[derive(Debug, Clone)]
pub struct ApiUser<U>(pub U);

impl<U> ApiUser<U> {
    /// The user.
    #[must_use]
    pub fn into_inner(self) -> U {
        self.0
    }
}

impl<U> Deref for ApiUser<U> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r, U: AuthUser + Clone + Send + Sync + 'static> FromRequest<'r> for ApiUser<U> {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Error> {
        outcome(
            user::<U>(req)
                .await
                .and_then(|u| u.map(ApiUser).ok_or(Error::Unauthorized)),
        )
    }
}

impl<U> Sentinel for ApiUser<U> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        abort_without_fairing(rocket)
    }
}

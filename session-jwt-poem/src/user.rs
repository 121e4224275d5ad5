//! The logged-in user: the extractors [`CurrentUser`] (optional),
//! [`LoginRequired`] (pages: 302 to the login URL) and [`ApiUser`] (API
//! routes: 401).
//!
//! All three read the user the core loaded and checked when it loaded the
//! session ([`Session::user`](session_jwt_core::Session::user)): the engine's
//! [`UserLoader`] (registered with
//! [`SessionJwt::with_user_loader`](session_jwt_core::SessionJwt::with_user_loader)),
//! then Django's `get_user` check, which logs the session out when the
//! user's auth hash changed (a password change elsewhere). The user is loaded
//! once per request, however many extractors ask.

use std::ops::Deref;

use poem::{FromRequest, Request, RequestBody};
use session_jwt_core::auth::login_redirect;

use crate::error::Error;
use crate::middleware::RequestState;

/// Loads the app's users by id: the core's [`UserLoader`], registered with
/// [`SessionJwt::with_user_loader`](session_jwt_core::SessionJwt::with_user_loader).
pub use session_jwt_core::auth::UserLoader;

/// The logged-in user, or `None` for an anonymous visitor. Never rejects,
/// except for a mistake in the app (no middleware, no loader: 500).
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

async fn resolve<U: Clone + Send + Sync + 'static>(
    state: &RequestState,
) -> Result<Option<U>, Error> {
    state.session().await?.user::<U>().map_err(Error::from)
}

impl<'a, U: Clone + Send + Sync + 'static> FromRequest<'a> for CurrentUser<U> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state = RequestState::of(req)?;
        Ok(Self(resolve(state).await?))
    }
}

/// The logged-in user of a page that requires login (Django's
/// `login_required`). An anonymous visitor is answered with 302 to the
/// middleware's login URL with `?next=` and this page's path and query
/// ([`login_redirect`]).
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

impl<'a, U: Clone + Send + Sync + 'static> FromRequest<'a> for LoginRequired<U> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state = RequestState::of(req)?;
        match resolve(state).await? {
            Some(user) => Ok(Self(user)),
            None => {
                // The URI as sent: the page's full path even under `Route::nest`.
                let uri = state.uri(req);
                let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
                Err(Error::LoginRequired {
                    location: login_redirect(&state.config.login_url, path),
                }
                .into())
            }
        }
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

impl<'a, U: Clone + Send + Sync + 'static> FromRequest<'a> for ApiUser<U> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state = RequestState::of(req)?;
        resolve(state)
            .await?
            .map(Self)
            .ok_or_else(|| Error::Unauthorized.into())
    }
}

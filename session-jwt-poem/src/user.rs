//! The logged-in user: [`UserLoader`], and the extractors [`CurrentUser`]
//! (optional), [`LoginRequired`] (pages: 302 to the login URL) and
//! [`ApiUser`] (API routes: 401).
//!
//! All three resolve the user the same way, Django's `get_user`: the
//! session's user id ([`Session::user_id`](session_jwt_core::Session::user_id)),
//! then the app's [`UserLoader`], then
//! [`Session::authenticate`](session_jwt_core::Session::authenticate), which
//! logs the session out when the user's auth hash changed (a password change
//! elsewhere). The user is loaded again by each extractor that asks for it.

use std::any::type_name;
use std::ops::Deref;
use std::sync::Arc;

use async_trait::async_trait;
use poem::{FromRequest, Request, RequestBody};
use session_jwt_core::AuthUser;
use session_jwt_core::auth::login_redirect;

use crate::error::Error;
use crate::middleware::RequestState;

/// Loads the app's users by id: the core's [`UserLoader`], registered with
/// [`SessionMiddleware::with_user_loader`](crate::SessionMiddleware::with_user_loader).
pub use session_jwt_core::auth::UserLoader;

/// [`UserLoader`] with the loader type erased, so the middleware can hold it.
#[async_trait]
pub(crate) trait DynUserLoader<U>: Send + Sync + 'static {
    async fn current_user(&self, session: &session_jwt_core::Session) -> Option<U>;
}

#[async_trait]
impl<L: UserLoader> DynUserLoader<L::User> for L {
    async fn current_user(&self, session: &session_jwt_core::Session) -> Option<L::User> {
        UserLoader::current_user(self, session).await
    }
}

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

async fn resolve<U: AuthUser + Send + Sync + 'static>(
    state: &RequestState,
) -> Result<Option<U>, Error> {
    let loader = state
        .config
        .user_loader
        .as_ref()
        .and_then(|l| l.downcast_ref::<Arc<dyn DynUserLoader<U>>>())
        .ok_or(Error::UserLoaderMissing {
            user_type: type_name::<U>(),
        })?;
    Ok(loader.current_user(&state.session().await?).await)
}

impl<'a, U: AuthUser + Send + Sync + 'static> FromRequest<'a> for CurrentUser<U> {
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

impl<'a, U: AuthUser + Send + Sync + 'static> FromRequest<'a> for LoginRequired<U> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state = RequestState::of(req)?;
        match resolve(state).await? {
            Some(user) => Ok(Self(user)),
            None => {
                // The URI as sent: the page's full path even under `Route::nest`.
                let uri = &state.uri;
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

impl<'a, U: AuthUser + Send + Sync + 'static> FromRequest<'a> for ApiUser<U> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state = RequestState::of(req)?;
        resolve(state)
            .await?
            .map(Self)
            .ok_or_else(|| Error::Unauthorized.into())
    }
}

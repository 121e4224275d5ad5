//! The filters that give routes inside [`Sessions::wrap`] their session and
//! user.
//!
//! The user is the one the core loaded and checked when it loaded the
//! session (through the engine's [`UserLoader`](crate::UserLoader), as
//! Django's `get_user`): no filter loads a user itself, and a session whose
//! user is gone or changed its password is already logged out.

use session_jwt_core::Session;
use session_jwt_core::auth::login_redirect;
use warp::path::FullPath;
use warp::{Filter, Rejection};

use crate::error::Error;
use crate::sessions::{Config, Sessions};

impl Config {
    /// The request's session, loaded from the store on first use. A store
    /// failure is logged and answered with 503, never an anonymous session.
    async fn session(&self) -> Result<Session, Error> {
        let lazy = self.in_flight.current()?;
        lazy.get(&*self.store).await.map_err(|e| {
            tracing::error!(error = %e, "session store failed to load a session; answering 503");
            Error::Store(e)
        })
    }

    async fn user<U: Clone + Send + Sync + 'static>(&self) -> Result<Option<U>, Error> {
        self.session().await?.user::<U>().map_err(Error::from)
    }
}

impl Sessions {
    /// The request's [`Session`]: a cheap handle on the core's session
    /// (`get`, `insert`, `login`, `logout`, `claims`, ...). Changes are saved
    /// by [`wrap`](Self::wrap) after the route answers.
    ///
    /// Rejects with [`Error::Store`] (503) when the store fails, and
    /// [`Error::NotWrapped`] (500) outside [`wrap`](Self::wrap).
    pub fn session(
        &self,
    ) -> impl Filter<Extract = (Session,), Error = Rejection> + Clone + Send + Sync + use<> {
        let config = self.config.clone();
        warp::any().and_then(move || {
            let config = config.clone();
            async move { config.session().await.map_err(warp::reject::custom) }
        })
    }

    /// The logged-in user, or `None` for an anonymous visitor. Never rejects,
    /// except for a store failure (503) or a mistake in the app (500: not
    /// wrapped, `U` not the engine's `UserLoader::User`).
    pub fn current_user<U: Clone + Send + Sync + 'static>(
        &self,
    ) -> impl Filter<Extract = (Option<U>,), Error = Rejection> + Clone + Send + Sync + use<U> {
        let config = self.config.clone();
        warp::any().and_then(move || {
            let config = config.clone();
            async move { config.user::<U>().await.map_err(warp::reject::custom) }
        })
    }

    /// The logged-in user of a page that requires login (Django's
    /// `login_required`). For an anonymous visitor it rejects with
    /// [`Error::LoginRequired`], which [`wrap`](Self::wrap) (or
    /// [`recover`](crate::recover)) answers with 302 to the login URL with
    /// `?next=` and this page's path and query
    /// ([`login_redirect`](crate::login_redirect)).
    ///
    /// Put it after the route's path and method filters: a rejection here
    /// means "log in", not "no such route".
    pub fn login_required<U: Clone + Send + Sync + 'static>(
        &self,
    ) -> impl Filter<Extract = (U,), Error = Rejection> + Clone + Send + Sync + use<U> {
        let login_url = self.config.login_url.clone();
        self.current_user::<U>()
            .and(warp::path::full())
            // The query as sent, if the URI has one.
            .and(
                warp::query::raw()
                    .map(Some)
                    .or(warp::any().map(|| None))
                    .unify(),
            )
            .and_then(
                move |user: Option<U>, path: FullPath, query: Option<String>| {
                    let login_url = login_url.clone();
                    async move {
                        user.ok_or_else(|| {
                            let path = match query {
                                Some(q) => format!("{}?{q}", path.as_str()),
                                None => path.as_str().to_owned(),
                            };
                            warp::reject::custom(Error::LoginRequired {
                                location: login_redirect(&login_url, &path),
                            })
                        })
                    }
                },
            )
    }

    /// The logged-in user of an API route: an anonymous visitor is answered
    /// with 401 ([`Error::Unauthorized`]), not redirected, which an API client
    /// could not follow usefully.
    pub fn api_user<U: Clone + Send + Sync + 'static>(
        &self,
    ) -> impl Filter<Extract = (U,), Error = Rejection> + Clone + Send + Sync + use<U> {
        self.current_user::<U>()
            .and_then(|user: Option<U>| async move {
                user.ok_or_else(|| warp::reject::custom(Error::Unauthorized))
            })
    }
}

//! Test support (feature `testing`): log a user in for
//! [`poem::test::TestClient`] without a login route (django-session-jwt's
//! test `Client.login`), and read the session a test client holds.
//!
//! `TestClient` keeps no cookies and does not show its default headers, so
//! [`SessionClient`] wraps one, remembers the session cookie, and sends it as
//! the client's default `Cookie` header. It derefs to the `TestClient`, so
//! requests are made as usual.
//!
//! ```
//! use poem::{EndpointExt, Route, get, handler};
//! use poem::test::TestClient;
//! use session_jwt_poem::testing::SessionClient;
//! use session_jwt_poem::{AuthUser, CurrentUser, Key, SessionJwt, SessionMiddleware, StoreError, UserLoader, async_trait};
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
//! #[handler]
//! fn whoami(user: CurrentUser<User>) -> String {
//!     user.as_ref().map_or("anonymous".into(), |u| u.id.to_string())
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let engine = SessionJwt::builder()
//!     .with_key(Key::hmac("a secret of at least thirty-two bytes!")?)?
//!     .build()?;
//! let sessions = SessionMiddleware::memory(engine.with_user_loader(Users));
//! let app = Route::new().at("/", get(whoami)).with(sessions.clone());
//!
//! let mut client = SessionClient::new(TestClient::new(app), &sessions);
//! client.get("/").send().await.assert_text("anonymous").await;
//! client.login(&User { id: 7 }).await?;
//! client.get("/").send().await.assert_text("7").await;
//! assert_eq!(client.session().await?.user_id().as_deref(), Some("7"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::ops::Deref;

use poem::Endpoint;
use poem::http::header::{COOKIE, SET_COOKIE};
use poem::test::{TestClient, TestResponse};
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{AuthUser, Session, StoreError};

use crate::SessionMiddleware;

/// Creates a session logged in as `user` in the middleware's store and
/// returns its cookie as a `Cookie` header value (`sessionid=<token>`).
pub async fn login_cookie<U: AuthUser + Clone + Send + Sync + 'static>(
    middleware: &SessionMiddleware,
    user: &U,
) -> Result<String, StoreError> {
    session_jwt_core::testing::login_cookie(
        middleware.engine(),
        &**middleware.store(),
        user,
        OffsetDateTime::now_utc(),
    )
    .await
}

/// The session a request with this `Cookie` header value would get now (an
/// empty, anonymous one if the cookie does not verify or its record is gone).
pub async fn session_for_cookie(
    middleware: &SessionMiddleware,
    cookie: &str,
) -> Result<Session, StoreError> {
    middleware
        .engine()
        .load(
            &**middleware.store(),
            [cookie.as_bytes()],
            OffsetDateTime::now_utc(),
        )
        .await
}

/// A [`TestClient`] that holds a session cookie (see the [module](self)
/// docs). It owns the client's default `Cookie` header.
pub struct SessionClient<E> {
    client: TestClient<E>,
    middleware: SessionMiddleware,
    cookie: Option<String>,
}

impl<E: Endpoint> SessionClient<E> {
    /// Wraps `client`, whose app uses `middleware` (a clone of the one given
    /// to `.with(..)`).
    pub fn new(client: TestClient<E>, middleware: &SessionMiddleware) -> Self {
        Self {
            client,
            middleware: middleware.clone(),
            cookie: None,
        }
    }

    /// Logs `user` in without a login route: the next requests carry the
    /// new session's cookie.
    pub async fn login<U: AuthUser + Clone + Send + Sync + 'static>(
        &mut self,
        user: &U,
    ) -> Result<(), StoreError> {
        let cookie = login_cookie(&self.middleware, user).await?;
        self.set_cookie(Some(cookie));
        Ok(())
    }

    /// Sends `cookie` (a `Cookie` header value) with the next requests, or no
    /// cookie.
    pub fn set_cookie(&mut self, cookie: Option<String>) {
        let value = cookie.as_deref().unwrap_or_default();
        self.client.upsert_default_header(COOKIE, value);
        self.cookie = cookie;
    }

    /// The `Cookie` header value the client sends, if any.
    #[must_use]
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// Keeps the session cookie `resp` set or removed, as a browser would.
    /// Returns whether `resp` had one.
    pub fn keep_cookie(&mut self, resp: &TestResponse) -> bool {
        let name = &self.middleware.engine().cookie_settings().name;
        let found = resp
            .0
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next()?.split_once('='))
            .rfind(|(n, _)| n.trim() == name)
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()));
        match found {
            Some((n, v)) => {
                self.set_cookie((!v.is_empty()).then(|| format!("{n}={v}")));
                true
            }
            None => false,
        }
    }

    /// The session the client holds, as the next request would load it.
    pub async fn session(&self) -> Result<Session, StoreError> {
        session_for_cookie(&self.middleware, self.cookie.as_deref().unwrap_or_default()).await
    }

    /// The wrapped client.
    #[must_use]
    pub fn into_inner(self) -> TestClient<E> {
        self.client
    }
}

impl<E> Deref for SessionClient<E> {
    type Target = TestClient<E>;

    fn deref(&self) -> &TestClient<E> {
        &self.client
    }
}

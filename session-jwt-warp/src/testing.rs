//! Test support (feature `testing`): log a user in for
//! [`warp::test::request()`] without a login route (django-session-jwt's
//! test `Client.login`), and read the session a test response carries.
//!
//! [`SessionClient`] keeps the session cookie between requests as a
//! browser would: [`request`](SessionClient::request) starts a
//! `warp::test::request()` carrying it, and
//! [`keep_cookie`](SessionClient::keep_cookie) follows the cookie a response
//! sets or removes.
//!
//! ```
//! use session_jwt_warp::testing::SessionClient;
//! use session_jwt_warp::{AuthUser, Key, SessionJwt, Sessions, StoreError, UserLoader, async_trait};
//! use warp::Filter;
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
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let engine = SessionJwt::builder()
//!     .with_key(Key::hmac("a secret of at least thirty-two bytes!")?)?
//!     .build()?
//!     .with_user_loader(Users);
//! let sessions = Sessions::memory(engine);
//! let whoami = sessions
//!     .current_user::<User>()
//!     .map(|user: Option<User>| user.map_or("anonymous".to_string(), |u| u.id.to_string()));
//! let app = sessions.wrap(whoami);
//!
//! let mut client = SessionClient::new(&sessions);
//! assert_eq!(client.request().reply(&app).await.body(), "anonymous");
//! client.login(&User { id: 7 }).await?;
//! let resp = client.request().reply(&app).await;
//! assert_eq!(resp.body(), "7");
//! assert_eq!(client.session().await?.user_id().as_deref(), Some("7"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{AuthUser, Session, StoreError};
use warp::http::Response;
use warp::http::header::{COOKIE, SET_COOKIE};
use warp::test::RequestBuilder;

use crate::Sessions;

/// Creates a session logged in as `user` in the store of `sessions` and
/// returns its cookie as a `Cookie` header value (`sessionid=<token>`).
pub async fn login_cookie<U: AuthUser + Clone + Send + Sync + 'static>(
    sessions: &Sessions,
    user: &U,
) -> Result<String, StoreError> {
    session_jwt_core::testing::login_cookie(
        sessions.engine(),
        &**sessions.store(),
        user,
        OffsetDateTime::now_utc(),
    )
    .await
}

/// The session a request with this `Cookie` header value would get now (an
/// empty, anonymous one if the cookie does not verify or its record is gone).
pub async fn session_for_cookie(sessions: &Sessions, cookie: &str) -> Result<Session, StoreError> {
    sessions
        .engine()
        .load(
            &**sessions.store(),
            [cookie.as_bytes()],
            OffsetDateTime::now_utc(),
        )
        .await
}

/// The session cookie `resp` sets, as a `Cookie` header value
/// (`sessionid=<token>`): `None` if it sends no session cookie, `Some(None)`
/// if it removes it.
#[must_use]
pub fn set_cookie<B>(sessions: &Sessions, resp: &Response<B>) -> Option<Option<String>> {
    let name = &sessions.engine().cookie_settings().name;
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .rfind(|(n, _)| n.trim() == name)
        .map(|(n, v)| (!v.trim().is_empty()).then(|| format!("{}={}", n.trim(), v.trim())))
}

/// The session `resp` leaves the client with: the one its `Set-Cookie`
/// names (an empty one if it removes the cookie), or `None` if it sends no
/// session cookie.
pub async fn session_of<B>(
    sessions: &Sessions,
    resp: &Response<B>,
) -> Result<Option<Session>, StoreError> {
    match set_cookie(sessions, resp) {
        Some(cookie) => session_for_cookie(sessions, cookie.as_deref().unwrap_or_default())
            .await
            .map(Some),
        None => Ok(None),
    }
}

/// A test client that holds a session cookie for `warp::test` requests (see
/// the [module](self) docs).
#[derive(Debug, Clone)]
pub struct SessionClient {
    sessions: Sessions,
    cookie: Option<String>,
}

impl SessionClient {
    /// A client without a cookie, for an app wrapped by `sessions` (a clone
    /// of the one whose [`wrap`](Sessions::wrap) made the app).
    #[must_use]
    pub fn new(sessions: &Sessions) -> Self {
        Self {
            sessions: sessions.clone(),
            cookie: None,
        }
    }

    /// Logs `user` in without a login route: the next requests carry the
    /// new session's cookie.
    pub async fn login<U: AuthUser + Clone + Send + Sync + 'static>(
        &mut self,
        user: &U,
    ) -> Result<(), StoreError> {
        self.cookie = Some(login_cookie(&self.sessions, user).await?);
        Ok(())
    }

    /// A `warp::test::request()` carrying the client's cookie, if any.
    pub fn request(&self) -> RequestBuilder {
        let req = warp::test::request();
        match &self.cookie {
            Some(cookie) => req.header(COOKIE, cookie.as_str()),
            None => req,
        }
    }

    /// Keeps the session cookie `resp` set or removed, as a browser would.
    /// Returns whether `resp` had one.
    pub fn keep_cookie<B>(&mut self, resp: &Response<B>) -> bool {
        match set_cookie(&self.sessions, resp) {
            Some(cookie) => {
                self.cookie = cookie;
                true
            }
            None => false,
        }
    }

    /// Sends `cookie` (a `Cookie` header value) with the next requests, or no
    /// cookie.
    pub fn set_cookie(&mut self, cookie: Option<String>) {
        self.cookie = cookie;
    }

    /// The `Cookie` header value the client sends, if any.
    #[must_use]
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// The session the client holds, as the next request would load it.
    pub async fn session(&self) -> Result<Session, StoreError> {
        session_for_cookie(&self.sessions, self.cookie.as_deref().unwrap_or_default()).await
    }
}

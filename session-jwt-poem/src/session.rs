//! The [`Session`] extractor.

use std::ops::Deref;

use poem::{FromRequest, Request, RequestBody};
use session_jwt_core::AuthUser;

use crate::error::Error;
use crate::middleware::RequestState;

/// The request's session, for handlers: a cheap handle on the core's
/// [`Session`](session_jwt_core::Session), whose methods it derefs to (`get`,
/// `insert`, `login`, `logout`, `claims`, ...). Changes are saved by
/// [`SessionMiddleware`](crate::SessionMiddleware) after the handler.
///
/// On a route without the middleware it rejects with 500 and the message
/// "SessionMiddleware is not installed". As `Option<Session>` it is `None`
/// there instead; as `poem::Result<Session>` the handler gets the error.
#[derive(Debug, Clone)]
pub struct Session(session_jwt_core::Session);

impl Session {
    /// The core's session handle.
    #[must_use]
    pub fn into_inner(self) -> session_jwt_core::Session {
        self.0
    }

    /// Stores an item ([`core::Session::insert`](session_jwt_core::Session::insert)),
    /// with an error that `?` turns into a Poem error (500, logged).
    ///
    /// ```
    /// use poem::handler;
    /// use session_jwt_poem::Session;
    ///
    /// #[handler]
    /// fn add_to_cart(session: Session) -> poem::Result<&'static str> {
    ///     session.insert("cart", ["apple"])?;
    ///     Ok("added")
    /// }
    /// ```
    pub fn insert<T: serde::Serialize>(
        &self,
        name: impl Into<String>,
        value: T,
    ) -> Result<(), Error> {
        Ok(self.0.insert(name, value)?)
    }

    /// Stores an item given as JSON; as [`Session::insert`].
    pub fn insert_value(
        &self,
        name: impl Into<String>,
        value: serde_json::Value,
    ) -> Result<(), Error> {
        Ok(self.0.insert_value(name, value)?)
    }

    /// Logs `user` in ([`core::Session::login`](session_jwt_core::Session::login)),
    /// with an error that `?` turns into a Poem error.
    pub fn login<U: AuthUser + Clone + Send + Sync + 'static>(
        &self,
        user: &U,
    ) -> Result<(), Error> {
        Ok(self.0.login(user)?)
    }

    /// Keeps this session logged in after a password change
    /// ([`core::Session::update_auth_hash`](session_jwt_core::Session::update_auth_hash)),
    /// with an error that `?` turns into a Poem error.
    pub fn update_auth_hash<U: AuthUser + Clone + Send + Sync + 'static>(
        &self,
        user: &U,
    ) -> Result<(), Error> {
        Ok(self.0.update_auth_hash(user)?)
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

impl<'a> FromRequest<'a> for Session {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(RequestState::of(req)?.session().await?))
    }
}

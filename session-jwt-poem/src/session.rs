//! The [`Session`] extractor.

use std::ops::Deref;

use poem::{FromRequest, Request, RequestBody};

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

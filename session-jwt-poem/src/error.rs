//! The adapter's one error type: every rejection an extractor or the
//! middleware answers with.

use poem::error::ResponseError;
use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};

use crate::core::StoreError;

/// Why a request was answered by this crate rather than by the handler.
///
/// Each variant converts to its response through [`poem::Error`], so
/// extractors can return it with `?`. No message carries a token, a session
/// key or a store's error text (those go to the log only).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An extractor ran on a route without [`SessionMiddleware`](crate::SessionMiddleware):
    /// a mistake in the app, answered with 500.
    #[error(
        "SessionMiddleware is not installed: wrap this route with `.with(SessionMiddleware::new(..))`"
    )]
    MiddlewareMissing,
    /// A mistake of the app with the session, answered with 500 and logged
    /// (`tracing::error!`) with what it was: a user type that is not the
    /// engine's [`UserLoader`](crate::UserLoader)'s, logging in without one, a
    /// value that does not serialize, a reserved item name. The body names
    /// nothing internal. `?` on a core `SessionError` gives it.
    #[error("internal server error")]
    Session(#[source] crate::core::SessionError),
    /// A page that requires login, for an anonymous visitor: answered with
    /// 302 to `location` (the login URL with `?next=`).
    #[error("login required")]
    LoginRequired {
        /// Where to redirect (from [`login_redirect`](crate::core::auth::login_redirect)).
        location: String,
    },
    /// An API route that requires login, for an anonymous visitor: answered
    /// with 401.
    #[error("authentication required")]
    Unauthorized,
    /// The session store failed: answered with 503. Never a logout.
    #[error("session store unavailable")]
    Store(#[source] StoreError),
}

impl ResponseError for Error {
    fn status(&self) -> StatusCode {
        match self {
            Self::MiddlewareMissing | Self::Session(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::LoginRequired { .. } => StatusCode::FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn as_response(&self) -> Response {
        let mut resp = self.to_string().into_response();
        resp.set_status(self.status());
        if let Self::LoginRequired { location } = self {
            match location.parse() {
                Ok(value) => {
                    resp.headers_mut().insert(header::LOCATION, value);
                }
                Err(_) => {
                    // `login_redirect` percent-encodes the path, and the login
                    // URL comes from the app's configuration; a value that is
                    // not a header is the app's mistake.
                    tracing::error!("the login URL is not a valid Location header value");
                    resp.set_status(StatusCode::INTERNAL_SERVER_ERROR);
                }
            }
        }
        resp
    }
}

impl From<crate::core::SessionError> for Error {
    fn from(e: crate::core::SessionError) -> Self {
        tracing::error!(error = %e, "a mistake with the session; answering 500");
        Self::Session(e)
    }
}

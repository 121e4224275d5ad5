//! The adapter's one error type, the rejections of its filters, and
//! [`recover`], which answers them.

use warp::http::header::LOCATION;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Rejection, Reply};

use crate::core::{SessionError, StoreError};

/// Why a request was answered by this crate rather than by the route.
///
/// The filters reject with it ([`warp::reject::custom`]); [`Sessions::wrap`]
/// and [`recover`] turn it into its response. No message carries a token, a
/// session key or a store's error text (those go to the log only).
///
/// A route turns the core's `SessionError` into a rejection with
/// `Error::from` (a 500, logged), and `?` does the rest:
///
/// ```
/// use session_jwt_warp::{Error, Session};
///
/// fn add_to_cart(session: Session) -> Result<&'static str, warp::Rejection> {
///     session.insert("cart", ["apple"]).map_err(Error::from)?;
///     Ok("added")
/// }
/// ```
///
/// [`Sessions::wrap`]: crate::Sessions::wrap
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A session filter ran outside [`Sessions::wrap`](crate::Sessions::wrap):
    /// a mistake in the app, answered with 500.
    #[error("the session filters must run inside `Sessions::wrap`: wrap the whole route tree once")]
    NotWrapped,
    /// Two requests wrapped by the same [`Sessions`](crate::Sessions) ran in
    /// one task at the same time (or the tree was wrapped twice), so the
    /// filters cannot tell whose session to give: answered with 500 rather
    /// than risking one visitor's session for another's.
    #[error(
        "two requests under the same `Sessions::wrap` run in one task at once \
         (or the route tree is wrapped twice): wrap it once, one request per task"
    )]
    Ambiguous,
    /// A mistake of the app with the session, answered with 500 and logged
    /// (`tracing::error!`) with what it was: a user type that is not the
    /// engine's [`UserLoader`](crate::UserLoader)'s, logging in without one, a
    /// value that does not serialize, a reserved item name. The body names
    /// nothing internal. `?` on a core `SessionError` gives it.
    #[error("internal server error")]
    Session(#[source] SessionError),
    /// A page that requires login, for an anonymous visitor: answered with
    /// 302 to `location` (the login URL with `?next=`).
    #[error("login required")]
    LoginRequired {
        /// Where to redirect (from [`login_redirect`](crate::login_redirect)).
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

impl warp::reject::Reject for Error {}

impl Error {
    /// The status this error is answered with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotWrapped | Self::Ambiguous | Self::Session(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::LoginRequired { .. } => StatusCode::FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The response: the status, the message as plain text, and `Location`
    /// for [`Error::LoginRequired`].
    #[must_use]
    pub fn to_response(&self) -> Response {
        let mut resp = warp::reply::with_status(self.to_string(), self.status()).into_response();
        if let Self::LoginRequired { location } = self {
            match HeaderValue::try_from(location.as_str()) {
                Ok(value) => {
                    resp.headers_mut().insert(LOCATION, value);
                }
                Err(_) => {
                    // `login_redirect` percent-encodes the path, and the login
                    // URL comes from the app's configuration; a value that is
                    // not a header is the app's mistake.
                    tracing::error!("the login URL is not a valid Location header value");
                    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                }
            }
        }
        resp
    }
}

/// Answers this crate's rejections ([`Error`]) and passes every other one
/// on: use it with [`Filter::recover`](warp::Filter::recover) where the app
/// recovers its own rejections. [`Sessions::wrap`](crate::Sessions::wrap)
/// already answers the rejections that reach it this way.
pub async fn recover(rejection: Rejection) -> Result<Response, Rejection> {
    match rejection.find::<Error>() {
        Some(e) => Ok(e.to_response()),
        None => Err(rejection),
    }
}

impl From<SessionError> for Error {
    fn from(e: SessionError) -> Self {
        tracing::error!(error = %e, "a mistake with the session; answering 500");
        Self::Session(e)
    }
}

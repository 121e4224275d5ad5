//! The adapter's one error type: every failure a guard, the fairing or the
//! configuration reports.

use std::io::Cursor;

use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder};
use rocket::{Request, Response};
use session_jwt_core::{SessionError, StoreError};

/// Why a request guard failed, or why the fairing refused to ignite.
///
/// A guard fails with the [`status`](Error::status) of its error, so Rocket
/// answers with that status (through its catchers, except for the 302 of
/// [`LoginRequired`](crate::LoginRequired), whose `Location` the fairing
/// adds). A handler that takes `Result<Guard, Error>` gets the error instead,
/// and can return it: `Error` is a [`Responder`] giving the same answer. No
/// message carries a token, a session key or a store's error text (those go
/// to the log only).
///
/// `?` turns the core's `SessionError` into it (a 500, logged):
///
/// ```
/// use rocket::post;
/// use session_jwt_rocket::{Error, Session};
///
/// #[post("/cart")]
/// fn add_to_cart(session: Session) -> Result<&'static str, Error> {
///     session.insert("cart", ["apple"])?;
///     Ok("added")
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A guard ran in a Rocket without [`SessionFairing`](crate::SessionFairing):
    /// a mistake in the app, answered with 500. (Routes that name the guards
    /// in their signature stop the launch instead: the guards are sentinels.)
    #[error(
        "SessionFairing is not attached: add `.attach(SessionFairing::new(..))` to this Rocket"
    )]
    FairingMissing,
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
    /// The session store (or the user loader) failed: answered with 503.
    /// Never a logout, never an anonymous session.
    #[error("session store unavailable")]
    Store(#[source] StoreError),
    /// The `session_jwt` configuration is not valid: ignite is aborted.
    /// `setting` is its full name in Rocket's configuration
    /// (`session_jwt.cookie.same_site`, ...).
    #[error("{setting}: {reason}")]
    Config {
        /// The setting, as named in `Rocket.toml`.
        setting: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// The HTTP status this error is answered with.
    #[must_use]
    pub fn status(&self) -> Status {
        match self {
            Self::FairingMissing | Self::Session(_) | Self::Config { .. } => {
                Status::InternalServerError
            }
            Self::LoginRequired { .. } => Status::Found,
            Self::Unauthorized => Status::Unauthorized,
            Self::Store(_) => Status::ServiceUnavailable,
        }
    }
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let body = self.to_string();
        let mut resp = Response::build()
            .status(self.status())
            .header(ContentType::Plain)
            .sized_body(body.len(), Cursor::new(body))
            .finalize();
        if let Self::LoginRequired { location } = self {
            resp.set_raw_header("Location", location);
        }
        Ok(resp)
    }
}

/// The response that replaces the app's when the store fails after the
/// handler (a save): 503, and nothing of the app's response (no cookie).
pub(crate) fn store_unavailable() -> Response<'static> {
    let body = "session store unavailable";
    Response::build()
        .status(Status::ServiceUnavailable)
        .header(ContentType::Plain)
        .sized_body(body.len(), Cursor::new(body))
        .finalize()
}

impl From<SessionError> for Error {
    fn from(e: SessionError) -> Self {
        tracing::error!(error = %e, "a mistake with the session; answering 500");
        Self::Session(e)
    }
}

//! [`SessionMiddleware`]: loads the session when first asked for and saves it
//! after, through the core's [`SessionJwt::lazy`] and
//! [`LazySession::save_response`](session_jwt_core::LazySession::save_response).

use std::fmt;
use std::sync::Arc;

use poem::error::ResponseError;
use poem::http::header::COOKIE;
use poem::http::{HeaderValue, StatusCode, Uri};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{MemoryStore, ResponseHeaders, SessionJwt, SessionStore};

use crate::error::Error;

/// The login URL used by [`LoginRequired`](crate::LoginRequired) unless
/// [`SessionMiddleware::with_login_url`] sets another.
pub const DEFAULT_LOGIN_URL: &str = "/login";

/// A Poem middleware giving every request a [`Session`](crate::Session).
///
/// Per request it reads the clock once and verifies the session cookie
/// ([`SessionJwt::lazy`]); the record is loaded from the store when a handler
/// or extractor first asks for the session, so routes that never do (static
/// pages, the JWKS) keep working while the store is down. After the inner
/// endpoint it saves or deletes the record and writes `Set-Cookie` and
/// `Vary: Cookie` as the core decides ([`SessionJwt::save_response`]: a 5xx
/// saves nothing).
///
/// - A store failure, on load or on save, is answered with 503 and logged
///   with `tracing::error!`; it never logs anyone out, and a failed save sends
///   no `Set-Cookie` (the client keeps its cookie). A handler that asked for
///   the session during an outage gets 503 even if it went on without one
///   (`Option<Session>` is `None` then).
/// - An error returned by the inner endpoint is turned into its response
///   here, so that the session is saved for error responses too (a session
///   that [`CurrentUser`](crate::CurrentUser) found stale must be deleted even
///   when the route then answers 302 or 401). Middlewares *inside* this one
///   still see the typed error.
/// - Installed twice on one route, the inner instance steps aside.
///
/// Cheap to clone: clone it to keep a handle for
/// `testing` helpers (feature `testing`) after `.with(..)` consumed one.
#[derive(Clone)]
pub struct SessionMiddleware {
    config: Arc<Config>,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) engine: SessionJwt,
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) login_url: String,
}

impl fmt::Debug for SessionMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionMiddleware")
            .field("engine", &self.config.engine)
            .field("login_url", &self.config.login_url)
            .finish_non_exhaustive()
    }
}

impl SessionMiddleware {
    /// Sessions configured by `engine`, kept in `store`.
    pub fn new(engine: SessionJwt, store: impl SessionStore) -> Self {
        Self::with_shared_store(engine, Arc::new(store))
    }

    /// Sessions configured by `engine`, kept in a store shared with other
    /// parts of the app (a "log out everywhere" handler, a purge task).
    pub fn with_shared_store(engine: SessionJwt, store: Arc<dyn SessionStore>) -> Self {
        Self {
            config: Arc::new(Config {
                engine,
                store,
                login_url: DEFAULT_LOGIN_URL.to_owned(),
            }),
        }
    }

    /// Sessions kept in a new [`MemoryStore`] (one process; lost at restart).
    pub fn memory(engine: SessionJwt) -> Self {
        Self::new(engine, MemoryStore::new())
    }

    /// Where [`LoginRequired`](crate::LoginRequired) redirects anonymous
    /// visitors (default [`DEFAULT_LOGIN_URL`]); `?next=` and the page's path
    /// are added to it.
    #[must_use]
    pub fn with_login_url(mut self, url: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.config).login_url = url.into();
        self
    }

    /// The engine (configuration, keys, JWKS).
    #[must_use]
    pub fn engine(&self) -> &SessionJwt {
        &self.config.engine
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.config.store
    }

    /// The login URL.
    #[must_use]
    pub fn login_url(&self) -> &str {
        &self.config.login_url
    }
}

impl<E: Endpoint> Middleware<E> for SessionMiddleware {
    type Output = SessionEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SessionEndpoint {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The endpoint [`SessionMiddleware`] wraps around the app.
pub struct SessionEndpoint<E> {
    inner: E,
    config: Arc<Config>,
}

impl<E> fmt::Debug for SessionEndpoint<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionEndpoint").finish_non_exhaustive()
    }
}

/// What the middleware leaves in the request's extensions for the
/// extractors.
#[derive(Clone)]
pub(crate) struct RequestState {
    /// The session, loaded from the store on first use.
    pub(crate) lazy: Arc<session_jwt_core::LazySession>,
    pub(crate) config: Arc<Config>,
    /// The request's URI as the client sent it, for `?next=`, when the
    /// request's `original_uri` does not hold it (a request built in a test).
    pub(crate) uri: Option<Uri>,
}

impl RequestState {
    /// The request's URI as the client sent it.
    pub(crate) fn uri<'r>(&'r self, req: &'r Request) -> &'r Uri {
        self.uri.as_ref().unwrap_or_else(|| req.original_uri())
    }

    pub(crate) fn of(req: &Request) -> Result<&Self, Error> {
        req.extensions()
            .get::<Self>()
            .ok_or(Error::MiddlewareMissing)
    }

    /// The session, loading it from the store on first use. A store failure
    /// is logged and answered with 503, never an anonymous session.
    pub(crate) async fn session(&self) -> Result<session_jwt_core::Session, Error> {
        self.lazy.get(&*self.config.store).await.map_err(|e| {
            tracing::error!(error = %e, "session store failed to load a session; answering 503");
            Error::Store(e)
        })
    }
}

impl<E: Endpoint> Endpoint for SessionEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        if req.extensions().get::<RequestState>().is_some() {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let now = OffsetDateTime::now_utc();
        let Config { engine, store, .. } = &*self.config;

        // The cookies are verified now; the store is read only when a
        // handler or extractor first asks for the session.
        let cookies = req.headers().get_all(COOKIE);
        let lazy = Arc::new(engine.lazy(cookies.iter().map(HeaderValue::as_bytes), now));
        // The URI the client sent. A server sets `original_uri`; a request
        // built in a test leaves it at `/`, and then the URI seen here, before
        // any routing strips a prefix, is the one sent.
        let uri = match req.original_uri() {
            u if u.path_and_query().is_some_and(|p| p.as_str() != "/") => None,
            _ => Some(req.uri().clone()),
        };
        req.extensions_mut().insert(RequestState {
            lazy: lazy.clone(),
            config: self.config.clone(),
            uri,
        });

        let mut resp = match self.inner.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(e) => e.into_response(),
        };

        let status = resp.status().as_u16();
        match lazy.save_response(&**store, status).await {
            Ok(headers) => {
                write_headers(&mut resp, headers);
                Ok(resp)
            }
            Err(e) => {
                tracing::error!(error = %e, "session store failed to save a session; answering 503");
                Ok(Error::Store(e).as_response())
            }
        }
    }
}

fn write_headers(resp: &mut Response, headers: ResponseHeaders) {
    // The core says which headers; each is appended, never replacing the
    // app's own Set-Cookie, and a route's own Cache-Control wins.
    if headers.append_to(resp.headers_mut()).is_err() {
        // The core builds the cookie from a base64url token and the
        // configured (checked) name, path and domain: unreachable unless the
        // configuration holds bytes a header cannot.
        tracing::error!("the session cookie is not a valid header value");
        *resp = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
}

//! [`Sessions`]: the configuration, and [`Sessions::wrap`], which gives a
//! route tree its sessions and saves them after every request.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{MemoryStore, ResponseHeaders, SessionJwt, SessionStore, StoreError};
use warp::http::header::COOKIE;
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::error::Error;
use crate::request::{InFlight, Registered};

/// The login URL used by [`Sessions::login_required`] unless
/// [`Sessions::with_login_url`] sets another.
pub const DEFAULT_LOGIN_URL: &str = "/login";

/// Sessions for a warp app: [`wrap`](Self::wrap) the whole route tree once,
/// and take the session and the user inside it with
/// [`session`](Self::session), [`current_user`](Self::current_user),
/// [`login_required`](Self::login_required) and [`api_user`](Self::api_user).
///
/// Cheap to clone; every clone manages the same sessions.
#[derive(Clone)]
pub struct Sessions {
    pub(crate) config: Arc<Config>,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) engine: SessionJwt,
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) login_url: Arc<str>,
    /// Shared by every copy of the configuration: the filters and the
    /// wrapper must meet in the same one.
    pub(crate) in_flight: Arc<InFlight>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("engine", &self.config.engine)
            .field("login_url", &self.config.login_url)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions configured by `engine` (with its
    /// [`UserLoader`](crate::UserLoader), if the app has users), kept in
    /// `store`.
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
                login_url: DEFAULT_LOGIN_URL.into(),
                in_flight: Arc::default(),
            }),
        }
    }

    /// Sessions kept in a new [`MemoryStore`] (one process; lost at restart).
    pub fn memory(engine: SessionJwt) -> Self {
        Self::new(engine, MemoryStore::new())
    }

    /// Where [`login_required`](Self::login_required) redirects anonymous
    /// visitors (default [`DEFAULT_LOGIN_URL`]); `?next=` and the page's path
    /// are added to it.
    #[must_use]
    pub fn with_login_url(mut self, url: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.config).login_url = url.into().into();
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

    /// `routes` with sessions: the filter to give to `warp::serve`.
    ///
    /// Per request it reads the clock once and verifies the session cookie
    /// ([`SessionJwt::lazy`]); the record is loaded from the store when a
    /// filter inside first asks for the session, once however many `or`
    /// branches ask, and routes that never ask (static pages, the JWKS) keep
    /// working while the store is down. When `routes` has answered, it saves
    /// or deletes the record and adds `Set-Cookie`, `Vary: Cookie` and
    /// `Cache-Control: private` as the core decides
    /// ([`LazySession::save_response`](crate::core::LazySession::save_response):
    /// a 5xx saves nothing). Routes do not save anything themselves, so none
    /// can forget to.
    ///
    /// - This crate's rejections that reach it ([`Error`]: login required,
    ///   unauthorized, store failure) are answered here, as [`recover`](crate::recover)
    ///   does, and the session is saved for those responses too: a stale
    ///   session that [`login_required`](Self::login_required) found is
    ///   deleted, and its cookie removed, with the 302.
    /// - Other rejections pass on to warp, which answers them after this
    ///   filter, so no cookie can be added to their response: only the
    ///   session's deletions (a logout, a stale session) are saved for them.
    ///   Recover the app's own rejections *inside*,
    ///   `sessions.wrap(routes.recover(handle))`, for their responses to
    ///   carry the cookie.
    /// - A store failure, on load or on save, is answered with 503 and logged
    ///   with `tracing::error!`; it never logs anyone out, and a failed save
    ///   sends no `Set-Cookie` (the client keeps its cookie).
    ///
    /// Wrap the tree once: the filters inside refuse (500, [`Error::Ambiguous`])
    /// when two wrappers of the same `Sessions` are in flight for one
    /// request. To write it as `routes.with(..)`:
    /// `routes.with(warp::wrap_fn(|r| sessions.wrap(r)))`.
    pub fn wrap<F, R>(
        &self,
        routes: F,
    ) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + use<F, R>
    where
        F: Filter<Extract = (R,), Error = Rejection> + Clone + Send + Sync + 'static,
        R: Reply,
    {
        let config = self.config.clone();
        let begin = warp::header::headers_cloned().map(move |headers: HeaderMap| {
            // The clock, read once for the request.
            let now = OffsetDateTime::now_utc();
            let cookies = headers.get_all(COOKIE);
            let lazy = config
                .engine
                .lazy(cookies.iter().map(HeaderValue::as_bytes), now);
            Finish {
                request: config.in_flight.register(Arc::new(lazy)),
                store: config.store.clone(),
            }
        });
        // Boxed: warp clones the filter that follows another into each
        // request's future, and a boxed tree is cloned as one `Arc` rather
        // than filter by filter (each route's `Arc`s).
        let routes = routes
            .map(|reply: R| Answer::Reply(reply.into_response()))
            .or_else(|rejection: Rejection| async move {
                Ok::<_, Infallible>((Answer::Rejected(rejection),))
            })
            .boxed();
        begin
            .and(routes)
            .and_then(|finish: Finish, answer: Answer| finish.run(answer))
    }
}

/// What the wrapped routes answered.
enum Answer {
    Reply(Response),
    Rejected(Rejection),
}

/// The request's session, to save once the routes have answered.
struct Finish {
    request: Registered,
    store: Arc<dyn SessionStore>,
}

impl Finish {
    async fn run(self, answer: Answer) -> Result<Response, Rejection> {
        let lazy = self.request.lazy();
        let mut resp = match answer {
            Answer::Reply(resp) => resp,
            Answer::Rejected(rejection) => match rejection.find::<Error>() {
                Some(e) => e.to_response(),
                None => {
                    // Warp answers this rejection after us: there is no
                    // response to carry a cookie. Only the session's
                    // deletions are saved (a logout stays a logout).
                    if let Err(e) = lazy.save_deletions(&*self.store).await {
                        return Ok(store_failed(e));
                    }
                    return Err(rejection);
                }
            },
        };
        match lazy
            .save_response(&*self.store, resp.status().as_u16())
            .await
        {
            Ok(headers) => write_headers(&mut resp, &headers),
            Err(e) => resp = store_failed(e),
        }
        Ok(resp)
    }
}

fn store_failed(e: StoreError) -> Response {
    tracing::error!(error = %e, "session store failed to save a session; answering 503");
    Error::Store(e).to_response()
}

fn write_headers(resp: &mut Response, headers: &ResponseHeaders) {
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

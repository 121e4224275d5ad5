//! [`SessionFairing`]: on each request, verifies the cookie and prepares the
//! session lazily ([`SessionJwt::lazy`]); on each response, saves it and
//! writes the headers the core decides
//! ([`LazySession::save_response`](session_jwt_core::LazySession::save_response)).

use std::fmt;
use std::sync::{Arc, Mutex};

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::Status;
use rocket::{Build, Data, Request, Response, Rocket};
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{Builder, LazySession, MemoryStore, SessionJwt, SessionStore, UserLoader};

use crate::config::CONFIG_KEY;
use crate::error::store_unavailable;

/// The login URL used by [`LoginRequired`](crate::LoginRequired) unless
/// [`SessionFairing::with_login_url`] sets another.
pub const DEFAULT_LOGIN_URL: &str = "/login";

/// The Rocket fairing that gives every request a [`Session`](crate::Session).
///
/// - **Ignite**: builds the engine (given, or read from Rocket's
///   configuration by [`SessionFairing::from_config`]) and manages it as
///   [`Sessions`] state. A bad configuration aborts ignite with a logged
///   message naming the setting.
/// - **Request**: reads the clock once and verifies the session cookie; the
///   record is loaded from the store only when a guard first asks for the
///   session, so routes that never do (static pages, the JWKS) keep working
///   while the store is down.
/// - **Response**: saves or deletes the record and appends `Set-Cookie`,
///   `Vary: Cookie` and `Cache-Control: private` as the core decides (a 5xx
///   saves nothing). The cookie is written as a header, after Rocket has
///   written the app's own cookies, never through the `CookieJar` (whose
///   changes are already sent when response fairings run, and reset when a
///   catcher runs), so the app's cookies and the session's never replace
///   each other.
/// - A store failure, on load or on save, is answered with 503 and logged with
///   `tracing::error!`; it never logs anyone out, and a failed save sends no
///   `Set-Cookie` (the client keeps its cookie). A handler that asked for the
///   session during an outage gets 503 even if it went on without one
///   (`Option<Session>` is `None` then).
///
/// It is a singleton: attached twice, the last one attached is used.
pub struct SessionFairing {
    source: Source,
    /// Applied to the builder of [`Source::Config`].
    configure: Mutex<Option<Configure>>,
    store: Arc<dyn SessionStore>,
    login_url: String,
    /// Applies [`SessionJwt::with_user_loader`] at ignite.
    user_loader: Mutex<Option<Register>>,
}

type Configure = Box<dyn FnOnce(Builder) -> Builder + Send>;
type Register = Box<dyn FnOnce(SessionJwt) -> SessionJwt + Send>;

enum Source {
    Engine(SessionJwt),
    /// The table of Rocket's configuration with this name.
    Config(String),
}

impl fmt::Debug for SessionFairing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SessionFairing");
        match &self.source {
            Source::Engine(engine) => d.field("engine", engine),
            Source::Config(key) => d.field("config_key", key),
        };
        d.field("login_url", &self.login_url)
            .finish_non_exhaustive()
    }
}

impl SessionFairing {
    /// Sessions configured by `engine`, kept in `store`.
    pub fn new(engine: SessionJwt, store: impl SessionStore) -> Self {
        Self::with_shared_store(engine, Arc::new(store))
    }

    /// Sessions configured by `engine`, kept in a store shared with other
    /// parts of the app (a "log out everywhere" handler, a purge task).
    pub fn with_shared_store(engine: SessionJwt, store: Arc<dyn SessionStore>) -> Self {
        Self::from_source(Source::Engine(engine), store)
    }

    /// Sessions kept in a new [`MemoryStore`] (one process; lost at restart).
    pub fn memory(engine: SessionJwt) -> Self {
        Self::new(engine, MemoryStore::new())
    }

    /// Sessions configured by the `session_jwt` table of Rocket's
    /// configuration (`Rocket.toml`, `ROCKET_SESSION_JWT`, or any provider of
    /// the app's figment), read at ignite: the core's
    /// [`Settings`](session_jwt_core::Settings) with its key (secret text or
    /// PEM file), fields and cookie settings. See the [`config`](crate::config)
    /// module.
    pub fn from_config(store: impl SessionStore) -> Self {
        Self::from_config_shared(Arc::new(store))
    }

    /// [`SessionFairing::from_config`] with a shared store.
    pub fn from_config_shared(store: Arc<dyn SessionStore>) -> Self {
        Self::from_source(Source::Config(CONFIG_KEY.to_owned()), store)
    }

    fn from_source(source: Source, store: Arc<dyn SessionStore>) -> Self {
        Self {
            source,
            configure: Mutex::new(None),
            store,
            login_url: DEFAULT_LOGIN_URL.to_owned(),
            user_loader: Mutex::new(None),
        }
    }

    /// With [`SessionFairing::from_config`]: reads the table named `key`
    /// instead of `session_jwt`. No effect on a fairing made from an engine.
    #[must_use]
    pub fn with_config_key(mut self, key: impl Into<String>) -> Self {
        if let Source::Config(k) = &mut self.source {
            *k = key.into();
        }
        self
    }

    /// With [`SessionFairing::from_config`]: adjusts the [`Builder`] made
    /// from the configuration before it is built, for what only code can
    /// give (a claims provider, a key from a secrets manager). On a fairing
    /// made from an engine it cannot apply, so ignite fails with a logged
    /// error rather than run with a configuration the app did not ask for.
    #[must_use]
    pub fn with_builder(self, configure: impl FnOnce(Builder) -> Builder + Send + 'static) -> Self {
        *lock(&self.configure) = Some(Box::new(configure));
        self
    }

    /// Registers the app's users with the engine at ignite
    /// ([`SessionJwt::with_user_loader`]): needed for
    /// [`Session::login`](session_jwt_core::Session::login) and the user
    /// guards, and checked on every session load (a user whose password
    /// changed is logged out). An engine given to [`SessionFairing::new`] may
    /// carry its loader already; this one replaces it.
    #[must_use]
    pub fn with_user_loader(self, loader: impl UserLoader) -> Self {
        *lock(&self.user_loader) = Some(Box::new(move |engine| engine.with_user_loader(loader)));
        self
    }

    /// Where [`LoginRequired`](crate::LoginRequired) redirects anonymous
    /// visitors (default [`DEFAULT_LOGIN_URL`]); `?next=` and the page's path
    /// are added to it.
    #[must_use]
    pub fn with_login_url(mut self, url: impl Into<String>) -> Self {
        self.login_url = url.into();
        self
    }

    /// The engine, from the source, with the user loader.
    fn engine(&self, rocket: &Rocket<Build>) -> Result<SessionJwt, crate::Error> {
        let configure = lock(&self.configure).take();
        let engine = match &self.source {
            Source::Engine(_) if configure.is_some() => {
                return Err(crate::Error::Config {
                    setting: "SessionFairing::with_builder".into(),
                    reason: "only for a fairing made by SessionFairing::from_config; \
                             configure the engine before SessionFairing::new"
                        .into(),
                });
            }
            Source::Engine(engine) => engine.clone(),
            Source::Config(key) => {
                let builder = crate::config::builder(rocket.figment(), key)?;
                let builder = match configure {
                    Some(f) => f(builder),
                    None => builder,
                };
                crate::config::build(builder, key)?
            }
        };
        Ok(match lock(&self.user_loader).take() {
            Some(register) => register(engine),
            None => engine,
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sessions of a Rocket instance, managed by [`SessionFairing`] at
/// ignite: the engine, the store and the login URL. Reach it in a handler
/// as `&State<Sessions>` (a "log out everywhere" route, a purge task), or
/// with `rocket.state::<Sessions>()`.
pub struct Sessions {
    engine: SessionJwt,
    store: Arc<dyn SessionStore>,
    login_url: String,
    /// The JWKS, serialized once: the engine's keys do not change after it
    /// is built.
    pub(crate) jwks: Option<String>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("engine", &self.engine)
            .field("login_url", &self.login_url)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// The engine (configuration, keys, JWKS).
    #[must_use]
    pub fn engine(&self) -> &SessionJwt {
        &self.engine
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// The login URL of [`LoginRequired`](crate::LoginRequired).
    #[must_use]
    pub fn login_url(&self) -> &str {
        &self.login_url
    }

    /// The sessions of the Rocket serving `req`, or
    /// [`Error::FairingMissing`](crate::Error::FairingMissing) (logged).
    pub(crate) fn of<'r>(req: &'r Request<'_>) -> Result<&'r Sessions, crate::Error> {
        req.rocket().state::<Sessions>().ok_or_else(fairing_missing)
    }
}

pub(crate) fn fairing_missing() -> crate::Error {
    let e = crate::Error::FairingMissing;
    tracing::error!("{e}");
    e
}

/// What the fairing keeps for one request, in Rocket's request-local cache
/// under this private type (the cache is keyed by type: no other code can
/// read or replace it).
pub(crate) struct RequestState {
    pub(crate) lazy: LazySession,
    /// The `Location` of a [`LoginRequired`](crate::LoginRequired) failure,
    /// for the response.
    pub(crate) redirect: Mutex<Option<String>>,
}

struct Slot(Option<RequestState>);

impl RequestState {
    /// The request's state, or
    /// [`Error::FairingMissing`](crate::Error::FairingMissing) (logged).
    pub(crate) fn of<'r>(req: &'r Request<'_>) -> Result<&'r RequestState, crate::Error> {
        req.local_cache(|| Slot(None))
            .0
            .as_ref()
            .ok_or_else(fairing_missing)
    }

    pub(crate) fn set_redirect(&self, location: String) {
        *lock(&self.redirect) = Some(location);
    }
}

#[rocket::async_trait]
impl Fairing for SessionFairing {
    fn info(&self) -> Info {
        Info {
            name: "session-jwt",
            kind: Kind::Ignite | Kind::Request | Kind::Response | Kind::Singleton,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        if rocket.state::<Sessions>().is_some() {
            tracing::error!("session-jwt: Sessions are already managed by this Rocket");
            return Err(rocket);
        }
        let engine = match self.engine(&rocket) {
            Ok(engine) => engine,
            Err(e) => {
                tracing::error!("session-jwt: {e}");
                return Err(rocket);
            }
        };
        let jwks = engine.jwks().map(|jwks| jwks.to_string());
        let rocket = rocket.manage(Sessions {
            engine,
            store: self.store.clone(),
            login_url: self.login_url.clone(),
            jwks,
        });
        #[cfg(feature = "testing")]
        let rocket = rocket.mount("/", crate::testing::routes());
        Ok(rocket)
    }

    async fn on_request(&self, req: &mut Request<'_>, _data: &mut Data<'_>) {
        let Some(sessions) = req.rocket().state::<Sessions>() else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        let engine = &sessions.engine;
        // The cookies are verified now; the store is read only when a guard
        // first asks for the session. All `Cookie` headers as sent: Rocket's
        // `CookieJar` keeps one cookie per name and percent-decodes values,
        // and the core must see every session cookie.
        let mut headers = req.headers().get("Cookie").peekable();
        let lazy = if headers.peek().is_none() {
            // A request from `rocket::local` carries the cookies given with
            // `.cookie(..)` and those a tracked client kept in its jar only.
            let name = &engine.cookie_settings().name;
            match req.cookies().get(name) {
                Some(c) => {
                    let pair = format!("{}={}", c.name(), c.value());
                    engine.lazy([pair.as_bytes()], now)
                }
                None => engine.lazy([], now),
            }
        } else {
            engine.lazy(headers.map(str::as_bytes), now)
        };
        req.local_cache(|| {
            Slot(Some(RequestState {
                lazy,
                redirect: Mutex::new(None),
            }))
        });
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let (Some(sessions), Some(state)) = (
            req.rocket().state::<Sessions>(),
            req.local_cache(|| Slot(None)).0.as_ref(),
        ) else {
            return;
        };
        // The catcher Rocket ran for a `LoginRequired` failure answers 302
        // without knowing where to: add the login URL. A handler that took
        // `Result<LoginRequired<U>, Error>` and answered otherwise is left alone.
        if let Some(location) = lock(&state.redirect).take()
            && res.status() == Status::Found
            && !res.headers().contains("Location")
        {
            res.set_raw_header("Location", location);
        }
        match state
            .lazy
            .save_response(&*sessions.store, res.status().code)
            .await
        {
            Ok(headers) => {
                let has_cache_control =
                    headers.cache_private && res.headers().contains("Cache-Control");
                for (name, value) in headers.into_headers(has_cache_control) {
                    // Appended, never set: `set_raw_header` would drop the
                    // app's own `Set-Cookie` and `Vary` headers.
                    res.adjoin_raw_header(name, value);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "session store failed to save a session; answering 503");
                *res = store_unavailable();
            }
        }
    }
}

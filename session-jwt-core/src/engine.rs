//! The request/response engine: a sans-IO state machine.
//!
//! 1. [`SessionJwt::read_cookies`]: Cookie headers + `now` → [`Incoming`]
//!    (the session key to load, if a cookie verified).
//! 2. [`SessionJwt::open`]: the record the store returned → [`Session`].
//! 3. [`SessionJwt::finish`]: the session after the handler + `now` →
//!    [`Outcome`] (record to save, keys to delete, `Set-Cookie` to send).
//!
//! [`SessionJwt::load`] and [`SessionJwt::save`] run these steps against a
//! [`SessionStore`] for adapters, which then only read the request, read the
//! clock and write the response.

use std::fmt;
use std::sync::Arc;

use cookie::Cookie;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::auth::{DynUserLoader, UserLoader};
use crate::cache::TokenCache;
use crate::config::{Builder, CookieSettings, LimitSettings, SameSite};
use crate::error::{StoreError, TokenError};
use crate::fields::Provider;
use crate::session::{
    EXPIRY, Expiry, Session, SessionError, SessionKey, State, USER_ID, UserState, item,
};
use crate::store::{Record, SaveMode, SessionStore};
use crate::token::{TokenCodec, VerifiedClaims};

/// The values of every cookie named `name` in `Cookie` header values, in
/// order (surrounding quotes and whitespace removed). A value that is not
/// UTF-8 is skipped; other cookies' bytes do not matter.
pub fn cookie_values<'h, 'n>(
    headers: impl IntoIterator<Item = &'h [u8]>,
    name: &'n str,
) -> impl Iterator<Item = &'h str> {
    headers
        .into_iter()
        .flat_map(|header| {
            // Split at each `;`, found by `memchr`: a session cookie is some
            // 250 bytes to skip.
            let mut rest = Some(header);
            std::iter::from_fn(move || {
                let r = rest?;
                Some(match memchr::memchr(b';', r) {
                    Some(i) => {
                        rest = Some(&r[i + 1..]);
                        &r[..i]
                    }
                    None => {
                        rest = None;
                        r
                    }
                })
            })
        })
        .filter_map(move |pair| {
            let eq = memchr::memchr(b'=', pair)?;
            (pair[..eq].trim_ascii() == name.as_bytes()).then_some(())?;
            // Quotes are ASCII: trimming them after the UTF-8 check reads
            // the same value.
            let value = std::str::from_utf8(pair[eq + 1..].trim_ascii()).ok()?;
            Some(value.trim_matches('"'))
        })
}

/// The built configuration, and the engine. Cheap to clone; build it once at
/// start.
#[derive(Debug, Clone)]
pub struct SessionJwt {
    shared: Arc<Shared>,
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) codec: TokenCodec,
    pub(crate) cookie: CookieSettings,
    pub(crate) limits: LimitSettings,
    pub(crate) provider: Provider,
    /// The secret for session auth hashes, when configured apart from the
    /// signing key.
    pub(crate) auth_secret: Option<crate::key::Secret>,
    /// The app's users ([`SessionJwt::with_user_loader`]).
    pub(crate) users: Option<Arc<dyn DynUserLoader>>,
    /// Verified tokens, unless turned off.
    pub(crate) cache: Option<Arc<TokenCache>>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("codec", &self.codec)
            .field("cookie", &self.cookie)
            .field("limits", &self.limits)
            .field("provider", &self.provider)
            .field("auth_secret", &self.auth_secret)
            .field("users", &self.users.as_ref().map(|u| u.user_type().1))
            .field("cache", &self.cache)
            .finish()
    }
}

/// What the request's cookies said: at most one verified token.
#[derive(Debug, Clone)]
#[must_use]
pub struct Incoming {
    token: Option<Arc<VerifiedClaims>>,
    cookie_present: bool,
    signature_checks: usize,
}

impl Incoming {
    /// The session key to load from the store, if a cookie verified.
    #[must_use]
    pub fn session_key(&self) -> Option<&SessionKey> {
        self.token.as_deref().map(VerifiedClaims::session_key)
    }

    /// The verified claims, if a cookie verified (not yet checked against the
    /// store).
    #[must_use]
    pub fn claims(&self) -> Option<&VerifiedClaims> {
        self.token.as_deref()
    }

    /// Whether the request carried a cookie of the session cookie's name, valid
    /// or not.
    #[must_use]
    pub fn cookie_present(&self) -> bool {
        self.cookie_present
    }

    /// How many distinct cookie values were checked (by signature, or found
    /// in the verified-token cache): at most the configured cap on session
    /// cookies, and none when a request carries more cookies than that.
    #[must_use]
    pub fn signature_checks(&self) -> usize {
        self.signature_checks
    }
}

/// A request's session, loaded from the store only when first asked for
/// ([`SessionJwt::lazy`]). A request that never touches its session (a
/// static page, the JWKS) never waits for the store, and keeps working while
/// the store is down; one that does gets the store's error (a 503).
#[derive(Debug)]
pub struct LazySession {
    engine: SessionJwt,
    incoming: Incoming,
    now: OffsetDateTime,
    loaded: std::sync::OnceLock<Session>,
    /// Whether a load failed (and none succeeded since).
    failed: std::sync::atomic::AtomicBool,
}

impl LazySession {
    /// The session: loaded from `store` on the first call (and its user
    /// loaded and checked through the engine's [`UserLoader`]), the same
    /// handle after. A store failure is an error, never an anonymous session
    /// (try again on a later call).
    pub async fn get<S: SessionStore + ?Sized>(&self, store: &S) -> Result<Session, StoreError> {
        if let Some(session) = self.loaded.get() {
            return Ok(session.clone());
        }
        let session = match self
            .engine
            .load_incoming(store, &self.incoming, self.now)
            .await
        {
            Ok(session) => session,
            Err(e) => {
                self.failed.store(true, std::sync::atomic::Ordering::SeqCst);
                return Err(e);
            }
        };
        self.failed
            .store(false, std::sync::atomic::Ordering::SeqCst);
        // Two calls racing: both loaded, the first one's session is kept.
        Ok(self.loaded.get_or_init(|| session).clone())
    }

    /// The session, if a handler asked for it.
    #[must_use]
    pub fn loaded(&self) -> Option<Session> {
        self.loaded.get().cloned()
    }

    /// The request's verified token, before any store access.
    pub fn incoming(&self) -> &Incoming {
        &self.incoming
    }

    /// The request's clock reading.
    #[must_use]
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// Step 3 for a response with HTTP status `status`
    /// ([`SessionJwt::save_response`]), if the session was loaded; a session
    /// nobody asked for saves and sends nothing. If a handler asked for the
    /// session and the store failed, this is that failure again, even if the
    /// handler carried on without a session (answer 503: a visitor is never
    /// served as anonymous because the store was down).
    pub async fn save_response<S: SessionStore + ?Sized>(
        &self,
        store: &S,
        status: u16,
    ) -> Result<ResponseHeaders, StoreError> {
        if self.failed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::unavailable(std::io::Error::other(
                "the session could not be loaded during this request",
            )));
        }
        match self.loaded.get() {
            Some(session) => {
                self.engine
                    .save_response(store, session, status, self.now)
                    .await
            }
            None => Ok(ResponseHeaders {
                set_cookie: None,
                vary_cookie: false,
                cache_private: false,
            }),
        }
    }
}

impl LazySession {
    /// For a request whose response the adapter cannot add headers to (warp
    /// answers an unhandled rejection after the session layer): saves
    /// nothing and sends no cookie, but performs the session's deletions, so
    /// a logout stays a logout and a stale session found by the user check
    /// is deleted. As [`LazySession::save_response`] for a 5xx.
    pub async fn save_deletions<S: SessionStore + ?Sized>(
        &self,
        store: &S,
    ) -> Result<(), StoreError> {
        self.save_response(store, 500).await.map(drop)
    }
}

/// What to do with the cookie. `Debug` shows the cookie's attributes, never
/// its value (the token is a bearer credential).
#[derive(Clone, PartialEq)]
pub enum CookieAction {
    /// Send nothing.
    None,
    /// Send this cookie (a new or refreshed token).
    Set(Cookie<'static>),
    /// Send this removal cookie (empty value, expired).
    Remove(Cookie<'static>),
}

impl fmt::Debug for CookieAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Set(c) => write!(f, "Set({})", redact_cookie(&c.to_string())),
            Self::Remove(c) => write!(f, "Remove({})", redact_cookie(&c.to_string())),
        }
    }
}

/// A `Set-Cookie` value with the cookie's value replaced.
fn redact_cookie(set_cookie: &str) -> String {
    match set_cookie.split_once('=') {
        Some((name, rest)) => {
            let attrs = rest.find(';').map_or("", |i| &rest[i..]);
            format!("{name}=[REDACTED]{attrs}")
        }
        None => "[REDACTED]".into(),
    }
}

impl CookieAction {
    /// The `Set-Cookie` header value, if any.
    #[must_use]
    pub fn header_value(&self) -> Option<String> {
        match self {
            Self::None => None,
            Self::Set(c) | Self::Remove(c) => Some(c.to_string()),
        }
    }
}

/// A record to write.
#[derive(Debug, Clone)]
pub struct Save {
    /// Under this key.
    pub key: SessionKey,
    /// This record (its `expires` is the time-to-live).
    pub record: Arc<Record>,
    /// Create (new key) or update (existing key).
    pub mode: SaveMode,
    /// For a new key after `cycle_key`: the key it replaces. Write it with
    /// [`SessionStore::cycle`], which creates the new record only if this
    /// one still exists and deletes it in the same step.
    pub replaces: Option<SessionKey>,
}

/// Everything the adapter must do after the handler, in order: save, delete,
/// then send the cookie.
#[derive(Debug, Clone)]
#[must_use]
pub struct Outcome {
    /// The record to save, if any.
    pub save: Option<Save>,
    /// Records to delete (the old keys after `cycle_key`, `flush`, `logout`).
    pub delete: Vec<SessionKey>,
    /// The cookie to send.
    pub cookie: CookieAction,
    /// Whether the response depends on the cookie (`Vary: Cookie`).
    pub vary_cookie: bool,
}

/// What the adapter writes into the response after [`SessionJwt::save`].
/// `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct ResponseHeaders {
    /// The `Set-Cookie` header value, if any. Append it: never replace the
    /// app's own `Set-Cookie` headers.
    pub set_cookie: Option<String>,
    /// Whether to add `Vary: Cookie`.
    pub vary_cookie: bool,
    /// Whether to add `Cache-Control: private` *unless the response has a
    /// `Cache-Control` of its own*: set when a new session token is sent (and
    /// [`CookieSettings::cache_private`] is on), so that no shared cache
    /// stores one user's cookie for another.
    pub cache_private: bool,
}

impl ResponseHeaders {
    /// The headers to add to a response, in order: `(name, value)` pairs
    /// for `Set-Cookie` (append), `Vary` (append) and `Cache-Control` (only
    /// if `has_cache_control` is false, that is, the response has none).
    pub fn headers(&self, has_cache_control: bool) -> impl Iterator<Item = (&'static str, &str)> {
        let cookie = self.set_cookie.as_deref().map(|c| ("Set-Cookie", c));
        // The fixed values as this borrow's lifetime, to chain with the cookie.
        fn borrowed<'a>((name, value): (&'static str, &'static str)) -> (&'static str, &'a str) {
            (name, value)
        }
        cookie
            .into_iter()
            .chain(self.fixed_headers(has_cache_control).map(borrowed))
    }

    /// [`ResponseHeaders::headers`], owned: the cookie moved out rather than
    /// copied, the fixed values borrowed for `'static` (as Rocket's raw
    /// headers take them).
    pub fn into_headers(
        self,
        has_cache_control: bool,
    ) -> impl Iterator<Item = (&'static str, std::borrow::Cow<'static, str>)> {
        let fixed = self
            .fixed_headers(has_cache_control)
            .map(|(name, value)| (name, value.into()));
        let cookie = self.set_cookie.map(|c| ("Set-Cookie", c.into()));
        cookie.into_iter().chain(fixed)
    }

    /// `Vary` and `Cache-Control`, whose values never change.
    fn fixed_headers(
        &self,
        has_cache_control: bool,
    ) -> impl Iterator<Item = (&'static str, &'static str)> + use<> {
        let vary = self.vary_cookie.then_some(("Vary", "Cookie"));
        let cache =
            (self.cache_private && !has_cache_control).then_some(("Cache-Control", "private"));
        vary.into_iter().chain(cache)
    }
}

#[cfg(feature = "http")]
impl ResponseHeaders {
    /// Adds these headers to a response's [`http::HeaderMap`] (the map of
    /// Poem, warp, axum and hyper responses), by the rules of
    /// [`ResponseHeaders::headers`]: `Set-Cookie` and `Vary` appended, never
    /// replacing the app's own; `Cache-Control: private` only if the
    /// response has no `Cache-Control`. The fixed headers are constants: no
    /// parsing, no copy. (Feature `http`.)
    ///
    /// # Errors
    ///
    /// When the cookie is not a valid header value (unreachable unless the
    /// configured cookie name, path or domain hold bytes a header cannot);
    /// nothing is added then.
    pub fn append_to(
        &self,
        map: &mut http::HeaderMap,
    ) -> Result<(), http::header::InvalidHeaderValue> {
        use http::HeaderValue;
        use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
        if let Some(cookie) = &self.set_cookie {
            map.append(SET_COOKIE, HeaderValue::try_from(cookie)?);
        }
        if self.vary_cookie {
            map.append(VARY, HeaderValue::from_static("Cookie"));
        }
        if self.cache_private && !map.contains_key(CACHE_CONTROL) {
            map.append(CACHE_CONTROL, HeaderValue::from_static("private"));
        }
        Ok(())
    }
}

impl fmt::Debug for ResponseHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseHeaders")
            .field("set_cookie", &self.set_cookie.as_deref().map(redact_cookie))
            .field("vary_cookie", &self.vary_cookie)
            .field("cache_private", &self.cache_private)
            .finish()
    }
}

impl SessionJwt {
    /// A builder with Django's defaults.
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub(crate) fn new(
        codec: TokenCodec,
        cookie: CookieSettings,
        limits: LimitSettings,
        provider: Provider,
        auth_secret: Option<crate::key::Secret>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                cache: TokenCache::new(&limits).map(Arc::new),
                codec,
                cookie,
                limits,
                provider,
                auth_secret,
                users: None,
            }),
        }
    }

    /// The engine with the app's users: every session it loads that has a
    /// logged-in user loads that user through `loader` and checks it
    /// (Django's `get_user`), before any handler sees the session, and so
    /// before any token is issued for it. A user who is gone, or whose auth
    /// hash changed (a password change elsewhere), logs the session out: the
    /// record is deleted, the response removes the cookie, and
    /// [`Session::claims`] is `None`. The tokens' user fields are taken from
    /// the user as loaded then.
    ///
    /// Required before [`Session::login`]; call it once at start (it copies
    /// the configuration).
    pub fn with_user_loader(self, loader: impl UserLoader) -> Self {
        let mut shared = (*self.shared).clone();
        shared.users = Some(Arc::new(loader));
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The limits (record size, session cookies per request).
    #[must_use]
    pub fn limits(&self) -> &LimitSettings {
        &self.shared.limits
    }

    /// The token codec (to encode or verify tokens directly).
    #[must_use]
    pub fn codec(&self) -> &TokenCodec {
        &self.shared.codec
    }

    /// The cookie settings.
    #[must_use]
    pub fn cookie_settings(&self) -> &CookieSettings {
        &self.shared.cookie
    }

    /// The secret to key users' session auth hashes with
    /// ([`auth::session_auth_hash`](crate::auth::session_auth_hash)), derived
    /// from the signing key, as Django keys them with `SECRET_KEY`: every
    /// instance with the same key computes the same hashes, so a session made
    /// at one instance stays logged in at the others. Rotating the signing
    /// key changes it (and so logs users out), unless a secret of its own was
    /// set with [`Builder::with_auth_secret`]. `None` for a verify-only
    /// configuration without one.
    #[must_use]
    pub fn auth_secret(&self) -> Option<crate::key::Secret> {
        if let Some(secret) = &self.shared.auth_secret {
            return Some(secret.clone());
        }
        self.shared
            .codec
            .keys()
            .signing_key()?
            .derive_secret("auth.session_auth_hash")
    }

    /// The JWKS to publish (public keys only); `None` with HMAC keys.
    #[must_use]
    pub fn jwks(&self) -> Option<Value> {
        self.shared.codec.keys().jwks()
    }

    /// Step 1: reads the session cookie from the request's `Cookie` header
    /// values (a value that is not UTF-8 is ignored, whatever other cookies
    /// hold). Cookies that do not verify are ignored; one verified cookie,
    /// or several carrying the same session key, is used; two carrying
    /// different keys make the visitor anonymous (a cookie planted beside
    /// the real one never chooses the session).
    pub fn read_cookies<'a>(
        &self,
        headers: impl IntoIterator<Item = &'a [u8]>,
        now: OffsetDateTime,
    ) -> Incoming {
        let name = self.shared.cookie.name.as_str();
        let cap = self.shared.limits.max_session_cookies;
        // Counted before any cryptography: a request cannot buy more than
        // `cap` signature checks, and identical values are checked once.
        // On the stack: the cap is at most 16.
        let mut values: [&str; 16] = [""; 16];
        let mut distinct = 0;
        let mut count = 0;
        for value in cookie_values(headers, name) {
            count += 1;
            if count > cap {
                tracing::warn!(
                    cookie = name,
                    "more session cookies than the configured cap; treated as anonymous"
                );
                return Incoming {
                    token: None,
                    cookie_present: true,
                    signature_checks: 0,
                };
            }
            if !values[..distinct].contains(&value) {
                values[distinct] = value;
                distinct += 1;
            }
        }
        let values = &values[..distinct];
        let present = count > 0;
        let mut chosen: Option<Arc<VerifiedClaims>> = None;
        let mut conflict = false;
        for value in values {
            match self.verify(value, now) {
                Ok(claims) => match &chosen {
                    Some(c) if c.session_key() != claims.session_key() => conflict = true,
                    Some(c) if c.issued_at() >= claims.issued_at() => {}
                    _ => chosen = Some(claims),
                },
                Err(e) => tracing::debug!(reason = %e, "session cookie rejected"),
            }
        }
        if conflict {
            tracing::warn!(
                cookie = name,
                "two valid session cookies with different keys; treated as anonymous"
            );
            chosen = None;
        }
        Incoming {
            token: chosen,
            cookie_present: present,
            signature_checks: values.len(),
        }
    }

    /// A session cookie's token: from the verified-token cache, or checked.
    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Arc<VerifiedClaims>, TokenError> {
        match &self.shared.cache {
            Some(cache) => cache.verify(&self.shared.codec, token, now),
            None => self.shared.codec.verify(token, now).map(Arc::new),
        }
    }

    /// Steps 1 and 2, lazily: verifies the cookies now, and loads the record
    /// from the store only when [`LazySession::get`] is first called.
    pub fn lazy<'a>(
        &self,
        headers: impl IntoIterator<Item = &'a [u8]>,
        now: OffsetDateTime,
    ) -> LazySession {
        LazySession {
            engine: self.clone(),
            incoming: self.read_cookies(headers, now),
            now,
            loaded: std::sync::OnceLock::new(),
            failed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Step 2: the session, from what the store returned for
    /// [`Incoming::session_key`] (`None` if it holds nothing, or if there was
    /// no key to load). A verified token whose record is gone is an anonymous
    /// visitor: deleting the record revokes the cookie at once.
    ///
    /// A record with a logged-in user gives a session whose user is not yet
    /// checked: load the user and pass it to [`Session::authenticate`] before
    /// using it (the drivers [`SessionJwt::load`] and [`SessionJwt::lazy`] do
    /// this with the registered [`UserLoader`]). Until then
    /// [`Session::claims`] is `None` and [`SessionJwt::finish`] issues no
    /// token for it.
    pub fn open(
        &self,
        incoming: Incoming,
        record: Option<Arc<Record>>,
        now: OffsetDateTime,
    ) -> Session {
        let record = record.filter(|r| !r.is_expired(now));
        let state = match (incoming.token, record) {
            (Some(token), Some(record)) => State {
                key: Some(token.session_key().clone()),
                user: if item(&record.items, USER_ID).is_some() {
                    UserState::Unchecked
                } else {
                    UserState::Anonymous
                },
                record_expires: Some(record.expires),
                record,
                modified: false,
                accessed: false,
                stale: Vec::new(),
                cycled_from: None,
                token: Some(token),
                cookie_present: incoming.cookie_present,
            },
            _ => State {
                key: None,
                record: Arc::new(Record {
                    items: Map::new(),
                    expires: OffsetDateTime::UNIX_EPOCH,
                }),
                modified: false,
                accessed: false,
                stale: Vec::new(),
                cycled_from: None,
                token: None,
                record_expires: None,
                cookie_present: incoming.cookie_present,
                user: UserState::Anonymous,
            },
        };
        Session::from_state(state, self.shared.clone())
    }

    /// A new, empty session (for tests and custom flows).
    pub fn new_session(&self) -> Session {
        self.open(
            Incoming {
                token: None,
                cookie_present: false,
                signature_checks: 0,
            },
            None,
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    /// Checks the session's logged-in user, if it has one not yet checked:
    /// loads it with the registered [`UserLoader`] and calls
    /// [`Session::authenticate`]'s check (a user who is gone or whose auth
    /// hash changed logs the session out). A loader failure is an error
    /// (answer 503: nobody is logged out because the user database is down).
    pub async fn check_user(&self, session: &Session) -> Result<(), StoreError> {
        // The record, shared: its user id is read without a copy.
        let record = {
            let s = session.lock();
            if !matches!(s.user, UserState::Unchecked) {
                return Ok(());
            }
            s.record.clone()
        };
        let Some(id) = record.user_id() else {
            // A user id that is not text: not a session this library made.
            session.flush();
            return Ok(());
        };
        let Some(users) = &self.shared.users else {
            tracing::error!(
                "a session has a logged-in user, but no UserLoader is registered \
                 (SessionJwt::with_user_loader): answering 503 rather than trusting the stored claims"
            );
            return Err(StoreError::Other(Box::new(SessionError::NoUserLoader)));
        };
        let user = users.load(id).await?;
        if !session.check_erased(user) {
            tracing::info!("session logged out: its user is gone or changed its password");
        }
        Ok(())
    }

    /// Step 3: what to save, delete and send for `session` after the handler.
    ///
    /// - an empty session saves nothing; its old record is deleted, and a
    ///   cookie the request carried is removed;
    /// - a modified session (or any, with `save_every_request`) is saved
    ///   under its key (a new one if it had none) and the cookie re-issued;
    ///   a record over [`LimitSettings::max_record_size`] is refused (logged;
    ///   the stored record stays as it was);
    /// - otherwise the token is re-issued without a store write when it is
    ///   past half of its lifetime or was signed by an older key.
    ///
    /// Every token carries the user fields of the session's user as checked
    /// in this request; a session whose user was not checked gets
    /// [`TokenError::UserNotChecked`] rather than a token.
    ///
    /// The session is marked saved: calling `finish` again gives nothing new.
    pub fn finish(&self, session: &Session, now: OffsetDateTime) -> Result<Outcome, TokenError> {
        let cfg = &self.shared.cookie;
        let mut s = session.lock();
        let mut delete = std::mem::take(&mut s.stale);
        let vary_cookie = s.accessed || s.modified;
        let nothing = |delete| Outcome {
            save: None,
            delete,
            cookie: CookieAction::None,
            vary_cookie,
        };

        if s.items().is_empty() {
            delete.extend(s.key.take());
            delete.extend(s.cycled_from.take());
            let cookie = if s.cookie_present {
                s.cookie_present = false;
                CookieAction::Remove(self.removal_cookie())
            } else {
                CookieAction::None
            };
            s.modified = false;
            s.token = None;
            return Ok(Outcome {
                save: None,
                delete,
                cookie,
                vary_cookie,
            });
        }

        // Read only when a cookie is made: not on an unchanged request.
        let expiry = |s: &State| item(s.items(), EXPIRY).and_then(Expiry::from_value);
        if s.modified || cfg.save_every_request || s.key.is_none() {
            let expiry = expiry(&s);
            let (max_age, expires) = self.lifetime(expiry, now);
            if expires <= now {
                // Expired already (an expiry set in the past): the session
                // ends now, as if flushed, rather than being saved dead.
                s.flush();
                delete.append(&mut s.stale);
                s.modified = false;
                return Ok(Outcome {
                    save: None,
                    delete,
                    cookie: CookieAction::Remove(self.removal_cookie()),
                    vary_cookie: true,
                });
            }
            let size = json_size(s.items());
            let limit = self.shared.limits.max_record_size;
            if size > limit {
                tracing::error!(
                    size,
                    limit,
                    "session not saved: its items are over limits.max_record_size; \
                     the stored session is kept as it was"
                );
                s.modified = false;
                return Ok(nothing(delete));
            }
            let claims = self.token_claims(&s)?;
            let (mode, key, replaces) = match &s.key {
                Some(k) => (SaveMode::Update, k.clone(), None),
                None => (
                    SaveMode::Create,
                    SessionKey::generate(),
                    s.cycled_from.take(),
                ),
            };
            if s.record.expires != expires {
                Arc::make_mut(&mut s.record).expires = expires;
            }
            let token = self
                .shared
                .codec
                .encode(&key, &claims, now, Some(expires))?;
            s.key = Some(key.clone());
            s.modified = false;
            s.record_expires = Some(expires);
            let cookie = CookieAction::Set(self.cookie(token, max_age, now));
            return Ok(Outcome {
                save: Some(Save {
                    key,
                    record: s.record.clone(),
                    mode,
                    replaces,
                }),
                delete,
                cookie,
                vary_cookie: true,
            });
        }

        // Unmodified: a sliding refresh of the token, without a store write.
        let (Some(token), Some(key), Some(expires)) = (&s.token, &s.key, s.record_expires) else {
            return Ok(nothing(delete));
        };
        let extends = || {
            let lifetime = self.shared.codec.settings().expires as i64;
            let new_exp = (lifetime > 0).then(|| (now + Duration::seconds(lifetime)).min(expires));
            match (new_exp, token.expires_at()) {
                (Some(new), Some(old)) => new > old,
                _ => false,
            }
        };
        let refresh = (token.past_half_life(now) && extends()) || !token.signed_with_current_key();
        if !refresh {
            return Ok(nothing(delete));
        }
        let claims = self.token_claims(&s)?;
        let value = self.shared.codec.encode(key, &claims, now, Some(expires))?;
        let max_age = match expiry(&s) {
            Some(Expiry::OnBrowserClose) => None,
            None if cfg.expire_at_browser_close => None,
            _ => Some(expires - now),
        };
        let cookie = CookieAction::Set(self.cookie(value, max_age, now));
        Ok(Outcome {
            save: None,
            delete,
            cookie,
            vary_cookie: true,
        })
    }

    /// The cookie's `Max-Age` (`None`: browser session) and the record's
    /// expiry, for a session saved at `now`.
    fn lifetime(
        &self,
        expiry: Option<Expiry>,
        now: OffsetDateTime,
    ) -> (Option<Duration>, OffsetDateTime) {
        // Records keep whole seconds (Unix time in JSON), and so does all
        // that is computed from them.
        let now = now.replace_nanosecond(0).expect("0 is a valid nanosecond");
        let age = Duration::seconds(self.shared.cookie.age as i64);
        match expiry {
            Some(Expiry::OnBrowserClose) => (None, now + age),
            Some(Expiry::After(d)) => {
                let d = d.clamp(
                    Duration::SECOND,
                    Duration::seconds(crate::MAX_LIFETIME_SECS as i64),
                );
                (Some(d), now + d)
            }
            Some(Expiry::At(t)) => {
                let t = t.min(now + Duration::seconds(crate::MAX_LIFETIME_SECS as i64));
                (Some((t - now).max(Duration::ZERO)), t.max(now))
            }
            None if self.shared.cookie.expire_at_browser_close => (None, now + age),
            None => (Some(age), now + age),
        }
    }

    /// The claims for a token of this session: the user fields of its user
    /// as checked in this request, and the provider's claims.
    fn token_claims(&self, s: &State) -> Result<Map<String, Value>, TokenError> {
        let fields = self.shared.codec.fields();
        let user =
            match &s.user {
                _ if item(s.items(), USER_ID).is_none() => None,
                UserState::Checked(user) => Some(user.to_json().map_err(|e| {
                    TokenError::Signing(format!("the user does not serialize: {e}"))
                })?),
                _ => return Err(TokenError::UserNotChecked),
            };
        let mut claims = user.as_ref().map(|u| fields.extract(u)).unwrap_or_default();
        claims.extend(self.shared.provider.claims(fields, user.as_ref()));
        Ok(claims)
    }

    fn base_cookie(&self, value: String) -> cookie::CookieBuilder<'static> {
        let cfg = &self.shared.cookie;
        let mut c = Cookie::build((cfg.name.clone(), value))
            .path(cfg.path.clone())
            .http_only(cfg.http_only)
            .secure(cfg.secure)
            .same_site(match cfg.same_site {
                SameSite::Lax => cookie::SameSite::Lax,
                SameSite::Strict => cookie::SameSite::Strict,
                SameSite::None => cookie::SameSite::None,
            });
        if let Some(d) = &cfg.domain {
            c = c.domain(d.clone());
        }
        c
    }

    /// The session cookie carrying `token`, with `Max-Age` and `Expires`
    /// unless it is a browser-session cookie.
    fn cookie(
        &self,
        token: String,
        max_age: Option<Duration>,
        now: OffsetDateTime,
    ) -> Cookie<'static> {
        let mut c = self.base_cookie(token);
        if let Some(age) = max_age {
            c = c.max_age(age).expires(now + age);
        }
        c.build()
    }

    /// A cookie that deletes the session cookie (as Django's `delete_cookie`).
    #[must_use]
    pub fn removal_cookie(&self) -> Cookie<'static> {
        self.base_cookie(String::new())
            .max_age(Duration::ZERO)
            .expires(OffsetDateTime::UNIX_EPOCH)
            .build()
    }

    /// Steps 1 and 2 against a store: verifies the cookies, loads the record
    /// and checks its user ([`SessionJwt::check_user`]). A store failure is
    /// an error (answer 503), never an anonymous session.
    pub async fn load<'a, S: SessionStore + ?Sized>(
        &self,
        store: &S,
        headers: impl IntoIterator<Item = &'a [u8]>,
        now: OffsetDateTime,
    ) -> Result<Session, StoreError> {
        let incoming = self.read_cookies(headers, now);
        self.load_incoming(store, &incoming, now).await
    }

    async fn load_incoming<S: SessionStore + ?Sized>(
        &self,
        store: &S,
        incoming: &Incoming,
        now: OffsetDateTime,
    ) -> Result<Session, StoreError> {
        let record = match incoming.session_key() {
            Some(key) => store.load(key, now).await?,
            None => None,
        };
        let session = self.open(incoming.clone(), record, now);
        self.check_user(&session).await?;
        Ok(session)
    }

    /// After a store refused to create the record of `outcome` because its new
    /// key was taken ([`SaveMode::Create`] returned `false`, about 2^-165
    /// odds): forgets that key and the outcome, so that calling
    /// [`SessionJwt::finish`] again picks another key (and lists the same
    /// deletions).
    pub fn key_taken(&self, session: &Session, outcome: Outcome) {
        let mut s = session.lock();
        s.key = None;
        s.modified = true;
        s.stale = outcome.delete;
        if let Some(save) = outcome.save {
            s.cycled_from = save.replaces;
        }
    }

    /// Step 3 for a response with HTTP status `status`: as Django's session
    /// middleware, a server error (5xx) saves nothing and sends no cookie, so
    /// a handler that failed half-way leaves no half-made session behind;
    /// deletions still happen (a logout stays a logout). Otherwise as
    /// [`SessionJwt::save`].
    pub async fn save_response<S: SessionStore + ?Sized>(
        &self,
        store: &S,
        session: &Session,
        status: u16,
        now: OffsetDateTime,
    ) -> Result<ResponseHeaders, StoreError> {
        if status < 500 {
            return self.save(store, session, now).await;
        }
        let (stale, vary_cookie) = {
            let mut s = session.lock();
            s.modified = false;
            (std::mem::take(&mut s.stale), s.accessed)
        };
        for key in &stale {
            store.delete(key).await?;
        }
        Ok(ResponseHeaders {
            set_cookie: None,
            vary_cookie,
            cache_private: false,
        })
    }

    /// Step 3 against a store: saves, deletes, and returns the headers to
    /// write. If the store fails, nothing is sent and the error is returned
    /// (answer 503): the client keeps its cookie and the store keeps its data.
    pub async fn save<S: SessionStore + ?Sized>(
        &self,
        store: &S,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<ResponseHeaders, StoreError> {
        for _attempt in 0..3 {
            let outcome = self
                .finish(session, now)
                .map_err(|e| StoreError::Other(Box::new(e)))?;
            let mut cookie = outcome.cookie.clone();
            if let Some(save) = &outcome.save {
                let written = match &save.replaces {
                    Some(old) => store.cycle(old, &save.key, &save.record, now).await?,
                    None => store.save(&save.key, &save.record, save.mode, now).await?,
                };
                if !written {
                    match (save.mode, &save.replaces) {
                        // A key collision (about 2^-165): pick another key.
                        (SaveMode::Create, None) => {
                            self.key_taken(session, outcome);
                            continue;
                        }
                        // Deleted meanwhile (a logout elsewhere, or one that
                        // raced this cycle): it stays deleted.
                        _ => {
                            tracing::info!("session not saved: it was deleted meanwhile");
                            cookie = CookieAction::None;
                        }
                    }
                }
            }
            for key in &outcome.delete {
                store.delete(key).await?;
            }
            let cache_private =
                matches!(cookie, CookieAction::Set(_)) && self.shared.cookie.cache_private;
            return Ok(ResponseHeaders {
                set_cookie: cookie.header_value(),
                vary_cookie: outcome.vary_cookie,
                cache_private,
            });
        }
        Err(StoreError::Other(
            "could not find a free session key".into(),
        ))
    }
}

/// The size of `items` as JSON, without building the JSON.
fn json_size(items: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a JSON map into a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, items);
    count.0
}

#[cfg(all(test, feature = "http"))]
mod http_tests {
    use super::ResponseHeaders;

    /// `append_to` writes exactly what `headers` lists, in every case.
    #[test]
    fn append_to_follows_the_rules_of_headers() {
        for set_cookie in [None, Some("sessionid=abc; Path=/; HttpOnly".to_owned())] {
            for vary_cookie in [false, true] {
                for cache_private in [false, true] {
                    for own_cache_control in [false, true] {
                        let headers = ResponseHeaders {
                            set_cookie: set_cookie.clone(),
                            vary_cookie,
                            cache_private,
                        };
                        let mut map = http::HeaderMap::new();
                        map.append("set-cookie", "app=1".parse().unwrap());
                        if own_cache_control {
                            map.append("cache-control", "no-store".parse().unwrap());
                        }
                        headers.append_to(&mut map).unwrap();
                        let mut expected = vec![("set-cookie".to_owned(), "app=1".to_owned())];
                        if own_cache_control {
                            expected.push(("cache-control".into(), "no-store".into()));
                        }
                        for (name, value) in headers.headers(own_cache_control) {
                            expected.push((name.to_ascii_lowercase(), value.to_owned()));
                        }
                        let mut got: Vec<(String, String)> = map
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                            .collect();
                        expected.sort();
                        got.sort();
                        assert_eq!(got, expected);
                    }
                }
            }
        }
    }

    #[test]
    fn a_cookie_that_is_no_header_value_adds_nothing() {
        let headers = ResponseHeaders {
            set_cookie: Some("a=\u{7f}".into()),
            vary_cookie: true,
            cache_private: true,
        };
        let mut map = http::HeaderMap::new();
        assert!(headers.append_to(&mut map).is_err());
        assert!(map.is_empty());
    }
}

#[cfg(test)]
mod header_tests {
    use super::ResponseHeaders;

    /// `into_headers` lists what `headers` lists, the cookie moved out.
    #[test]
    fn into_headers_is_headers_owned() {
        for set_cookie in [None, Some("sessionid=abc; Path=/".to_owned())] {
            for (vary_cookie, cache_private, has_cache_control) in [
                (false, false, false),
                (true, true, false),
                (true, true, true),
            ] {
                let headers = ResponseHeaders {
                    set_cookie: set_cookie.clone(),
                    vary_cookie,
                    cache_private,
                };
                let borrowed: Vec<(&str, String)> = headers
                    .headers(has_cache_control)
                    .map(|(n, v)| (n, v.to_owned()))
                    .collect();
                let owned: Vec<(&str, String)> = headers
                    .clone()
                    .into_headers(has_cache_control)
                    .map(|(n, v)| (n, v.into_owned()))
                    .collect();
                assert_eq!(owned, borrowed);
            }
        }
    }
}

#[cfg(test)]
mod cookie_tests {
    use proptest::prelude::*;

    use super::cookie_values;

    /// What the bytes are read as: `Cookie` header values split at `;` and
    /// the first `=`, names and values trimmed of ASCII whitespace, values
    /// of their surrounding quotes.
    fn by_str<'h>(headers: &[&'h str], name: &str) -> Vec<&'h str> {
        headers
            .iter()
            .flat_map(|h| h.split(';'))
            .filter_map(|pair| {
                let (n, v) = pair.split_once('=')?;
                let ws = |c: char| c.is_ascii_whitespace();
                (n.trim_matches(ws) == name).then(|| v.trim_matches(ws).trim_matches('"'))
            })
            .collect()
    }

    #[test]
    fn a_session_cookie_is_found_beside_cookies_that_are_not_utf8() {
        let header = b"other=\xe9t\xe9; sessionid=\"abc.def.ghi\"; bad=\xff";
        let found: Vec<&str> = cookie_values([&header[..]], "sessionid").collect();
        assert_eq!(found, ["abc.def.ghi"]);
        // Its own value not UTF-8: skipped.
        let header = b"sessionid=\xffabc; sessionid=ok";
        let found: Vec<&str> = cookie_values([&header[..]], "sessionid").collect();
        assert_eq!(found, ["ok"]);
    }

    proptest! {
        #[test]
        fn headers_split_as_the_strings_do(
            headers in prop::collection::vec("[as=; \t\r\n\"é\u{a0}]{0,24}", 0..4),
        ) {
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            let found: Vec<&str> = cookie_values(headers.iter().map(|h| h.as_bytes()), "s").collect();
            prop_assert_eq!(found, by_str(&headers, "s"));
        }
    }
}

//! The session a handler reads and writes: a key, a JSON map of items, an
//! optional expiry override, and the flags that decide what is saved and sent.
//!
//! A [`Session`] is a cheap, shared handle (like tower-sessions'): adapters
//! hand clones to handlers and read the state back after the handler ran.

use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroize;

use crate::Shared;
use crate::auth::AuthUser;
use crate::store::Record;
use crate::token::VerifiedClaims;

/// Item holding the logged-in user's id (Django's `_auth_user_id`).
pub const USER_ID: &str = "_auth_user_id";
/// Item holding the user's session auth hash (Django's `_auth_user_hash`).
pub const USER_HASH: &str = "_auth_user_hash";
/// Item holding the per-session expiry override (Django's `_session_expiry`).
pub const EXPIRY: &str = "_session_expiry";

/// Whether `name` is an internal item's (it starts with `_`, as every name
/// [`is_reserved`] holds): [`Session::public_items`] leaves those out.
#[must_use]
pub fn is_internal(name: &str) -> bool {
    name.starts_with('_')
}

/// Whether `name` is a session item this library writes itself
/// (`_auth_user_*`, `_session_*`, `_jwt_*`, as Django's `_auth_user_id` and
/// `_session_expiry`): [`Session::insert`] refuses them.
#[must_use]
pub fn is_reserved(name: &str) -> bool {
    ["_auth_user_", "_session_", "_jwt_"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Why a session item could not be stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The name is one the library writes itself ([`is_reserved`]).
    #[error("session item {0:?} is reserved for session-jwt")]
    Reserved(String),
    /// The value does not serialize to JSON.
    #[error("session item does not serialize to JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A user logged in, or asked for, but the engine has no
    /// [`UserLoader`](crate::auth::UserLoader): every token issued for a
    /// user is checked against the user as loaded now, so one is required.
    #[error(
        "no UserLoader is registered: call SessionJwt::with_user_loader before logging users in"
    )]
    NoUserLoader,
    /// The user type asked for (or logged in) is not the registered
    /// [`UserLoader`](crate::auth::UserLoader)'s `User` type.
    #[error("the user type {asked} is not the registered UserLoader's User type {registered}")]
    UserType {
        /// The type the caller used.
        asked: &'static str,
        /// The registered loader's `User` type.
        registered: &'static str,
    },
    /// The session has a logged-in user that was not checked in this request
    /// (the session was opened without the engine's `load` or `lazy`
    /// drivers, and [`Session::authenticate`] was not called).
    #[error(
        "the session's user was not checked in this request: load sessions with SessionJwt::load or SessionJwt::lazy"
    )]
    UserNotChecked,
}

const KEY_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const KEY_LEN: usize = 32;

/// A session key: 32 characters of `[a-z0-9]` from the OS CSPRNG (165 bits),
/// as Django's. Compared in constant time, zeroized on drop, and never shown
/// by `Debug`. Cheap to clone: clones share the text.
#[derive(Clone, Eq)]
pub struct SessionKey(Arc<str>);

impl SessionKey {
    /// A new random key.
    ///
    /// # Panics
    /// If the operating system has no random source.
    #[must_use]
    pub fn generate() -> Self {
        let mut out = String::with_capacity(KEY_LEN);
        let mut buf = [0u8; 64];
        while out.len() < KEY_LEN {
            getrandom::fill(&mut buf).expect("the OS random number generator failed");
            // Rejection sampling: 252 = 7 * 36, so every character is equally likely.
            for b in buf.iter().filter(|b| **b < 252) {
                if out.len() == KEY_LEN {
                    break;
                }
                out.push(KEY_CHARS[(*b % 36) as usize] as char);
            }
        }
        buf.zeroize();
        let key = Self(Arc::from(out.as_str()));
        out.zeroize();
        key
    }

    /// A key read from outside (a token, a store): 8 to 128 characters of
    /// `[A-Za-z0-9_-]`, so that it is safe in any store's key space.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::parse_cow(std::borrow::Cow::Borrowed(s))
    }

    /// [`SessionKey::parse`] of text that may be owned (wiped after the copy).
    pub(crate) fn parse_cow(s: std::borrow::Cow<'_, str>) -> Option<Self> {
        /// The key's alphabet: base64url (`[A-Za-z0-9_-]`). Without
        /// branches, so the check below runs many bytes at a time.
        fn alphabet(b: u8) -> bool {
            ((b | 0x20).wrapping_sub(b'a') < 26)
                | (b.wrapping_sub(b'0') < 10)
                | (b == b'_')
                | (b == b'-')
        }
        let ok = (8..=128).contains(&s.len()) && s.bytes().fold(true, |ok, b| ok & alphabet(b));
        let key = ok.then(|| Self(Arc::from(&*s)));
        if let std::borrow::Cow::Owned(mut text) = s {
            text.zeroize();
        }
        key
    }

    /// The key itself, for a store or a token. Never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for SessionKey {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq::constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Hash for SessionKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey([REDACTED])")
    }
}

impl Drop for SessionKey {
    fn drop(&mut self) {
        // The last clone wipes the text.
        if let Some(text) = Arc::get_mut(&mut self.0) {
            text.zeroize();
        }
    }
}

/// When a session ends (Django's `set_expiry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// When the browser closes: a cookie without `Max-Age`; the server keeps
    /// the session for the configured cookie age.
    OnBrowserClose,
    /// This long after the session is saved.
    After(Duration),
    /// At this moment.
    At(OffsetDateTime),
}

impl Expiry {
    fn to_value(self) -> Value {
        match self {
            Self::OnBrowserClose => 0.into(),
            Self::After(d) => d.whole_seconds().max(1).into(),
            Self::At(t) => t
                .format(&time::format_description::well_known::Rfc3339)
                .expect("an OffsetDateTime formats as RFC 3339")
                .into(),
        }
    }

    pub(crate) fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Number(n) => match n.as_i64()? {
                0 => Some(Self::OnBrowserClose),
                s if s > 0 && s.unsigned_abs() <= crate::MAX_LIFETIME_SECS => {
                    Some(Self::After(Duration::seconds(s)))
                }
                _ => None,
            },
            Value::String(s) => {
                OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(Self::At)
            }
            _ => None,
        }
    }
}

/// A user as the session keeps it: its id, auth hash and token fields, and
/// the app's own value for typed access ([`Session::user`]).
pub(crate) trait ErasedUser: Send + Sync + 'static {
    fn is_logged_in_as(&self, id: &str, hash: &str) -> bool;
    fn to_json(&self) -> Result<Value, serde_json::Error>;
    fn as_any(&self) -> &dyn Any;
    fn type_name(&self) -> &'static str;
}

impl<U: AuthUser + Send + Sync + 'static> ErasedUser for U {
    fn is_logged_in_as(&self, id: &str, hash: &str) -> bool {
        AuthUser::is_logged_in_as(self, id, hash)
    }
    fn to_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<U>()
    }
}

/// Whether the session's logged-in user was checked in this request.
#[derive(Clone, Default)]
pub(crate) enum UserState {
    /// No user was found logged in when the session was opened (or it was
    /// logged out since).
    #[default]
    Anonymous,
    /// The record names a user who has not been loaded and checked yet.
    Unchecked,
    /// Loaded and checked (or logged in) during this request.
    Checked(Arc<dyn ErasedUser>),
}

impl fmt::Debug for UserState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Anonymous => "Anonymous",
            Self::Unchecked => "Unchecked",
            Self::Checked(_) => "Checked",
        })
    }
}

/// `items[name]`. A session holds a handful of items: a linear scan of
/// those beats hashing the name with the SipHash of serde_json's ordered map.
pub(crate) fn item<'a>(items: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if items.len() <= 8 {
        items.iter().find_map(|(k, v)| (k == name).then_some(v))
    } else {
        items.get(name)
    }
}

#[derive(Debug)]
pub(crate) struct State {
    /// The key of the stored record in use; `None` until a new one is made.
    pub(crate) key: Option<SessionKey>,
    /// The items, shared with the store's copy until the first write.
    pub(crate) record: Arc<Record>,
    pub(crate) modified: bool,
    pub(crate) accessed: bool,
    /// Keys whose records must be deleted (after `flush`).
    pub(crate) stale: Vec<SessionKey>,
    /// The key this session had before `cycle_key`: the new record replaces
    /// it only if it still exists ([`SessionStore::cycle`](crate::SessionStore::cycle)).
    pub(crate) cycled_from: Option<SessionKey>,
    /// The request's verified token, when its session was found.
    pub(crate) token: Option<Arc<VerifiedClaims>>,
    /// The server-side expiry of the loaded record.
    pub(crate) record_expires: Option<OffsetDateTime>,
    /// Whether the request carried a cookie of the session cookie's name.
    pub(crate) cookie_present: bool,
    /// The logged-in user, as checked in this request.
    pub(crate) user: UserState,
}

impl State {
    pub(crate) fn items(&self) -> &Map<String, Value> {
        &self.record.items
    }

    /// The items, for writing (copied from the store's record on the first
    /// write).
    pub(crate) fn items_mut(&mut self) -> &mut Map<String, Value> {
        &mut Arc::make_mut(&mut self.record).items
    }

    /// Forgets the session: every item, the token, the user; the old key (and
    /// one cycled away from) is deleted after the response.
    pub(crate) fn flush(&mut self) {
        if !self.record.items.is_empty() {
            self.items_mut().clear();
        }
        self.accessed = true;
        self.modified = true;
        self.stale.extend(self.key.take());
        self.stale.extend(self.cycled_from.take());
        self.token = None;
        self.user = UserState::Anonymous;
    }
}

/// A session: a shared handle, cheap to clone. Reads mark it accessed;
/// writes mark it modified, which makes the engine save it and re-issue the
/// cookie.
#[derive(Clone)]
pub struct Session {
    state: Arc<Mutex<State>>,
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("Session")
            .field("has_key", &s.key.is_some())
            .field("items", &s.items().len())
            .field("modified", &s.modified)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn from_state(state: State, shared: Arc<Shared>) -> Self {
        Self {
            state: Arc::new(Mutex::new(state)),
            shared,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation below completes under the lock; a panic elsewhere
        // cannot leave the state half-updated.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An item, deserialized; `None` if absent or of another type.
    #[must_use]
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let v = self.get_value(name)?;
        serde_json::from_value(v).ok()
    }

    /// An item as JSON.
    #[must_use]
    pub fn get_value(&self, name: &str) -> Option<Value> {
        let mut s = self.lock();
        s.accessed = true;
        item(s.items(), name).cloned()
    }

    /// Stores an item. Names the library writes itself ([`is_reserved`]:
    /// the logged-in user, its auth hash, the token's claims, the expiry) are
    /// refused: through them a visitor-chosen item name could put claims of
    /// its choosing into a token signed with the app's key.
    pub fn insert<T: Serialize>(
        &self,
        name: impl Into<String>,
        value: T,
    ) -> Result<(), SessionError> {
        let value = serde_json::to_value(value)?;
        self.insert_value(name, value)
    }

    /// Stores an item given as JSON; reserved names are refused, as by
    /// [`Session::insert`].
    pub fn insert_value(&self, name: impl Into<String>, value: Value) -> Result<(), SessionError> {
        let name = name.into();
        if is_reserved(&name) {
            return Err(SessionError::Reserved(name));
        }
        self.set_internal(name, value);
        Ok(())
    }

    /// Stores an item without the reserved-name check: the library's own.
    pub(crate) fn set_internal(&self, name: impl Into<String>, value: Value) {
        let mut s = self.lock();
        s.accessed = true;
        s.modified = true;
        s.items_mut().insert(name.into(), value);
    }

    /// Removes an item, returning it. Removing the logged-in user's id logs
    /// the session out.
    pub fn remove(&self, name: &str) -> Option<Value> {
        let mut s = self.lock();
        s.accessed = true;
        item(s.items(), name)?;
        s.modified = true;
        if name == USER_ID {
            s.user = UserState::Anonymous;
        }
        s.items_mut().remove(name)
    }

    /// All items, internal ones (`_`-prefixed) included.
    #[must_use]
    pub fn items(&self) -> Map<String, Value> {
        let mut s = self.lock();
        s.accessed = true;
        s.items().clone()
    }

    /// Reads the items in place, internal ones (`_`-prefixed) included,
    /// without copying them (to serialize them, say). The session is locked
    /// meanwhile: `f` must not use this session.
    pub fn with_items<R>(&self, f: impl FnOnce(&Map<String, Value>) -> R) -> R {
        let mut s = self.lock();
        s.accessed = true;
        f(s.items())
    }

    /// The items without internal ones (names starting with `_`).
    #[must_use]
    pub fn public_items(&self) -> Map<String, Value> {
        let mut s = self.lock();
        s.accessed = true;
        s.items()
            .iter()
            .filter(|(k, _)| !is_internal(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Whether the session holds no item.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        let mut s = self.lock();
        s.accessed = true;
        s.items().is_empty()
    }

    /// Whether the session was changed during this request.
    #[must_use]
    pub fn is_modified(&self) -> bool {
        self.lock().modified
    }

    /// Removes every item; the key stays (Django's `clear`).
    pub fn clear(&self) {
        let mut s = self.lock();
        s.accessed = true;
        s.modified = true;
        s.user = UserState::Anonymous;
        if !s.items().is_empty() {
            s.items_mut().clear();
        }
    }

    /// Deletes the session and starts an empty one with a new key (Django's
    /// `flush`): the old cookie stops working at once.
    pub fn flush(&self) {
        self.lock().flush();
    }

    /// Keeps the items under a new key and deletes the old record (Django's
    /// `cycle_key`, against session fixation). The store moves the record in
    /// one step ([`SessionStore::cycle`](crate::SessionStore::cycle)), and
    /// only if the old one still exists: a logout that wins a race with a
    /// login or a password change stays a logout.
    pub fn cycle_key(&self) {
        let mut s = self.lock();
        s.accessed = true;
        s.modified = true;
        if let Some(old) = s.key.take() {
            // Cycled twice in one request: the record to replace is still
            // the first one.
            if s.cycled_from.is_none() {
                s.cycled_from = Some(old);
            }
        }
    }

    /// Overrides when this session ends; `None` returns to the configured
    /// default.
    pub fn set_expiry(&self, expiry: Option<Expiry>) {
        match expiry {
            Some(e) => self.set_internal(EXPIRY, e.to_value()),
            None => {
                self.remove(EXPIRY);
            }
        }
    }

    /// The expiry override, if any.
    #[must_use]
    pub fn expiry(&self) -> Option<Expiry> {
        let mut s = self.lock();
        s.accessed = true;
        item(s.items(), EXPIRY).and_then(Expiry::from_value)
    }

    /// The verified claims of the request's cookie, when it verified, its
    /// session exists in the store and its user (if any) still checks out;
    /// `None` otherwise (and after `flush`, `logout`, or a user check that
    /// logged the session out).
    #[must_use]
    pub fn claims(&self) -> Option<Arc<VerifiedClaims>> {
        let mut s = self.lock();
        s.accessed = true;
        match s.user {
            UserState::Unchecked => None,
            _ => s.token.clone(),
        }
    }

    /// The current key, if the session has been stored under one. Never log
    /// it.
    #[must_use]
    pub fn key(&self) -> Option<SessionKey> {
        let mut s = self.lock();
        s.accessed = true;
        s.key.clone()
    }

    /// The logged-in user, as the engine's [`UserLoader`](crate::auth::UserLoader)
    /// loaded and checked it during this request (or as given to
    /// [`Session::login`]); `Ok(None)` for an anonymous visitor. No second
    /// load: adapters' user extractors call this.
    ///
    /// Errors are the app's mistakes: no loader registered, `U` not the
    /// loader's `User` type, or a session opened without the engine's
    /// drivers.
    pub fn user<U: Clone + Send + Sync + 'static>(&self) -> Result<Option<U>, SessionError> {
        self.check_user_type::<U>()?;
        let mut s = self.lock();
        s.accessed = true;
        match &s.user {
            UserState::Anonymous => Ok(None),
            UserState::Unchecked => Err(SessionError::UserNotChecked),
            UserState::Checked(user) => match user.as_any().downcast_ref::<U>() {
                Some(u) => Ok(Some(u.clone())),
                None => Err(SessionError::UserType {
                    asked: std::any::type_name::<U>(),
                    registered: user.type_name(),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_32_chars_of_a_z_0_9_and_distinct() {
        let a = SessionKey::generate();
        let b = SessionKey::generate();
        assert_eq!(a.expose().len(), 32);
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "SessionKey([REDACTED])");
    }

    #[test]
    fn the_alphabet_is_exactly_base64url() {
        for c in (0..0x250).filter_map(char::from_u32) {
            let expected = c.is_ascii_alphanumeric() || c == '_' || c == '-';
            for key in [
                format!("{c}abcdefg"),
                format!("abcdefg{c}"),
                c.to_string().repeat(8),
            ] {
                assert_eq!(SessionKey::parse(&key).is_some(), expected, "{key:?}");
            }
        }
    }

    #[test]
    fn parse_rejects_unsafe_keys() {
        assert!(SessionKey::parse("abcdefgh").is_some());
        assert!(SessionKey::parse("short").is_none());
        assert!(SessionKey::parse("has space inside").is_none());
        assert!(SessionKey::parse("colon:in:redis:key").is_none());
        assert!(SessionKey::parse(&"a".repeat(129)).is_none());
    }

    #[test]
    fn an_absurd_stored_expiry_is_ignored() {
        // Store data is outside input too.
        assert_eq!(Expiry::from_value(&serde_json::json!(i64::MAX)), None);
        assert_eq!(Expiry::from_value(&serde_json::json!(-5)), None);
        assert_eq!(Expiry::from_value(&serde_json::json!("not a date")), None);
    }

    #[test]
    fn expiry_round_trips_through_items() {
        for e in [
            Expiry::OnBrowserClose,
            Expiry::After(Duration::seconds(60)),
            Expiry::At(time::macros::datetime!(2030-01-01 0:00 UTC)),
        ] {
            assert_eq!(Expiry::from_value(&e.to_value()), Some(e));
        }
    }
}

//! Django's authentication rules on a session: `login`, `logout`, resolving
//! the current user, and `update_session_auth_hash`.
//!
//! The app's user type implements [`AuthUser`]: an id, and a *session auth
//! hash* that changes when the password changes (see [`session_auth_hash`]).
//! Each session stores the hash it was logged in with; when the user's hash no
//! longer matches, the session is logged out. So a password change logs out
//! every other session of the user, while [`Session::update_auth_hash`] keeps
//! the current one.

use std::any::{TypeId, type_name};
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use crate::error::StoreError;
use crate::session::{
    ErasedUser, Session, SessionError, State, USER_HASH, USER_ID, UserState, item,
};

/// A user that can log in.
pub trait AuthUser: Serialize {
    /// The user's id (stored in the session as text, as Django's pk).
    fn id(&self) -> String;

    /// A value derived from the user's password hash (and anything else whose
    /// change must end the user's sessions). Build it with
    /// [`session_auth_hash`]; never return the password or its hash itself.
    fn session_auth_hash(&self) -> String;

    /// Whether the session was logged in as this user: `id` and `hash` are
    /// what [`AuthUser::id`] and [`AuthUser::session_auth_hash`] returned at
    /// login. The engine asks it on every request with a logged-in user,
    /// with that session locked: it must not use a [`Session`].
    ///
    /// The default builds both strings and compares the hash in constant
    /// time. A user type that keeps its id and hash can answer without
    /// allocating; keep the hash's comparison constant-time:
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct User { id: String, #[serde(skip)] auth_hash: String }
    ///
    /// impl session_jwt_core::AuthUser for User {
    ///     fn id(&self) -> String { self.id.clone() }
    ///     fn session_auth_hash(&self) -> String { self.auth_hash.clone() }
    ///     fn is_logged_in_as(&self, id: &str, hash: &str) -> bool {
    ///         id == self.id
    ///             && constant_time_eq::constant_time_eq(hash.as_bytes(), self.auth_hash.as_bytes())
    ///     }
    /// }
    /// ```
    fn is_logged_in_as(&self, id: &str, hash: &str) -> bool {
        self.id() == id
            && constant_time_eq::constant_time_eq(
                self.session_auth_hash().as_bytes(),
                hash.as_bytes(),
            )
    }
}

/// Loads the app's users by id (Django's `get_user`). Implement it once and
/// register it with the engine ([`SessionJwt::with_user_loader`]): the
/// engine then checks the logged-in user of every session it loads, so no
/// adapter and no route can forget to. A user who is gone, or whose
/// [`AuthUser::session_auth_hash`] no longer matches the one stored at login
/// (a password change elsewhere), logs the session out: its record is
/// deleted, the cookie removed, and no token is issued for it again.
///
/// ```
/// use session_jwt_core::StoreError;
/// use session_jwt_core::auth::{AuthUser, UserLoader};
///
/// #[derive(Clone, serde::Serialize)]
/// struct User { id: u64, name: String, #[serde(skip)] auth_hash: String }
///
/// impl AuthUser for User {
///     fn id(&self) -> String { self.id.to_string() }
///     fn session_auth_hash(&self) -> String { self.auth_hash.clone() }
/// }
///
/// struct Users;
///
/// #[async_trait::async_trait]
/// impl UserLoader for Users {
///     type User = User;
///     async fn load_user(&self, id: &str) -> Result<Option<User>, StoreError> {
///         Ok((id == "1").then(|| User { id: 1, name: "john".into(), auth_hash: "h".into() }))
///     }
/// }
/// ```
///
/// [`SessionJwt::with_user_loader`]: crate::SessionJwt::with_user_loader
#[async_trait]
pub trait UserLoader: Send + Sync + 'static {
    /// The app's user type.
    type User: AuthUser + Clone + Send + Sync + 'static;

    /// The user with this id (as stored at login: [`AuthUser::id`]), or
    /// `None` if there is none (any more). An error (the user database is
    /// down) is answered with 503 and logs nobody out.
    async fn load_user(&self, id: &str) -> Result<Option<Self::User>, StoreError>;
}

/// [`UserLoader`] with the user type erased, as the engine keeps it.
#[async_trait]
pub(crate) trait DynUserLoader: Send + Sync + 'static {
    async fn load(&self, id: &str) -> Result<Option<Arc<dyn ErasedUser>>, StoreError>;
    fn user_type(&self) -> (TypeId, &'static str);
}

#[async_trait]
impl<L: UserLoader> DynUserLoader for L {
    async fn load(&self, id: &str) -> Result<Option<Arc<dyn ErasedUser>>, StoreError> {
        Ok(self
            .load_user(id)
            .await?
            .map(|u| Arc::new(u) as Arc<dyn ErasedUser>))
    }

    fn user_type(&self) -> (TypeId, &'static str) {
        (TypeId::of::<L::User>(), type_name::<L::User>())
    }
}

/// HMAC-SHA256 of `password_hash` under the app's `secret`, in hex (Django's
/// `salted_hmac` in `get_session_auth_hash`).
#[must_use]
pub fn session_auth_hash(secret: &[u8], password_hash: &str) -> String {
    let message = [
        b"session-jwt.auth.session_auth_hash\0".as_slice(),
        password_hash.as_bytes(),
    ]
    .concat();
    let mac = crate::key::hmac_tag(crate::Algorithm::HS256, secret, &message);
    mac.iter().map(|b| format!("{b:02x}")).collect()
}

impl Session {
    /// Logs `user` in (Django's `login`): a session that belonged to another
    /// user is flushed first; otherwise its items are kept under a new key
    /// (against session fixation). Stores the user's id and auth hash; the
    /// token's user fields are taken from the user each time a token is
    /// issued.
    ///
    /// Errors when the engine has no [`UserLoader`] (without one, later
    /// requests could not check the user), or when `U` is not its `User`.
    pub fn login<U: AuthUser + Clone + Send + Sync + 'static>(
        &self,
        user: &U,
    ) -> Result<(), SessionError> {
        self.check_user_type::<U>()?;
        let same_user = self.is_logged_in_as(user);
        if self.get_value(USER_ID).is_some() && !same_user {
            self.flush();
        } else {
            self.cycle_key();
        }
        self.set_internal(USER_ID, user.id().into());
        self.set_internal(USER_HASH, user.session_auth_hash().into());
        self.lock().user = UserState::Checked(Arc::new(user.clone()));
        Ok(())
    }

    /// Logs out (Django's `logout`): deletes the session; the response removes
    /// the cookie, and the old token is refused from now on.
    pub fn logout(&self) {
        self.flush();
    }

    /// The logged-in user's id, if any.
    #[must_use]
    pub fn user_id(&self) -> Option<String> {
        self.get(USER_ID)
    }

    /// Checks the loaded user against the session (Django's `get_user`), for
    /// custom drivers (the engine's `load` and `lazy` do it already): returns
    /// the user when its id and auth hash match those stored at login (the
    /// hash compared in constant time); otherwise (the password changed, the
    /// user is gone: `None`) the session is flushed and `None` returned.
    pub fn authenticate<U: AuthUser + Clone + Send + Sync + 'static>(
        &self,
        user: Option<U>,
    ) -> Option<U> {
        let erased = user.clone().map(|u| Arc::new(u) as Arc<dyn ErasedUser>);
        self.check_erased(erased).then_some(user).flatten()
    }

    /// [`Session::authenticate`] for the engine's erased user: whether the
    /// session is (still) logged in as `user`.
    pub(crate) fn check_erased(&self, user: Option<Arc<dyn ErasedUser>>) -> bool {
        let mut s = self.lock();
        let matches = match (&user, stored_user(&s)) {
            (Some(u), (Some(id), Some(hash))) => u.is_logged_in_as(id, hash),
            _ => false,
        };
        match user {
            Some(u) if matches => {
                s.user = UserState::Checked(u);
                true
            }
            _ => {
                s.flush();
                false
            }
        }
    }

    /// After a password change, keeps this session logged in (Django's
    /// `update_session_auth_hash`): stores the new hash under a new key. Every
    /// other session of the user is logged out at its next request.
    pub fn update_auth_hash<U: AuthUser + Clone + Send + Sync + 'static>(
        &self,
        user: &U,
    ) -> Result<(), SessionError> {
        self.check_user_type::<U>()?;
        self.cycle_key();
        self.set_internal(USER_HASH, user.session_auth_hash().into());
        self.lock().user = UserState::Checked(Arc::new(user.clone()));
        Ok(())
    }

    /// That the engine has a user loader, for users of type `U`.
    pub(crate) fn check_user_type<U: 'static>(&self) -> Result<(), SessionError> {
        let (id, registered) = self
            .shared
            .users
            .as_ref()
            .ok_or(SessionError::NoUserLoader)?
            .user_type();
        if id == TypeId::of::<U>() {
            Ok(())
        } else {
            Err(SessionError::UserType {
                asked: type_name::<U>(),
                registered,
            })
        }
    }

    /// Whether the session's stored user is `user`, by
    /// [`AuthUser::is_logged_in_as`] (a missing id or hash read as empty, as
    /// Django's login does). Reads without marking the session accessed: the
    /// check is the library's, not the handler's.
    fn is_logged_in_as<U: AuthUser>(&self, user: &U) -> bool {
        let s = self.lock();
        let (id, hash) = stored_user(&s);
        user.is_logged_in_as(id.unwrap_or(""), hash.unwrap_or(""))
    }
}

/// The stored user's id and auth hash, each where it is text.
fn stored_user(s: &State) -> (Option<&str>, Option<&str>) {
    let stored = |name| item(s.items(), name).and_then(Value::as_str);
    (stored(USER_ID), stored(USER_HASH))
}

/// Where a login-required page redirects an anonymous visitor (Django's
/// `redirect_to_login`): `login_url?next=` and the page's path (with its
/// query), percent-encoded except `/`.
#[must_use]
pub fn login_redirect(login_url: &str, path_and_query: &str) -> String {
    let mut out = String::with_capacity(login_url.len() + path_and_query.len() + 8);
    out.push_str(login_url);
    out.push(if login_url.contains('?') { '&' } else { '?' });
    out.push_str("next=");
    for b in path_and_query.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `next` if it is a safe place to redirect to after login: a local path
/// (one leading `/`, not `//` or `/\`, no scheme, no control characters).
/// Anything else is `None` (an open redirect otherwise).
#[must_use]
pub fn safe_next(next: &str) -> Option<&str> {
    let b = next.as_bytes();
    let local = b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/' | b'\\'))
        && !next.chars().any(|c| c.is_control() || c == '\\');
    local.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_encodes_the_path() {
        assert_eq!(login_redirect("/login", "/me"), "/login?next=/me");
        assert_eq!(
            login_redirect("/login", "/a b?x=1&y=2"),
            "/login?next=/a%20b%3Fx%3D1%26y%3D2"
        );
        assert_eq!(login_redirect("/login?x=1", "/me"), "/login?x=1&next=/me");
    }

    #[test]
    fn only_local_paths_are_safe() {
        assert_eq!(safe_next("/me"), Some("/me"));
        assert_eq!(safe_next("/a?b=c"), Some("/a?b=c"));
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "https://evil.com",
            "evil",
            "",
            "/\nx",
            "/a\\b",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn auth_hash_is_keyed_and_hex() {
        let a = session_auth_hash(b"k1", "pbkdf2$x");
        assert_eq!(a.len(), 64);
        assert_ne!(a, session_auth_hash(b"k2", "pbkdf2$x"));
        assert_ne!(a, session_auth_hash(b"k1", "pbkdf2$y"));
        // Known answer: stored hashes must not change between versions, or
        // every session would be logged out by an upgrade.
        assert_eq!(
            a,
            "d32c3f4d7a70a0fcb6f6dc3d2253fbad51a6b86bbf17a990e700772d67cd5e36"
        );
    }
}

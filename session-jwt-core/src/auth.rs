//! Django's authentication rules on a session: `login`, `logout`, resolving
//! the current user, and `update_session_auth_hash`.
//!
//! The app's user type implements [`AuthUser`]: an id, and a *session auth
//! hash* that changes when the password changes (see [`session_auth_hash`]).
//! Each session stores the hash it was logged in with; when the user's hash no
//! longer matches, the session is logged out. So a password change logs out
//! every other session of the user, while [`Session::update_auth_hash`] keeps
//! the current one.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::session::{JWT_CLAIMS, Session, SessionError, USER_HASH, USER_ID};

/// A user that can log in.
pub trait AuthUser: Serialize {
    /// The user's id (stored in the session as text, as Django's pk).
    fn id(&self) -> String;

    /// A value derived from the user's password hash (and anything else whose
    /// change must end the user's sessions). Build it with
    /// [`session_auth_hash`]; never return the password or its hash itself.
    fn session_auth_hash(&self) -> String;
}

/// Loads the app's users by id, so that every adapter resolves the current
/// user the same way (Django's `get_user`). Implement it once; register it
/// with the adapter.
///
/// ```
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
///     async fn load_user(&self, id: &str) -> Option<User> {
///         (id == "1").then(|| User { id: 1, name: "john".into(), auth_hash: "h".into() })
///     }
/// }
/// ```
#[async_trait]
pub trait UserLoader: Send + Sync + 'static {
    /// The app's user type.
    type User: AuthUser + Send + Sync + 'static;

    /// The user with this id (as stored at login: [`AuthUser::id`]), or
    /// `None` if there is none (any more).
    async fn load_user(&self, id: &str) -> Option<Self::User>;

    /// The session's logged-in user: its user id, loaded, then checked with
    /// [`Session::authenticate`] (which logs the session out when the user's
    /// auth hash changed). `None` for an anonymous visitor.
    async fn current_user(&self, session: &Session) -> Option<Self::User> {
        let user = match session.user_id() {
            Some(id) => self.load_user(&id).await,
            None => None,
        };
        session.authenticate(user)
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
    /// (against session fixation). Stores the user's id and auth hash, and the
    /// user's token fields and provider claims for the next tokens.
    pub fn login<U: AuthUser>(&self, user: &U) -> Result<(), SessionError> {
        let value = serde_json::to_value(user)?;
        let same_user = self
            .get::<String>(USER_ID)
            .is_some_and(|id| id == user.id())
            && self.hash_matches(&user.session_auth_hash());
        if self.get_value(USER_ID).is_some() && !same_user {
            self.flush();
        } else {
            self.cycle_key();
        }
        self.set_internal(USER_ID, user.id().into());
        self.set_internal(USER_HASH, user.session_auth_hash().into());
        self.set_token_claims(Some(&value));
        Ok(())
    }

    /// Logs out (Django's `logout`): deletes the session; the response removes
    /// the cookie, and the old token is refused from now on.
    pub fn logout(&self) {
        self.flush();
    }

    /// The logged-in user's id, if any. Load the user with it, then pass the
    /// result to [`Session::authenticate`].
    #[must_use]
    pub fn user_id(&self) -> Option<String> {
        self.get(USER_ID)
    }

    /// Checks the loaded user against the session (Django's `get_user`):
    /// returns the user when its auth hash matches the one stored at login
    /// (compared in constant time); when it does not (the password changed),
    /// the session is flushed and `None` returned. A user that no longer
    /// exists (`None`) is anonymous.
    pub fn authenticate<U: AuthUser>(&self, user: Option<U>) -> Option<U> {
        let user = user?;
        let id = self.user_id()?;
        if id == user.id() && self.hash_matches(&user.session_auth_hash()) {
            Some(user)
        } else {
            self.flush();
            None
        }
    }

    /// After a password change, keeps this session logged in (Django's
    /// `update_session_auth_hash`): stores the new hash under a new key. Every
    /// other session of the user is logged out at its next request.
    pub fn update_auth_hash<U: AuthUser>(&self, user: &U) -> Result<(), SessionError> {
        let value = serde_json::to_value(user)?;
        self.cycle_key();
        self.set_internal(USER_HASH, user.session_auth_hash().into());
        self.set_token_claims(Some(&value));
        Ok(())
    }

    /// Recomputes the token's user fields and provider claims (after the
    /// user's fields changed, for example). `None`: anonymous claims.
    pub fn set_token_claims(&self, user: Option<&Value>) {
        let fields = self.shared.codec.fields();
        let mut claims = user.map(|u| fields.extract(u)).unwrap_or_default();
        claims.extend(self.shared.provider.claims(fields, user));
        self.set_internal(JWT_CLAIMS, Value::Object(claims));
    }

    fn hash_matches(&self, hash: &str) -> bool {
        let stored: String = self.get(USER_HASH).unwrap_or_default();
        stored.as_bytes().ct_eq(hash.as_bytes()).into()
    }
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

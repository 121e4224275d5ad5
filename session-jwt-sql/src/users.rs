//! [`DjangoUsers`]: a [`UserLoader`] over Django's `auth_user` table, with
//! Django's password hashes and session auth hash.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use session_jwt_core::auth::{AuthUser, UserLoader};
use session_jwt_core::{Secret, StoreError};

use crate::django::django_session_auth_hash;
use crate::error::Error;
use crate::password::{
    DJANGO_PBKDF2_ITERATIONS, MIN_REUSED_ITERATIONS, check_password, iterations_of, make_password,
};
use crate::sql::valid_table_name;
use crate::store::{Arg, SqlStore};

/// Django's user table (`django.contrib.auth.models.User`).
pub const DJANGO_USER_TABLE: &str = "auth_user";

/// A user of Django's `auth_user` table, as the token fields see it: `id`,
/// `username`, `email` (its serde value). The password hash and the session
/// auth hash are never serialized.
#[derive(Clone, Serialize)]
pub struct DjangoUser {
    /// The primary key (a number in the token).
    pub id: i64,
    /// `username`.
    pub username: String,
    /// `email`.
    pub email: String,
    #[serde(skip)]
    password: String,
    #[serde(skip)]
    auth_hash: String,
}

impl fmt::Debug for DjangoUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DjangoUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl DjangoUser {
    /// The password hash as stored (`pbkdf2_sha256$...`). Never log it.
    #[must_use]
    pub fn password_hash(&self) -> &str {
        &self.password
    }

    /// Whether `password` is this user's (Django's `User.check_password`,
    /// PBKDF2-SHA256 only, constant time). CPU-bound (Django's million
    /// iterations): in async code, prefer [`DjangoUsers::check_password`].
    #[must_use]
    pub fn check_password(&self, password: &str) -> bool {
        check_password(password, &self.password)
    }
}

impl AuthUser for DjangoUser {
    fn id(&self) -> String {
        self.id.to_string()
    }

    /// Django's `get_session_auth_hash()`, so both apps agree on
    /// `_auth_user_hash`.
    fn session_auth_hash(&self) -> String {
        self.auth_hash.clone()
    }
}

/// Django's users, for logging in and checking sessions on the Rust side:
/// reads `auth_user` (`id`, `username`, `email`, `password`, `is_active`;
/// an inactive user is no user, as for Django's `ModelBackend`), checks and
/// writes Django's password hashes, and computes Django's session auth
/// hash, so a password change on either side logs out the user's other
/// sessions on both.
///
/// It uses the store's connection pool.
///
/// ```no_run
/// use session_jwt_core::UserLoader;
/// use session_jwt_sql::{DjangoSettings, DjangoUsers, SqlStore};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let secret_key = "the Django app's SECRET_KEY";
/// let store = SqlStore::builder("postgres://app@127.0.0.1/app")
///     .with_django(DjangoSettings::new(secret_key))
///     .connect()
///     .await?;
/// let users = DjangoUsers::new(&store, secret_key)?;
/// if let Some(user) = users.authenticate("john", "password").await? {
///     // session.login(&user) ...
/// #   drop(user);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DjangoUsers {
    store: SqlStore,
    secret: Arc<Secret>,
    iterations: Option<u32>,
    select_by_id: String,
    select_by_username: String,
    update_password: String,
}

impl fmt::Debug for DjangoUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DjangoUsers")
            .field("store", &self.store)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl DjangoUsers {
    /// Django's users in the store's database, with the app's `SECRET_KEY`
    /// (which keys the session auth hash).
    ///
    /// # Errors
    /// Never for `auth_user`; see [`with_table`](Self::with_table).
    pub fn new(store: &SqlStore, secret_key: impl Into<Vec<u8>>) -> Result<Self, Error> {
        Self::with_table(store, secret_key, DJANGO_USER_TABLE)
    }

    /// [`new`](Self::new) for a custom user model's table
    /// (`AUTH_USER_MODEL`), which must have `auth_user`'s columns
    /// (`AbstractUser`'s).
    ///
    /// # Errors
    /// [`Error::Invalid`] when `table` is not a plain table name.
    pub fn with_table(
        store: &SqlStore,
        secret_key: impl Into<Vec<u8>>,
        table: &str,
    ) -> Result<Self, Error> {
        if !valid_table_name(table) {
            return Err(Error::Invalid {
                setting: "user table",
                reason: format!("{table:?} is not a plain table name (a-z, 0-9, _)"),
            });
        }
        let columns = "CAST(id AS TEXT), username, email, password";
        Ok(Self {
            store: store.clone(),
            secret: Arc::new(Secret::new(secret_key)),
            iterations: None,
            select_by_id: format!("SELECT {columns} FROM {table} WHERE id = $1 AND is_active"),
            select_by_username: format!(
                "SELECT {columns} FROM {table} WHERE username = $1 AND is_active"
            ),
            update_password: format!("UPDATE {table} SET password = $1 WHERE id = $2"),
        })
    }

    /// The PBKDF2 iterations of the hashes [`set_password`](Self::set_password)
    /// writes. By default, the count of the hash being replaced when it has
    /// at least [`MIN_REUSED_ITERATIONS`] (Django wrote it with the
    /// installed Django's default, and will not rehash it at the next
    /// login), else [`DJANGO_PBKDF2_ITERATIONS`] (Django 5.2's).
    #[must_use]
    pub fn with_password_iterations(mut self, iterations: u32) -> Self {
        self.iterations = Some(iterations.max(1));
        self
    }

    fn user(&self, row: &[String]) -> Result<DjangoUser, StoreError> {
        let id = row[0].parse().map_err(|_| {
            StoreError::Corrupt(format!("auth_user.id {:?} is not a number", row[0]).into())
        })?;
        Ok(DjangoUser {
            id,
            username: row[1].clone(),
            email: row[2].clone(),
            auth_hash: django_session_auth_hash(self.secret.expose(), &row[3]),
            password: row[3].clone(),
        })
    }

    /// The active user with this `username`, if any.
    ///
    /// # Errors
    /// A [`StoreError`] when the database fails.
    pub async fn by_username(&self, username: &str) -> Result<Option<DjangoUser>, StoreError> {
        let row = self
            .store
            .op(self
                .store
                .fetch_one(&self.select_by_username, vec![Arg::Str(username)], 4))
            .await?;
        row.map(|r| self.user(&r)).transpose()
    }

    /// The active user with these credentials (Django's `authenticate` with
    /// `ModelBackend`). The hash runs on a blocking thread; for an unknown
    /// username a hash runs all the same, so the answer takes as long.
    ///
    /// # Errors
    /// A [`StoreError`] when the database fails.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<DjangoUser>, StoreError> {
        let user = self.by_username(username).await?;
        let encoded = user.as_ref().map_or_else(
            || format!("pbkdf2_sha256${DJANGO_PBKDF2_ITERATIONS}$dummysaltdummysaltdumm$x"),
            |u| u.password.clone(),
        );
        let ok = self.check_password(password, encoded).await?;
        Ok(user.filter(|_| ok))
    }

    /// Whether `password` matches the Django hash `encoded`, on a blocking
    /// thread.
    ///
    /// # Errors
    /// [`StoreError::Other`] if the blocking task fails.
    pub async fn check_password(
        &self,
        password: &str,
        encoded: String,
    ) -> Result<bool, StoreError> {
        let password = zeroize::Zeroizing::new(password.to_owned());
        tokio::task::spawn_blocking(move || check_password(&password, &encoded))
            .await
            .map_err(|e| StoreError::Other(Box::new(e)))
    }

    /// Sets the user's password (Django's `set_password` and `save`): writes
    /// a new `pbkdf2_sha256` hash, so Django accepts the new password and
    /// every session of the user (on both sides) stops matching its auth
    /// hash. Keep the current session with
    /// [`Session::update_auth_hash`](session_jwt_core::Session::update_auth_hash)
    /// and the returned user. `None` if there is no such active user.
    ///
    /// # Errors
    /// A [`StoreError`] when the database fails.
    pub async fn set_password(
        &self,
        id: i64,
        password: &str,
    ) -> Result<Option<DjangoUser>, StoreError> {
        let id_text = id.to_string();
        let Some(current) = self.load_user(&id_text).await? else {
            return Ok(None);
        };
        let iterations = self.iterations.unwrap_or_else(|| {
            iterations_of(&current.password)
                .filter(|n| *n >= MIN_REUSED_ITERATIONS)
                .unwrap_or(DJANGO_PBKDF2_ITERATIONS)
        });
        let password = zeroize::Zeroizing::new(password.to_owned());
        let encoded = tokio::task::spawn_blocking(move || make_password(&password, iterations))
            .await
            .map_err(|e| StoreError::Other(Box::new(e)))?;
        let updated = self
            .store
            .op(self.store.exec(
                &self.update_password,
                vec![Arg::Str(&encoded), Arg::Int(id)],
            ))
            .await?;
        if updated == 0 {
            return Ok(None);
        }
        Ok(Some(DjangoUser {
            auth_hash: django_session_auth_hash(self.secret.expose(), &encoded),
            password: encoded,
            ..current
        }))
    }
}

#[async_trait]
impl UserLoader for DjangoUsers {
    type User = DjangoUser;

    async fn load_user(&self, id: &str) -> Result<Option<DjangoUser>, StoreError> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let row = self
            .store
            .op(self
                .store
                .fetch_one(&self.select_by_id, vec![Arg::Int(id)], 4))
            .await?;
        row.map(|r| self.user(&r)).transpose()
    }
}

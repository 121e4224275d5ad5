//! The error of this crate: a SQL store that cannot be built, connected or
//! migrated.
//!
//! Failures at request time are the core's [`StoreError`](session_jwt_core::StoreError)s.
//! No message here contains the URL (it may hold a password) or a session key.

/// Why a [`SqlStore`](crate::SqlStore) could not be built, connected or
/// migrated. The messages name the setting: the URL is `DATABASE_URL`, as
/// the reference apps and Django call it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not one this build supports (`sqlite://PATH` with the
    /// `sqlite` feature, `postgres://...` with `postgres`), or does not
    /// parse.
    #[error("DATABASE_URL: {0}")]
    Url(String),
    /// A setting has a value that cannot be used; the message names it.
    #[error("{setting}: {reason}")]
    Invalid {
        /// The setting (`table`, `max_connections`, ...).
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The database could not be reached, or refused the connection (only
    /// from [`Builder::connect`](crate::Builder::connect)).
    #[error("DATABASE_URL: cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// Creating the table failed, or (Django mode) the table Django's
    /// `migrate` creates is missing.
    #[error("DATABASE_URL: {what}: {source}")]
    Migrate {
        /// What was being done.
        what: String,
        /// The database's error.
        #[source]
        source: sqlx::Error,
    },
}

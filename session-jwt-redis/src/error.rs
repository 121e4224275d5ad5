//! The error of this crate: a Redis store that cannot be built.
//!
//! Failures at request time are the core's [`StoreError`](session_jwt_core::StoreError)s.
//! No message here contains the URL (it may hold a password) or a session key.

/// Why a [`RedisStore`](crate::RedisStore) could not be built or connected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a Redis URL this build supports (`redis://`, or
    /// `rediss://` with the `tls-rustls` feature).
    #[error("REDIS_URL: {0}")]
    Url(#[source] redis::RedisError),
    /// A setting has a value that cannot be used; the message names it.
    #[error("{setting}: {reason}")]
    Invalid {
        /// The setting (`key_prefix`, `connection_timeout`, ...).
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The server could not be reached, or refused the credentials or the
    /// database number (only from [`Builder::connect`](crate::Builder::connect)).
    #[error("cannot connect to Redis: {0}")]
    Connect(#[source] redis::RedisError),
}

//! The errors of this crate: configuration mistakes ([`ConfigError`]), rejected
//! tokens ([`TokenError`]) and store failures ([`StoreError`]).
//!
//! No message here ever contains a secret, a token or a session key.

use std::error::Error as StdError;

/// A mistake in the configuration, found when it is built (never at request
/// time). The message names the setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting has a value that cannot be used.
    #[error("{setting}: {reason}")]
    Invalid {
        /// The setting, as named in the configuration (`cookie.same_site`,
        /// `SESSION_JWT_ALG`, ...).
        setting: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Key material that does not parse or does not fit its algorithm.
    #[error("{setting}: {reason}")]
    Key {
        /// The setting that holds the key.
        setting: String,
        /// What is wrong with it.
        reason: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// A key file could not be read.
    #[error("{setting}: cannot read {path}: {source}")]
    Io {
        /// The setting that names the file.
        setting: String,
        /// The path that was read.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    pub(crate) fn invalid(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            setting: setting.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn key(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Key {
            setting: setting.into(),
            reason: reason.into(),
            source: None,
        }
    }

    pub(crate) fn key_source(
        setting: impl Into<String>,
        reason: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self::Key {
            setting: setting.into(),
            reason: reason.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The name of the setting this error is about.
    #[must_use]
    pub fn setting(&self) -> &str {
        match self {
            Self::Invalid { setting, .. }
            | Self::Key { setting, .. }
            | Self::Io { setting, .. } => setting,
        }
    }

    /// What is wrong, without the setting's name (to put another name in
    /// front, as an adapter naming its own configuration table does).
    #[must_use]
    pub fn reason(&self) -> String {
        match self {
            Self::Invalid { reason, .. } | Self::Key { reason, .. } => reason.clone(),
            Self::Io { path, source, .. } => format!("cannot read {path}: {source}"),
        }
    }

    /// The same error, attributed to another setting name (for example the
    /// environment variable the value came from).
    #[must_use]
    pub fn for_setting(mut self, name: impl Into<String>) -> Self {
        match &mut self {
            Self::Invalid { setting, .. }
            | Self::Key { setting, .. }
            | Self::Io { setting, .. } => {
                *setting = name.into();
            }
        }
        self
    }
}

/// Why a token was rejected. Every kind of rejection has its own variant, so
/// that tests and logs can tell them apart; none carries the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is longer than the configured limit.
    #[error("token is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// The token's size in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Not three dot-separated parts.
    #[error("not a compact JWS (header.payload.signature)")]
    Malformed,
    /// A part is not unpadded base64url.
    #[error("the {0} is not valid base64url")]
    Base64(&'static str),
    /// The header or payload is not JSON.
    #[error("the {0} is not valid JSON")]
    Json(&'static str),
    /// The header or payload is JSON but not an object.
    #[error("the {0} is not a JSON object")]
    NotAnObject(&'static str),
    /// The header says `alg: none`: an unsecured token.
    #[error("unsecured token (alg: none)")]
    Unsecured,
    /// The header has no `alg`, or one that is not a string.
    #[error("the header has no algorithm")]
    MissingAlgorithm,
    /// An HMAC token where only asymmetric keys are configured, or the reverse.
    #[error("algorithm {alg} is of another family than the configured keys")]
    AlgorithmFamily {
        /// The header's algorithm.
        alg: String,
    },
    /// An algorithm that the configuration does not allow.
    #[error("algorithm {alg} is not allowed")]
    AlgorithmNotAllowed {
        /// The header's algorithm.
        alg: String,
    },
    /// A `kid` that names none of the configured keys.
    #[error("unknown key id")]
    UnknownKeyId,
    /// The header has a `crit` member, which this library does not process.
    #[error("the header has a crit member")]
    CriticalHeader,
    /// The header's `typ` is present and is not `JWT`.
    #[error("the header's typ is not JWT")]
    WrongType,
    /// The signature does not verify with any candidate key.
    #[error("bad signature")]
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// A registered claim (`exp`, `nbf`, `iat`) is not a number.
    #[error("claim {0} has a wrong type")]
    BadClaim(&'static str),
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("wrong audience")]
    WrongAudience,
    /// The session field (`sk`) is missing or not a well-formed session key.
    #[error("no valid session key in the token")]
    MissingSessionKey,
    /// The configuration has no signing key (verify-only).
    #[error("no signing key is configured")]
    NoSigningKey,
    /// The cryptographic library failed while signing.
    #[error("signing failed: {0}")]
    Signing(String),
    /// A token was to be issued for a logged-in session whose user was not
    /// loaded and checked in this request (a custom driver that skipped
    /// [`SessionJwt::check_user`](crate::SessionJwt::check_user)): no token
    /// is issued on claims that may be stale.
    #[error("the session's user was not checked in this request; no token issued")]
    UserNotChecked,
}

impl TokenError {
    /// Whether the signature had been verified when this error arose:
    /// [`TokenCodec::verify`](crate::TokenCodec::verify) checks the header and
    /// the signature first, and the claims (`exp`, `nbf`, `iat`, `iss`, `aud`,
    /// the session key) only after. A tool can then say "signed, but expired".
    #[must_use]
    pub fn signature_checked(&self) -> bool {
        matches!(
            self,
            Self::Expired
                | Self::NotYetValid
                | Self::IssuedInFuture
                | Self::BadClaim(_)
                | Self::WrongIssuer
                | Self::WrongAudience
                | Self::MissingSessionKey
        )
    }
}

/// A failure of the session store. Adapters answer it with 503: a store
/// failure never logs anyone out and never overwrites data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or failed to answer.
    #[error("session store unavailable: {0}")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// A stored record could not be decoded.
    #[error("session record is corrupt: {0}")]
    Corrupt(#[source] Box<dyn StdError + Send + Sync>),
    /// Any other failure.
    #[error("session store error: {0}")]
    Other(#[source] Box<dyn StdError + Send + Sync>),
}

impl StoreError {
    /// Wraps an error from the backend as [`StoreError::Unavailable`].
    pub fn unavailable(err: impl StdError + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(err))
    }
}

//! Configuration through Rocket's figment: the core's
//! [`Settings`] under one table, `session_jwt`,
//! read by [`SessionFairing::from_config`](crate::SessionFairing::from_config)
//! at ignite.
//!
//! ```toml
//! [default.session_jwt]
//! fields = ["email", ["username", "u", "username"]]
//!
//! [default.session_jwt.key]
//! private_key = "keys/session.pem"   # or: secret = "at least 32 bytes of secret text"
//!
//! [default.session_jwt.cookie]
//! name = "sessionid"
//! age = 1209600
//! secure = true
//! same_site = "Lax"
//!
//! [default.session_jwt.jwt]
//! expires = 28800
//! ```
//!
//! Every setting has Django's default (see the core's
//! [`config`](session_jwt_core::config) module); only the key is required.
//! As for the rest of Rocket's configuration, `ROCKET_SESSION_JWT` (a TOML
//! table in the environment) and the profiles of `Rocket.toml` apply. A bad
//! value (an unknown setting, a wrong type, `SameSite=None` without
//! `secure`, a key file that does not parse) aborts ignite with a logged
//! message naming the setting in full: `session_jwt.cookie.same_site: ...`.
//! Secrets are never echoed.

use rocket::figment::Figment;
use session_jwt_core::{Builder, ConfigError, SessionJwt, Settings};

use crate::Error;

/// The table [`SessionFairing::from_config`](crate::SessionFairing::from_config)
/// reads: `session_jwt`.
pub const CONFIG_KEY: &str = "session_jwt";

/// The settings in `figment`'s table `key` (the defaults when there is no
/// such table). Errors name the setting in full (`session_jwt.cookie.age`).
pub fn settings(figment: &Figment, key: &str) -> Result<Settings, Error> {
    if !figment.contains(key) {
        return Ok(Settings::default());
    }
    figment.extract_inner::<Settings>(key).map_err(|e| {
        // Figment 0.10 appends the table's own path after the path inside it
        // (`cookie.age.session_jwt`); either order gives `session_jwt.cookie.age`.
        let table: Vec<&str> = key.split('.').collect();
        let mut inner: Vec<&str> = e.path.iter().map(String::as_str).collect();
        if inner.ends_with(&table) {
            inner.truncate(inner.len() - table.len());
        } else if inner.starts_with(&table) {
            inner.drain(..table.len());
        }
        let setting = table.into_iter().chain(inner).collect::<Vec<_>>().join(".");
        // A value that does not fit is echoed by figment (`found string
        // "..."`): never for the key's settings, which may hold a secret.
        let reason = if setting.starts_with(&format!("{key}.key")) {
            "not a valid value (not shown: it may be a secret)".to_owned()
        } else {
            e.kind.to_string()
        };
        let reason = match &e.metadata {
            Some(md) => format!("{reason} (in {})", md.name),
            None => reason,
        };
        Error::Config { setting, reason }
    })
}

/// A [`Builder`] from `figment`'s table `key`, to adjust in code and
/// [`build`](Builder::build).
pub fn builder(figment: &Figment, key: &str) -> Result<Builder, Error> {
    settings(figment, key).map(Builder::from_settings)
}

/// Builds the engine, naming a bad setting under `key`
/// (`cookie.same_site` becomes `session_jwt.cookie.same_site`).
pub(crate) fn build(builder: Builder, key: &str) -> Result<SessionJwt, Error> {
    builder.build().map_err(|e| config_error(e, key))
}

/// A core [`ConfigError`] as an [`Error::Config`] under table `key`.
pub(crate) fn config_error(e: ConfigError, key: &str) -> Error {
    Error::Config {
        setting: format!("{key}.{}", e.setting()),
        reason: e.reason(),
    }
}

//! Configuration from environment variables, with Django's setting names
//! (the reference app's contract). Each error names its variable.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SESSION_JWT_KEY` | HMAC secret text, PEM text, or the path of a PEM private key | a random secret, with a warning |
//! | `SESSION_JWT_PUBLIC_KEY` | path of the matching PEM public key | derived |
//! | `SESSION_JWT_ALG` | algorithm override | from the key |
//! | `SESSION_JWT_KID` | the signing key's `kid` | none (HMAC), thumbprint |
//! | `SESSION_JWT_EXPIRES` | token lifetime (s), `0`: no `exp` | `28800` |
//! | `SESSION_COOKIE_NAME` | cookie name | `sessionid` |
//! | `SESSION_COOKIE_AGE` | cookie and session lifetime (s) | `1209600` |
//! | `SESSION_COOKIE_DOMAIN` | cookie domain | none |
//! | `SESSION_COOKIE_PATH` | cookie path | `/` |
//! | `SESSION_COOKIE_SECURE` | `1`: `Secure` | `0` |
//! | `SESSION_COOKIE_SAMESITE` | `Lax`, `Strict`, `None` | `Lax` |
//! | `SESSION_EXPIRE_AT_BROWSER_CLOSE` | `1`: browser-session cookie | `0` |
//! | `SESSION_SAVE_EVERY_REQUEST` | `1`: save on every request | `0` |
//!
//! `SESSION_JWT_KEY` is read as PEM text when it starts with `-----BEGIN`, as
//! a file when a file of that name exists, as an error when it looks like a
//! path ([`key::looks_like_path`](crate::key::looks_like_path): it contains
//! `/` or ends with `.pem`, `.key`, ...) but names no file, and as secret
//! text otherwise. A secret is never echoed in an error.

use std::path::Path;

use crate::config::{Builder, SameSite};
use crate::error::ConfigError;
use crate::key::{Algorithm, Key, Secret};

/// A [`Builder`] from the process environment.
pub fn from_env() -> Result<Builder, ConfigError> {
    from_vars(|name| std::env::var(name).ok())
}

/// A [`Builder`] from variables given by `var` (for tests, or another
/// source).
pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Builder, ConfigError> {
    overlay(Builder::default(), var)
}

/// `builder` (from a configuration file, `Rocket.toml`, code) with the
/// variables that are set on top: the environment wins. Without
/// `SESSION_JWT_KEY`, the builder's own key stays (`SESSION_JWT_ALG` and
/// `SESSION_JWT_KID` then apply to it); a builder without a key gets a
/// random secret, with a warning.
pub fn overlay(
    builder: Builder,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Builder, ConfigError> {
    let get = |name: &str| var(name).filter(|v| !v.is_empty());
    let number = |name: &'static str| -> Result<Option<u64>, ConfigError> {
        get(name)
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| {
                    ConfigError::invalid(name, format!("{v:?} is not a whole number of seconds"))
                })
            })
            .transpose()
    };
    let flag = |name: &'static str| -> Result<Option<bool>, ConfigError> {
        get(name)
            .map(|v| match v.trim() {
                "1" | "true" | "True" | "yes" | "on" => Ok(true),
                "0" | "false" | "False" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::invalid(name, format!("{v:?} is not 0 or 1"))),
            })
            .transpose()
    };

    let alg = get("SESSION_JWT_ALG")
        .map(|alg| {
            alg.parse::<Algorithm>()
                .map_err(|e: ConfigError| e.for_setting("SESSION_JWT_ALG"))
        })
        .transpose()?;
    let kid = get("SESSION_JWT_KID");
    let key = match get("SESSION_JWT_KEY") {
        Some(v) => Some(key_from_value(&v, get("SESSION_JWT_PUBLIC_KEY"))?),
        None if builder.has_key() => None,
        None => {
            tracing::warn!(
                "SESSION_JWT_KEY is not set: signing with a random secret made at start; \
                 cookies will not survive a restart or verify at other instances"
            );
            Some(Key::hmac(Secret::random(64)).map_err(|e| e.for_setting("SESSION_JWT_KEY"))?)
        }
    };
    let mut b = match key {
        Some(mut key) => {
            if let Some(alg) = alg {
                key = key
                    .with_algorithm(alg)
                    .map_err(|e| e.for_setting("SESSION_JWT_ALG"))?;
            }
            if let Some(kid) = kid {
                key = key.with_kid(Some(kid));
            }
            builder
                .with_key(key)
                .map_err(|e| e.for_setting("SESSION_JWT_KEY"))?
        }
        // The builder's own key, from its settings: the variables refine it.
        None => builder.with_key_overrides(alg, kid),
    };
    if get("SESSION_JWT_PUBLIC_KEY").is_some() && get("SESSION_JWT_KEY").is_none() {
        return Err(ConfigError::invalid(
            "SESSION_JWT_PUBLIC_KEY",
            "needs SESSION_JWT_KEY, the matching private key",
        ));
    }
    if let Some(v) = number("SESSION_JWT_EXPIRES")? {
        b = b.with_token_lifetime(v);
    }
    if let Some(v) = get("SESSION_COOKIE_NAME") {
        b = b.with_cookie_name(v);
    }
    if let Some(v) = number("SESSION_COOKIE_AGE")? {
        if v == 0 {
            return Err(ConfigError::invalid(
                "SESSION_COOKIE_AGE",
                "must be a positive number of seconds",
            ));
        }
        b = b.with_cookie_age(v);
    }
    if let Some(v) = get("SESSION_COOKIE_DOMAIN") {
        b = b.with_cookie_domain(v);
    }
    if let Some(v) = get("SESSION_COOKIE_PATH") {
        b = b.with_cookie_path(v);
    }
    if let Some(v) = flag("SESSION_COOKIE_SECURE")? {
        b = b.with_secure(v);
    }
    if let Some(v) = get("SESSION_COOKIE_SAMESITE") {
        let s = match v.trim().to_ascii_lowercase().as_str() {
            "lax" => SameSite::Lax,
            "strict" => SameSite::Strict,
            "none" => SameSite::None,
            _ => {
                return Err(ConfigError::invalid(
                    "SESSION_COOKIE_SAMESITE",
                    format!("{v:?} is not Lax, Strict or None"),
                ));
            }
        };
        b = b.with_same_site(s);
    }
    if let Some(v) = flag("SESSION_EXPIRE_AT_BROWSER_CLOSE")? {
        b = b.with_expire_at_browser_close(v);
    }
    if let Some(v) = flag("SESSION_SAVE_EVERY_REQUEST")? {
        b = b.with_save_every_request(v);
    }
    Ok(b)
}

/// Maps a built configuration's error back to the variable that set it.
pub fn variable_for(err: ConfigError) -> ConfigError {
    let var = match err.setting() {
        s if s.starts_with("cookie.name") => "SESSION_COOKIE_NAME",
        s if s.starts_with("cookie.path") => "SESSION_COOKIE_PATH",
        s if s.starts_with("cookie.domain") => "SESSION_COOKIE_DOMAIN",
        s if s.starts_with("cookie.same_site") => {
            return ConfigError::invalid(
                "SESSION_COOKIE_SAMESITE",
                "SameSite=None requires SESSION_COOKIE_SECURE=1 (browsers refuse it otherwise)",
            );
        }
        s if s.starts_with("cookie.age") => "SESSION_COOKIE_AGE",
        s if s.starts_with("jwt.expires") => "SESSION_JWT_EXPIRES",
        _ => return err,
    };
    err.for_setting(var)
}

fn key_from_value(v: &str, public: Option<String>) -> Result<Key, ConfigError> {
    // A value that names a file, or looks like a path (the shared rule of
    // `key::looks_like_path`), is a key file: a mistyped path is an error,
    // never a secret. The value itself is not echoed (it may be a secret).
    let pem = if v.trim_start().starts_with("-----BEGIN") {
        Some(v.as_bytes().to_vec())
    } else if Path::new(v).is_file() {
        Some(crate::key::read_file(Path::new(v)).map_err(|e| e.for_setting("SESSION_JWT_KEY"))?)
    } else if crate::key::looks_like_path(v) {
        return Err(ConfigError::invalid(
            "SESSION_JWT_KEY",
            "looks like a path (it contains / or ends with .pem, .key, ...) but names no file; \
             give a readable key file, PEM text, or a secret without /",
        ));
    } else {
        None
    };
    let Some(pem) = pem else {
        if public.is_some() {
            return Err(ConfigError::invalid(
                "SESSION_JWT_PUBLIC_KEY",
                "an HMAC secret has no public key",
            ));
        }
        return Key::hmac(Secret::from(v)).map_err(|e| e.for_setting("SESSION_JWT_KEY"));
    };
    let key = match public {
        Some(path) => {
            let public = crate::key::read_file(Path::new(&path))
                .map_err(|e| e.for_setting("SESSION_JWT_PUBLIC_KEY"))?;
            Key::from_pem_pair(&pem, &public).map_err(|e| match e.setting() {
                "public_key" => e.for_setting("SESSION_JWT_PUBLIC_KEY"),
                _ => e.for_setting("SESSION_JWT_KEY"),
            })?
        }
        None => Key::from_pem(&pem).map_err(|e| e.for_setting("SESSION_JWT_KEY"))?,
    };
    if !key.can_sign() {
        return Err(ConfigError::key(
            "SESSION_JWT_KEY",
            "a public key cannot sign; give the private key",
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(vars: &[(&str, &str)]) -> Result<crate::SessionJwt, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_vars(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))?
            .build()
            .map_err(variable_for)
    }

    #[test]
    fn a_value_that_looks_like_a_path_but_names_no_file_is_an_error_never_a_secret() {
        for value in [
            "/etc/app/keys/prod-key",
            "/no/such/file.pem",
            "/no/such/file",
            "keys/prod.pem",
            "prod.key",
            // A standard-base64 secret with a '/': refused too, not echoed.
            "q1w2e3r4t5y6u7i8o9p0TOPSECRET/abcdefghij==",
        ] {
            let err = build(&[("SESSION_JWT_KEY", value)]).unwrap_err();
            assert_eq!(err.setting(), "SESSION_JWT_KEY", "{value}: {err}");
            assert!(err.to_string().contains("names no file"), "{value}: {err}");
            assert!(!err.to_string().contains("TOPSECRET"), "{err}");
        }
        // Secret text without '/' is a secret.
        let engine =
            build(&[("SESSION_JWT_KEY", "q1w2e3r4t5y6u7i8o9p0-base64url_secret")]).unwrap();
        assert!(engine.codec().keys().is_hmac());
        assert!(crate::key::looks_like_path("./k") && !crate::key::looks_like_path("abc"));
    }

    #[test]
    fn lifetimes_that_could_overflow_are_refused_at_start() {
        for (var, value) in [
            ("SESSION_COOKIE_AGE", "100000000000000"),
            ("SESSION_JWT_EXPIRES", "100000000000000"),
            ("SESSION_JWT_EXPIRES", "18446744073709551615"),
        ] {
            let err = build(&[
                ("SESSION_JWT_KEY", "0123456789abcdef0123456789abcdef"),
                (var, value),
            ])
            .unwrap_err();
            assert_eq!(err.setting(), var, "{err}");
        }
        let ok = build(&[
            ("SESSION_JWT_KEY", "0123456789abcdef0123456789abcdef"),
            ("SESSION_COOKIE_AGE", "3155760000"),
        ]);
        assert!(ok.is_ok(), "100 years is allowed");
    }

    #[test]
    fn the_environment_overlays_a_configuration_file() {
        let file: crate::Settings = serde_json::from_value(serde_json::json!({
            "cookie": {"name": "from_file", "age": 60},
            "key": {"secret": "a secret from the file, forty-eight bytes or more!!"},
        }))
        .unwrap();
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        // Only what is set changes; the file's key stays.
        let engine = overlay(
            Builder::from_settings(file.clone()),
            vars(&[
                ("SESSION_COOKIE_NAME", "from_env"),
                ("SESSION_JWT_ALG", "HS384"),
            ]),
        )
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(engine.cookie_settings().name, "from_env");
        assert_eq!(engine.cookie_settings().age, 60);
        let key = engine.codec().keys().signing_key().unwrap();
        assert_eq!(key.algorithm(), Algorithm::HS384);
        let file_only = Builder::from_settings(file.clone()).build().unwrap();
        assert_eq!(engine.auth_secret(), {
            // Same secret, other algorithm: the derived auth secret is the
            // file's key's.
            let k = file_only.codec().keys().signing_key().unwrap().clone();
            let k = k.with_algorithm(Algorithm::HS384).unwrap();
            k.derive_secret("auth.session_auth_hash")
        });
        // SESSION_JWT_KEY wins over the file's key.
        let engine = overlay(
            Builder::from_settings(file),
            vars(&[("SESSION_JWT_KEY", "the environment's secret, 32 bytes+")]),
        )
        .unwrap()
        .build()
        .unwrap();
        assert_ne!(engine.auth_secret(), file_only.auth_secret());
        // A public key alone is a mistake, named.
        let err =
            from_vars(vars(&[("SESSION_JWT_PUBLIC_KEY", "/etc/app/key.pub.pem")])).unwrap_err();
        assert_eq!(err.setting(), "SESSION_JWT_PUBLIC_KEY");
    }

    #[test]
    fn same_site_none_names_the_variable_to_set() {
        let err = build(&[
            ("SESSION_JWT_KEY", "0123456789abcdef0123456789abcdef"),
            ("SESSION_COOKIE_SAMESITE", "None"),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SESSION_COOKIE_SAMESITE: SameSite=None requires SESSION_COOKIE_SECURE=1 (browsers refuse it otherwise)"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("SESSION_JWT_ALG", "XX1"),
            ("SESSION_JWT_EXPIRES", "soon"),
            ("SESSION_COOKIE_SECURE", "maybe"),
            ("SESSION_COOKIE_SAMESITE", "sometimes"),
            ("SESSION_COOKIE_NAME", "a b"),
            ("SESSION_COOKIE_AGE", "0"),
        ] {
            let err = build(&[
                ("SESSION_JWT_KEY", "0123456789abcdef0123456789abcdef"),
                (var, value),
            ])
            .unwrap_err();
            assert_eq!(err.setting(), var, "{err}");
        }
    }
}

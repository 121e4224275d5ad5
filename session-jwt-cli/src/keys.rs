//! `--key`, `--jwks` and the configuration's key, as key rings of the core.

use std::path::Path;

use session_jwt_core::{Algorithm, Key, KeyRing, Secret, Settings};

use crate::common::CliError;

/// Parses `--key`: `@FILE` (a secret stored in a file; one trailing newline
/// is dropped), the path of a PEM or JWK file, or else the secret as text.
pub(crate) fn load_key(spec: &str, alg: Option<Algorithm>) -> Result<Key, CliError> {
    load_key_with(spec, alg, false)
}

/// An HMAC key from secret bytes; shorter than RFC 7518 allows only when
/// `allow_short` (`mint --force`).
fn secret_key(secret: Secret, allow_short: bool) -> Result<Key, session_jwt_core::ConfigError> {
    if allow_short {
        Key::hmac_allow_short(secret)
    } else {
        Key::hmac(secret)
    }
}

/// [`load_key`], allowing short HMAC secrets when `allow_short`.
pub(crate) fn load_key_with(
    spec: &str,
    alg: Option<Algorithm>,
    allow_short: bool,
) -> Result<Key, CliError> {
    let key = if let Some(path) = spec.strip_prefix('@') {
        let bytes = read(Path::new(path))?;
        if looks_like_pem(&bytes) {
            Key::from_pem(&bytes).map_err(|e| in_file(path, e))?
        } else {
            secret_key(Secret::new(strip_newline(bytes)), allow_short)
                .map_err(|e| in_file(path, e))?
        }
    } else if Path::new(spec).is_file() {
        let bytes = read(Path::new(spec))?;
        if looks_like_pem(&bytes) {
            Key::from_pem(&bytes).map_err(|e| in_file(spec, e))?
        } else if bytes.trim_ascii_start().starts_with(b"{") {
            Key::from_jwk_json(&bytes).map_err(|e| in_file(spec, e))?
        } else {
            return Err(CliError::usage(format!(
                "--key {spec}: not a PEM or JWK key; for a secret stored in a file, use --key @{spec}"
            )));
        }
    } else if session_jwt_core::key::looks_like_path(spec) {
        return Err(CliError::usage(format!(
            "--key {spec}: no such file (give a secret as text, @FILE for a secret in a file, or a PEM path)"
        )));
    } else {
        secret_key(Secret::from(spec), allow_short)
            .map_err(|e| CliError::usage(format!("--key: {}", reason(&e))))?
    };
    match alg {
        Some(alg) => Ok(key
            .with_algorithm(alg)
            .map_err(|e| CliError::usage(format!("--alg {alg}: {}", reason(&e))))?),
        None => Ok(key),
    }
}

/// The keys that verify, for `inspect`: `--key`, `--jwks`, else the
/// configuration's `[key]`; `None` when there is no key at all.
pub(crate) fn verify_ring(
    key: Option<&str>,
    jwks: Option<&Path>,
    alg: Option<Algorithm>,
    settings: &Settings,
) -> Result<Option<KeyRing>, CliError> {
    let alg = alg.or(settings.key.algorithm);
    if let Some(spec) = key {
        return Ok(Some(KeyRing::verify_only([load_key(spec, alg)?])?));
    }
    if let Some(path) = jwks {
        let ring =
            KeyRing::from_jwks(read(path)?).map_err(|e| in_file(&path.display().to_string(), e))?;
        let Some(alg) = alg else {
            return Ok(Some(ring));
        };
        let keys = ring
            .keys()
            .map(|k| k.clone().with_algorithm(alg))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CliError::usage(format!("--alg {alg}: {}", reason(&e))))?;
        return Ok(Some(KeyRing::verify_only(keys)?));
    }
    if has_key(settings) {
        let mut key_settings = settings.key.clone();
        key_settings.algorithm = alg;
        return Ok(Some(config_error(key_settings.key_ring())?));
    }
    Ok(None)
}

/// The key ring that signs, for `mint`: `--key`, else the configuration's.
pub(crate) fn signing_ring(
    key: Option<&str>,
    alg: Option<Algorithm>,
    settings: &Settings,
    allow_short: bool,
) -> Result<KeyRing, CliError> {
    let alg = alg.or(settings.key.algorithm);
    let key = match key {
        Some(spec) => {
            let key = load_key_with(spec, alg, allow_short)?;
            match &settings.key.kid {
                Some(kid) => key.with_kid(Some(kid.clone())),
                None => key,
            }
        }
        None if settings.key.secret.is_some() || settings.key.private_key.is_some() => {
            let mut key_settings = settings.key.clone();
            key_settings.algorithm = alg;
            let ring = config_error(key_settings.key_ring())?;
            return Ok(ring);
        }
        None => {
            return Err(CliError::usage(
                "no signing key: give --key, or key.secret / key.private_key in --config",
            ));
        }
    };
    if !key.can_sign() {
        return Err(CliError::usage(
            "--key: this is a public key; signing needs the private key (or the secret)",
        ));
    }
    Ok(KeyRing::new(key)?)
}

fn has_key(settings: &Settings) -> bool {
    let k = &settings.key;
    k.secret.is_some()
        || k.private_key.is_some()
        || k.jwks.is_some()
        || !k.verification_keys.is_empty()
}

fn config_error<T>(r: Result<T, session_jwt_core::ConfigError>) -> Result<T, CliError> {
    r.map_err(|e| CliError::usage(format!("--config: {}", crate::common::with_sources(&e))))
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

fn in_file(path: &str, e: session_jwt_core::ConfigError) -> CliError {
    CliError::usage(format!("{path}: {}", reason(&e)))
}

/// The error without its setting name (`key: ...`), which means nothing to a
/// CLI user, but with its sources.
fn reason(e: &session_jwt_core::ConfigError) -> String {
    let full = crate::common::with_sources(e);
    let prefix = format!("{}: ", e.setting());
    full.strip_prefix(&prefix)
        .map(str::to_owned)
        .unwrap_or(full)
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(b"-----BEGIN ")
}

fn strip_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_lose_one_trailing_newline() {
        assert_eq!(strip_newline(b"abc\r\n".to_vec()), b"abc");
        assert_eq!(strip_newline(b"abc\n\n".to_vec()), b"abc\n");
        assert_eq!(strip_newline(b"abc".to_vec()), b"abc");
    }

    #[test]
    fn a_missing_pem_path_is_not_taken_for_a_secret() {
        let err = load_key("./nope/key.pem", None).unwrap_err().to_string();
        assert!(err.contains("no such file"), "{err}");
    }

    #[test]
    fn a_short_secret_is_refused_without_showing_it() {
        let err = load_key("tooshort", None).unwrap_err().to_string();
        assert!(err.contains("32 bytes"), "{err}");
        assert!(!err.contains("tooshort"), "{err}");
    }
}

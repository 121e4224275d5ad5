//! `session-jwt mint`: a token for tests of services that consume the cookie.

use std::process::ExitCode;

use serde_json::{Map, Value};
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{SessionKey, TokenCodec};

use crate::MintArgs;
use crate::common::CliError;
use crate::keys;

/// `--claim name=value`: JSON when the value parses as JSON, else a string.
pub(crate) fn parse_claim(s: &str) -> Result<(String, Value), String> {
    let (name, value) = s
        .split_once('=')
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| format!("{s:?}: expected NAME=VALUE, as u=john or id=1"))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
    Ok((name.to_string(), value))
}

/// Runs `mint`; `now` is the token's `iat`.
pub(crate) fn run(args: MintArgs, now: OffsetDateTime) -> Result<ExitCode, CliError> {
    let settings = args.settings.settings()?;
    let fields = args.settings.fields(&settings)?;
    let ring = keys::signing_ring(args.key.as_deref(), args.alg, &settings, args.force)
        .map_err(short_secret_note)?;
    if args.force {
        let short = ring.signing_key().is_some_and(|k| k.algorithm().is_hmac());
        if short {
            eprintln!(
                "session-jwt: warning: --force allows an HMAC secret shorter than RFC 7518 asks; use such tokens for tests only"
            );
        }
    }
    let mut claims = Map::new();
    for (name, value) in args.claims {
        // A long name is stored under its field's short name.
        let name = fields
            .fields()
            .iter()
            .find(|f| f.long() == name)
            .map_or(name, |f| f.short().to_string());
        if name == fields.session_field() || name == "iat" || name == "exp" {
            return Err(CliError::usage(format!(
                "--claim {name}: set by mint itself (use --sk, --now, --expires)"
            )));
        }
        claims.insert(name, value);
    }
    let session_key = match &args.sk {
        Some(sk) => SessionKey::parse(sk).ok_or_else(|| {
            CliError::usage("--sk: a session key is 8 to 128 characters of [A-Za-z0-9_-]")
        })?,
        None => SessionKey::generate(),
    };
    let mut jwt = settings.jwt.clone();
    if let Some(expires) = args.expires {
        jwt.expires = expires;
    }
    let codec = TokenCodec::new(ring, fields, jwt)?;
    let token = codec
        .encode(&session_key, &claims, now, None)
        .map_err(|e| CliError::usage(format!("cannot sign: {e}")))?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

/// HMAC secrets shorter than the hash (RFC 7518 section 3.2, at least 32
/// bytes) are refused unless `--force` is given; the message says so.
fn short_secret_note(e: CliError) -> CliError {
    let msg = e.to_string();
    if !msg.contains("RFC 7518") {
        return e;
    }
    CliError::usage(format!(
        "{msg}; --force mints with it anyway, for tests of services that accept short secrets"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_values_are_json_or_strings() {
        assert_eq!(parse_claim("id=1").unwrap(), ("id".into(), Value::from(1)));
        assert_eq!(
            parse_claim("u=john").unwrap(),
            ("u".into(), Value::from("john"))
        );
        assert_eq!(
            parse_claim("t=\"42\"").unwrap(),
            ("t".into(), Value::from("42"))
        );
        assert_eq!(
            parse_claim("x={\"a\":[1]}").unwrap().1,
            serde_json::json!({"a": [1]})
        );
        assert_eq!(parse_claim("e=").unwrap().1, Value::from(""));
        assert!(parse_claim("=1").is_err());
        assert!(parse_claim("novalue").is_err());
    }
}

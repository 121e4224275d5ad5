//! `session-jwt`: offline inspection of session tokens, key generation, JWK
//! Sets, and test tokens for services that consume the session cookie.
//!
//! Every subcommand is a thin shell over `session-jwt-core`: keys are parsed
//! by [`session_jwt_core::Key`], tokens are verified by
//! [`session_jwt_core::TokenCodec::verify`] (with the configured algorithm,
//! never the token's) and read without verification only through
//! [`session_jwt_core::insecure`]. The clock is read once, here in `main`, and
//! passed down as `now` (or set with `--now` for reproducible output).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod common;
mod input;
mod inspect;
mod keygen;
mod keys;
mod mint;
mod timefmt;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use session_jwt_core::Algorithm;
use session_jwt_core::time::OffsetDateTime;

use crate::common::{CliError, SettingsArgs};

/// Inspect, verify and mint session-jwt tokens; generate keys and JWK Sets.
///
/// Exit codes: 0 success (for `inspect`: the token is valid, or its signature
/// was not checked because no key was given), 1 the token is rejected
/// (signature invalid, expired, ...), 2 not a token or bad usage.
#[derive(Debug, Parser)]
#[command(name = "session-jwt", version, max_term_width = 100)]
struct Cli {
    /// Take this Unix time (seconds) as the current time instead of the
    /// clock, for reproducible output and tests.
    #[arg(
        long,
        global = true,
        value_name = "UNIX",
        allow_negative_numbers = true
    )]
    now: Option<i64>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what a session token holds, and verify it when given a key.
    ///
    /// The token is the argument, or read from stdin (no argument, or `-`).
    /// A whole `Cookie:` or `Set-Cookie:` header line (or several header
    /// lines) may be pasted instead: the session cookie is found by name.
    Inspect(InspectArgs),
    /// Generate a new signing key, print its public key (PEM and JWK).
    Keygen(KeygenArgs),
    /// Print a JWK Set (RFC 7517) of PEM keys, for services that verify.
    Jwks(JwksArgs),
    /// Issue a token (for tests of services that consume the cookie).
    Mint(MintArgs),
}

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
struct InspectArgs {
    /// The token, a cookie string, or a Cookie:/Set-Cookie: header line;
    /// `-` or nothing reads stdin.
    token: Option<String>,

    #[command(flatten)]
    settings: SettingsArgs,

    /// Verify with this key: secret text, `@FILE` for a secret stored in a
    /// file, or the path of a PEM (or JWK) key, private or public.
    #[arg(
        long,
        value_name = "KEY",
        conflicts_with = "jwks",
        allow_hyphen_values = true
    )]
    key: Option<String>,

    /// Verify with the public keys of this JWK Set file.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,

    /// The algorithm to verify with (default: from the configuration, else
    /// from the key: HS256 for a secret, RS256 for RSA, ES256/ES384 for
    /// P-256/P-384, EdDSA for Ed25519). Never taken from the token.
    #[arg(long, value_name = "ALG", value_parser = common::parse_alg)]
    alg: Option<Algorithm>,

    /// The session cookie's name, when pasting a cookie header (default:
    /// `cookie.name` of the configuration, else `sessionid`).
    #[arg(long, value_name = "NAME")]
    cookie_name: Option<String>,

    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
}

/// Arguments of `keygen`.
#[derive(Debug, clap::Args)]
struct KeygenArgs {
    /// The algorithm of the new key (any of HS256, HS384, HS512, RS256,
    /// RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA).
    #[arg(long, value_name = "ALG", value_parser = common::parse_alg)]
    alg: Algorithm,

    /// Where to write the private key, created with mode 0600 (default:
    /// `session-jwt-<alg>.pem`, or `.secret` for HMAC, in the current
    /// directory).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Also write the public key (PEM) to this file.
    #[arg(long, value_name = "FILE")]
    public_out: Option<PathBuf>,

    /// Overwrite existing files.
    #[arg(long)]
    force: bool,

    /// Print one JSON object (`alg`, `kid`, `private_key_file`, `public_pem`,
    /// `jwk`) instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `jwks`.
#[derive(Debug, clap::Args)]
struct JwksArgs {
    /// PEM files (public keys, or private keys whose public half is used).
    #[arg(required = true, value_name = "PUBLIC.pem")]
    files: Vec<PathBuf>,

    /// The algorithm to announce for the keys (default: from each key;
    /// needed for PS256/PS384/PS512, RS384, RS512, as a PEM does not say).
    #[arg(long, value_name = "ALG", value_parser = common::parse_alg)]
    alg: Option<Algorithm>,
}

/// Arguments of `mint`.
#[derive(Debug, clap::Args)]
struct MintArgs {
    #[command(flatten)]
    settings: SettingsArgs,

    /// The signing key: secret text, `@FILE` for a secret in a file, or the
    /// path of a PEM (or JWK) private key (default: the configuration's key).
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    key: Option<String>,

    /// The session key (`sk`): 8 to 128 characters of [A-Za-z0-9_-]
    /// (default: a new random key).
    #[arg(long, value_name = "SESSION_KEY")]
    sk: Option<String>,

    /// A claim, `name=value`; the value is JSON when it parses as JSON
    /// (`id=1`, `admin=true`, `t="42"`), else a string. A field's long name
    /// is stored under its short name.
    #[arg(long = "claim", value_name = "NAME=VALUE", value_parser = mint::parse_claim)]
    claims: Vec<(String, serde_json::Value)>,

    /// Token lifetime in seconds, `exp` = now + this; 0 leaves `exp` out
    /// (default: `jwt.expires` of the configuration, else 28800).
    #[arg(long, value_name = "SECS")]
    expires: Option<u64>,

    /// The algorithm to sign with (default: from the configuration, else
    /// from the key).
    #[arg(long, value_name = "ALG", value_parser = common::parse_alg)]
    alg: Option<Algorithm>,

    /// Mint with an HMAC secret shorter than the hash (32 bytes for HS256,
    /// RFC 7518 section 3.2), for tests of services that accept such secrets.
    #[arg(long)]
    force: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The only read of the clock; everything below takes `now`.
    let now = match cli.now {
        Some(secs) => match OffsetDateTime::from_unix_timestamp(secs) {
            Ok(t) => t,
            Err(_) => return fail(&CliError::usage(format!("--now {secs}: out of range"))),
        },
        None => OffsetDateTime::now_utc(),
    };
    let result = match cli.command {
        Command::Inspect(a) => inspect::run(a, now),
        Command::Keygen(a) => keygen::run(&a),
        Command::Jwks(a) => keygen::jwks(&a),
        Command::Mint(a) => mint::run(a, now),
    };
    match result {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn fail(e: &CliError) -> ExitCode {
    eprintln!("session-jwt: {e}");
    ExitCode::from(2)
}

//! `session-jwt keygen` and `session-jwt jwks`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use session_jwt_core::{Key, key};

use crate::common::CliError;
use crate::{JwksArgs, KeygenArgs};

/// Runs `keygen`: a new key, its private half written with mode 0600.
pub(crate) fn run(args: &KeygenArgs) -> Result<ExitCode, CliError> {
    let alg = args.alg;
    let out = args.out.clone().unwrap_or_else(|| {
        let ext = if alg.is_hmac() { "secret" } else { "pem" };
        PathBuf::from(format!("session-jwt-{}.{ext}", alg.as_str().to_lowercase()))
    });
    let (key, private) = key::generate(alg)?;
    let mut text = private.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    write_new(&out, text.as_bytes(), 0o600, args.force)?;
    let public_pem = key.public_pem();
    if let (Some(path), Some(pem)) = (&args.public_out, &public_pem) {
        write_new(path, pem.as_bytes(), 0o644, args.force)?;
    }
    if args.json {
        let doc = json!({
            "alg": alg.as_str(),
            "kid": key.kid(),
            "private_key_file": out.display().to_string(),
            "public_key_file": args.public_out.as_ref().filter(|_| public_pem.is_some()).map(|p| p.display().to_string()),
            "public_pem": public_pem,
            "jwk": key.public_jwk(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
        return Ok(ExitCode::SUCCESS);
    }
    println!("algorithm    {alg}");
    if alg.is_hmac() {
        println!("secret       written to {} (mode 0600)", out.display());
        println!("public key   none: HMAC is a shared secret; give verifying services the same");
        println!(
            "             secret over a safe channel. Use it with --key @{}",
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("private key  written to {} (mode 0600)", out.display());
    if let Some(path) = &args.public_out {
        println!("public key   written to {}", path.display());
    }
    println!("kid          {}", key.kid().unwrap_or("(none)"));
    println!();
    print!("{}", public_pem.unwrap_or_default());
    println!();
    let jwk = key.public_jwk().unwrap_or(Value::Null);
    println!("{}", serde_json::to_string_pretty(&jwk).expect("JSON"));
    Ok(ExitCode::SUCCESS)
}

/// Runs `jwks`: the public JWKs of PEM files, as one JWK Set.
pub(crate) fn jwks(args: &JwksArgs) -> Result<ExitCode, CliError> {
    let mut keys: Vec<Value> = Vec::new();
    let mut kids: Vec<String> = Vec::new();
    for path in &args.files {
        let key = pem_key(path)?;
        let key = match args.alg {
            Some(alg) => key
                .with_algorithm(alg)
                .map_err(|e| CliError::usage(format!("{}: --alg {alg}: {e}", path.display())))?,
            None => key,
        };
        let jwk = key
            .public_jwk()
            .ok_or_else(|| CliError::usage(format!("{}: not an asymmetric key", path.display())))?;
        if let Some(kid) = key.kid() {
            if kids.iter().any(|k| k == kid) {
                eprintln!(
                    "session-jwt: note: {} repeats a key; listed once",
                    path.display()
                );
                continue;
            }
            kids.push(kid.to_string());
        }
        keys.push(jwk);
    }
    let set = json!({ "keys": keys });
    println!("{}", serde_json::to_string_pretty(&set).expect("JSON"));
    Ok(ExitCode::SUCCESS)
}

fn pem_key(path: &Path) -> Result<Key, CliError> {
    Key::from_pem_file(path).map_err(|e| {
        let full = crate::common::with_sources(&e);
        let reason = full
            .strip_prefix(&format!("{}: ", e.setting()))
            .unwrap_or(&full)
            .to_string();
        CliError::usage(format!("{}: {reason}", path.display()))
    })
}

/// Writes a new file with `mode` (on Unix), refusing to overwrite unless
/// `force`.
fn write_new(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<(), CliError> {
    let err = |e: std::io::Error| CliError::usage(format!("{}: {e}", path.display()));
    if force && path.exists() {
        std::fs::remove_file(path).map_err(err)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::usage(format!(
                "{}: already exists (use --force to overwrite)",
                path.display()
            ))
        } else {
            err(e)
        }
    })?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)
}

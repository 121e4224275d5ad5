//! What the subcommands share: the error type, the configuration file and
//! the field options.

use std::fmt;
use std::path::PathBuf;

use session_jwt_core::{Algorithm, Field, Fields, Settings};

/// A failure that ends the program with exit code 2 (not a token, bad usage,
/// a key or file that cannot be used). The message is one line and never
/// holds a secret or a token.
#[derive(Debug)]
pub(crate) struct CliError(String);

impl CliError {
    pub(crate) fn usage(msg: impl Into<String>) -> Self {
        Self(one_line(&msg.into()))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<session_jwt_core::ConfigError> for CliError {
    fn from(e: session_jwt_core::ConfigError) -> Self {
        Self::usage(with_sources(&e))
    }
}

/// The error and its `source()` chain, on one line.
pub(crate) fn with_sources(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(err) = source {
        let text = err.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = err.source();
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `--alg`: an algorithm name, as in a JWS header.
pub(crate) fn parse_alg(s: &str) -> Result<Algorithm, String> {
    s.parse::<Algorithm>().map_err(|_| {
        format!("unknown algorithm {s:?} (HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)")
    })
}

/// The options that read the configuration and the fields.
#[derive(Debug, clap::Args)]
pub(crate) struct SettingsArgs {
    /// A TOML configuration file, of the same shape as the app's
    /// (`session_jwt_core::Settings`): `[cookie]`, `[jwt]`, `[key]`, `fields`,
    /// `session_field`.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// A field's names, `short=long` (repeatable; added to the
    /// configuration's fields): `--field u=username`.
    #[arg(long = "field", value_name = "SHORT=LONG", value_parser = parse_field)]
    pub(crate) fields: Vec<Field>,

    /// The claim that carries the session key (default: `session_field` of
    /// the configuration, else `sk`).
    #[arg(long, value_name = "NAME")]
    pub(crate) session_field: Option<String>,
}

fn parse_field(s: &str) -> Result<Field, String> {
    match s.split_once('=') {
        Some((short, long)) if !short.is_empty() && !long.is_empty() => {
            Ok(Field::new(long, short, long))
        }
        _ => Err(format!("{s:?}: expected SHORT=LONG, as u=username")),
    }
}

impl SettingsArgs {
    /// The configuration file's settings, or the defaults.
    pub(crate) fn settings(&self) -> Result<Settings, CliError> {
        let Some(path) = &self.config else {
            return Ok(Settings::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("--config {}: {e}", path.display())))?;
        toml::from_str(&text)
            .map_err(|e| CliError::usage(format!("--config {}: {}", path.display(), e.message())))
    }

    /// The field configuration: the file's fields, then `--field`s, and the
    /// session field.
    pub(crate) fn fields(&self, settings: &Settings) -> Result<Fields, CliError> {
        let mut fields = settings.fields.clone();
        for f in &self.fields {
            // A --field replaces a configured field of the same short name.
            fields.retain(|g| g.short() != f.short());
            fields.push(f.clone());
        }
        let session_field = self
            .session_field
            .clone()
            .unwrap_or_else(|| settings.session_field.clone());
        Ok(Fields::new(fields, session_field)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_option_is_short_then_long() {
        let f = parse_field("u=username").unwrap();
        assert_eq!((f.short(), f.long()), ("u", "username"));
        assert!(parse_field("u").is_err());
        assert!(parse_field("=x").is_err());
    }

    #[test]
    fn errors_are_one_line() {
        assert_eq!(CliError::usage("a\nb  c").to_string(), "a b c");
    }
}

//! `session-jwt inspect`: what a token holds and whether it verifies.
//!
//! The token is read through [`insecure::insecure_decode`] for display, and
//! verified, when a key is given, by [`TokenCodec::verify`] alone: the
//! algorithm comes from the configuration or the key, never from the token.

use std::io::Read;
use std::process::ExitCode;

use serde_json::{Map, Value, json};
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{Fields, TokenCodec, TokenError, insecure};

use crate::InspectArgs;
use crate::common::CliError;
use crate::timefmt::{relative, span, utc};
use crate::{input, keys};

/// Stdin larger than this is not a session cookie.
const MAX_INPUT: u64 = 1 << 20;

/// What became of the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signature {
    Verified,
    Invalid,
    NotVerified,
}

impl Signature {
    fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Invalid => "invalid",
            Self::NotVerified => "not_verified",
        }
    }
}

/// The conclusion: the signature, and why the token is rejected, if it is.
#[derive(Debug)]
struct Verdict {
    signature: Signature,
    rejected: Option<String>,
    /// Whether any key was given.
    keyed: bool,
}

impl Verdict {
    fn exit_code(&self) -> u8 {
        u8::from(self.rejected.is_some())
    }

    /// The one line that says whether the signature was verified.
    fn line(&self, header: &Map<String, Value>) -> String {
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("?");
        let with = match header.get("kid").and_then(Value::as_str) {
            Some(kid) => format!("{alg}, kid {kid}"),
            None => alg.to_string(),
        };
        match (self.signature, &self.rejected) {
            (Signature::Verified, None) => format!("signature VERIFIED ({with}): token valid"),
            (Signature::Verified, Some(r)) => {
                format!("signature VERIFIED ({with}), but token REJECTED: {r}")
            }
            (Signature::Invalid, r) => format!(
                "signature INVALID: token REJECTED: {}",
                r.as_deref().unwrap_or("bad signature")
            ),
            (Signature::NotVerified, r) => {
                let why = if self.keyed {
                    "token not read"
                } else {
                    "no --key or --jwks given; anyone could have written these claims"
                };
                match r {
                    Some(r) => format!("signature NOT verified ({why}); token REJECTED: {r}"),
                    None => format!("signature NOT verified ({why})"),
                }
            }
        }
    }
}

/// Runs `inspect`; `now` is the caller's clock.
pub(crate) fn run(args: InspectArgs, now: OffsetDateTime) -> Result<ExitCode, CliError> {
    let settings = args.settings.settings()?;
    let fields = args.settings.fields(&settings)?;
    let ring = keys::verify_ring(
        args.key.as_deref(),
        args.jwks.as_deref(),
        args.alg,
        &settings,
    )?;
    let raw = match args.token {
        Some(t) if t != "-" => t,
        _ => read_stdin()?,
    };
    let cookie_name = args
        .cookie_name
        .unwrap_or_else(|| settings.cookie.name.clone());
    let found = input::find_token(&raw, &cookie_name)
        .map_err(|e| CliError::usage(format!("not a token: {e}")))?;
    if found.count > 1 {
        eprintln!(
            "session-jwt: note: {} cookies named {cookie_name:?}; inspecting the first",
            found.count
        );
    }
    let token = found.token.as_str();
    let unverified = insecure::insecure_decode(token).map_err(not_a_token)?;
    let claims = unverified.claims().map_err(not_a_token)?;
    let header = unverified.header;

    let verdict = match ring {
        Some(ring) => {
            let mut algs: Vec<&str> = ring.keys().map(|k| k.algorithm().as_str()).collect();
            algs.dedup();
            let algs = algs.join(", ");
            let codec = TokenCodec::new(ring, fields.clone(), settings.jwt.clone())?;
            match codec.verify(token, now) {
                Ok(_) => Verdict {
                    signature: Signature::Verified,
                    rejected: None,
                    keyed: true,
                },
                Err(e) => Verdict {
                    signature: signature_of(&e),
                    rejected: Some(match e {
                        TokenError::AlgorithmNotAllowed { .. }
                        | TokenError::AlgorithmFamily { .. } => {
                            format!(
                                "{e} (the key is for {algs}; the algorithm is configured, with --alg or key.algorithm, never taken from the token)"
                            )
                        }
                        e => e.to_string(),
                    }),
                    keyed: true,
                },
            }
        }
        None => Verdict {
            signature: Signature::NotVerified,
            rejected: unkeyed_rejection(&header, &claims, now, settings.jwt.leeway),
            keyed: false,
        },
    };

    let report = Report {
        size: token.len(),
        cookie: found.cookie,
        header,
        claims,
        fields: &fields,
        now,
        verdict,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.json()).expect("JSON")
        );
    } else {
        print!("{}", report.text());
    }
    if let Some(reason) = &report.verdict.rejected {
        eprintln!("session-jwt: token rejected: {reason}");
    }
    Ok(ExitCode::from(report.verdict.exit_code()))
}

fn read_stdin() -> Result<String, CliError> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::usage(format!("cannot read stdin: {e}")))?;
    String::from_utf8(bytes).map_err(|_| CliError::usage("not a token: stdin is not UTF-8"))
}

fn not_a_token(e: TokenError) -> CliError {
    CliError::usage(format!("not a token: {e}"))
}

/// Where the core's [`TokenCodec::verify`] stopped: a claim error comes after
/// the signature held ([`TokenError::signature_checked`]); an oversized token
/// was never read.
fn signature_of(e: &TokenError) -> Signature {
    match e {
        e if e.signature_checked() => Signature::Verified,
        TokenError::TooLarge { .. } => Signature::NotVerified,
        _ => Signature::Invalid,
    }
}

/// What can be said against a token without a key: `alg: none` is never
/// valid, and the time claims can be checked by anyone.
fn unkeyed_rejection(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    now: OffsetDateTime,
    leeway: u64,
) -> Option<String> {
    match header.get("alg").and_then(Value::as_str) {
        None => return Some(TokenError::MissingAlgorithm.to_string()),
        Some(a) if a.eq_ignore_ascii_case("none") => {
            return Some(TokenError::Unsecured.to_string());
        }
        Some(_) => {}
    }
    let now = now.unix_timestamp() as f64;
    let leeway = leeway as f64;
    for (name, failed, error) in [
        (
            "exp",
            &(|t: f64| t + leeway <= now) as &dyn Fn(f64) -> bool,
            TokenError::Expired,
        ),
        ("nbf", &|t: f64| t > now + leeway, TokenError::NotYetValid),
        (
            "iat",
            &|t: f64| t > now + leeway,
            TokenError::IssuedInFuture,
        ),
    ] {
        match claims.get(name).map(Value::as_f64) {
            None => {}
            Some(None) => return Some(TokenError::BadClaim(name).to_string()),
            Some(Some(t)) if failed(t) => return Some(error.to_string()),
            Some(Some(_)) => {}
        }
    }
    None
}

/// A time claim: absent, not a usable number, or a time.
fn time_claim(claims: &Map<String, Value>, name: &str) -> Option<Result<OffsetDateTime, ()>> {
    let v = claims.get(name)?;
    Some(
        v.as_f64()
            .filter(|t| t.is_finite())
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t.floor() as i64).ok())
            .ok_or(()),
    )
}

struct Report<'a> {
    size: usize,
    cookie: Option<String>,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    fields: &'a Fields,
    now: OffsetDateTime,
    verdict: Verdict,
}

const REGISTERED: [(&str, &str); 7] = [
    ("iss", "issuer"),
    ("sub", "subject"),
    ("aud", "audience"),
    ("jti", "token id"),
    ("iat", "issued at"),
    ("nbf", "not before"),
    ("exp", "expires"),
];

impl Report<'_> {
    fn session_key(&self) -> Option<&str> {
        self.claims
            .get(self.fields.session_field())
            .and_then(Value::as_str)
    }

    /// Claims in display order, each with its long name or a description:
    /// the session key, the configured fields, other claims, registered ones.
    fn rows(&self) -> Vec<(&str, String, &Value)> {
        let mut rows = Vec::new();
        let sf = self.fields.session_field();
        if let Some(v) = self.claims.get(sf) {
            rows.push((sf, "(session key)".to_string(), v));
        }
        for f in self.fields.fields() {
            if let Some(v) = self.claims.get(f.short()) {
                let long = if f.long() == f.short() {
                    String::new()
                } else {
                    f.long().to_string()
                };
                rows.push((f.short(), long, v));
            }
        }
        let registered = |n: &str| REGISTERED.iter().any(|(r, _)| *r == n);
        for (name, v) in &self.claims {
            let known = name == sf || self.fields.fields().iter().any(|f| f.short() == name);
            if !known && !registered(name) {
                rows.push((name.as_str(), String::new(), v));
            }
        }
        for (name, what) in REGISTERED {
            if let Some(v) = self.claims.get(name) {
                rows.push((name, format!("({what})"), v));
            }
        }
        rows
    }

    fn half_life(&self) -> Option<(OffsetDateTime, bool)> {
        let (Some(Ok(iat)), Some(Ok(exp))) = (
            time_claim(&self.claims, "iat"),
            time_claim(&self.claims, "exp"),
        ) else {
            return None;
        };
        // As the core's VerifiedClaims::past_half_life.
        let half = iat + (exp - iat) / 2;
        Some((half, self.now - iat >= (exp - iat) / 2))
    }

    fn text(&self) -> String {
        let mut out = String::new();
        let mut line = |label: &str, value: &str| {
            let l = format!("{label:<12} {value}");
            out.push_str(l.trim_end());
            out.push('\n');
        };
        let source = match &self.cookie {
            Some(name) => format!(" (cookie {name:?})"),
            None => String::new(),
        };
        line("token", &format!("{} bytes{source}", self.size));
        line("header", &Value::Object(self.header.clone()).to_string());
        let rows = self.rows();
        let w_short = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let w_long = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
        line("claims", "(name in the token, long name, value)");
        for (short, long, value) in &rows {
            let row = format!("  {short:<w_short$}  {long:<w_long$}  {value}");
            line(row.trim_end(), "");
        }
        line(
            "session key",
            self.session_key()
                .unwrap_or("(none: no string claim named by the session field)"),
        );
        for (name, label) in [("iat", "issued"), ("nbf", "not before")] {
            match time_claim(&self.claims, name) {
                None => {}
                Some(Err(())) => line(label, "(not a valid time)"),
                Some(Ok(t)) => line(label, &format!("{} ({})", utc(t), relative(t, self.now))),
            }
        }
        match time_claim(&self.claims, "exp") {
            None => line(
                "expires",
                "never (no exp claim: the token lives as long as the cookie)",
            ),
            Some(Err(())) => line("expires", "(not a valid time)"),
            Some(Ok(t)) => {
                let d = (t - self.now).whole_seconds();
                let phrase = if d > 0 {
                    format!("expires in {}", span(d))
                } else {
                    format!("expired {} ago", span(d))
                };
                line("expires", &format!("{} ({phrase})", utc(t)));
            }
        }
        if let Some((half, passed)) = self.half_life() {
            let phrase = if passed {
                format!(
                    "passed {}: the app re-issues the cookie on the next request",
                    relative(half, self.now)
                )
            } else {
                format!(
                    "{}: the app re-issues the cookie on a request after this",
                    relative(half, self.now)
                )
            };
            line("half-life", &format!("{} ({phrase})", utc(half)));
            if let (Some(Ok(iat)), Some(Ok(exp))) = (
                time_claim(&self.claims, "iat"),
                time_claim(&self.claims, "exp"),
            ) {
                line("lifetime", &span((exp - iat).whole_seconds()));
            }
        }
        out.push_str(&self.verdict.line(&self.header));
        out.push('\n');
        out
    }

    fn json(&self) -> Value {
        let time = |name: &str| match time_claim(&self.claims, name) {
            Some(Ok(t)) => json!({
                "unix": t.unix_timestamp(),
                "utc": utc(t),
                "relative": relative(t, self.now),
            }),
            _ => Value::Null,
        };
        let mut expanded = self.claims.clone();
        self.fields.expand(&mut expanded);
        let long_names: Map<String, Value> = self
            .fields
            .fields()
            .iter()
            .filter(|f| self.claims.contains_key(f.short()))
            .map(|f| (f.short().to_string(), f.long().into()))
            .collect();
        let half_life = match self.half_life() {
            Some((t, passed)) => json!({
                "unix": t.unix_timestamp(),
                "utc": utc(t),
                "relative": relative(t, self.now),
                "passed": passed,
            }),
            None => Value::Null,
        };
        json!({
            "signature": self.verdict.signature.as_str(),
            "valid": self.verdict.signature == Signature::Verified && self.verdict.rejected.is_none(),
            "rejected": self.verdict.rejected,
            "verdict": self.verdict.line(&self.header),
            "exit_code": self.verdict.exit_code(),
            "size": self.size,
            "cookie": self.cookie,
            "header": self.header,
            "claims": self.claims,
            "long_names": long_names,
            "expanded": expanded,
            "session_key": self.session_key(),
            "now": self.now.unix_timestamp(),
            "iat": time("iat"),
            "nbf": time("nbf"),
            "exp": time("exp"),
            "half_life": half_life,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn without_a_key_alg_none_and_time_claims_are_still_checked() {
        let hs = map(json!({"alg": "HS256"}));
        let none = map(json!({"alg": "none"}));
        let claims = map(json!({"iat": 100, "exp": 200}));
        assert_eq!(unkeyed_rejection(&hs, &claims, at(150), 0), None);
        assert_eq!(
            unkeyed_rejection(&hs, &claims, at(200), 0).as_deref(),
            Some("token expired")
        );
        assert_eq!(unkeyed_rejection(&hs, &claims, at(200), 5), None);
        assert_eq!(
            unkeyed_rejection(&none, &claims, at(150), 0).as_deref(),
            Some("unsecured token (alg: none)")
        );
        assert_eq!(
            unkeyed_rejection(&hs, &map(json!({"exp": "soon"})), at(0), 0).as_deref(),
            Some("claim exp has a wrong type")
        );
        assert_eq!(
            unkeyed_rejection(&hs, &map(json!({"nbf": 10})), at(0), 0).as_deref(),
            Some("token not yet valid")
        );
    }

    #[test]
    fn claim_errors_come_after_the_signature() {
        assert_eq!(signature_of(&TokenError::Expired), Signature::Verified);
        assert_eq!(signature_of(&TokenError::BadSignature), Signature::Invalid);
        assert_eq!(signature_of(&TokenError::Unsecured), Signature::Invalid);
        assert_eq!(
            signature_of(&TokenError::TooLarge { size: 1, limit: 0 }),
            Signature::NotVerified
        );
    }
}

//! Encoding and verifying the session token (a compact JWS, RFC 7515).
//!
//! The compact form is split and checked here, so that the algorithm
//! allow-list, `kid` lookup, `crit` and size checks happen before any
//! cryptography and each rejection has its own [`TokenError`]; the signatures
//! themselves are josekit's (HMAC compared in constant time by [`Key`]).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::error::{ConfigError, TokenError};
use crate::fields::Fields;
use crate::key::{Algorithm, Key, KeyRing};
use crate::session::SessionKey;

/// Token settings (django-session-jwt's `EXPIRES`, plus the checks a
/// consuming service may want).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSettings {
    /// Lifetime in seconds (`exp` = `iat` + this); `0` leaves `exp` out.
    pub expires: u64,
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: u64,
    /// `iss` to write and require, if any.
    pub issuer: Option<String>,
    /// `aud` to write and require, if any.
    pub audience: Option<String>,
    /// Tokens longer than this many bytes are rejected unread.
    pub max_size: usize,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            expires: 28_800,
            leeway: 0,
            issuer: None,
            audience: None,
            max_size: 4096,
        }
    }
}

impl TokenSettings {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.max_size < 256 {
            return Err(ConfigError::invalid(
                "jwt.max_size",
                "must be at least 256 bytes",
            ));
        }
        Ok(())
    }
}

/// Signs and verifies session tokens with a key ring, a field configuration
/// and token settings. Build it once; it is cheap to clone.
///
/// This is also the verify-only API for services that consume the cookie
/// without the session store: give it a [`KeyRing::verify_only`] (public keys
/// or a JWKS) and call [`TokenCodec::verify`].
#[derive(Debug, Clone)]
pub struct TokenCodec {
    keys: KeyRing,
    fields: Fields,
    settings: TokenSettings,
}

/// Claims of a token whose signature, algorithm, time and audience checks all
/// passed. Short names are expanded to long names, keeping both.
#[derive(Debug, Clone)]
#[must_use]
pub struct VerifiedClaims {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    session_key: SessionKey,
    current_key: bool,
}

impl VerifiedClaims {
    /// The session key (`sk`).
    pub fn session_key(&self) -> &SessionKey {
        &self.session_key
    }

    /// All claims, short and long names; includes the session field.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// One claim, by short or long name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// The protected header.
    #[must_use]
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// `iat`, if present.
    #[must_use]
    pub fn issued_at(&self) -> Option<OffsetDateTime> {
        timestamp(self.claims.get("iat"))
    }

    /// `exp`, if present.
    #[must_use]
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        timestamp(self.claims.get("exp"))
    }

    /// Whether the ring's current signing key signed it (if not, it was an
    /// older verification key, and the token should be re-issued).
    #[must_use]
    pub fn signed_with_current_key(&self) -> bool {
        self.current_key
    }

    /// Whether the token is past half of its lifetime at `now` (tokens
    /// without `exp` never are).
    #[must_use]
    pub fn past_half_life(&self, now: OffsetDateTime) -> bool {
        match (self.issued_at(), self.expires_at()) {
            (Some(iat), Some(exp)) => now - iat >= (exp - iat) / 2,
            _ => false,
        }
    }
}

fn timestamp(v: Option<&Value>) -> Option<OffsetDateTime> {
    let secs = v?.as_f64()?;
    OffsetDateTime::from_unix_timestamp(secs.floor() as i64).ok()
}

impl TokenCodec {
    /// A codec; `settings` are checked.
    pub fn new(
        keys: KeyRing,
        fields: Fields,
        settings: TokenSettings,
    ) -> Result<Self, ConfigError> {
        settings.check()?;
        Ok(Self {
            keys,
            fields,
            settings,
        })
    }

    /// The key ring.
    #[must_use]
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The field configuration.
    #[must_use]
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The token settings.
    #[must_use]
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// Issues a token for `session_key` carrying `claims` (short-named user
    /// fields and provider claims), issued at `now`. `exp` is `now` plus the
    /// lifetime, but never later than `not_after` (the cookie's expiry).
    pub fn encode(
        &self,
        session_key: &SessionKey,
        claims: &Map<String, Value>,
        now: OffsetDateTime,
        not_after: Option<OffsetDateTime>,
    ) -> Result<String, TokenError> {
        let key = self.keys.signing_key().ok_or(TokenError::NoSigningKey)?;
        let iat = now.unix_timestamp();
        let mut payload: BTreeMap<&str, Value> = claims
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        payload.insert(self.fields.session_field(), session_key.expose().into());
        payload.insert("iat", iat.into());
        let mut exp =
            (self.settings.expires > 0).then(|| iat.saturating_add(self.settings.expires as i64));
        if let Some(limit) = not_after {
            exp = Some(exp.map_or(limit.unix_timestamp(), |e| e.min(limit.unix_timestamp())));
        }
        if let Some(exp) = exp {
            payload.insert("exp", exp.into());
        }
        if let Some(iss) = &self.settings.issuer {
            payload.insert("iss", iss.clone().into());
        }
        if let Some(aud) = &self.settings.audience {
            payload.insert("aud", aud.clone().into());
        }
        sign(key, &payload)
    }

    /// Verifies `token` at `now`: size, structure, algorithm (from the
    /// configuration, never from the token), `kid`, `crit`, signature, then
    /// `exp`/`nbf`/`iat` (with leeway), `iss`, `aud` and the session key.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<VerifiedClaims, TokenError> {
        if token.len() > self.settings.max_size {
            return Err(TokenError::TooLarge {
                size: token.len(),
                limit: self.settings.max_size,
            });
        }
        let unverified = insecure::insecure_decode(token)?;
        let header = unverified.header;
        let alg = match header.get("alg") {
            Some(Value::String(a)) => a.as_str(),
            _ => return Err(TokenError::MissingAlgorithm),
        };
        if alg.eq_ignore_ascii_case("none") {
            return Err(TokenError::Unsecured);
        }
        let alg: Algorithm = alg
            .parse()
            .map_err(|_| TokenError::AlgorithmNotAllowed { alg: alg.into() })?;
        if alg.is_hmac() != self.keys.is_hmac() {
            return Err(TokenError::AlgorithmFamily {
                alg: alg.to_string(),
            });
        }
        if !self.keys.allows(alg) {
            return Err(TokenError::AlgorithmNotAllowed {
                alg: alg.to_string(),
            });
        }
        if header.contains_key("crit") {
            return Err(TokenError::CriticalHeader);
        }
        match header.get("typ") {
            None => {}
            Some(Value::String(t)) if t.eq_ignore_ascii_case("JWT") => {}
            Some(_) => return Err(TokenError::WrongType),
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return Err(TokenError::UnknownKeyId),
        };
        let mut candidates = self.keys.candidates(alg, kid.as_deref()).peekable();
        if candidates.peek().is_none() {
            return Err(TokenError::UnknownKeyId);
        }
        let index = candidates
            .find(|(_, k)| k.verify(unverified.signing_input.as_bytes(), &unverified.signature))
            .map(|(i, _)| i)
            .ok_or(TokenError::BadSignature)?;
        drop(candidates);

        let mut claims = insecure::parse_object(&unverified.payload, "payload")?;
        self.check_claims(&claims, now)?;
        let session_key = match claims.get(self.fields.session_field()) {
            Some(Value::String(sk)) => {
                SessionKey::parse(sk).ok_or(TokenError::MissingSessionKey)?
            }
            _ => return Err(TokenError::MissingSessionKey),
        };
        self.fields.expand(&mut claims);
        Ok(VerifiedClaims {
            header,
            claims,
            session_key,
            current_key: self.keys.is_current(index),
        })
    }

    fn check_claims(
        &self,
        claims: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> Result<(), TokenError> {
        let now = now.unix_timestamp() as f64;
        let leeway = self.settings.leeway as f64;
        let number = |name: &'static str| match claims.get(name) {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or(TokenError::BadClaim(name)),
        };
        if let Some(exp) = number("exp")? {
            if exp + leeway <= now {
                return Err(TokenError::Expired);
            }
        }
        if let Some(nbf) = number("nbf")? {
            if nbf > now + leeway {
                return Err(TokenError::NotYetValid);
            }
        }
        if let Some(iat) = number("iat")? {
            if iat > now + leeway {
                return Err(TokenError::IssuedInFuture);
            }
        }
        if let Some(iss) = &self.settings.issuer {
            if claims.get("iss").and_then(Value::as_str) != Some(iss) {
                return Err(TokenError::WrongIssuer);
            }
        }
        if let Some(aud) = &self.settings.audience {
            let ok = match claims.get("aud") {
                Some(Value::String(a)) => a == aud,
                Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(aud)),
                _ => false,
            };
            if !ok {
                return Err(TokenError::WrongAudience);
            }
        }
        Ok(())
    }
}

/// Signs a payload with `key`: header `{"alg", "kid"?, "typ": "JWT"}`.
pub(crate) fn sign<T: Serialize>(key: &Key, payload: &T) -> Result<String, TokenError> {
    let mut header: BTreeMap<&str, &str> = BTreeMap::new();
    header.insert("alg", key.algorithm().as_str());
    if let Some(kid) = key.kid() {
        header.insert("kid", kid);
    }
    header.insert("typ", "JWT");
    let header = serde_json::to_vec(&header).expect("a string map serializes");
    let payload = serde_json::to_vec(payload).map_err(|e| TokenError::Signing(e.to_string()))?;
    let mut out = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 100);
    URL_SAFE_NO_PAD.encode_string(header, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut out);
    let signature = key.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut out);
    Ok(out)
}

/// Reading a token **without verifying it**, for offline inspection tools.
/// Nothing read here may be trusted: anyone can write any header and payload.
pub mod insecure {
    use super::*;

    /// A token split and decoded, its signature **not checked**.
    #[derive(Debug, Clone)]
    #[must_use]
    pub struct UnverifiedToken {
        /// The header, as written by whoever made the token.
        pub header: Map<String, Value>,
        /// The payload bytes (JSON, unless the token is malformed).
        pub payload: Vec<u8>,
        /// The signature bytes.
        pub signature: Vec<u8>,
        /// `header.payload`, the bytes the signature covers.
        pub signing_input: String,
    }

    impl UnverifiedToken {
        /// The payload as a JSON object, unverified.
        pub fn claims(&self) -> Result<Map<String, Value>, TokenError> {
            parse_object(&self.payload, "payload")
        }
    }

    /// Splits and decodes `token` without checking its signature or claims.
    pub fn insecure_decode(token: &str) -> Result<UnverifiedToken, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let b64 = |part: &str, what| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| TokenError::Base64(what))
        };
        let header = parse_object(&b64(h, "header")?, "header")?;
        let payload = b64(p, "payload")?;
        let signature = b64(s, "signature")?;
        Ok(UnverifiedToken {
            header,
            payload,
            signature,
            signing_input: token[..h.len() + 1 + p.len()].to_string(),
        })
    }

    pub(crate) fn parse_object(
        bytes: &[u8],
        what: &'static str,
    ) -> Result<Map<String, Value>, TokenError> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(TokenError::NotAnObject(what)),
            Err(_) => Err(TokenError::Json(what)),
        }
    }
}

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
        if self.expires > crate::MAX_LIFETIME_SECS {
            return Err(ConfigError::invalid(
                "jwt.expires",
                "must be at most 100 years (3155760000 seconds); 0 leaves exp out",
            ));
        }
        if self.leeway > 86_400 {
            return Err(ConfigError::invalid(
                "jwt.leeway",
                "must be at most one day",
            ));
        }
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
///
/// `Debug` shows the claims with the session key redacted.
#[derive(Clone)]
#[must_use]
pub struct VerifiedClaims {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    session_key: SessionKey,
    current_key: bool,
    algorithm: Algorithm,
    kid: Option<String>,
}

impl std::fmt::Debug for VerifiedClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut claims = self.claims.clone();
        for (name, value) in claims.iter_mut() {
            if matches!(value, Value::String(s) if s == self.session_key.expose()) {
                *value = Value::String(format!("[REDACTED {name}]"));
            }
        }
        f.debug_struct("VerifiedClaims")
            .field("header", &self.header)
            .field("claims", &claims)
            .field("current_key", &self.current_key)
            .finish_non_exhaustive()
    }
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

    /// The algorithm that verified it (from the configuration; the header
    /// had to name it).
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `kid` of the key that verified it, if that key has one.
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
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
    /// lifetime, but never later than `not_after` (the cookie's expiry); with
    /// a lifetime of `0` there is no `exp`.
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
        // No lifetime: no `exp` (django-session-jwt without EXPIRES); the
        // token then lives as long as the cookie and its server-side session.
        let exp = (self.settings.expires > 0).then(|| {
            let exp = iat.saturating_add(self.settings.expires as i64);
            not_after.map_or(exp, |limit| exp.min(limit.unix_timestamp()))
        });
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
        let (index, verified_by) = candidates
            .find(|(_, k)| k.verify(unverified.signing_input.as_bytes(), &unverified.signature))
            .ok_or(TokenError::BadSignature)?;
        let verified_kid = verified_by.kid().map(str::to_owned);
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
            algorithm: alg,
            kid: verified_kid,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::Field;
    use serde_json::json;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
    const SK: &str = "abcdefghijklmnopqrstuvwxyz012345";

    fn hmac() -> Key {
        Key::hmac("0123456789abcdef0123456789abcdef").unwrap()
    }

    fn codec_with(key: Key, settings: TokenSettings) -> TokenCodec {
        let fields = Fields::new(vec![Field::from(("username", "u", "username"))], "sk").unwrap();
        TokenCodec::new(KeyRing::new(key).unwrap(), fields, settings).unwrap()
    }

    fn codec() -> TokenCodec {
        codec_with(hmac(), TokenSettings::default())
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A token with any header and payload bytes, signed by `key`.
    fn forge(key: &Key, header: Value, payload: &[u8]) -> String {
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(payload));
        let sig = key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64(&sig))
    }

    fn claims(extra: Value) -> Vec<u8> {
        let mut c =
            json!({"sk": SK, "iat": NOW.unix_timestamp(), "exp": NOW.unix_timestamp() + 60});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c.to_string().into_bytes()
    }

    fn hs256() -> Value {
        json!({"alg": "HS256", "typ": "JWT"})
    }

    fn err(token: &str) -> TokenError {
        codec().verify(token, NOW).unwrap_err()
    }

    fn rsa() -> Key {
        Key::from_pem(include_str!("../tests/vectors/rsa.pem")).unwrap()
    }

    #[test]
    fn a_valid_token_verifies_and_expands_names() {
        let c = codec();
        let token = c
            .encode(
                &SessionKey::parse(SK).unwrap(),
                json!({"u": "john"}).as_object().unwrap(),
                NOW,
                None,
            )
            .unwrap();
        let v = c.verify(&token, NOW).unwrap();
        assert_eq!(v.session_key().expose(), SK);
        assert_eq!(v.get("u"), Some(&json!("john")));
        assert_eq!(v.get("username"), Some(&json!("john")));
        assert!(v.signed_with_current_key());
        assert_eq!((v.algorithm(), v.key_id()), (Algorithm::HS256, None));
        assert!(!v.past_half_life(NOW));
        assert!(v.past_half_life(NOW + Duration::hours(4)));
    }

    #[test]
    fn too_large() {
        let token = "a".repeat(4097);
        assert_eq!(
            err(&token),
            TokenError::TooLarge {
                size: 4097,
                limit: 4096
            }
        );
    }

    #[test]
    fn malformed_structure() {
        for t in ["", "abc", "a.b", "a.b.c.d", "a.b.c.d.e"] {
            assert_eq!(err(t), TokenError::Malformed, "{t:?}");
        }
    }

    #[test]
    fn bad_base64() {
        let good = forge(&hmac(), hs256(), &claims(json!({})));
        let parts: Vec<&str> = good.split('.').collect();
        assert_eq!(
            err(&format!("!!.{}.{}", parts[1], parts[2])),
            TokenError::Base64("header")
        );
        assert_eq!(
            err(&format!("{}.a+b/.{}", parts[0], parts[2])),
            TokenError::Base64("payload")
        );
        assert_eq!(
            err(&format!("{}.{}.=", parts[0], parts[1])),
            TokenError::Base64("signature")
        );
        // Padding is not base64url as JWS uses it.
        assert_eq!(
            err(&format!("{}=.{}.{}", parts[0], parts[1], parts[2])),
            TokenError::Base64("header")
        );
    }

    #[test]
    fn non_json_and_non_object() {
        let h = b64(b"not json");
        assert_eq!(err(&format!("{h}.e30.AA")), TokenError::Json("header"));
        let h = b64(b"[1,2]");
        assert_eq!(
            err(&format!("{h}.e30.AA")),
            TokenError::NotAnObject("header")
        );
        assert_eq!(
            err(&forge(&hmac(), hs256(), b"not json")),
            TokenError::Json("payload")
        );
        assert_eq!(
            err(&forge(&hmac(), hs256(), b"\"a string\"")),
            TokenError::NotAnObject("payload")
        );
    }

    #[test]
    fn alg_none_is_refused() {
        for alg in ["none", "None", "NONE"] {
            let h = b64(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
            let token = format!("{h}.{}.", b64(&claims(json!({}))));
            assert_eq!(err(&token), TokenError::Unsecured, "{alg}");
        }
    }

    #[test]
    fn missing_alg() {
        let t = forge(&hmac(), json!({"typ": "JWT"}), &claims(json!({})));
        assert_eq!(err(&t), TokenError::MissingAlgorithm);
        let t = forge(&hmac(), json!({"alg": 256}), &claims(json!({})));
        assert_eq!(err(&t), TokenError::MissingAlgorithm);
    }

    #[test]
    fn algorithm_not_configured() {
        let hs384 = hmac().with_algorithm(Algorithm::HS384);
        assert!(hs384.is_err(), "a 32-byte secret is too short for HS384");
        let long = Key::hmac("0123456789abcdef0123456789abcdef0123456789abcdef").unwrap();
        let t = forge(
            &long.with_algorithm(Algorithm::HS384).unwrap(),
            json!({"alg": "HS384"}),
            &claims(json!({})),
        );
        assert_eq!(
            err(&t),
            TokenError::AlgorithmNotAllowed {
                alg: "HS384".into()
            }
        );
        let t = forge(&hmac(), json!({"alg": "XX999"}), &claims(json!({})));
        assert_eq!(
            err(&t),
            TokenError::AlgorithmNotAllowed {
                alg: "XX999".into()
            }
        );
    }

    #[test]
    fn hmac_token_against_asymmetric_keys_and_the_reverse() {
        let rsa_codec = codec_with(rsa(), TokenSettings::default());
        // The classic confusion attack: HS256 "signed" with the public key as secret.
        let public_pem = rsa().public_pem().unwrap();
        let as_secret = Key::hmac(public_pem.as_bytes()).unwrap();
        let t = forge(&as_secret, hs256(), &claims(json!({})));
        assert_eq!(
            rsa_codec.verify(&t, NOW).unwrap_err(),
            TokenError::AlgorithmFamily {
                alg: "HS256".into()
            }
        );
        let t = forge(&rsa(), json!({"alg": "RS256"}), &claims(json!({})));
        assert_eq!(
            err(&t),
            TokenError::AlgorithmFamily {
                alg: "RS256".into()
            }
        );
        assert!(rsa_codec.verify(&t, NOW).is_ok());
    }

    #[test]
    fn unknown_kid() {
        let t = forge(
            &hmac(),
            json!({"alg": "HS256", "kid": "nope"}),
            &claims(json!({})),
        );
        assert_eq!(err(&t), TokenError::UnknownKeyId);
        let t = forge(
            &hmac(),
            json!({"alg": "HS256", "kid": 7}),
            &claims(json!({})),
        );
        assert_eq!(err(&t), TokenError::UnknownKeyId);
    }

    #[test]
    fn crit_header() {
        let t = forge(
            &hmac(),
            json!({"alg": "HS256", "crit": ["exp"]}),
            &claims(json!({})),
        );
        assert_eq!(err(&t), TokenError::CriticalHeader);
    }

    #[test]
    fn wrong_typ() {
        let t = forge(
            &hmac(),
            json!({"alg": "HS256", "typ": "at+jwt"}),
            &claims(json!({})),
        );
        assert_eq!(err(&t), TokenError::WrongType);
        let t = forge(&hmac(), json!({"alg": "HS256"}), &claims(json!({})));
        assert!(codec().verify(&t, NOW).is_ok(), "typ is optional");
    }

    #[test]
    fn bad_signature() {
        let other = Key::hmac("another secret of thirty-two bytes!!").unwrap();
        assert_eq!(
            err(&forge(&other, hs256(), &claims(json!({})))),
            TokenError::BadSignature
        );
        // Tampered payload.
        let good = forge(&hmac(), hs256(), &claims(json!({})));
        let parts: Vec<&str> = good.split('.').collect();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            b64(&claims(json!({"admin": true}))),
            parts[2]
        );
        assert_eq!(err(&tampered), TokenError::BadSignature);
        // Truncated and empty signatures.
        assert_eq!(
            err(&format!("{}.{}.", parts[0], parts[1])),
            TokenError::BadSignature
        );
        assert_eq!(
            err(&format!("{}.{}.{}", parts[0], parts[1], &parts[2][..8])),
            TokenError::BadSignature
        );
    }

    #[test]
    fn expired_and_leeway() {
        let t = forge(
            &hmac(),
            hs256(),
            &claims(json!({"exp": NOW.unix_timestamp()})),
        );
        assert_eq!(err(&t), TokenError::Expired);
        let lenient = codec_with(
            hmac(),
            TokenSettings {
                leeway: 5,
                ..TokenSettings::default()
            },
        );
        assert!(lenient.verify(&t, NOW + Duration::seconds(4)).is_ok());
        assert_eq!(
            lenient.verify(&t, NOW + Duration::seconds(5)).unwrap_err(),
            TokenError::Expired
        );
    }

    #[test]
    fn not_yet_valid() {
        let t = forge(
            &hmac(),
            hs256(),
            &claims(json!({"nbf": NOW.unix_timestamp() + 10})),
        );
        assert_eq!(err(&t), TokenError::NotYetValid);
        let t = forge(
            &hmac(),
            hs256(),
            &claims(json!({"iat": NOW.unix_timestamp() + 10})),
        );
        assert_eq!(err(&t), TokenError::IssuedInFuture);
        let lenient = codec_with(
            hmac(),
            TokenSettings {
                leeway: 10,
                ..TokenSettings::default()
            },
        );
        assert!(lenient.verify(&t, NOW).is_ok());
    }

    #[test]
    fn registered_claims_of_the_wrong_type() {
        for name in ["exp", "nbf", "iat"] {
            let t = forge(&hmac(), hs256(), &claims(json!({ name: "tomorrow" })));
            assert_eq!(err(&t), TokenError::BadClaim(name));
        }
    }

    #[test]
    fn issuer_and_audience() {
        let strict = codec_with(
            hmac(),
            TokenSettings {
                issuer: Some("me".into()),
                audience: Some("us".into()),
                ..TokenSettings::default()
            },
        );
        let t = forge(
            &hmac(),
            hs256(),
            &claims(json!({"iss": "me", "aud": ["x", "us"]})),
        );
        assert!(strict.verify(&t, NOW).is_ok());
        let t = forge(
            &hmac(),
            hs256(),
            &claims(json!({"iss": "evil", "aud": "us"})),
        );
        assert_eq!(strict.verify(&t, NOW).unwrap_err(), TokenError::WrongIssuer);
        let t = forge(
            &hmac(),
            hs256(),
            &claims(json!({"iss": "me", "aud": "them"})),
        );
        assert_eq!(
            strict.verify(&t, NOW).unwrap_err(),
            TokenError::WrongAudience
        );
        let t = forge(&hmac(), hs256(), &claims(json!({"iss": "me"})));
        assert_eq!(
            strict.verify(&t, NOW).unwrap_err(),
            TokenError::WrongAudience
        );
        // Written on encode.
        let t = strict
            .encode(&SessionKey::parse(SK).unwrap(), &Map::new(), NOW, None)
            .unwrap();
        assert!(strict.verify(&t, NOW).is_ok());
    }

    #[test]
    fn session_key_missing_or_malformed() {
        let t = forge(
            &hmac(),
            hs256(),
            json!({"iat": NOW.unix_timestamp()}).to_string().as_bytes(),
        );
        assert_eq!(err(&t), TokenError::MissingSessionKey);
        for bad in [
            json!(12345678),
            json!("short"),
            json!("has:colon:in:it:xx"),
            json!("a".repeat(200)),
        ] {
            let t = forge(&hmac(), hs256(), &claims(json!({ "sk": bad })));
            assert_eq!(err(&t), TokenError::MissingSessionKey);
        }
    }

    #[test]
    fn verify_only_ring_cannot_encode() {
        let public = Key::from_pem(rsa().public_pem().unwrap()).unwrap();
        let fields = Fields::new(vec![], "sk").unwrap();
        let c = TokenCodec::new(
            KeyRing::verify_only([public]).unwrap(),
            fields,
            TokenSettings::default(),
        )
        .unwrap();
        let e = c
            .encode(&SessionKey::parse(SK).unwrap(), &Map::new(), NOW, None)
            .unwrap_err();
        assert_eq!(e, TokenError::NoSigningKey);
        let t = forge(
            &rsa(),
            json!({"alg": "RS256", "kid": rsa().kid().unwrap()}),
            &claims(json!({})),
        );
        assert!(c.verify(&t, NOW).is_ok());
    }

    #[test]
    fn errors_never_contain_the_token() {
        let t = forge(&hmac(), hs256(), &claims(json!({"exp": 1})));
        let e = err(&t);
        assert!(!format!("{e} {e:?}").contains(SK));
    }
}

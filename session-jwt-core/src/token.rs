//! Encoding and verifying the session token (a compact JWS, RFC 7515).
//!
//! The compact form is split and checked here, so that the algorithm
//! allow-list, `kid` lookup, `crit` and size checks happen before any
//! cryptography and each rejection has its own [`TokenError`]; the signatures
//! themselves are josekit's (HMAC compared in constant time by [`Key`]).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

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
    fields: Arc<Fields>,
    settings: TokenSettings,
}

/// Claims of a token whose signature, algorithm, time and audience checks all
/// passed. Short names are expanded to long names, keeping both.
///
/// The request path reads only the session key and the registered claims
/// (parsed into fields as the token is verified); the header and the whole
/// claim map are parsed from the token's bytes the first time someone asks
/// for them ([`VerifiedClaims::claims`], [`VerifiedClaims::header`]).
///
/// `Debug` shows the claims with the session key redacted.
#[derive(Clone)]
#[must_use]
pub struct VerifiedClaims {
    /// Where the header comes from, parsed on first use.
    header_source: HeaderSource,
    /// Boxed, as the claims: rarely parsed, and a verification moves this.
    header: OnceLock<Box<Map<String, Value>>>,
    /// The payload as JSON bytes.
    payload: Vec<u8>,
    claims: OnceLock<Box<Map<String, Value>>>,
    fields: Arc<Fields>,
    session_key: SessionKey,
    registered: Registered,
    current_key: bool,
    algorithm: Algorithm,
    /// The key that verified it (its `kid`; its header, for an issued one).
    verified_by: Key,
}

impl std::fmt::Debug for VerifiedClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut claims = self.claims().clone();
        for (name, value) in claims.iter_mut() {
            if matches!(value, Value::String(s) if s == self.session_key.expose()) {
                *value = Value::String(format!("[REDACTED {name}]"));
            }
        }
        f.debug_struct("VerifiedClaims")
            .field("header", self.header())
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
        self.claims.get_or_init(|| {
            // Parsed once already, when it was verified: an object.
            let mut claims = insecure::parse_object(&self.payload, "payload").unwrap_or_default();
            self.fields.expand(&mut claims);
            Box::new(claims)
        })
    }

    /// One claim, by short or long name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.claims().get(name)
    }

    /// The protected header.
    #[must_use]
    pub fn header(&self) -> &Map<String, Value> {
        self.header.get_or_init(|| {
            let json = match &self.header_source {
                HeaderSource::Json(json) => std::borrow::Cow::Borrowed(&json[..]),
                HeaderSource::Issued => std::borrow::Cow::Owned(
                    URL_SAFE_NO_PAD
                        .decode(self.verified_by.encoded_header())
                        .unwrap_or_default(),
                ),
            };
            Box::new(insecure::parse_object(&json, "header").unwrap_or_default())
        })
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
        self.verified_by.kid()
    }

    /// `iat`, if present.
    #[must_use]
    pub fn issued_at(&self) -> Option<OffsetDateTime> {
        timestamp(self.registered.iat)
    }

    /// `exp`, if present.
    #[must_use]
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        timestamp(self.registered.exp)
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
        // now - iat >= (exp - iat) / 2, in whole nanoseconds (on every
        // request: integers, not dates).
        match (
            unix_secs(self.registered.iat),
            unix_secs(self.registered.exp),
        ) {
            (Some(iat), Some(exp)) => {
                const NANOS: i128 = 1_000_000_000;
                2 * (now.unix_timestamp_nanos() - i128::from(iat) * NANOS)
                    >= i128::from(exp - iat) * NANOS
            }
            _ => false,
        }
    }

    /// Whether the time claims still hold at `now` (for a token verified
    /// earlier: a cache hit).
    pub(crate) fn check_time(&self, now: OffsetDateTime, leeway: u64) -> Result<(), TokenError> {
        self.registered.check_time(now, leeway)
    }

    /// Roughly how many bytes this holds (for a cache's bound).
    pub(crate) fn weight(&self) -> usize {
        let header = match &self.header_source {
            HeaderSource::Json(json) => json.len(),
            HeaderSource::Issued => 0,
        };
        header + 2 * self.payload.len() + 256
    }
}

/// A verified token's header: exactly the one the verifying key issues (no
/// copy kept), or the JSON the token carried.
#[derive(Clone)]
enum HeaderSource {
    Issued,
    Json(Box<[u8]>),
}

fn timestamp(secs: Option<f64>) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(unix_secs(secs)?).ok()
}

/// A time claim as whole Unix seconds, if it is a time [`timestamp`] accepts.
fn unix_secs(secs: Option<f64>) -> Option<i64> {
    let secs = secs?.floor() as i64;
    // Years 1 to 9999 are valid whatever `time`'s features; only a claim
    // outside them needs the date arithmetic to decide.
    ((-62_135_596_800..=253_402_300_799).contains(&secs)
        || OffsetDateTime::from_unix_timestamp(secs).is_ok())
    .then_some(secs)
}

/// The claims the request path needs, read from the payload into fields
/// (the rest of the payload is skipped, and parsed into a map only if asked
/// for).
#[derive(Debug, Clone, Default)]
struct Registered {
    session_key: Option<SessionKey>,
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    /// A registered claim that is present but not a number.
    bad: Option<&'static str>,
    /// Boxed: rare, and the struct is moved on every verification.
    iss: Option<Box<Value>>,
    aud: Option<Box<Value>>,
}

impl Registered {
    /// Reads `payload` (a JSON object) in one pass; `session_field` names
    /// the session key claim.
    fn parse(payload: &[u8], session_field: &str) -> Result<Self, TokenError> {
        // JSON is UTF-8 (RFC 8259), also in the strings serde_json skips
        // without reading (the claim map could not be parsed from them).
        let payload = std::str::from_utf8(payload).map_err(|_| TokenError::Json("payload"))?;
        match Self::scan(payload, session_field) {
            Some(r) => Ok(r),
            None => Self::parse_any(payload, session_field),
        }
    }

    /// [`Registered::parse`] for the payloads tokens carry (this crate's,
    /// django-session-jwt's, other JWT libraries'): a flat JSON object of
    /// strings without escapes, integers of up to 15 digits, booleans and
    /// nulls, read without serde. `None` for anything else (an escape, a
    /// nested value, a fraction, a time claim below zero, invalid JSON),
    /// which [`Registered::parse_any`] then reads, or refuses.
    ///
    /// What it accepts is valid JSON and reads exactly as `parse_any` reads
    /// it: a property test holds the two to that.
    fn scan(payload: &str, session_field: &str) -> Option<Self> {
        /// A value of the subset; a string as its range in the payload.
        enum Scalar {
            Str(usize, usize),
            /// At most 15 digits: exact as an `f64`, as serde_json reads it.
            Uint(u64),
            /// Negative, kept only for skipping.
            Int,
            Bool(bool),
            Null,
        }
        /// `at`, or past the whitespace there (most payloads have none).
        #[inline(always)]
        fn space(b: &[u8], at: usize) -> usize {
            match b.get(at) {
                Some(b' ' | b'\t' | b'\n' | b'\r') => more_space(b, at),
                _ => at,
            }
        }
        #[cold]
        fn more_space(b: &[u8], mut at: usize) -> usize {
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(at) {
                at += 1;
            }
            at
        }
        /// The bytes of `word` (little-endian) that end a string of the
        /// subset: `"`, `\\` and the control characters, each flagged by
        /// its top bit. Each test's flags can be wrong only above a right
        /// one (a borrow runs upwards), so the lowest flag is always the
        /// first stop.
        #[inline(always)]
        fn stop_mask(word: u64) -> u64 {
            let control = word.wrapping_sub(swar::ONES * 0x20) & !word & (swar::ONES << 7);
            swar::equal(word, b'"') | swar::equal(word, b'\\') | control
        }
        /// The end of the string starting at `at` (after its opening quote):
        /// the index of its closing quote. `None` at an escape or a control
        /// character. Most strings of a token (its keys, most values) end in
        /// the first word.
        #[inline(always)]
        fn string_end(b: &[u8], at: usize) -> Option<usize> {
            let end = swar::find(b, at, stop_mask, |c| matches!(c, b'"' | b'\\' | ..0x20))?;
            (b[end] == b'"').then_some(end)
        }
        /// `0` or 1 to 15 digits not starting with `0`, not followed by a
        /// fraction or an exponent: the value and the index after it.
        // Out of line: inlined, the running value was kept on the stack.
        #[inline(never)]
        fn digits(b: &[u8], at: usize) -> Option<(u64, usize)> {
            let rest = b.get(at..)?;
            // One pass; a value of more than 15 digits is refused below,
            // whatever it wrapped to.
            let (mut n, mut len) = (0u64, 0);
            for &c in rest {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                n = n.wrapping_mul(10).wrapping_add(u64::from(d));
                len += 1;
            }
            let ok = (1..=15).contains(&len)
                && (len == 1 || rest[0] != b'0')
                && !matches!(rest.get(len), Some(b'.' | b'e' | b'E'));
            ok.then_some((n, at + len))
        }
        /// The value at `at` and the index after it.
        #[inline(always)]
        fn scalar(b: &[u8], at: usize) -> Option<(Scalar, usize)> {
            let word = |w: &[u8], v| b[at..].starts_with(w).then_some((v, at + w.len()));
            match *b.get(at)? {
                b'"' => string_end(b, at + 1).map(|end| (Scalar::Str(at + 1, end), end + 1)),
                b't' => word(b"true", Scalar::Bool(true)),
                b'f' => word(b"false", Scalar::Bool(false)),
                b'n' => word(b"null", Scalar::Null),
                b'-' => digits(b, at + 1).map(|(_, end)| (Scalar::Int, end)),
                _ => digits(b, at).map(|(n, end)| (Scalar::Uint(n), end)),
            }
        }

        let b = payload.as_bytes();
        let field = session_field.as_bytes();
        let mut r = Registered::default();
        let mut at = space(b, 0);
        (b.get(at) == Some(&b'{')).then_some(())?;
        at = space(b, at + 1);
        if b.get(at) == Some(&b'}') {
            at += 1;
        } else {
            loop {
                (b.get(at) == Some(&b'"')).then_some(())?;
                let key_end = string_end(b, at + 1)?;
                let key = &b[at + 1..key_end];
                at = space(b, key_end + 1);
                (b.get(at) == Some(&b':')).then_some(())?;
                let (value, end) = scalar(b, space(b, at + 1))?;
                // Slice patterns: compared in registers, not by `memcmp`.
                match key {
                    // The length and first byte first: most keys differ
                    // there, without a call to `memcmp`.
                    k if k.len() == field.len() && k.first() == field.first() && k == field => {
                        r.session_key = match value {
                            // Both ends are ASCII quotes: char boundaries.
                            Scalar::Str(s, e) => SessionKey::parse_cow(payload.get(s..e)?.into()),
                            _ => None,
                        };
                    }
                    [b'e', b'x', b'p'] | [b'n', b'b', b'f'] | [b'i', b'a', b't'] => {
                        let (slot, name) = match key[0] {
                            b'e' => (&mut r.exp, "exp"),
                            b'n' => (&mut r.nbf, "nbf"),
                            _ => (&mut r.iat, "iat"),
                        };
                        *slot = match value {
                            Scalar::Uint(n) => Some(n as f64),
                            Scalar::Int => return None,
                            Scalar::Str(..) | Scalar::Bool(_) | Scalar::Null => None,
                        };
                        // The first bad claim stays the one reported.
                        r.bad = r.bad.or(slot.is_none().then_some(name));
                    }
                    [b'i', b's', b's'] | [b'a', b'u', b'd'] => {
                        let v = match value {
                            Scalar::Str(s, e) => Value::String(payload.get(s..e)?.to_owned()),
                            Scalar::Bool(b) => Value::Bool(b),
                            Scalar::Null => Value::Null,
                            Scalar::Uint(_) | Scalar::Int => return None,
                        };
                        *(if key[0] == b'i' {
                            &mut r.iss
                        } else {
                            &mut r.aud
                        }) = Some(Box::new(v));
                    }
                    _ => {}
                }
                at = space(b, end);
                match b.get(at) {
                    Some(b',') => at = space(b, at + 1),
                    Some(b'}') => {
                        at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        (space(b, at) == b.len()).then_some(r)
    }

    /// [`Registered::parse`] for any payload, with serde_json.
    fn parse_any(payload: &str, session_field: &str) -> Result<Self, TokenError> {
        use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

        struct Seed<'f>(&'f str);
        impl<'de> DeserializeSeed<'de> for Seed<'_> {
            type Value = Registered;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Registered, D::Error> {
                d.deserialize_any(self)
            }
        }
        impl<'de> Visitor<'de> for Seed<'_> {
            type Value = Registered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Registered, A::Error> {
                let mut r = Registered::default();
                // Keys borrowed from the payload (serde's own `Cow` would copy
                // each one); JSON keys are always strings.
                while let Some(key) = map.next_key::<MaybeStr<'de>>()? {
                    let Some(key) = key.0 else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    let number = |v: MaybeNumber, name| match v.0 {
                        Some(n) => (Some(n), None),
                        None => (None, Some(name)),
                    };
                    match &*key {
                        k if k == self.0 => {
                            r.session_key = map
                                .next_value::<MaybeStr<'de>>()?
                                .0
                                .and_then(SessionKey::parse_cow);
                        }
                        "exp" => (r.exp, r.bad) = keep(number(map.next_value()?, "exp"), r.bad),
                        "nbf" => (r.nbf, r.bad) = keep(number(map.next_value()?, "nbf"), r.bad),
                        "iat" => (r.iat, r.bad) = keep(number(map.next_value()?, "iat"), r.bad),
                        "iss" => r.iss = Some(Box::new(map.next_value()?)),
                        "aud" => r.aud = Some(Box::new(map.next_value()?)),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(r)
            }
            // Anything but an object is refused below as NotAnObject.
            fn visit_bool<E>(self, _: bool) -> Result<Registered, E> {
                Ok(Registered::not_an_object())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Registered, E> {
                Ok(Registered::not_an_object())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Registered, E> {
                Ok(Registered::not_an_object())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Registered, E> {
                Ok(Registered::not_an_object())
            }
            fn visit_str<E>(self, _: &str) -> Result<Registered, E> {
                Ok(Registered::not_an_object())
            }
            fn visit_unit<E>(self) -> Result<Registered, E> {
                Ok(Registered::not_an_object())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Registered, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Registered::not_an_object())
            }
        }
        /// A string (borrowed from the payload where it has no escapes), or
        /// `None` for a value of any other type.
        struct MaybeStr<'de>(Option<std::borrow::Cow<'de, str>>);
        impl<'de> serde::Deserialize<'de> for MaybeStr<'de> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = MaybeStr<'de>;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("any JSON value")
                    }
                    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                        Ok(MaybeStr(Some(std::borrow::Cow::Borrowed(v))))
                    }
                    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                        Ok(MaybeStr(Some(std::borrow::Cow::Owned(v.to_owned()))))
                    }
                    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                        Ok(MaybeStr(None))
                    }
                    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                        Ok(MaybeStr(None))
                    }
                    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                        Ok(MaybeStr(None))
                    }
                    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                        Ok(MaybeStr(None))
                    }
                    fn visit_unit<E>(self) -> Result<Self::Value, E> {
                        Ok(MaybeStr(None))
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<Self::Value, A::Error> {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        Ok(MaybeStr(None))
                    }
                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<Self::Value, A::Error> {
                        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                        Ok(MaybeStr(None))
                    }
                }
                d.deserialize_any(V)
            }
        }
        /// A number, or `None` for a value of any other type.
        struct MaybeNumber(Option<f64>);
        impl<'de> serde::Deserialize<'de> for MaybeNumber {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = MaybeNumber;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("any JSON value")
                    }
                    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                        Ok(MaybeNumber(Some(v as f64)))
                    }
                    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                        Ok(MaybeNumber(Some(v as f64)))
                    }
                    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                        Ok(MaybeNumber(Some(v)))
                    }
                    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                        Ok(MaybeNumber(None))
                    }
                    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                        Ok(MaybeNumber(None))
                    }
                    fn visit_unit<E>(self) -> Result<Self::Value, E> {
                        Ok(MaybeNumber(None))
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<Self::Value, A::Error> {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        Ok(MaybeNumber(None))
                    }
                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<Self::Value, A::Error> {
                        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                        Ok(MaybeNumber(None))
                    }
                }
                d.deserialize_any(V)
            }
        }
        /// The first bad claim stays the one reported.
        fn keep(
            (value, bad): (Option<f64>, Option<&'static str>),
            earlier: Option<&'static str>,
        ) -> (Option<f64>, Option<&'static str>) {
            (value, earlier.or(bad))
        }

        let mut de = serde_json::Deserializer::from_str(payload);
        let r = Seed(session_field)
            .deserialize(&mut de)
            .and_then(|r| de.end().map(|()| r))
            .map_err(|_| TokenError::Json("payload"))?;
        if r.bad == Some("not an object") {
            return Err(TokenError::NotAnObject("payload"));
        }
        Ok(r)
    }

    fn not_an_object() -> Self {
        Self {
            bad: Some("not an object"),
            ..Self::default()
        }
    }

    fn check_time(&self, now: OffsetDateTime, leeway: u64) -> Result<(), TokenError> {
        let now = now.unix_timestamp() as f64;
        let leeway = leeway as f64;
        if let Some(bad) = self.bad {
            return Err(TokenError::BadClaim(bad));
        }
        if self.exp.is_some_and(|exp| exp + leeway <= now) {
            return Err(TokenError::Expired);
        }
        if self.nbf.is_some_and(|nbf| nbf > now + leeway) {
            return Err(TokenError::NotYetValid);
        }
        if self.iat.is_some_and(|iat| iat > now + leeway) {
            return Err(TokenError::IssuedInFuture);
        }
        Ok(())
    }
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
            fields: Arc::new(fields),
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
    ///
    /// A token whose header is exactly the one a key of the ring issues
    /// skips header parsing (every header check holds for it by
    /// construction); any other header takes the general path, with every
    /// rejection unchanged.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<VerifiedClaims, TokenError> {
        if token.len() > self.settings.max_size {
            return Err(TokenError::TooLarge {
                size: token.len(),
                limit: self.settings.max_size,
            });
        }
        // Three parts: the signature after the last dot, the header before
        // the first, and no dot in the payload between.
        let (h, p, s) = parts(token).ok_or(TokenError::Malformed)?;
        // A dot in the payload (more than three parts) is malformed. Under a
        // header the ring issues it is found by the payload's base64 failing,
        // without a scan of its own.
        let malformed = || p.contains('.');
        let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];

        // The header: recognised by its bytes, or parsed and checked.
        let mut issued = self.keys.by_encoded_header(h).peekable();
        let (alg, kid, header_json) = match issued.peek() {
            Some((_, key)) => (key.algorithm(), None, None),
            None if malformed() => return Err(TokenError::Malformed),
            None => {
                let json = b64(h, "header")?;
                let (alg, kid) = self.check_header(&insecure::parse_object(&json, "header")?)?;
                (alg, kid, Some(json))
            }
        };
        let payload = b64(p, "payload").map_err(|e| {
            if malformed() {
                TokenError::Malformed
            } else {
                e
            }
        })?;
        // HMAC, ECDSA and Ed25519 signatures fit on the stack; RSA's do not.
        let mut small = [std::mem::MaybeUninit::<u8>::uninit(); 96];
        let large;
        let signature: &[u8] = if s.len() <= 128 {
            let out = base64_simd::Out::from_uninit_slice(&mut small);
            &*base64_simd::URL_SAFE_NO_PAD
                .decode(s.as_bytes(), out)
                .map_err(|_| TokenError::Base64("signature"))?
        } else {
            large = b64(s, "signature")?;
            &large
        };

        let verified = match header_json {
            None => issued.find(|(_, k)| k.verify(signing_input, signature)),
            Some(_) => {
                let mut candidates = self.keys.candidates(alg, kid.as_deref()).peekable();
                if candidates.peek().is_none() {
                    return Err(TokenError::UnknownKeyId);
                }
                candidates.find(|(_, k)| k.verify(signing_input, signature))
            }
        };
        let (index, verified_by) = verified.ok_or(TokenError::BadSignature)?;

        let mut registered = Registered::parse(&payload, self.fields.session_field())?;
        self.check_claims(&registered, now)?;
        let session_key = registered
            .session_key
            .take()
            .ok_or(TokenError::MissingSessionKey)?;
        let header_source = match header_json {
            Some(json) => HeaderSource::Json(json.into_boxed_slice()),
            None => HeaderSource::Issued,
        };
        Ok(VerifiedClaims {
            header_source,
            header: OnceLock::new(),
            payload,
            claims: OnceLock::new(),
            fields: self.fields.clone(),
            session_key,
            registered,
            current_key: self.keys.is_current(index),
            algorithm: alg,
            verified_by: verified_by.clone(),
        })
    }

    /// The general header checks: `alg` (present, not `none`, of the ring's
    /// family, allowed), no `crit`, `typ` JWT if present, `kid` a string.
    fn check_header(
        &self,
        header: &Map<String, Value>,
    ) -> Result<(Algorithm, Option<String>), TokenError> {
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
        Ok((alg, kid))
    }

    fn check_claims(&self, claims: &Registered, now: OffsetDateTime) -> Result<(), TokenError> {
        claims.check_time(now, self.settings.leeway)?;
        if let Some(iss) = &self.settings.issuer
            && claims.iss.as_deref().and_then(Value::as_str) != Some(iss)
        {
            return Err(TokenError::WrongIssuer);
        }
        if let Some(aud) = &self.settings.audience {
            let ok = match claims.aud.as_deref() {
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

/// A compact JWS's parts: the header before the first dot, the signature
/// after the last, and the payload between (which the caller refuses if it
/// holds a dot). `None` for fewer than two dots. The dots are found eight
/// bytes at a time, from each end: the header and the signature are short,
/// and the payload is not searched.
fn parts(token: &str) -> Option<(&str, &str, &str)> {
    let dots = |word| swar::equal(word, b'.');
    let b = token.as_bytes();
    let first = swar::find(b, 0, dots, |c| c == b'.')?;
    let mut end = b.len();
    let last = loop {
        if end < first + 8 {
            // `first` is a dot: found at the latest there.
            break first + b[first..end].iter().rposition(|&c| c == b'.')?;
        }
        let bytes = &b[end - 8..end];
        if dots(swar::word(bytes)) != 0 {
            // A flag above the lowest may be wrong: the word's last dot by
            // its bytes.
            break end - 8 + bytes.iter().rposition(|&c| c == b'.')?;
        }
        end -= 8;
    };
    (last > first).then(|| (&token[..first], &token[first + 1..last], &token[last + 1..]))
}

/// Searching bytes eight at a time, in a `u64` (SWAR): the token's dots and
/// the ends of the payload's strings.
mod swar {
    /// `0x01` in every byte.
    pub(super) const ONES: u64 = u64::from_ne_bytes([1; 8]);

    /// Eight bytes as a little-endian word: the first byte lowest.
    #[inline(always)]
    pub(super) fn word(bytes: &[u8]) -> u64 {
        u64::from_le_bytes(bytes.try_into().unwrap_or_default())
    }

    /// The bytes of `word` equal to `byte`, each flagged by its top bit. A
    /// flag can be wrong only above a right one (a borrow runs upwards):
    /// the lowest flag is always right, and a word without flags has no
    /// such byte.
    #[inline(always)]
    pub(super) fn equal(word: u64, byte: u8) -> u64 {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & (ONES << 7)
    }

    /// The first index from `at` of a byte that `flags` flags (by its top
    /// bit, in a word as [`word`] makes it; the lowest flag must be right)
    /// and `is` holds for: eight bytes at a time while eight remain, then
    /// the rest one at a time.
    #[inline(always)]
    pub(super) fn find(
        b: &[u8],
        mut at: usize,
        flags: impl Fn(u64) -> u64,
        is: impl Fn(u8) -> bool,
    ) -> Option<usize> {
        loop {
            let Some(bytes) = b.get(at..at + 8) else {
                let tail = b.get(at..)?;
                return Some(at + tail.iter().position(|&c| is(c))?);
            };
            let found = flags(word(bytes));
            if found != 0 {
                return Some(at + (found.trailing_zeros() / 8) as usize);
            }
            at += 8;
        }
    }
}

/// Unpadded base64url (RFC 7515), SIMD-accelerated; padding and any
/// character outside the alphabet are refused.
fn b64(part: &str, what: &'static str) -> Result<Vec<u8>, TokenError> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(part)
        .map_err(|_| TokenError::Base64(what))
}

/// Signs a payload with `key`: header `{"alg", "kid"?, "typ": "JWT"}`.
pub(crate) fn sign<T: Serialize>(key: &Key, payload: &T) -> Result<String, TokenError> {
    let payload = serde_json::to_vec(payload).map_err(|e| TokenError::Signing(e.to_string()))?;
    let header = key.encoded_header();
    let mut out = String::with_capacity(header.len() + payload.len() * 4 / 3 + 100);
    out.push_str(header);
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
        // Under a header the ring issues (recognised by its bytes, so the
        // extra dot is found by the payload's base64), and signed over all.
        let key = hmac();
        let header = key.encoded_header().to_owned();
        let payload = b64(&claims(json!({})));
        for input in [
            format!("{header}.{payload}.x"),
            format!("{header}.x.{payload}"),
            format!("{header}.{payload}."),
        ] {
            let sig = b64(&key.sign(input.as_bytes()).unwrap());
            let t = format!("{input}.{sig}");
            assert_eq!(err(&t), TokenError::Malformed, "{t:?}");
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

    /// JSON is UTF-8, also in a string nobody reads: else the verified
    /// token's claim map could not be parsed.
    #[test]
    fn payload_not_utf8() {
        let mut payload = claims(json!({"x": "QQ"}));
        let at = payload.windows(2).position(|w| w == b"QQ").unwrap();
        payload[at] = 0xff;
        let t = forge(&hmac(), hs256(), &payload);
        assert_eq!(err(&t), TokenError::Json("payload"));
        payload[at] = b'Q';
        let v = codec()
            .verify(&forge(&hmac(), hs256(), &payload), NOW)
            .unwrap();
        assert_eq!(v.get("x"), Some(&json!("QQ")));
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

/// [`parts`] against the standard library's splits.
#[cfg(test)]
mod parts {
    use proptest::prelude::*;

    fn by_std(token: &str) -> Option<(&str, &str, &str)> {
        let (input, s) = token.rsplit_once('.')?;
        let (h, p) = input.split_once('.')?;
        Some((h, p, s))
    }

    #[test]
    fn dots_anywhere_in_any_word() {
        for len in 0..40 {
            for i in 0..len {
                for j in i..len {
                    let mut t: Vec<char> = "aé".chars().cycle().take(len).collect();
                    t[i] = '.';
                    t[j] = '.';
                    let t: String = t.into_iter().collect();
                    assert_eq!(super::parts(&t), by_std(&t), "{t:?}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn splits_as_std_does(token in "[a.é]{0,80}") {
            prop_assert_eq!(super::parts(&token), by_std(&token));
        }
    }
}

/// The payload scanner ([`Registered::scan`]) against serde_json
/// ([`Registered::parse_any`]).
#[cfg(test)]
mod scan {
    use proptest::prelude::*;

    use super::Registered;
    use crate::SessionKey;

    const SK: &str = "abcdefgh12345678";

    fn parts(r: &Registered) -> impl PartialEq + std::fmt::Debug + '_ {
        (
            r.session_key.as_ref().map(SessionKey::expose),
            (r.exp, r.nbf, r.iat, r.bad),
            (&r.iss, &r.aud),
        )
    }

    /// What the scanner accepts reads as serde_json reads it, whatever the
    /// session field is called (a registered claim's name, an empty one, one
    /// sharing a first byte with others).
    fn agrees(payload: &[u8]) -> bool {
        // Not UTF-8: refused by `Registered::parse` before either reads it.
        let Ok(payload) = std::str::from_utf8(payload) else {
            return false;
        };
        let mut scanned = false;
        for field in ["sk", "s", "exp", "iss", "", "é"] {
            let Some(fast) = Registered::scan(payload, field) else {
                continue;
            };
            let slow = Registered::parse_any(payload, field).unwrap_or_else(|e| {
                panic!("scanned, but serde_json refuses it ({e}): {payload:?}")
            });
            assert_eq!(parts(&fast), parts(&slow), "{field:?}: {payload}");
            scanned = true;
        }
        scanned
    }

    #[test]
    fn the_tokens_payloads_are_scanned() {
        for payload in [
            // This crate's, as serde_json writes it.
            format!(
                r#"{{"e":"john@domain.com","exp":1764700000,"foo":"bar","iat":1764671200,"id":1,"sk":"{SK}","t":"core","u":"john"}}"#
            ),
            // PyJWT's (django-session-jwt), jose's and golang-jwt's.
            format!(
                r#"{{"sk": "{SK}", "iat": 1764671200, "exp": 1764700000, "admin": false, "x": null}}"#
            ),
            format!(
                "{{\n  \"sk\" : \"{SK}\",\t\"exp\":1764700000, \"iss\": \"a\", \"aud\": \"b\", \"n\": -5 }}\n"
            ),
            "{}".to_owned(),
        ] {
            assert!(agrees(payload.as_bytes()), "not scanned: {payload}");
        }
        let r = Registered::scan(
            r#"{"sk":"abcdefgh12345678","exp":"soon","nbf":1,"iat":true}"#,
            "sk",
        )
        .expect("scanned");
        assert_eq!(
            (r.exp, r.nbf, r.iat, r.bad),
            (None, Some(1.0), None, Some("exp"))
        );
    }

    #[test]
    fn the_rest_goes_to_serde_json() {
        for payload in [
            r#"{"sk":"abcdefgh12345678","\u0065xp":1}"#,
            r#"{"sk":"abcdefgh1234567\u0038"}"#,
            r#"{"exp":1.5}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":1e9}"#,
            r#"{"exp":1234567890123456}"#,
            r#"{"iss":1}"#,
            r#"{"aud":["a","b"]}"#,
            r#"{"x":{"y":1}}"#,
            r#"{"x":01}"#,
            "{\"x\":\"\u{1}\"}",
            r#"{"x":1,}"#,
            r#"{"x":1} x"#,
            r#"{"x":1"#,
            r#"{"x" 1}"#,
            r#"{,}"#,
            "[1]",
            "\"sk\"",
            "",
            "{\"x\":tru}",
        ] {
            assert!(Registered::scan(payload, "sk").is_none(), "{payload}");
        }
    }

    /// The scanner reads strings eight bytes at a time: a string ends at its
    /// first `"`, and one with a `\\` or a control character goes to
    /// serde_json, wherever in a word it is; the bytes next to those (space,
    /// `!`, `#`, `[`, `]`, DEL, non-ASCII, continuation bytes 0x80 to 0x9f
    /// included) are plain characters.
    #[test]
    fn strings_end_at_their_first_stop_in_any_word() {
        for filler in [
            " ", "!", "#", "[", "]", "\u{7f}", "é", "\u{80}", "\u{9f}", "€", "a",
        ] {
            for len in 0..26 {
                let text = filler.repeat(len);
                let plain = format!(r#"{{"x":"{text}","sk":"{SK}"}}"#);
                assert!(agrees(plain.as_bytes()), "not scanned: {plain:?}");
                let r = Registered::scan(&plain, "sk").expect("scanned");
                assert_eq!(r.session_key.as_ref().map(SessionKey::expose), Some(SK));
                for stop in ["\\n", "\u{0}", "\u{1f}", "\n"] {
                    let bad = format!(r#"{{"x":"{text}{stop}{text}","sk":"{SK}"}}"#);
                    assert!(Registered::scan(&bad, "sk").is_none(), "{bad:?}");
                }
            }
        }
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("sk"),
            Just("exp"),
            Just("nbf"),
            Just("iat"),
            Just("iss"),
            Just("aud"),
            Just("u"),
            Just("é"),
            Just(""),
            Just("\\u0065xp"),
            Just("s\"k"),
        ]
        .prop_map(|k| format!("\"{k}\""))
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            2 => Just(format!("\"{SK}\"")),
            // Across the scanner's eight-byte words.
            1 => "[ -~é\u{1}\u{1f}\u{7f}]{0,24}".prop_map(|s| format!("\"{s}\"")),
            1 => any::<i64>().prop_map(|n| n.to_string()),
            1 => any::<u64>().prop_map(|n| n.to_string()),
            2 => (0u64..2_000_000_000).prop_map(|n| n.to_string()),
            1 => any::<f64>().prop_map(|n| n.to_string()),
            // Around the scanner's 15 digits, and valid escapes.
            1 => (99_999_999_999_990u64..100_000_000_000_010).prop_map(|n| n.to_string()),
            1 => Just(r#""a\"b\\""#.to_owned()),
            3 => prop_oneof![
                Just("-0"),
                Just("0"),
                Just("01"),
                Just("1e3"),
                Just("1.5"),
                Just("-"),
                Just("true"),
                Just("false"),
                Just("null"),
                Just("nul"),
                Just("[1,2]"),
                Just("{\"a\":1}"),
                Just("[]"),
            ]
            .prop_map(str::to_owned),
        ]
    }

    fn space() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            8 => Just(""),
            2 => Just(" "),
            1 => Just("\n\t\r "),
            1 => Just("\u{a0}"),
        ]
    }

    fn object() -> impl Strategy<Value = String> {
        (
            prop::collection::vec((space(), key(), space(), value(), space()), 0..6),
            space(),
            prop_oneof![8 => Just(""), 1 => Just(","), 1 => Just("}"), 1 => Just("x")],
        )
            .prop_map(|(members, end, tail)| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(a, k, b, v, c)| format!("{a}{k}{b}:{v}{c}"))
                    .collect();
                format!("{{{}}}{end}{tail}", members.join(","))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn scanned_payloads_read_as_serde_json_reads_them(payload in object()) {
            agrees(payload.as_bytes());
        }

        #[test]
        fn mutated_payloads_too(
            payload in object(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            how in 0..3,
        ) {
            let mut bytes = payload.into_bytes();
            let i = at.index(bytes.len());
            match how {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => {
                    bytes.remove(i);
                }
            }
            agrees(&bytes);
        }
    }
}

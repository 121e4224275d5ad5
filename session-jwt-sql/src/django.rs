//! Django's formats: `django.core.signing` as the database session backend
//! uses it for `session_data`, the session dict of `django.contrib.auth`, and
//! `AbstractBaseUser.get_session_auth_hash`.
//!
//! Everything here follows Django's source (`django/core/signing.py`,
//! `django/contrib/sessions/backends/base.py`, `django/utils/crypto.py`,
//! `django/contrib/auth/base_user.py`), and the tests check it against
//! values Django itself produced.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use session_jwt_core::Secret;
use session_jwt_core::session::USER_ID;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// Django's item naming the authentication backend that logged the user in
/// (`django.contrib.auth.BACKEND_SESSION_KEY`).
pub const BACKEND_ITEM: &str = "_auth_user_backend";

/// Django's default authentication backend, written as
/// [`BACKEND_ITEM`] for a user logged in on the Rust side.
pub const MODEL_BACKEND: &str = "django.contrib.auth.backends.ModelBackend";

/// The salt of `session_data` with Django's own session engines (`db`,
/// `cached_db`): `"django.contrib.sessions." + SessionStore.__qualname__`.
pub const SESSION_SALT: &str = "django.contrib.sessions.SessionStore";

/// The item in which django-session-jwt's middleware keeps a copy of the
/// request's verified token claims. It rewrites it on every request, so it is
/// no session data: it is dropped when a session is read.
pub const JWT_ITEM: &str = "jwt";

/// The key salt of `AbstractBaseUser.get_session_auth_hash`.
const AUTH_HASH_SALT: &str = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";

/// The largest decompressed `session_data` accepted (Django sets no limit;
/// the data is signed, so only a Django app with the secret could write more).
const MAX_DECOMPRESSED: u64 = 16 * 1024 * 1024;

/// What the Rust side must share with the Django app to read and write its
/// `django_session` table: `SECRET_KEY` (and `SECRET_KEY_FALLBACKS`), the
/// session engine's salt, and the authentication backend to record for the
/// users it logs in. See `docs/django-mode.md`.
///
/// ```
/// use session_jwt_sql::DjangoSettings;
/// let django = DjangoSettings::new("the Django app's SECRET_KEY")
///     .with_secret_key_fallbacks(["the previous SECRET_KEY"]);
/// # drop(django);
/// ```
#[derive(Clone)]
#[must_use]
pub struct DjangoSettings {
    pub(crate) secret: Arc<Secret>,
    pub(crate) fallbacks: Vec<Arc<Secret>>,
    pub(crate) salt: String,
    pub(crate) backend: String,
}

impl fmt::Debug for DjangoSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DjangoSettings")
            .field("secret", &"[REDACTED]")
            .field("fallbacks", &self.fallbacks.len())
            .field("salt", &self.salt)
            .field("backend", &self.backend)
            .finish()
    }
}

impl DjangoSettings {
    /// Django's `SECRET_KEY` (as text, exactly as in `settings.py`).
    pub fn new(secret_key: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: Arc::new(Secret::new(secret_key)),
            fallbacks: Vec::new(),
            salt: SESSION_SALT.to_owned(),
            backend: MODEL_BACKEND.to_owned(),
        }
    }

    /// Django's `SECRET_KEY_FALLBACKS`: `session_data` signed with one of
    /// them is still read (and re-signed with `SECRET_KEY` when written).
    pub fn with_secret_key_fallbacks<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<Vec<u8>>,
    {
        self.fallbacks = keys.into_iter().map(|k| Arc::new(Secret::new(k))).collect();
        self
    }

    /// The `session_data` salt of a custom session engine:
    /// `"django.contrib.sessions." + SessionStore.__qualname__`. Default:
    /// [`SESSION_SALT`], which is that of Django's `db` and `cached_db`
    /// engines.
    pub fn with_salt(mut self, salt: impl Into<String>) -> Self {
        self.salt = salt.into();
        self
    }

    /// The authentication backend recorded for users logged in on the Rust
    /// side (Django refuses a session whose backend is not in its
    /// `AUTHENTICATION_BACKENDS`). Default: [`MODEL_BACKEND`].
    pub fn with_auth_backend(mut self, backend: impl Into<String>) -> Self {
        self.backend = backend.into();
        self
    }

    /// `session_data` for `items`, signed at `now`: Django's
    /// `signing.dumps(items, salt=..., compress=True)`, with
    /// [`BACKEND_ITEM`] added for a logged-in user.
    pub(crate) fn encode(&self, items: &Map<String, Value>, now: OffsetDateTime) -> String {
        let extra = items.contains_key(USER_ID) && !items.contains_key(BACKEND_ITEM);
        let data = if extra {
            let mut with_backend = items.clone();
            with_backend.insert(BACKEND_ITEM.to_owned(), self.backend.clone().into());
            ascii_json(&with_backend)
        } else {
            ascii_json(items)
        };
        dumps(&data, &self.salt, self.secret.expose(), now)
    }

    /// The items of `session_data`, or why they cannot be read (a bad
    /// signature: another secret, or tampering). [`BACKEND_ITEM`] and
    /// [`JWT_ITEM`] are dropped: they are no session items of the Rust side.
    pub(crate) fn decode(&self, session_data: &str) -> Result<Map<String, Value>, DecodeError> {
        let keys = std::iter::once(&self.secret).chain(&self.fallbacks);
        let mut items = loads(session_data, &self.salt, keys.map(|k| k.expose()))?;
        items.remove(BACKEND_ITEM);
        items.remove(JWT_ITEM);
        Ok(items)
    }
}

/// Why `session_data` could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    /// No `:`-separated signature, or one that no key verifies.
    #[error("bad signature (another SECRET_KEY, or tampered data)")]
    BadSignature,
    /// Signed, but not base64, zlib or a JSON object.
    #[error("signed, but not a session: {0}")]
    Malformed(&'static str),
}

/// Django's `salted_hmac(key_salt, value, secret, algorithm="sha256")`.
fn salted_hmac(key_salt: &str, value: &[u8], secret: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(key_salt.as_bytes());
    hasher.update(secret);
    let key = hasher.finalize();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(value);
    mac.finalize().into_bytes().into()
}

/// Django's `AbstractBaseUser.get_session_auth_hash()`: HMAC-SHA256 of the
/// user's password hash (the `password` column of `auth_user`, as stored)
/// under `SECRET_KEY`, in hex. Django stores it in the session as
/// `_auth_user_hash` and logs the session out when it no longer matches (the
/// password changed); an [`AuthUser`](session_jwt_core::AuthUser) returning
/// it from `session_auth_hash()` makes the Rust side agree with Django.
///
/// ```
/// let hash = session_jwt_sql::django_session_auth_hash(
///     b"django-insecure-test-key",
///     "pbkdf2_sha256$1000000$abcdefghijklmnopqrstuv$hash",
/// );
/// assert_eq!(hash, "3e9b47df7b14418d981600c1e5ac117052b03af001a31156cc92ad128101d9d5");
/// ```
#[must_use]
pub fn django_session_auth_hash(secret_key: &[u8], password_hash: &str) -> String {
    salted_hmac(AUTH_HASH_SALT, password_hash.as_bytes(), secret_key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `Signer.signature`: base64url (unpadded) of the salted HMAC.
fn signature(value: &str, salt: &str, secret: &[u8]) -> String {
    let key_salt = format!("{salt}signer");
    URL_SAFE_NO_PAD.encode(salted_hmac(&key_salt, value.as_bytes(), secret))
}

/// Django's `b62_encode` (the `TimestampSigner`'s timestamp).
fn b62(mut n: i64) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".to_owned();
    }
    let negative = n < 0;
    let mut digits = Vec::new();
    while n != 0 {
        let d = (n % 62).unsigned_abs();
        digits.push(ALPHABET[usize::try_from(d).unwrap_or(0)]);
        n /= 62;
    }
    if negative {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).expect("the alphabet is ASCII")
}

/// `signing.dumps(obj, salt=salt, compress=True)` of the JSON `data`
/// (already serialized as Django's `JSONSerializer` does).
fn dumps(data: &str, salt: &str, secret: &[u8], now: OffsetDateTime) -> String {
    let raw = data.as_bytes();
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let compressed = encoder
        .write_all(raw)
        .and_then(|()| encoder.finish())
        .expect("compressing into memory does not fail");
    // Django compresses only when that saves more than one byte.
    let mut value = if compressed.len() + 1 < raw.len() {
        format!(".{}", URL_SAFE_NO_PAD.encode(compressed))
    } else {
        URL_SAFE_NO_PAD.encode(raw)
    };
    value.push(':');
    value.push_str(&b62(now.unix_timestamp()));
    let sig = signature(&value, salt, secret);
    value.push(':');
    value.push_str(&sig);
    value
}

/// `signing.loads(s, salt=salt)`, trying each key, without `max_age` (as
/// Django's session backends): the session's dict.
fn loads<'a>(
    signed: &str,
    salt: &str,
    keys: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Map<String, Value>, DecodeError> {
    let (value, sig) = signed.rsplit_once(':').ok_or(DecodeError::BadSignature)?;
    let verified = keys.into_iter().any(|key| {
        // Constant time, over the whole signature (Django's
        // constant_time_compare).
        bool::from(signature(value, salt, key).as_bytes().ct_eq(sig.as_bytes()))
    });
    if !verified {
        return Err(DecodeError::BadSignature);
    }
    let (payload, _timestamp) = value
        .rsplit_once(':')
        .ok_or(DecodeError::Malformed("no timestamp"))?;
    let (compressed, b64) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    // Django pads and decodes with urlsafe_b64decode, which also accepts
    // padding that is present.
    let mut data = URL_SAFE_NO_PAD
        .decode(b64.trim_end_matches('='))
        .map_err(|_| DecodeError::Malformed("not base64url"))?;
    if compressed {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data.as_slice())
            .take(MAX_DECOMPRESSED + 1)
            .read_to_end(&mut out)
            .map_err(|_| DecodeError::Malformed("not zlib data"))?;
        if out.len() as u64 > MAX_DECOMPRESSED {
            return Err(DecodeError::Malformed("over 16 MiB decompressed"));
        }
        data = out;
    }
    // Django's JSONSerializer decodes latin-1 (its own output is ASCII).
    let parsed = match serde_json::from_slice::<Value>(&data) {
        Ok(v) => v,
        Err(_) => {
            let text: String = data.iter().map(|&b| char::from(b)).collect();
            serde_json::from_str(&text).map_err(|_| DecodeError::Malformed("not JSON"))?
        }
    };
    match parsed {
        Value::Object(items) => Ok(items),
        _ => Err(DecodeError::Malformed("not a JSON object")),
    }
}

/// JSON as Django's `JSONSerializer` writes it: compact (`,` and `:`), and
/// ASCII only (`ensure_ascii`: other characters as `\uXXXX`, with surrogate
/// pairs), since Django reads it back as latin-1.
fn ascii_json(items: &Map<String, Value>) -> String {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, AsciiFormatter);
    serde::Serialize::serialize(items, &mut ser).expect("a JSON map serializes");
    String::from_utf8(out).expect("ASCII")
}

struct AsciiFormatter;

impl serde_json::ser::Formatter for AsciiFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const SECRET: &str = "django-insecure-test-key";
    /// Signed by Django 5.2 at 2026-01-01 00:00 UTC (`time.time` mocked):
    /// `signing.dumps(d, salt="django.contrib.sessions.SessionStore",
    /// compress=True)`.
    const DJANGO_COMPRESSED: &str = ".eJxVjLEOwyAMRH8FeY6QsmbM3q07MmDVNAgibLJE_fcSKUM73rt3d4LDruy6UHMpwgIzTL_MY9ioXEV8Y3lVG2rRlry9FHu3Yh81Ul5v9--AUXis0YfBlURHeHISc2DuZIRrz9F4MnsjoaLw-QJdBjSt:1vb66i:c4OThIIt-n3c3aKZ44vi_Cjuu9y3IIPie7MFZFgdqQ0";
    /// The same dict signed with SECRET_KEY "other".
    const DJANGO_OTHER_KEY: &str = ".eJxVjLEOwyAMRH8FeY6QsmbM3q07MmDVNAgibLJE_fcSKUM73rt3d4LDruy6UHMpwgIzTL_MY9ioXEV8Y3lVG2rRlry9FHu3Yh81Ul5v9--AUXis0YfBlURHeHISc2DuZIRrz9F4MnsjoaLw-QJdBjSt:1vb66i:TUa09HXFnS9KMTYm8RzVMAV20dMmgrCU913vM0dbTvs";
    /// `{"a": "é ü 😀"}`, too short to compress.
    const DJANGO_PLAIN: &str = "eyJhIjoiXHUwMGU5IFx1MDBmYyBcdWQ4M2RcdWRlMDAifQ:1vb66i:mwKisicVXXIpjSbkw126UNuiwIzjpJywPlSu4QqCVaA";
    const AT: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn settings() -> DjangoSettings {
        DjangoSettings::new(SECRET)
    }

    #[test]
    fn reads_what_django_signed() {
        let items = settings().decode(DJANGO_COMPRESSED).unwrap();
        assert_eq!(
            Value::Object(items),
            json!({
                "_auth_user_id": "1",
                "_auth_user_hash": "abc",
                "test": "This value should be present",
            }),
            "the backend item is dropped"
        );
        let items = settings().decode(DJANGO_PLAIN).unwrap();
        assert_eq!(Value::Object(items), json!({"a": "é ü 😀"}));
    }

    #[test]
    fn writes_what_django_signs() {
        // Uncompressed output is byte for byte Django's (compressed output
        // depends on the zlib implementation; Django reads either).
        let items = json!({"a": "é ü 😀"});
        let s = settings().encode(items.as_object().unwrap(), AT);
        assert_eq!(s, DJANGO_PLAIN);
    }

    #[test]
    fn another_key_or_tampering_is_a_bad_signature() {
        assert!(matches!(
            settings().decode(DJANGO_OTHER_KEY),
            Err(DecodeError::BadSignature)
        ));
        let tampered = DJANGO_PLAIN.replacen("eyJ", "eyK", 1);
        assert!(matches!(
            settings().decode(&tampered),
            Err(DecodeError::BadSignature)
        ));
        for junk in ["", "x", ":", "a:b:c", "no signature at all"] {
            assert!(settings().decode(junk).is_err(), "{junk:?}");
        }
        // A fallback key reads it.
        let with_fallback = settings().with_secret_key_fallbacks(["other"]);
        assert!(with_fallback.decode(DJANGO_OTHER_KEY).is_ok());
    }

    #[test]
    fn signed_garbage_is_malformed() {
        let s = settings();
        for data in ["not json", "[1,2]", "\"x\""] {
            let signed = dumps(data, SESSION_SALT, SECRET.as_bytes(), AT);
            assert!(
                matches!(s.decode(&signed), Err(DecodeError::Malformed(_))),
                "{data}"
            );
        }
    }

    #[test]
    fn round_trip_adds_the_backend_for_a_user_and_compresses() {
        let s = settings();
        let mut items = Map::new();
        items.insert(USER_ID.into(), "7".into());
        items.insert("long".into(), "x".repeat(500).into());
        items.insert(JWT_ITEM.into(), json!({"u": "john"}));
        let signed = s.encode(&items, AT);
        assert!(signed.starts_with('.'), "compressed: {signed}");
        let raw = loads(&signed, SESSION_SALT, [SECRET.as_bytes()]).unwrap();
        assert_eq!(raw[BACKEND_ITEM], MODEL_BACKEND);
        let back = s.decode(&signed).unwrap();
        items.remove(JWT_ITEM);
        assert_eq!(back, items);
    }

    #[test]
    fn auth_hash_is_djangos() {
        // salted_hmac("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
        //   password, secret=SECRET_KEY, algorithm="sha256").hexdigest(), by Django 5.2.
        assert_eq!(
            django_session_auth_hash(
                SECRET.as_bytes(),
                "pbkdf2_sha256$1000000$abcdefghijklmnopqrstuv$hash"
            ),
            "3e9b47df7b14418d981600c1e5ac117052b03af001a31156cc92ad128101d9d5"
        );
    }

    #[test]
    fn base62_timestamps() {
        assert_eq!(b62(0), "0");
        assert_eq!(b62(61), "z");
        assert_eq!(b62(62), "10");
        assert_eq!(b62(1_767_225_600), "1vb66i");
        assert_eq!(b62(-62), "-10");
    }
}

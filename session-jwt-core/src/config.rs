//! Configuration: Django's cookie settings and defaults, the token settings,
//! the key, and the fields; checked once by [`Builder::build`].

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::SessionJwt;
use crate::error::ConfigError;
use crate::fields::{ClaimsProvider, Field, Fields, Provider};
use crate::key::{Algorithm, Key, KeyRing, Secret};
use crate::token::{TokenCodec, TokenSettings};

/// The `SameSite` cookie attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SameSite {
    /// `SameSite=Lax` (Django's default).
    Lax,
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=None` (requires `Secure`).
    None,
}

/// The session cookie, with Django's setting names and defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookieSettings {
    /// `SESSION_COOKIE_NAME`: `sessionid`.
    pub name: String,
    /// `SESSION_COOKIE_AGE`: cookie and server-side lifetime, 1209600 s (two weeks).
    pub age: u64,
    /// `SESSION_COOKIE_DOMAIN`: none (host-only cookie).
    pub domain: Option<String>,
    /// `SESSION_COOKIE_PATH`: `/`.
    pub path: String,
    /// `SESSION_COOKIE_SECURE`: off.
    pub secure: bool,
    /// `SESSION_COOKIE_HTTPONLY`: on.
    pub http_only: bool,
    /// `SESSION_COOKIE_SAMESITE`: `Lax`.
    pub same_site: SameSite,
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`: off.
    pub expire_at_browser_close: bool,
    /// `SESSION_SAVE_EVERY_REQUEST`: off.
    pub save_every_request: bool,
    /// A response that sets a new session token gets `Cache-Control:
    /// private`, unless the handler set a `Cache-Control` of its own, so that
    /// no shared cache stores one user's cookie for another (Django's
    /// `patch_vary_headers` and cache middleware rules). On; turn it off only
    /// behind caches that never store responses with `Set-Cookie`.
    pub cache_private: bool,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self {
            name: "sessionid".into(),
            age: 1_209_600,
            domain: None,
            path: "/".into(),
            secure: false,
            http_only: true,
            same_site: SameSite::Lax,
            expire_at_browser_close: false,
            save_every_request: false,
            cache_private: true,
        }
    }
}

/// Limits on what one visitor can make the server store or compute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// The largest session, as the JSON of its items, in bytes: 65536. A
    /// save over it is refused with a logged error, and the stored session
    /// stays as it was.
    pub max_record_size: usize,
    /// How many cookies of the session cookie's name a request may carry:
    /// 3. A request with more is anonymous, and none of them is verified;
    /// no request costs more signature checks than this.
    pub max_session_cookies: usize,
    /// The verified-token cache, in bytes: 4 MiB; `0` turns it off. A
    /// cookie string verified once is not verified again (its `exp`/`nbf`
    /// are checked on every hit; the session is still loaded from the store).
    pub token_cache_bytes: usize,
    /// The most tokens the cache holds: 10000; `0` turns it off.
    pub token_cache_entries: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_record_size: 64 * 1024,
            max_session_cookies: 3,
            token_cache_bytes: 4 * 1024 * 1024,
            token_cache_entries: 10_000,
        }
    }
}

impl LimitSettings {
    fn check(&self) -> Result<(), ConfigError> {
        if self.max_record_size < 1024 {
            return Err(ConfigError::invalid(
                "limits.max_record_size",
                "must be at least 1024 bytes",
            ));
        }
        if !(1..=16).contains(&self.max_session_cookies) {
            return Err(ConfigError::invalid(
                "limits.max_session_cookies",
                "must be from 1 to 16",
            ));
        }
        Ok(())
    }
}

impl CookieSettings {
    fn check(&self) -> Result<(), ConfigError> {
        let token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if self.name.is_empty() || !self.name.chars().all(token_char) {
            return Err(ConfigError::invalid(
                "cookie.name",
                format!("{:?} is not a valid cookie name", self.name),
            ));
        }
        if self.age == 0 || self.age > crate::MAX_LIFETIME_SECS {
            return Err(ConfigError::invalid(
                "cookie.age",
                "must be a positive number of seconds, at most 100 years",
            ));
        }
        if !self.path.starts_with('/') || self.path.contains(';') {
            return Err(ConfigError::invalid(
                "cookie.path",
                "must start with / and contain no ;",
            ));
        }
        if self
            .domain
            .as_deref()
            .is_some_and(|d| d.is_empty() || d.contains([';', ' ', ',']))
        {
            return Err(ConfigError::invalid("cookie.domain", "not a valid domain"));
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(ConfigError::invalid(
                "cookie.same_site",
                "SameSite=None requires cookie.secure (browsers reject it otherwise)",
            ));
        }
        Ok(())
    }
}

/// Where the key comes from, for configuration files. `Debug` never shows
/// the secret.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeySettings {
    /// An HMAC secret as text.
    pub secret: Option<String>,
    /// Path of a PEM private key.
    pub private_key: Option<PathBuf>,
    /// Path of the matching PEM public key (checked against the private key).
    pub public_key: Option<PathBuf>,
    /// Overrides the algorithm chosen from the key.
    pub algorithm: Option<Algorithm>,
    /// The signing key's `kid` (default: none for HMAC, the RFC 7638
    /// thumbprint for asymmetric keys).
    pub kid: Option<String>,
    /// Paths of PEM public keys that verify but never sign: older keys
    /// during a rotation.
    pub verification_keys: Vec<PathBuf>,
    /// Path of a JWK Set of public keys that verify (a verify-only service).
    pub jwks: Option<PathBuf>,
}

impl std::fmt::Debug for KeySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySettings")
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("private_key", &self.private_key)
            .field("public_key", &self.public_key)
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("verification_keys", &self.verification_keys)
            .field("jwks", &self.jwks)
            .finish()
    }
}

impl KeySettings {
    /// Builds the key ring: reads key files now (configuration time).
    pub fn key_ring(&self) -> Result<KeyRing, ConfigError> {
        let at = |setting: &'static str| move |e: ConfigError| e.for_setting(setting);
        let signing = match (&self.secret, &self.private_key) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    "key.secret",
                    "give key.secret or key.private_key, not both",
                ));
            }
            (Some(secret), None) => {
                Some(Key::hmac(Secret::from(secret.as_str())).map_err(at("key.secret"))?)
            }
            (None, Some(path)) => {
                let private = crate::key::read_file(path).map_err(at("key.private_key"))?;
                let key = match &self.public_key {
                    Some(p) => {
                        let public = crate::key::read_file(p).map_err(at("key.public_key"))?;
                        Key::from_pem_pair(&private, &public).map_err(|e| match e.setting() {
                            "public_key" => e.for_setting("key.public_key"),
                            _ => e.for_setting("key.private_key"),
                        })?
                    }
                    None => Key::from_pem(&private).map_err(at("key.private_key"))?,
                };
                if !key.can_sign() {
                    return Err(ConfigError::key(
                        "key.private_key",
                        "this is a public key; a private key is needed to sign",
                    ));
                }
                Some(key)
            }
            (None, None) => None,
        };
        let signing = match signing {
            Some(k) => {
                let k = match self.algorithm {
                    Some(alg) => k.with_algorithm(alg).map_err(at("key.algorithm"))?,
                    None => k,
                };
                Some(match &self.kid {
                    Some(kid) => k.with_kid(Some(kid.clone())),
                    None => k,
                })
            }
            None => None,
        };
        let mut extra = Vec::new();
        for path in &self.verification_keys {
            let key = Key::from_pem_file(path).map_err(at("key.verification_keys"))?;
            extra.push(match self.algorithm {
                Some(alg) if key.algorithm().is_hmac() == alg.is_hmac() => {
                    key.with_algorithm(alg).map_err(at("key.algorithm"))?
                }
                _ => key,
            });
        }
        if let Some(path) = &self.jwks {
            let ring = KeyRing::from_jwks(crate::key::read_file(path).map_err(at("key.jwks"))?)?;
            extra.extend(ring.keys().cloned());
        }
        let mut ring = match signing {
            Some(k) => KeyRing::new(k)?,
            None => {
                let mut keys = extra.drain(..1.min(extra.len()));
                let first = keys.next().ok_or_else(|| {
                    ConfigError::invalid(
                        "key",
                        "no key configured: set key.secret, key.private_key or key.jwks",
                    )
                })?;
                drop(keys);
                KeyRing::verify_only([first])?
            }
        };
        for k in extra {
            ring = ring.with_verification_key(k)?;
        }
        Ok(ring)
    }
}

/// Every setting, as one `serde::Deserialize` value: load it from a file
/// (TOML, JSON) or Rocket's Figment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The session cookie.
    pub cookie: CookieSettings,
    /// The token.
    pub jwt: TokenSettings,
    /// The key.
    pub key: KeySettings,
    /// The user fields in the token.
    pub fields: Vec<Field>,
    /// The claim carrying the session key: `sk`.
    pub session_field: String,
    /// Limits per session and per request.
    pub limits: LimitSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cookie: CookieSettings::default(),
            jwt: TokenSettings::default(),
            key: KeySettings::default(),
            fields: Vec::new(),
            session_field: "sk".into(),
            limits: LimitSettings::default(),
        }
    }
}

/// Builds a [`SessionJwt`]: `with_*` setters, defaults equal to Django's.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Builder {
    settings: Settings,
    keys: Option<KeyRing>,
    provider: Option<Provider>,
    auth_secret: Option<Secret>,
}

impl Builder {
    /// A builder from loaded settings.
    pub fn from_settings(settings: Settings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// Signs and verifies with `key`.
    pub fn with_key(mut self, key: Key) -> Result<Self, ConfigError> {
        self.keys = Some(KeyRing::new(key)?);
        Ok(self)
    }

    /// Uses a whole key ring (rotation, or verify-only).
    pub fn with_key_ring(mut self, keys: KeyRing) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The cookie name.
    pub fn with_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.settings.cookie.name = name.into();
        self
    }

    /// The cookie and server-side session lifetime, in seconds.
    pub fn with_cookie_age(mut self, seconds: u64) -> Self {
        self.settings.cookie.age = seconds;
        self
    }

    /// The cookie domain.
    pub fn with_cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.settings.cookie.domain = Some(domain.into());
        self
    }

    /// The cookie path.
    pub fn with_cookie_path(mut self, path: impl Into<String>) -> Self {
        self.settings.cookie.path = path.into();
        self
    }

    /// Adds the `Secure` attribute.
    pub fn with_secure(mut self, secure: bool) -> Self {
        self.settings.cookie.secure = secure;
        self
    }

    /// The `HttpOnly` attribute (on by default).
    pub fn with_http_only(mut self, http_only: bool) -> Self {
        self.settings.cookie.http_only = http_only;
        self
    }

    /// The `SameSite` attribute.
    pub fn with_same_site(mut self, same_site: SameSite) -> Self {
        self.settings.cookie.same_site = same_site;
        self
    }

    /// Browser-session cookies (no `Max-Age`/`Expires`).
    pub fn with_expire_at_browser_close(mut self, on: bool) -> Self {
        self.settings.cookie.expire_at_browser_close = on;
        self
    }

    /// Save the session and re-issue the cookie on every request.
    pub fn with_save_every_request(mut self, on: bool) -> Self {
        self.settings.cookie.save_every_request = on;
        self
    }

    /// `Cache-Control: private` on responses that set a new token (on by
    /// default; see [`CookieSettings::cache_private`]).
    pub fn with_cache_private(mut self, on: bool) -> Self {
        self.settings.cookie.cache_private = on;
        self
    }

    /// The largest session, as the JSON of its items (64 KiB by default).
    pub fn with_max_record_size(mut self, bytes: usize) -> Self {
        self.settings.limits.max_record_size = bytes;
        self
    }

    /// The verified-token cache's bounds (4 MiB, 10000 tokens by default);
    /// `(0, 0)` turns it off.
    pub fn with_token_cache(mut self, bytes: usize, entries: usize) -> Self {
        self.settings.limits.token_cache_bytes = bytes;
        self.settings.limits.token_cache_entries = entries;
        self
    }

    /// How many session cookies a request may carry before it is treated as
    /// anonymous without verifying any (3 by default).
    pub fn with_max_session_cookies(mut self, n: usize) -> Self {
        self.settings.limits.max_session_cookies = n;
        self
    }

    /// The token lifetime in seconds; `0` leaves `exp` out.
    pub fn with_token_lifetime(mut self, seconds: u64) -> Self {
        self.settings.jwt.expires = seconds;
        self
    }

    /// Clock skew tolerated on `exp`/`nbf`/`iat`, in seconds.
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.settings.jwt.leeway = seconds;
        self
    }

    /// The `iss` to write and require.
    pub fn with_issuer(mut self, iss: impl Into<String>) -> Self {
        self.settings.jwt.issuer = Some(iss.into());
        self
    }

    /// The `aud` to write and require.
    pub fn with_audience(mut self, aud: impl Into<String>) -> Self {
        self.settings.jwt.audience = Some(aud.into());
        self
    }

    /// The largest token accepted, in bytes.
    pub fn with_max_token_size(mut self, bytes: usize) -> Self {
        self.settings.jwt.max_size = bytes;
        self
    }

    /// The user fields in the token.
    pub fn with_fields<F: Into<Field>>(mut self, fields: impl IntoIterator<Item = F>) -> Self {
        self.settings.fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// The claim that carries the session key (`sk`).
    pub fn with_session_field(mut self, name: impl Into<String>) -> Self {
        self.settings.session_field = name.into();
        self
    }

    /// Extra claims for every token.
    pub fn with_claims_provider(mut self, provider: impl ClaimsProvider) -> Self {
        self.provider = Some(Provider(Some(Arc::new(provider))));
        self
    }

    /// A secret of its own for session auth hashes
    /// ([`SessionJwt::auth_secret`]), so that rotating the signing key does
    /// not log everyone out. Same on every instance; at least 32 bytes.
    pub fn with_auth_secret(mut self, secret: impl Into<Secret>) -> Result<Self, ConfigError> {
        let secret = secret.into();
        if secret.expose().len() < 32 {
            return Err(ConfigError::invalid(
                "auth_secret",
                "must be at least 32 bytes",
            ));
        }
        self.auth_secret = Some(secret);
        Ok(self)
    }

    /// Whether a key is configured (given with [`Builder::with_key`] or
    /// [`Builder::with_key_ring`], or in the settings' `key` table).
    #[must_use]
    pub fn has_key(&self) -> bool {
        let k = &self.settings.key;
        self.keys.is_some() || k.secret.is_some() || k.private_key.is_some() || k.jwks.is_some()
    }

    /// The settings' key with its algorithm and `kid` replaced where given
    /// (`SESSION_JWT_ALG`, `SESSION_JWT_KID` over a file's `[key]`).
    pub(crate) fn with_key_overrides(
        mut self,
        alg: Option<Algorithm>,
        kid: Option<String>,
    ) -> Self {
        if self.keys.is_some() {
            // A key given in code is final: say so rather than guess.
            if alg.is_some() || kid.is_some() {
                tracing::warn!(
                    "SESSION_JWT_ALG / SESSION_JWT_KID ignored: the key was given in code"
                );
            }
            return self;
        }
        if alg.is_some() {
            self.settings.key.algorithm = alg;
        }
        if kid.is_some() {
            self.settings.key.kid = kid;
        }
        self
    }

    /// The settings as they stand.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Checks everything and builds. Key files named in the settings are read
    /// now.
    pub fn build(self) -> Result<SessionJwt, ConfigError> {
        let Settings {
            cookie,
            jwt,
            key,
            fields,
            session_field,
            limits,
        } = self.settings;
        cookie.check()?;
        limits.check()?;
        let keys = match self.keys {
            Some(k) => k,
            None => key.key_ring()?,
        };
        let fields = Fields::new(fields, session_field)?;
        let codec = TokenCodec::new(keys, fields, jwt)?;
        Ok(SessionJwt::new(
            codec,
            cookie,
            limits,
            self.provider.unwrap_or(Provider(None)),
            self.auth_secret,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Key {
        Key::hmac("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn defaults_are_djangos() {
        let c = CookieSettings::default();
        assert_eq!(
            (c.name.as_str(), c.age, c.path.as_str()),
            ("sessionid", 1_209_600, "/")
        );
        assert!(c.http_only && !c.secure && !c.expire_at_browser_close && !c.save_every_request);
        assert_eq!(c.same_site, SameSite::Lax);
        assert_eq!(Settings::default().session_field, "sk");
        assert_eq!(Settings::default().jwt.expires, 28_800);
    }

    #[test]
    fn build_rejects_bad_settings_naming_them() {
        let b = || SessionJwt::builder().with_key(secret()).unwrap();
        let cases = [
            (b().with_same_site(SameSite::None), "cookie.same_site"),
            (b().with_cookie_name("bad name"), "cookie.name"),
            (b().with_cookie_age(0), "cookie.age"),
            (b().with_cookie_path("nope"), "cookie.path"),
            (b().with_fields([("a", "sk")]), "fields"),
            (b().with_max_token_size(10), "jwt.max_size"),
        ];
        for (builder, setting) in cases {
            let err = builder.build().unwrap_err();
            assert_eq!(err.setting(), setting, "{err}");
            assert!(err.to_string().starts_with(setting));
        }
        let err = SessionJwt::builder().build().unwrap_err();
        assert_eq!(err.setting(), "key");
        assert!(
            SessionJwt::builder()
                .with_key(secret())
                .unwrap()
                .with_same_site(SameSite::None)
                .with_secure(true)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn settings_deserialize_from_json_with_defaults() {
        let s: Settings = serde_json::from_str(
            r#"{"cookie": {"name": "sid", "secure": true}, "key": {"secret": "s"}, "fields": ["email", ["username", "u"]]}"#,
        )
        .unwrap();
        assert_eq!(s.cookie.name, "sid");
        assert_eq!(s.cookie.age, 1_209_600);
        assert_eq!(s.fields.len(), 2);
        assert!(serde_json::from_str::<Settings>(r#"{"cookie": {"nmae": "x"}}"#).is_err());
    }

    #[test]
    fn short_secret_is_refused_naming_the_setting() {
        let s: Settings = serde_json::from_str(r#"{"key": {"secret": "short"}}"#).unwrap();
        let err = Builder::from_settings(s).build().unwrap_err();
        assert_eq!(err.setting(), "key.secret");
        assert!(err.to_string().contains("32 bytes"), "{err}");
        assert!(
            !err.to_string().contains("short"),
            "the secret leaked into the error"
        );
    }
}

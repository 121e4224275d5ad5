//! Key material: HMAC secrets, PEM and JWK keys, and the [`KeyRing`] that signs
//! new tokens with one key and verifies with any of several (key rotation).
//!
//! Signers and verifiers are built once, when a [`Key`] is made, never per
//! request. Asymmetric signatures are josekit's; HMAC is computed with
//! RustCrypto's `hmac` and compared in constant time (josekit's HMAC verifier
//! uses `!=`, and makes an OpenSSL context per call).

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::alg::ed::{EdCurve, EdKeyPair};
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jwk::{Jwk, KeyAlg, KeyInfo, KeyPair};
use josekit::jws::{JwsSigner, JwsVerifier};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{ConfigError, TokenError};

/// A JWS algorithm this library signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(clippy::upper_case_acronyms)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// EdDSA on Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 12] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
    ];

    /// The name used in the JWS `alg` header.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Whether this is an HMAC (shared-secret) algorithm.
    #[must_use]
    pub fn is_hmac(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }

    fn fits(self, kind: KeyKind) -> bool {
        match kind {
            KeyKind::Oct => self.is_hmac(),
            KeyKind::Rsa => matches!(
                self,
                Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512
            ),
            KeyKind::P256 => self == Self::ES256,
            KeyKind::P384 => self == Self::ES384,
            KeyKind::Ed25519 => self == Self::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            ConfigError::invalid(
                "algorithm",
                format!("unknown algorithm {s:?} (expected one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)"),
            )
        })
    }
}

/// A shared secret: zeroized on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Zeroizing::new(bytes.into()))
    }

    /// A new random secret of `len` bytes from the operating system's CSPRNG.
    ///
    /// # Panics
    /// If the operating system has no random source (never on supported
    /// platforms).
    #[must_use]
    pub fn random(len: usize) -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        getrandom::fill(&mut bytes).expect("the OS random number generator failed");
        Self(bytes)
    }

    /// The secret bytes. Never log them.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([REDACTED; {} bytes])", self.0.len())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_slice().ct_eq(other.0.as_slice()).into()
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s.as_bytes())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s.into_bytes())
    }
}

impl From<&[u8]> for Secret {
    fn from(s: &[u8]) -> Self {
        Self::new(s)
    }
}

impl From<Vec<u8>> for Secret {
    fn from(s: Vec<u8>) -> Self {
        Self::new(s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Oct,
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    fn default_alg(self) -> Algorithm {
        match self {
            Self::Oct => Algorithm::HS256,
            Self::Rsa => Algorithm::RS256,
            Self::P256 => Algorithm::ES256,
            Self::P384 => Algorithm::ES384,
            Self::Ed25519 => Algorithm::EdDSA,
        }
    }

    fn of_jwk(jwk: &Jwk, setting: &str) -> Result<Self, ConfigError> {
        match (jwk.key_type(), jwk.curve()) {
            ("oct", _) => Ok(Self::Oct),
            ("RSA", _) => Ok(Self::Rsa),
            ("EC", Some("P-256")) => Ok(Self::P256),
            ("EC", Some("P-384")) => Ok(Self::P384),
            ("OKP", Some("Ed25519")) => Ok(Self::Ed25519),
            (kty, crv) => Err(ConfigError::key(
                setting,
                format!(
                    "unsupported key type {kty}{}",
                    crv.map(|c| format!("/{c}")).unwrap_or_default()
                ),
            )),
        }
    }
}

#[derive(Clone)]
enum Material {
    Secret(Secret),
    /// A private JWK (with the public members) and its public JWK.
    Private {
        private: Box<Jwk>,
        public: Box<Jwk>,
    },
    Public(Box<Jwk>),
}

enum Signer {
    /// Ed25519 on aws-lc, the key pair built once: half the time of
    /// OpenSSL 3.0's, with the same (deterministic) signatures.
    Ed25519(aws_lc_rs::signature::Ed25519KeyPair),
    /// RSA and ECDSA: josekit.
    Jose(Box<dyn JwsSigner>),
}

enum Verifier {
    /// HMAC, keyed once: the keyed state is cloned per message, recomputed
    /// and compared in constant time.
    Hmac(Box<PreKeyed>),
    /// RSA (2048 bits and more), ECDSA and Ed25519 on aws-lc, with the public
    /// key parsed once.
    Native(aws_lc_rs::signature::ParsedPublicKey),
    /// What aws-lc refuses (RSA keys under 2048 bits): josekit.
    Jose(Box<dyn JwsVerifier>),
}

/// An HMAC key schedule computed once (the inner and outer pads hashed).
#[derive(Clone)]
pub(crate) enum PreKeyed {
    S256(hmac::Hmac<sha2::Sha256>),
    S384(hmac::Hmac<sha2::Sha384>),
    S512(hmac::Hmac<sha2::Sha512>),
}

impl PreKeyed {
    pub(crate) fn new(alg: Algorithm, secret: &[u8]) -> Self {
        use hmac::Mac;
        let err = "HMAC takes keys of any length";
        match alg {
            Algorithm::HS384 => Self::S384(hmac::Hmac::new_from_slice(secret).expect(err)),
            Algorithm::HS512 => Self::S512(hmac::Hmac::new_from_slice(secret).expect(err)),
            _ => Self::S256(hmac::Hmac::new_from_slice(secret).expect(err)),
        }
    }

    pub(crate) fn tag(&self, message: &[u8]) -> Vec<u8> {
        use hmac::Mac;
        macro_rules! tag {
            ($mac:expr) => {{
                let mut mac = $mac.clone();
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }};
        }
        match self {
            Self::S256(m) => tag!(m),
            Self::S384(m) => tag!(m),
            Self::S512(m) => tag!(m),
        }
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use hmac::Mac;
        macro_rules! check {
            ($mac:expr) => {{
                let mut mac = $mac.clone();
                mac.update(message);
                // Constant time, in one pass (`verify_slice` puts a barrier
                // on every byte).
                constant_time_eq::constant_time_eq(&mac.finalize().into_bytes(), signature)
            }};
        }
        match self {
            Self::S256(m) => check!(m),
            Self::S384(m) => check!(m),
            Self::S512(m) => check!(m),
        }
    }
}

/// The aws-lc verifier of `alg` for a public JWK; `None` where aws-lc
/// refuses the key (RSA under 2048 bits), which then goes to josekit.
fn native_verifier(alg: Algorithm, jwk: &Jwk) -> Option<aws_lc_rs::signature::ParsedPublicKey> {
    use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
    let member = |name: &str| b64(jwk.parameter(name));
    let (algorithm, bytes): (&'static dyn VerificationAlgorithm, Vec<u8>) = match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => {
            let n = openssl::bn::BigNum::from_slice(&member("n")?).ok()?;
            let e = openssl::bn::BigNum::from_slice(&member("e")?).ok()?;
            let der = openssl::rsa::Rsa::from_public_components(n, e)
                .ok()?
                .public_key_to_der_pkcs1()
                .ok()?;
            let algorithm: &'static dyn VerificationAlgorithm = match alg {
                Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
                Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
                _ => &sig::RSA_PSS_2048_8192_SHA512,
            };
            (algorithm, der)
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let size = if alg == Algorithm::ES256 { 32 } else { 48 };
            let (x, y) = (member("x")?, member("y")?);
            if x.len() > size || y.len() > size {
                return None;
            }
            // The uncompressed point: 04 || x || y, each padded to the size.
            let mut point = vec![4u8];
            for c in [x, y] {
                point.extend(std::iter::repeat_n(0, size - c.len()));
                point.extend(c);
            }
            let algorithm: &'static dyn VerificationAlgorithm = if alg == Algorithm::ES256 {
                &sig::ECDSA_P256_SHA256_FIXED
            } else {
                &sig::ECDSA_P384_SHA384_FIXED
            };
            (algorithm, point)
        }
        Algorithm::EdDSA => (&sig::ED25519, member("x")?),
        _ => return None,
    };
    ParsedPublicKey::new(algorithm, bytes).ok()
}

/// HMAC with RustCrypto's `hmac`: josekit's HMAC goes through an OpenSSL EVP
/// context made on every call (about 10 µs) and compares signatures with
/// `!=`; here the tag is compared in constant time.
pub(crate) fn hmac_tag(alg: Algorithm, secret: &[u8], message: &[u8]) -> Vec<u8> {
    PreKeyed::new(alg, secret).tag(message)
}

/// One key: its algorithm, its `kid`, and a signer (unless it is a public
/// key) and verifier built once.
///
/// `Debug` never shows key material.
#[derive(Clone)]
pub struct Key {
    inner: Arc<KeyInner>,
}

struct KeyInner {
    alg: Algorithm,
    kind: KeyKind,
    kid: Option<String>,
    material: Material,
    /// The asymmetric signer (HMAC keys sign with their [`PreKeyed`]).
    signer: Option<Signer>,
    verifier: Verifier,
    /// The token header this key issues, base64url-encoded: a token whose
    /// first part is exactly this needs no header parsing.
    header: String,
    /// Whether an HMAC secret shorter than the hash was allowed.
    allow_short: bool,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("alg", &self.inner.alg)
            .field("kid", &self.inner.kid)
            .field("can_sign", &self.can_sign())
            .finish_non_exhaustive()
    }
}

const SETTING: &str = "key";

impl Key {
    /// An HMAC secret (HS256 unless changed with [`Key::with_algorithm`]).
    ///
    /// The secret must be at least as long as the hash (32 bytes for HS256,
    /// RFC 7518 §3.2).
    pub fn hmac(secret: impl Into<Secret>) -> Result<Self, ConfigError> {
        Self::build(
            Material::Secret(secret.into()),
            KeyKind::Oct,
            Algorithm::HS256,
            None,
            false,
        )
    }

    /// An HMAC secret that may be shorter than RFC 7518 requires (but not
    /// empty): only for tests of services that must accept such tokens, or to
    /// verify tokens of an app whose secret is short. Prefer [`Key::hmac`].
    pub fn hmac_allow_short(secret: impl Into<Secret>) -> Result<Self, ConfigError> {
        Self::build(
            Material::Secret(secret.into()),
            KeyKind::Oct,
            Algorithm::HS256,
            None,
            true,
        )
    }

    /// A PEM key: a private key (PKCS#8, or traditional RSA/EC), whose public
    /// half is derived, or a public key (SPKI, or PKCS#1 RSA), which only
    /// verifies. The algorithm follows the key: RSA gives RS256, P-256 ES256,
    /// P-384 ES384, Ed25519 EdDSA. The `kid` is the RFC 7638 thumbprint.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let pem = pem.as_ref();
        let info = KeyInfo::detect(&pem)
            .filter(|i| matches!(i.format(), josekit::jwk::KeyFormat::Pem { .. }))
            .ok_or_else(|| ConfigError::key(SETTING, "not a PEM key of a supported type"))?;
        let material = if info.is_public_key() {
            Material::Public(Box::new(public_pem_to_jwk(pem)?))
        } else {
            let err =
                |e: josekit::JoseError| ConfigError::key_source(SETTING, "bad private key", e);
            let (private, public) = match info.alg() {
                Some(KeyAlg::Rsa) => {
                    let kp = RsaKeyPair::from_pem(pem).map_err(err)?;
                    (kp.to_jwk_key_pair(), kp.to_jwk_public_key())
                }
                Some(KeyAlg::Ec { .. }) => {
                    let kp = EcKeyPair::from_pem(pem, None).map_err(err)?;
                    (kp.to_jwk_key_pair(), kp.to_jwk_public_key())
                }
                Some(KeyAlg::Ed {
                    curve: Some(EdCurve::Ed25519),
                }) => {
                    let kp = EdKeyPair::from_pem(pem).map_err(err)?;
                    (kp.to_jwk_key_pair(), kp.to_jwk_public_key())
                }
                _ => return Err(ConfigError::key(SETTING, "unsupported private key type")),
            };
            Material::Private {
                private: Box::new(private),
                public: Box::new(public),
            }
        };
        Self::from_material(material)
    }

    /// Reads a PEM key from a file (at configuration time).
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_pem(read_file(path.as_ref())?)
    }

    /// A `(private, public)` pair of PEM *files*, as django-session-jwt's
    /// `KEY` tuple of paths. Fails when the public key is not the private
    /// key's; errors name the file that could not be read or used.
    pub fn from_pem_files(
        private: impl AsRef<Path>,
        public: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        let private_pem = read_file(private.as_ref())?;
        let public_pem = read_file(public.as_ref()).map_err(|e| e.for_setting("public_key"))?;
        Self::from_pem_pair(private_pem, public_pem)
    }

    /// A `(private, public)` pair of PEM *texts*, as django-session-jwt's
    /// `KEY` tuple (for files, [`Key::from_pem_files`]). Fails when the
    /// public key is not the private key's.
    pub fn from_pem_pair(
        private: impl AsRef<[u8]>,
        public: impl AsRef<[u8]>,
    ) -> Result<Self, ConfigError> {
        let key = Self::from_pem(private)?;
        if !key.can_sign() {
            return Err(ConfigError::key(
                SETTING,
                "the first key of the pair is not a private key",
            ));
        }
        let public = Self::from_pem(public).map_err(|e| e.for_setting("public_key"))?;
        if public.public_jwk() != key.public_jwk() {
            return Err(ConfigError::key(
                "public_key",
                "the public key does not match the private key",
            ));
        }
        Ok(key)
    }

    /// A JWK (RFC 7517): `oct`, `RSA`, `EC` (P-256, P-384) or `OKP` (Ed25519),
    /// private or public. Its `alg` and `kid` are kept when present.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, ConfigError> {
        let kind = KeyKind::of_jwk(jwk, SETTING)?;
        let material = if kind == KeyKind::Oct {
            let k = jwk
                .key_value()
                .ok_or_else(|| ConfigError::key(SETTING, "oct JWK without k"))?;
            Material::Secret(Secret::new(k))
        } else if jwk.parameter("d").is_some() {
            let public = jwk
                .to_public_key()
                .map_err(|e| ConfigError::key_source(SETTING, "bad JWK", e))?;
            Material::Private {
                private: Box::new(strip(jwk)),
                public: Box::new(strip(&public)),
            }
        } else {
            Material::Public(Box::new(strip(jwk)))
        };
        let alg = match jwk.algorithm() {
            Some(a) => Some(a.parse::<Algorithm>().map_err(|e| e.for_setting(SETTING))?),
            None => None,
        };
        let kid = jwk.key_id().map(str::to_string);
        let key = Self::build(
            material,
            kind,
            alg.unwrap_or(kind.default_alg()),
            None,
            false,
        )?;
        // Without its own kid, an asymmetric key gets its RFC 7638
        // thumbprint, as from PEM: the kid this library's tokens carry.
        let kid = kid.or_else(|| key.thumbprint());
        Ok(match kid {
            Some(kid) => key.with_kid(Some(kid)),
            None => key,
        })
    }

    /// A JWK given as JSON text.
    pub fn from_jwk_json(json: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let jwk =
            Jwk::from_bytes(json).map_err(|e| ConfigError::key_source(SETTING, "bad JWK", e))?;
        Self::from_jwk(&jwk)
    }

    fn from_material(material: Material) -> Result<Self, ConfigError> {
        let kind = match &material {
            Material::Secret(_) => KeyKind::Oct,
            Material::Private { public, .. } | Material::Public(public) => {
                KeyKind::of_jwk(public, SETTING)?
            }
        };
        let key = Self::build(material, kind, kind.default_alg(), None, false)?;
        let kid = key.thumbprint();
        Ok(key.with_kid(kid))
    }

    fn build(
        material: Material,
        kind: KeyKind,
        alg: Algorithm,
        kid: Option<String>,
        allow_short: bool,
    ) -> Result<Self, ConfigError> {
        if !alg.fits(kind) {
            return Err(ConfigError::invalid(
                "algorithm",
                format!("{alg} does not fit {} key", with_article(kind_name(kind))),
            ));
        }
        let err = |e: josekit::JoseError| {
            ConfigError::key_source(SETTING, format!("cannot use the key for {alg}"), e)
        };
        let (signer, verifier): (Option<Signer>, Verifier) = match &material {
            Material::Secret(secret) => {
                if secret.expose().is_empty()
                    || (!allow_short && secret.expose().len() < hmac_len(alg))
                {
                    return Err(ConfigError::key(
                        SETTING,
                        format!(
                            "an {alg} secret must be at least {} bytes long (RFC 7518 section 3.2)",
                            hmac_len(alg)
                        ),
                    ));
                }
                (
                    None,
                    Verifier::Hmac(Box::new(PreKeyed::new(alg, secret.expose()))),
                )
            }
            Material::Private { private, public } => (
                Some(signer(alg, private, public, err)?),
                public_verifier(alg, public).map_err(err)?,
            ),
            Material::Public(public) => (None, public_verifier(alg, public).map_err(err)?),
        };
        let header = encoded_header(alg, kid.as_deref());
        Ok(Self {
            inner: Arc::new(KeyInner {
                alg,
                kind,
                kid,
                material,
                signer,
                verifier,
                header,
                allow_short,
            }),
        })
    }

    /// The token header this key issues, base64url-encoded.
    pub(crate) fn encoded_header(&self) -> &str {
        &self.inner.header
    }

    /// The same key for another algorithm of its family (HS384 for a secret,
    /// PS256 for an RSA key...). A mismatch is a configuration error.
    pub fn with_algorithm(self, alg: Algorithm) -> Result<Self, ConfigError> {
        if alg == self.inner.alg {
            return Ok(self);
        }
        let inner = &self.inner;
        Self::build(
            inner.material.clone(),
            inner.kind,
            alg,
            inner.kid.clone(),
            inner.allow_short,
        )
    }

    /// The same key with another `kid` (`None`: no `kid` header).
    #[must_use]
    pub fn with_kid(self, kid: Option<String>) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.header = encoded_header(inner.alg, kid.as_deref());
                inner.kid = kid;
                Self {
                    inner: Arc::new(inner),
                }
            }
            Err(inner) => Self::build(
                inner.material.clone(),
                inner.kind,
                inner.alg,
                kid,
                inner.allow_short,
            )
            .expect("a key that was built once builds again"),
        }
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.inner.alg
    }

    /// The `kid`, if any.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.inner.kid.as_deref()
    }

    /// Whether this key can sign (an HMAC secret or a private key).
    #[must_use]
    pub fn can_sign(&self) -> bool {
        !matches!(self.inner.material, Material::Public(_))
    }

    /// The public JWK (with `kid`, `alg`, `use: "sig"`); `None` for an HMAC
    /// secret, which is never published.
    #[must_use]
    pub fn public_jwk(&self) -> Option<Value> {
        let public = match &self.inner.material {
            Material::Secret(_) => return None,
            Material::Private { public, .. } | Material::Public(public) => public,
        };
        let mut map: Map<String, Value> = public.as_ref().as_ref().clone();
        if let Some(kid) = &self.inner.kid {
            map.insert("kid".into(), kid.clone().into());
        }
        map.insert("alg".into(), self.inner.alg.as_str().into());
        map.insert("use".into(), "sig".into());
        Some(Value::Object(map))
    }

    /// The public key as PEM (SPKI); `None` for an HMAC secret.
    #[must_use]
    pub fn public_pem(&self) -> Option<String> {
        let public = match &self.inner.material {
            Material::Secret(_) => return None,
            Material::Private { public, .. } | Material::Public(public) => public,
        };
        let pem = match self.inner.kind {
            KeyKind::Rsa => {
                let n = openssl::bn::BigNum::from_slice(&b64(public.parameter("n"))?).ok()?;
                let e = openssl::bn::BigNum::from_slice(&b64(public.parameter("e"))?).ok()?;
                let rsa = openssl::rsa::Rsa::from_public_components(n, e).ok()?;
                openssl::pkey::PKey::from_rsa(rsa)
                    .ok()?
                    .public_key_to_pem()
                    .ok()?
            }
            KeyKind::P256 | KeyKind::P384 => {
                let nid = if self.inner.kind == KeyKind::P256 {
                    openssl::nid::Nid::X9_62_PRIME256V1
                } else {
                    openssl::nid::Nid::SECP384R1
                };
                let group = openssl::ec::EcGroup::from_curve_name(nid).ok()?;
                let x = openssl::bn::BigNum::from_slice(&b64(public.parameter("x"))?).ok()?;
                let y = openssl::bn::BigNum::from_slice(&b64(public.parameter("y"))?).ok()?;
                let ec =
                    openssl::ec::EcKey::from_public_key_affine_coordinates(&group, &x, &y).ok()?;
                openssl::pkey::PKey::from_ec_key(ec)
                    .ok()?
                    .public_key_to_pem()
                    .ok()?
            }
            KeyKind::Ed25519 => {
                let x = b64(public.parameter("x"))?;
                openssl::pkey::PKey::public_key_from_raw_bytes(&x, openssl::pkey::Id::ED25519)
                    .ok()?
                    .public_key_to_pem()
                    .ok()?
            }
            KeyKind::Oct => return None,
        };
        String::from_utf8(pem).ok()
    }

    /// A secret derived from this key's private material for `context`
    /// (HMAC-SHA256 keyed with the secret, or with the private scalar of an
    /// asymmetric key), as Django derives keys from `SECRET_KEY`. Every
    /// instance configured with the same key derives the same secret; `None`
    /// for a public key.
    #[must_use]
    pub fn derive_secret(&self, context: &str) -> Option<Secret> {
        let material = match &self.inner.material {
            Material::Secret(s) => s.expose().to_vec(),
            Material::Private { private, .. } => b64(private.parameter("d"))?,
            Material::Public(_) => return None,
        };
        let material = Zeroizing::new(material);
        let message = [b"session-jwt.derive\0".as_slice(), context.as_bytes()].concat();
        Some(Secret::new(hmac_tag(Algorithm::HS256, &material, &message)))
    }

    /// The private key as a JWK, for export by tools; `None` for a public key.
    /// Handle the result as a secret.
    #[must_use]
    pub fn private_jwk(&self) -> Option<Value> {
        let mut map = match &self.inner.material {
            Material::Secret(s) => {
                let mut m = Map::new();
                m.insert("kty".into(), "oct".into());
                m.insert("k".into(), URL_SAFE_NO_PAD.encode(s.expose()).into());
                m
            }
            Material::Private { private, .. } => private.as_ref().as_ref().clone(),
            Material::Public(_) => return None,
        };
        if let Some(kid) = &self.inner.kid {
            map.insert("kid".into(), kid.clone().into());
        }
        map.insert("alg".into(), self.inner.alg.as_str().into());
        Some(Value::Object(map))
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url); `None` for an HMAC
    /// secret, whose thumbprint would leak a hash of the secret.
    #[must_use]
    pub fn thumbprint(&self) -> Option<String> {
        let public = match &self.inner.material {
            Material::Secret(_) => return None,
            Material::Private { public, .. } | Material::Public(public) => public,
        };
        let p = |name: &str| public.parameter(name).cloned().unwrap_or(Value::Null);
        // serde_json's map is ordered by key, which is the order RFC 7638 asks for.
        let members = match self.inner.kind {
            KeyKind::Rsa => json!({"e": p("e"), "kty": "RSA", "n": p("n")}),
            KeyKind::P256 | KeyKind::P384 => {
                json!({"crv": p("crv"), "kty": "EC", "x": p("x"), "y": p("y")})
            }
            KeyKind::Ed25519 => json!({"crv": "Ed25519", "kty": "OKP", "x": p("x")}),
            KeyKind::Oct => return None,
        };
        let digest = openssl::sha::sha256(members.to_string().as_bytes());
        Some(URL_SAFE_NO_PAD.encode(digest))
    }

    /// Signs `message` (the JWS signing input).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        if let Verifier::Hmac(mac) = &self.inner.verifier {
            return Ok(mac.tag(message));
        }
        let signature = match self.inner.signer.as_ref() {
            Some(Signer::Ed25519(pair)) => pair.sign(message).as_ref().to_vec(),
            Some(Signer::Jose(signer)) => signer
                .sign(message)
                .map_err(|e| TokenError::Signing(e.to_string()))?,
            None => return Err(TokenError::NoSigningKey),
        };
        low_s(self.inner.alg, signature)
    }

    /// Verifies `signature` over `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.inner.verifier {
            Verifier::Hmac(mac) => mac.verify(message, signature),
            Verifier::Native(key) => key.verify_sig(message, signature).is_ok(),
            Verifier::Jose(v) => v.verify(message, signature).is_ok(),
        }
    }
}

/// An ECDSA signature (`r || s`, JWS's fixed-length form) with `s` in the
/// lower half of the curve order. `(r, s)` and `(r, n - s)` both verify, so
/// without this one payload has two valid token strings; signing only the
/// low-S form at least makes our own tokens canonical. (Verification still
/// accepts both, as every JWT library does: a token string is not a unique
/// identifier.)
fn low_s(alg: Algorithm, mut signature: Vec<u8>) -> Result<Vec<u8>, TokenError> {
    use openssl::bn::BigNum;
    let (order, len) = match alg {
        Algorithm::ES256 => (
            "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
            32,
        ),
        Algorithm::ES384 => (
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
            48,
        ),
        _ => return Ok(signature),
    };
    let fail = |e: openssl::error::ErrorStack| TokenError::Signing(e.to_string());
    if signature.len() != 2 * len {
        return Err(TokenError::Signing(
            "an ECDSA signature of the wrong length".into(),
        ));
    }
    let n = BigNum::from_hex_str(order).map_err(fail)?;
    let s = BigNum::from_slice(&signature[len..]).map_err(fail)?;
    let mut half = BigNum::new().map_err(fail)?;
    half.rshift1(&n).map_err(fail)?;
    if s > half {
        let mut low = BigNum::new().map_err(fail)?;
        low.checked_sub(&n, &s).map_err(fail)?;
        let bytes = low.to_vec_padded(len as i32).map_err(fail)?;
        signature[len..].copy_from_slice(&bytes);
    }
    Ok(signature)
}

/// The verifier for a public JWK: aws-lc where it takes the key, else josekit.
fn public_verifier(alg: Algorithm, public: &Jwk) -> Result<Verifier, josekit::JoseError> {
    Ok(match native_verifier(alg, public) {
        Some(key) => Verifier::Native(key),
        None => Verifier::Jose(verifier_from_jwk(alg, public)?),
    })
}

/// The header [`sign`](crate::token) writes for a key: `{"alg", "kid"?,
/// "typ": "JWT"}` (keys in this order), base64url-encoded.
fn encoded_header(alg: Algorithm, kid: Option<&str>) -> String {
    let mut header = Map::new();
    header.insert("alg".into(), alg.as_str().into());
    if let Some(kid) = kid {
        header.insert("kid".into(), kid.into());
    }
    header.insert("typ".into(), "JWT".into());
    URL_SAFE_NO_PAD.encode(Value::Object(header).to_string())
}

fn hmac_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS256 => 32,
        Algorithm::HS384 => 48,
        _ => 64,
    }
}

/// "an RSA", "a P-256", ...
fn with_article(name: &str) -> String {
    let vowel_sound = name.starts_with(['A', 'E', 'I', 'O', 'U', 'R', 'a', 'e', 'i', 'o', 'u']);
    format!("{} {name}", if vowel_sound { "an" } else { "a" })
}

fn kind_name(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Oct => "shared-secret (HMAC)",
        KeyKind::Rsa => "RSA",
        KeyKind::P256 => "P-256",
        KeyKind::P384 => "P-384",
        KeyKind::Ed25519 => "Ed25519",
    }
}

fn b64(v: Option<&Value>) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(v?.as_str()?).ok()
}

/// A copy of the JWK with only its key members (no `alg`, `kid`, `use`,
/// `key_ops`), so that josekit accepts it for any algorithm of its family.
fn strip(jwk: &Jwk) -> Jwk {
    let mut map: Map<String, Value> = jwk.as_ref().clone();
    for member in [
        "alg", "kid", "use", "key_ops", "x5c", "x5t", "x5t#S256", "x5u",
    ] {
        map.remove(member);
    }
    Jwk::from_map(map).expect("a JWK without optional members is a JWK")
}

/// The signer of a private JWK: Ed25519 on aws-lc, which also checks that
/// the private key and the public one (`d` and `x`) are one pair; the rest
/// on josekit.
fn signer(
    alg: Algorithm,
    private: &Jwk,
    public: &Jwk,
    err: impl Fn(josekit::JoseError) -> ConfigError,
) -> Result<Signer, ConfigError> {
    if alg == Algorithm::EdDSA {
        let member = |jwk: &Jwk, name: &str| b64(jwk.parameter(name));
        let pair = member(private, "d")
            .zip(member(public, "x"))
            .and_then(|(d, x)| {
                aws_lc_rs::signature::Ed25519KeyPair::from_seed_and_public_key(&d, &x).ok()
            })
            .ok_or_else(|| {
                ConfigError::key(
                    SETTING,
                    "the Ed25519 key's private part (d) does not match its public part (x)",
                )
            })?;
        return Ok(Signer::Ed25519(pair));
    }
    signer_from_jwk(alg, private).map(Signer::Jose).map_err(err)
}

/// josekit's signer of an RSA or ECDSA private JWK.
fn signer_from_jwk(alg: Algorithm, jwk: &Jwk) -> Result<Box<dyn JwsSigner>, josekit::JoseError> {
    use josekit::jws::*;
    Ok(match alg {
        Algorithm::RS256 => Box::new(RS256.signer_from_jwk(jwk)?),
        Algorithm::RS384 => Box::new(RS384.signer_from_jwk(jwk)?),
        Algorithm::RS512 => Box::new(RS512.signer_from_jwk(jwk)?),
        Algorithm::PS256 => Box::new(PS256.signer_from_jwk(jwk)?),
        Algorithm::PS384 => Box::new(PS384.signer_from_jwk(jwk)?),
        Algorithm::PS512 => Box::new(PS512.signer_from_jwk(jwk)?),
        Algorithm::ES256 => Box::new(ES256.signer_from_jwk(jwk)?),
        Algorithm::ES384 => Box::new(ES384.signer_from_jwk(jwk)?),
        Algorithm::EdDSA | Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            unreachable!("Ed25519 signs on aws-lc (`signer`), and HMAC keys are secrets")
        }
    })
}

fn verifier_from_jwk(
    alg: Algorithm,
    jwk: &Jwk,
) -> Result<Box<dyn JwsVerifier>, josekit::JoseError> {
    use josekit::jws::*;
    Ok(match alg {
        Algorithm::RS256 => Box::new(RS256.verifier_from_jwk(jwk)?),
        Algorithm::RS384 => Box::new(RS384.verifier_from_jwk(jwk)?),
        Algorithm::RS512 => Box::new(RS512.verifier_from_jwk(jwk)?),
        Algorithm::PS256 => Box::new(PS256.verifier_from_jwk(jwk)?),
        Algorithm::PS384 => Box::new(PS384.verifier_from_jwk(jwk)?),
        Algorithm::PS512 => Box::new(PS512.verifier_from_jwk(jwk)?),
        Algorithm::ES256 => Box::new(ES256.verifier_from_jwk(jwk)?),
        Algorithm::ES384 => Box::new(ES384.verifier_from_jwk(jwk)?),
        Algorithm::EdDSA => Box::new(EdDSA.verifier_from_jwk(jwk)?),
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            unreachable!("HMAC keys are secrets")
        }
    })
}

/// Parses a public PEM (SPKI, or PKCS#1 `RSA PUBLIC KEY`) into a public JWK.
fn public_pem_to_jwk(pem: &[u8]) -> Result<Jwk, ConfigError> {
    use openssl::pkey::{Id, PKey};
    let err = |e| ConfigError::key_source(SETTING, "bad public key", e);
    let pkey = match PKey::public_key_from_pem(pem) {
        Ok(k) => k,
        Err(e) => match openssl::rsa::Rsa::public_key_from_pem_pkcs1(pem) {
            Ok(rsa) => PKey::from_rsa(rsa).map_err(err)?,
            Err(_) => return Err(err(e)),
        },
    };
    let enc = |bytes: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(bytes));
    let mut map = Map::new();
    match pkey.id() {
        Id::RSA => {
            let rsa = pkey.rsa().map_err(err)?;
            map.insert("kty".into(), "RSA".into());
            map.insert("n".into(), enc(&rsa.n().to_vec()));
            map.insert("e".into(), enc(&rsa.e().to_vec()));
        }
        Id::EC => {
            let ec = pkey.ec_key().map_err(err)?;
            let group = ec.group();
            let (crv, len) = match group.curve_name() {
                Some(openssl::nid::Nid::X9_62_PRIME256V1) => ("P-256", 32),
                Some(openssl::nid::Nid::SECP384R1) => ("P-384", 48),
                _ => {
                    return Err(ConfigError::key(
                        SETTING,
                        "unsupported EC curve (P-256 and P-384 are)",
                    ));
                }
            };
            let mut ctx = openssl::bn::BigNumContext::new().map_err(err)?;
            let mut x = openssl::bn::BigNum::new().map_err(err)?;
            let mut y = openssl::bn::BigNum::new().map_err(err)?;
            ec.public_key()
                .affine_coordinates(group, &mut x, &mut y, &mut ctx)
                .map_err(err)?;
            map.insert("kty".into(), "EC".into());
            map.insert("crv".into(), crv.into());
            map.insert("x".into(), enc(&x.to_vec_padded(len).map_err(err)?));
            map.insert("y".into(), enc(&y.to_vec_padded(len).map_err(err)?));
        }
        Id::ED25519 => {
            map.insert("kty".into(), "OKP".into());
            map.insert("crv".into(), "Ed25519".into());
            map.insert("x".into(), enc(&pkey.raw_public_key().map_err(err)?));
        }
        _ => return Err(ConfigError::key(SETTING, "unsupported public key type")),
    }
    Jwk::from_map(map).map_err(|e| ConfigError::key_source(SETTING, "bad public key", e))
}

/// Whether a key setting's value is meant as a file path rather than secret
/// text: it is not PEM text, and it contains `/` (or `\\`), or ends with a key file's extension
/// (`.pem`, `.key`, `.der`, `.json`, `.jwk`, `.jwks`, `.secret`, `.pub`). Such
/// a value that names no file is an error, never a secret: a mistyped key
/// path must stop the app at start, not sign with the path's text. One rule
/// for the environment (`SESSION_JWT_KEY`) and the `session-jwt` tool. A
/// secret that contains `/` (standard base64) must be given another way:
/// base64url or hex text, or a file.
#[must_use]
pub fn looks_like_path(value: &str) -> bool {
    if value.trim_start().starts_with("-----BEGIN") {
        return false; // PEM text
    }
    value.contains(['/', '\\'])
        || [
            ".pem", ".key", ".der", ".json", ".jwk", ".jwks", ".secret", ".pub",
        ]
        .iter()
        .any(|ext| value.ends_with(ext))
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::Io {
        setting: SETTING.into(),
        path: path.display().to_string(),
        source,
    })
}

/// Generates a new key for `alg`: a random 64-byte secret for HMAC, RSA 2048
/// bits, or an EC/Ed25519 key pair. Returns the key and its private PEM (for
/// HMAC, the secret as base64url text).
pub fn generate(alg: Algorithm) -> Result<(Key, Zeroizing<String>), ConfigError> {
    let err = |e| ConfigError::key_source("algorithm", "key generation failed", e);
    if alg.is_hmac() {
        let secret = Secret::random(64);
        let text = Zeroizing::new(URL_SAFE_NO_PAD.encode(secret.expose()));
        let key = Key::hmac(Secret::from(text.as_str()))?.with_algorithm(alg)?;
        return Ok((key, text));
    }
    let pem = match alg {
        Algorithm::ES256 => EcKeyPair::generate(EcCurve::P256)
            .map_err(err)?
            .to_pem_private_key(),
        Algorithm::ES384 => EcKeyPair::generate(EcCurve::P384)
            .map_err(err)?
            .to_pem_private_key(),
        Algorithm::EdDSA => EdKeyPair::generate(EdCurve::Ed25519)
            .map_err(err)?
            .to_pem_private_key(),
        _ => RsaKeyPair::generate(2048)
            .map_err(err)?
            .to_pem_private_key(),
    };
    let text = Zeroizing::new(String::from_utf8(pem).expect("PEM is ASCII"));
    let key = Key::from_pem(text.as_bytes())?.with_algorithm(alg)?;
    Ok((key, text))
}

/// The keys of a configuration: at most one signing key, and any number of
/// verification-only keys (older keys during a rotation, or the public keys of
/// a verify-only service).
#[derive(Debug, Clone)]
pub struct KeyRing {
    signing: Option<Key>,
    verifying: Vec<Key>,
}

impl KeyRing {
    /// A ring that signs (and verifies) with `key`.
    pub fn new(key: Key) -> Result<Self, ConfigError> {
        if !key.can_sign() {
            return Err(ConfigError::key(
                SETTING,
                "a public key cannot sign; use KeyRing::verify_only",
            ));
        }
        Ok(Self {
            signing: Some(key),
            verifying: Vec::new(),
        })
    }

    /// A ring that only verifies, for services that consume the cookie.
    pub fn verify_only(keys: impl IntoIterator<Item = Key>) -> Result<Self, ConfigError> {
        let mut ring = Self {
            signing: None,
            verifying: Vec::new(),
        };
        for key in keys {
            // The same checks as for a signing ring: one family, unique kids.
            ring = ring.with_verification_key(key)?;
        }
        if ring.verifying.is_empty() {
            return Err(ConfigError::key(
                SETTING,
                "a verify-only key ring needs at least one key",
            ));
        }
        Ok(ring)
    }

    /// A verify-only ring from a JWK Set (RFC 7517 §5) in JSON.
    pub fn from_jwks(json: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let set: Value = serde_json::from_slice(json.as_ref())
            .map_err(|e| ConfigError::key_source("jwks", "not JSON", e))?;
        let keys = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| ConfigError::key("jwks", "no \"keys\" array"))?;
        let keys = keys
            .iter()
            .map(|k| {
                let map = k
                    .as_object()
                    .cloned()
                    .ok_or_else(|| ConfigError::key("jwks", "a key is not an object"))?;
                let jwk = Jwk::from_map(map)
                    .map_err(|e| ConfigError::key_source("jwks", "bad JWK", e))?;
                Key::from_jwk(&jwk).map_err(|e| e.for_setting("jwks"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::verify_only(keys)
    }

    /// Adds a key that verifies but never signs (an older key, kept until the
    /// tokens it signed have expired).
    pub fn with_verification_key(mut self, key: Key) -> Result<Self, ConfigError> {
        let family = |k: &Key| k.algorithm().is_hmac();
        if let Some(first) = self.keys().next() {
            if family(first) != family(&key) {
                return Err(ConfigError::key(
                    "verification_keys",
                    "HMAC and asymmetric keys cannot share a key ring (an HMAC check with a public key as secret would forge)",
                ));
            }
            if key.kid().is_some() && self.keys().any(|k| k.kid() == key.kid()) {
                return Err(ConfigError::key(
                    "verification_keys",
                    "two keys share one kid",
                ));
            }
        }
        self.verifying.push(key);
        Ok(self)
    }

    /// The signing key, if any.
    #[must_use]
    pub fn signing_key(&self) -> Option<&Key> {
        self.signing.as_ref()
    }

    /// Every key, signing key first.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.signing.iter().chain(&self.verifying)
    }

    /// Whether `alg` is the algorithm of some key of the ring.
    #[must_use]
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.keys().any(|k| k.algorithm() == alg)
    }

    /// Whether the ring holds HMAC secrets (as opposed to asymmetric keys).
    #[must_use]
    pub fn is_hmac(&self) -> bool {
        self.keys().next().is_some_and(|k| k.algorithm().is_hmac())
    }

    /// The JWK Set of the public verification keys, to publish at
    /// `/.well-known/jwks.json`; `None` when the ring holds HMAC secrets.
    #[must_use]
    pub fn jwks(&self) -> Option<Value> {
        if self.is_hmac() {
            return None;
        }
        let keys: Vec<Value> = self.keys().filter_map(Key::public_jwk).collect();
        Some(json!({ "keys": keys }))
    }

    /// The candidate keys for a token header: those of its algorithm, and of
    /// its `kid` when it has one.
    pub(crate) fn candidates<'a>(
        &'a self,
        alg: Algorithm,
        kid: Option<&'a str>,
    ) -> impl Iterator<Item = (usize, &'a Key)> + 'a {
        self.keys()
            .enumerate()
            .filter(move |(_, k)| k.algorithm() == alg && (kid.is_none() || k.kid() == kid))
    }

    /// The keys that issue exactly this encoded header (`alg`, `kid`,
    /// `typ` as this library writes them).
    pub(crate) fn by_encoded_header<'a>(
        &'a self,
        header: &'a str,
    ) -> impl Iterator<Item = (usize, &'a Key)> + 'a {
        self.keys()
            .enumerate()
            .filter(move |(_, k)| k.encoded_header() == header)
    }

    /// Whether the key at `index` (in [`KeyRing::keys`] order) is the current
    /// signing key.
    pub(crate) fn is_current(&self, index: usize) -> bool {
        self.signing.is_some() && index == 0
    }
}

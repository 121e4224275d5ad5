//! What a request costs, each measured beside its peers in one run:
//!
//! - `verify/<alg>`: this crate's `TokenCodec::verify` of the reference
//!   app's token; `jsonwebtoken` 12 (aws-lc backend, its fastest) decoding the
//!   same token into a typed struct; and the floor, the raw primitive with
//!   its key parsed once (pre-keyed HMAC, aws-lc `ParsedPublicKey`). For
//!   HS256 also the verified-token cache's hit (`read_cookies` of a cookie
//!   already seen), and for every asymmetric key the same hit.
//! - `encode/<alg>`: this crate's and jsonwebtoken's signing.
//! - `engine`: `read_cookies` on a realistic five-cookie header, and whole
//!   requests on the `MemoryStore` (`load` + `save`): unchanged, modified,
//!   and a re-issue past half of the token's life. The request's future is
//!   polled once (the memory store and the users never wait), so the time
//!   is the engine's, not an executor's.
//!
//! `cargo bench -p session-jwt-core --bench tokens`; the numbers, the
//! machine and what they mean are in `docs/performance.md`.

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use session_jwt_core::time::{Duration, OffsetDateTime};
use session_jwt_core::{
    Algorithm, AuthUser, Fields, Key, KeyRing, MemoryStore, SessionJwt, SessionKey, StoreError,
    TokenCodec, TokenSettings, UserLoader, auth,
};

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const RSA: &str = include_str!("../tests/vectors/rsa.pem");
const P256: &str = include_str!("../tests/vectors/p256.pem");
const ED25519: &str = include_str!("../tests/vectors/ed25519.pem");

/// The reference app's field configuration.
const FIELDS: [(&str, &str, &str); 4] = [
    ("id", "id", "user_id"),
    ("username", "u", "username"),
    ("email", "e", "email"),
    ("profile.team", "t", "team"),
];

fn fields() -> Fields {
    Fields::new(FIELDS.iter().map(|&f| f.into()).collect(), "sk").expect("valid fields")
}

/// The short-named claims of the reference app's user, plus a custom claim.
fn claims() -> Map<String, Value> {
    let user = json!({"id": 1, "username": "john", "email": "john@domain.com", "profile": {"team": "core"}});
    let mut claims = fields().extract(&user);
    claims.insert("foo".into(), "bar".into());
    claims
}

/// The same payload, as jsonwebtoken's typed struct.
#[derive(Serialize, Deserialize)]
struct PeerClaims {
    sk: String,
    iat: i64,
    exp: i64,
    id: u64,
    u: String,
    e: String,
    t: String,
    foo: String,
}

/// One key, in the forms each contender takes.
struct Contender {
    name: &'static str,
    alg: Algorithm,
    ours: Key,
    peer_alg: jsonwebtoken::Algorithm,
    peer_encoding: jsonwebtoken::EncodingKey,
    peer_decoding: jsonwebtoken::DecodingKey,
    floor: Floor,
}

/// The raw primitive, its key parsed once.
enum Floor {
    Hmac(hmac::Hmac<sha2::Sha256>),
    Native(aws_lc_rs::signature::ParsedPublicKey),
}

impl Floor {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use hmac::Mac;
        match self {
            Self::Hmac(mac) => {
                let mut mac = mac.clone();
                mac.update(message);
                // The cheapest constant-time comparison, as the crate's.
                constant_time_eq::constant_time_eq(&mac.finalize().into_bytes(), signature)
            }
            Self::Native(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

fn contenders() -> Vec<Contender> {
    use aws_lc_rs::signature::{self as sig, ParsedPublicKey};
    use jsonwebtoken::{Algorithm as Jwt, DecodingKey, EncodingKey};
    use openssl::pkey::PKey;

    let rsa = PKey::private_key_from_pem(RSA.as_bytes()).expect("RSA key");
    let rsa_public = rsa.public_key_to_pem().expect("PEM");
    let rsa_pkcs1 = rsa
        .rsa()
        .expect("RSA")
        .public_key_to_der_pkcs1()
        .expect("DER");
    let p256 = PKey::private_key_from_pem(P256.as_bytes()).expect("P-256 key");
    let p256_public = p256.public_key_to_pem().expect("PEM");
    let p256_point = {
        let ec = p256.ec_key().expect("EC");
        let mut ctx = openssl::bn::BigNumContext::new().expect("ctx");
        ec.public_key()
            .to_bytes(
                ec.group(),
                openssl::ec::PointConversionForm::UNCOMPRESSED,
                &mut ctx,
            )
            .expect("point")
    };
    let ed = PKey::private_key_from_pem(ED25519.as_bytes()).expect("Ed25519 key");
    let ed_public = ed.public_key_to_pem().expect("PEM");
    let ed_raw = ed.raw_public_key().expect("raw");
    let native = |alg, bytes: &[u8]| Floor::Native(ParsedPublicKey::new(alg, bytes).expect("key"));
    let hmac_floor = {
        use hmac::Mac;
        Floor::Hmac(hmac::Hmac::new_from_slice(SECRET.as_bytes()).expect("key"))
    };
    vec![
        Contender {
            name: "HS256",
            alg: Algorithm::HS256,
            ours: Key::hmac(SECRET).expect("secret"),
            peer_alg: Jwt::HS256,
            peer_encoding: EncodingKey::from_secret(SECRET.as_bytes()).expect("secret"),
            peer_decoding: DecodingKey::from_secret(SECRET.as_bytes()).expect("secret"),
            floor: hmac_floor,
        },
        Contender {
            name: "RS256",
            alg: Algorithm::RS256,
            ours: Key::from_pem(RSA).expect("RSA key"),
            peer_alg: Jwt::RS256,
            peer_encoding: EncodingKey::from_rsa_pem(RSA.as_bytes()).expect("RSA key"),
            peer_decoding: DecodingKey::from_rsa_pem(&rsa_public).expect("RSA public key"),
            floor: native(&sig::RSA_PKCS1_2048_8192_SHA256, &rsa_pkcs1),
        },
        Contender {
            name: "PS256",
            alg: Algorithm::PS256,
            ours: Key::from_pem(RSA)
                .and_then(|k| k.with_algorithm(Algorithm::PS256))
                .expect("RSA key"),
            peer_alg: Jwt::PS256,
            peer_encoding: EncodingKey::from_rsa_pem(RSA.as_bytes()).expect("RSA key"),
            peer_decoding: DecodingKey::from_rsa_pem(&rsa_public).expect("RSA public key"),
            floor: native(&sig::RSA_PSS_2048_8192_SHA256, &rsa_pkcs1),
        },
        Contender {
            name: "ES256",
            alg: Algorithm::ES256,
            ours: Key::from_pem(P256).expect("P-256 key"),
            peer_alg: Jwt::ES256,
            peer_encoding: EncodingKey::from_ec_pem(P256.as_bytes()).expect("P-256 key"),
            peer_decoding: DecodingKey::from_ec_pem(&p256_public).expect("P-256 public key"),
            floor: native(&sig::ECDSA_P256_SHA256_FIXED, &p256_point),
        },
        Contender {
            name: "EdDSA",
            alg: Algorithm::EdDSA,
            ours: Key::from_pem(ED25519).expect("Ed25519 key"),
            peer_alg: Jwt::EdDSA,
            peer_encoding: EncodingKey::from_ed_pem(ED25519.as_bytes()).expect("Ed25519 key"),
            peer_decoding: DecodingKey::from_ed_pem(&ed_public).expect("Ed25519 public key"),
            floor: native(&sig::ED25519, &ed_raw),
        },
    ]
}

fn codec(key: Key) -> TokenCodec {
    TokenCodec::new(
        KeyRing::new(key).expect("a signing key"),
        fields(),
        TokenSettings::default(),
    )
    .expect("a codec")
}

/// An engine with `key`, the reference app's fields and a verified-token
/// cache (on by default).
fn engine_with(key: Key) -> SessionJwt {
    SessionJwt::builder()
        .with_key(key)
        .expect("a signing key")
        .with_fields(FIELDS)
        .build()
        .expect("an engine")
}

fn verify(c: &mut Criterion) {
    // jsonwebtoken checks `exp` against the system clock, so the shared token
    // is issued now; this crate is handed the same `now`.
    let now = OffsetDateTime::now_utc();
    let sk = SessionKey::generate();
    let claims = claims();
    for contender in contenders() {
        let ours = codec(contender.ours.clone());
        let token = ours.encode(&sk, &claims, now, None).expect("encode");
        let (input, signature) = token.rsplit_once('.').expect("a JWS");
        let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64");
        assert!(contender.floor.verify(input.as_bytes(), &signature));
        let mut validation = jsonwebtoken::Validation::new(contender.peer_alg);
        validation.validate_exp = true;
        let peer = || {
            jsonwebtoken::decode::<PeerClaims>(&token, &contender.peer_decoding, &validation)
                .expect("jsonwebtoken decodes our token")
        };
        assert_eq!(peer().claims.sk, sk.expose());
        assert_eq!(
            contender.alg,
            ours.keys().signing_key().expect("key").algorithm()
        );

        let mut group = c.benchmark_group(format!("verify/{}", contender.name));
        group.bench_function("session-jwt", |b| {
            b.iter(|| ours.verify(black_box(&token), now).expect("verify"));
        });
        group.bench_function("jsonwebtoken", |b| b.iter(peer));
        group.bench_function("floor", |b| {
            b.iter(|| {
                assert!(
                    contender
                        .floor
                        .verify(black_box(input.as_bytes()), &signature)
                )
            });
        });
        // The verified-token cache: the same cookie, seen before.
        let engine = engine_with(contender.ours.clone());
        let cookie = format!("sessionid={token}");
        assert!(
            engine
                .read_cookies([cookie.as_bytes()], now)
                .session_key()
                .is_some()
        );
        group.bench_function("session-jwt cache hit", |b| {
            b.iter(|| engine.read_cookies([black_box(cookie.as_bytes())], now));
        });
        group.finish();

        let mut group = c.benchmark_group(format!("encode/{}", contender.name));
        let header = jsonwebtoken::Header::new(contender.peer_alg);
        let payload = PeerClaims {
            sk: sk.expose().to_string(),
            iat: now.unix_timestamp(),
            exp: now.unix_timestamp() + 28_800,
            id: 1,
            u: "john".into(),
            e: "john@domain.com".into(),
            t: "core".into(),
            foo: "bar".into(),
        };
        group.bench_function("session-jwt", |b| {
            b.iter(|| {
                ours.encode(black_box(&sk), black_box(&claims), now, None)
                    .expect("encode")
            });
        });
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::encode(&header, black_box(&payload), &contender.peer_encoding)
                    .expect("encode")
            });
        });
        group.finish();
    }
}

/// A user as an app's user cache keeps it: shared (a clone is a reference
/// count), with the auth hash computed when the password was set, not on
/// every request.
#[derive(Clone)]
struct User(std::sync::Arc<UserData>);

impl std::ops::Deref for User {
    type Target = UserData;
    fn deref(&self) -> &UserData {
        &self.0
    }
}

impl Serialize for User {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[derive(Serialize)]
struct UserData {
    id: u64,
    username: String,
    email: String,
    profile: Value,
    #[serde(skip)]
    auth_hash: String,
    /// `id` as text, kept with the user.
    #[serde(skip)]
    id_text: String,
}

impl AuthUser for User {
    fn id(&self) -> String {
        self.id.to_string()
    }

    fn session_auth_hash(&self) -> String {
        self.auth_hash.clone()
    }

    // As the reference app's users: compared without building either string.
    fn is_logged_in_as(&self, id: &str, hash: &str) -> bool {
        id == self.id_text
            && constant_time_eq::constant_time_eq(hash.as_bytes(), self.auth_hash.as_bytes())
    }
}

/// The user table of the benchmark: one user, as an app's cache would hold.
struct OneUser(User);

#[async_trait::async_trait]
impl UserLoader for OneUser {
    type User = User;
    async fn load_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok((id == "1").then(|| self.0.clone()))
    }
}

/// The output of `future`, which must be ready at its first poll (the memory
/// store and the benchmark's users never wait): the engine's own work,
/// without an executor's.
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the benchmark's store and users never wait"),
    }
}

fn engine_steps(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let now = OffsetDateTime::now_utc();
    let store = MemoryStore::new();
    let user = User(std::sync::Arc::new(UserData {
        id: 1,
        username: "john".into(),
        email: "john@domain.com".into(),
        profile: json!({"team": "core"}),
        auth_hash: auth::session_auth_hash(b"bench secret", "pbkdf2_sha256$fake$hash"),
        id_text: "1".into(),
    }));
    let engine =
        engine_with(Key::hmac(SECRET).expect("secret")).with_user_loader(OneUser(user.clone()));
    // A logged-in session with a few items, as after the reference app's
    // login and /set.
    let cookie = rt.block_on(async {
        let session = engine.new_session();
        session.login(&user).expect("login");
        session
            .insert("test", "This value should be present")
            .expect("insert");
        session.insert("a", "12345").expect("insert");
        let headers = engine.save(&store, &session, now).await.expect("save");
        let set_cookie = headers.set_cookie.expect("a cookie");
        set_cookie
            .split(';')
            .next()
            .expect("name=value")
            .to_string()
    });
    // What a browser sends: the session cookie among others.
    let header = format!(
        "csrftoken=Qm9ZyE3kW1dxXbYtT0c6kPZq2XWs8Ynl; _ga=GA1.1.1234567890.1700000000; \
         {cookie}; theme=dark; django_language=en"
    );

    let mut group = c.benchmark_group("engine");
    group.bench_function("read_cookies", |b| {
        b.iter(|| {
            let incoming = engine.read_cookies([black_box(header.as_bytes())], now);
            assert!(incoming.session_key().is_some());
            incoming
        });
    });
    group.bench_function("request/unchanged", |b| {
        b.iter(|| {
            ready(async {
                let session = engine
                    .load(&store, [black_box(cookie.as_bytes())], now)
                    .await
                    .expect("load");
                let _: Option<String> = session.get("a");
                engine.save(&store, &session, now).await.expect("save")
            })
        });
    });
    group.bench_function("request/modified", |b| {
        b.iter(|| {
            ready(async {
                let session = engine
                    .load(&store, [black_box(cookie.as_bytes())], now)
                    .await
                    .expect("load");
                session.insert("b", "abcde").expect("insert");
                let headers = engine.save(&store, &session, now).await.expect("save");
                assert!(headers.set_cookie.is_some());
                headers
            })
        });
    });
    // Five hours into the token's eight: re-issued, without a store write.
    let later = now + Duration::hours(5);
    group.bench_function("request/re-issue", |b| {
        b.iter(|| {
            ready(async {
                let session = engine
                    .load(&store, [black_box(cookie.as_bytes())], later)
                    .await
                    .expect("load");
                let _: Option<String> = session.get("a");
                let headers = engine.save(&store, &session, later).await.expect("save");
                assert!(headers.set_cookie.is_some());
                headers
            })
        });
    });
    group.finish();
}

criterion_group!(benches, verify, engine_steps);
criterion_main!(benches);

//! What a request costs: encoding and verifying the session token for each
//! key family, the same work done by `jsonwebtoken` as a peer, reading a
//! realistic `Cookie` header, and a whole load + save cycle on the
//! `MemoryStore`.
//!
//! `cargo bench -p session-jwt-core --bench tokens`; results and the machine
//! they were measured on are in `docs/performance.md`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::time::macros::datetime;
use session_jwt_core::{
    AuthUser, Fields, Key, KeyRing, MemoryStore, SessionJwt, SessionKey, TokenCodec, TokenSettings,
    auth,
};

/// A fixed clock: the core never reads it, so neither does the benchmark.
const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const RSA: &str = include_str!("../tests/vectors/rsa.pem");
const RSA_PUBLIC: &str = include_str!("../tests/vectors/rsa.pub.pem");
const P256: &str = include_str!("../tests/vectors/p256.pem");
const ED25519: &str = include_str!("../tests/vectors/ed25519.pem");

/// The reference app's field configuration.
fn fields() -> Fields {
    Fields::new(
        vec![
            ("id", "id", "user_id").into(),
            ("username", "u", "username").into(),
            ("email", "e", "email").into(),
            ("profile.team", "t", "team").into(),
        ],
        "sk",
    )
    .expect("valid fields")
}

fn user() -> Value {
    json!({"id": 1, "username": "john", "email": "john@domain.com", "profile": {"team": "core"}})
}

/// The short-named claims of the reference app's user, plus a custom claim.
fn claims() -> Map<String, Value> {
    let mut claims = fields().extract(&user());
    claims.insert("foo".into(), "bar".into());
    claims
}

fn codec(key: Key) -> TokenCodec {
    TokenCodec::new(
        KeyRing::new(key).expect("a signing key"),
        fields(),
        TokenSettings::default(),
    )
    .expect("a codec")
}

fn ours(c: &mut Criterion) {
    let sk = SessionKey::generate();
    let keys = [
        ("HS256", Key::hmac(SECRET).expect("secret")),
        ("RS256", Key::from_pem(RSA).expect("RSA key")),
        ("ES256", Key::from_pem(P256).expect("P-256 key")),
        ("EdDSA", Key::from_pem(ED25519).expect("Ed25519 key")),
    ];
    let claims = claims();
    let mut group = c.benchmark_group("session-jwt");
    for (name, key) in keys {
        let codec = codec(key);
        group.bench_function(format!("{name}/encode"), |b| {
            b.iter(|| {
                codec
                    .encode(black_box(&sk), black_box(&claims), NOW, None)
                    .expect("encode")
            });
        });
        let token = codec.encode(&sk, &claims, NOW, None).expect("encode");
        group.bench_function(format!("{name}/verify"), |b| {
            b.iter(|| codec.verify(black_box(&token), NOW).expect("verify"));
        });
    }
    group.finish();
}

/// The same payload as `ours` produces, as a typed struct for jsonwebtoken.
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

fn jsonwebtoken_peer(c: &mut Criterion) {
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};

    // jsonwebtoken checks `exp` against the system clock, so this payload
    // must be valid now.
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let payload = PeerClaims {
        sk: SessionKey::generate().expose().to_string(),
        iat: now,
        exp: now + 28_800,
        id: 1,
        u: "john".into(),
        e: "john@domain.com".into(),
        t: "core".into(),
        foo: "bar".into(),
    };
    let keys = [
        (
            "HS256",
            Algorithm::HS256,
            EncodingKey::from_secret(SECRET.as_bytes()),
            DecodingKey::from_secret(SECRET.as_bytes()),
        ),
        (
            "RS256",
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(RSA.as_bytes()).expect("RSA key"),
            DecodingKey::from_rsa_pem(RSA_PUBLIC.as_bytes()).expect("RSA public key"),
        ),
    ];
    let mut group = c.benchmark_group("jsonwebtoken");
    for (name, alg, encoding, decoding) in keys {
        let header = Header::new(alg);
        group.bench_function(format!("{name}/encode"), |b| {
            b.iter(|| encode(&header, black_box(&payload), &encoding).expect("encode"));
        });
        let token = encode(&header, &payload, &encoding).expect("encode");
        let validation = Validation::new(alg);
        group.bench_function(format!("{name}/decode"), |b| {
            b.iter(|| {
                decode::<PeerClaims>(black_box(&token), &decoding, &validation).expect("decode")
            });
        });
    }
    group.finish();
}

#[derive(Clone, Serialize)]
struct User {
    id: u64,
    username: String,
    email: String,
    profile: Value,
}

impl AuthUser for User {
    fn id(&self) -> String {
        self.id.to_string()
    }

    fn session_auth_hash(&self) -> String {
        auth::session_auth_hash(b"bench secret", "pbkdf2_sha256$fake$hash")
    }
}

fn engine() -> SessionJwt {
    SessionJwt::builder()
        .with_key(Key::hmac(SECRET).expect("secret"))
        .expect("a signing key")
        .with_fields([
            ("id", "id", "user_id"),
            ("username", "u", "username"),
            ("email", "e", "email"),
            ("profile.team", "t", "team"),
        ])
        .build()
        .expect("an engine")
}

/// The user table of the benchmark: one user, as an app's cache would hold.
struct OneUser(User);

#[async_trait::async_trait]
impl session_jwt_core::UserLoader for OneUser {
    type User = User;
    async fn load_user(&self, id: &str) -> Result<Option<User>, session_jwt_core::StoreError> {
        Ok((id == self.0.id.to_string()).then(|| self.0.clone()))
    }
}

fn engine_steps(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let store = MemoryStore::new();
    let user = User {
        id: 1,
        username: "john".into(),
        email: "john@domain.com".into(),
        profile: json!({"team": "core"}),
    };
    let engine = engine().with_user_loader(OneUser(user.clone()));
    // A logged-in session with a few items, as after the reference app's
    // login and /set.
    let cookie = rt.block_on(async {
        let session = engine.new_session();
        session.login(&user).expect("login");
        session
            .insert("test", "This value should be present")
            .expect("insert");
        session.insert("a", "12345").expect("insert");
        let headers = engine.save(&store, &session, NOW).await.expect("save");
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
            let incoming = engine.read_cookies([black_box(header.as_bytes())], NOW);
            assert!(incoming.session_key().is_some());
            incoming
        });
    });
    group.bench_function("load+save/unchanged", |b| {
        b.iter(|| {
            rt.block_on(async {
                let session = engine
                    .load(&store, [black_box(header.as_bytes())], NOW)
                    .await
                    .expect("load");
                let _: Option<String> = session.get("a");
                engine.save(&store, &session, NOW).await.expect("save")
            })
        });
    });
    group.bench_function("load+save/modified", |b| {
        b.iter(|| {
            rt.block_on(async {
                let session = engine
                    .load(&store, [black_box(header.as_bytes())], NOW)
                    .await
                    .expect("load");
                session.insert("b", "abcde").expect("insert");
                let headers = engine.save(&store, &session, NOW).await.expect("save");
                assert!(headers.set_cookie.is_some());
                headers
            })
        });
    });
    group.finish();
}

criterion_group!(benches, ours, jsonwebtoken_peer, engine_steps);
criterion_main!(benches);

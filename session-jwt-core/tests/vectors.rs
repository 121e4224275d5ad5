//! Known-answer vectors: a fixed key, a fixed `now`, the exact token. A change
//! of output shows up in review as a change of `tests/vectors/tokens.json`.
//!
//! Only deterministic algorithms (HMAC, RSASSA-PKCS1-v1_5, Ed25519) have
//! vectors; PS* and ES* signatures are randomized and are covered by round
//! trips. Regenerate after an intended change with
//! `SESSION_JWT_WRITE_VECTORS=1 cargo test -p session-jwt-core --test vectors`.

use serde_json::{Map, Value, json};
use session_jwt_core::{
    Algorithm, Field, Fields, Key, KeyRing, SessionKey, TokenCodec, TokenSettings,
};
use time::OffsetDateTime;

fn dir() -> String {
    format!("{}/tests/vectors", env!("CARGO_MANIFEST_DIR"))
}

fn key(spec: &str, alg: Algorithm) -> Key {
    let key = match spec.split_once(':').unwrap() {
        ("secret", s) => Key::hmac(s).unwrap(),
        ("pem", file) => {
            Key::from_pem(std::fs::read(format!("{}/{file}", dir())).unwrap()).unwrap()
        }
        _ => panic!("bad key spec {spec}"),
    };
    key.with_algorithm(alg).unwrap()
}

fn codec(key: Key) -> TokenCodec {
    let fields = Fields::new(
        vec![
            Field::from(("id", "id", "user_id")),
            Field::from(("username", "u", "username")),
        ],
        "sk",
    )
    .unwrap();
    TokenCodec::new(KeyRing::new(key).unwrap(), fields, TokenSettings::default()).unwrap()
}

const SECRET: &str = "secret:django-insecure-0123456789abcdef0123456789abcdef0123456789abcdef";

fn cases() -> Vec<(Algorithm, &'static str)> {
    vec![
        (Algorithm::HS256, SECRET),
        (Algorithm::HS384, SECRET),
        (Algorithm::HS512, SECRET),
        (Algorithm::RS256, "pem:rsa.pem"),
        (Algorithm::RS384, "pem:rsa.pem"),
        (Algorithm::RS512, "pem:rsa.pem"),
        (Algorithm::EdDSA, "pem:ed25519.pem"),
    ]
}

#[test]
fn tokens_match_the_checked_in_vectors() {
    let now = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(); // 2026-01-01T00:00:00Z
    let sk = SessionKey::parse("k3v9x0q2m8w1z7r4t6y5u3i0o9p8a7s6").unwrap();
    let claims: Map<String, Value> = json!({"id": 1, "u": "john", "foo": "bar"})
        .as_object()
        .unwrap()
        .clone();
    let path = format!("{}/tokens.json", dir());

    let computed: Vec<Value> = cases()
        .into_iter()
        .map(|(alg, spec)| {
            let token = codec(key(spec, alg)).encode(&sk, &claims, now, None).unwrap();
            json!({"alg": alg.as_str(), "key": spec, "now": now.unix_timestamp(), "sk": sk.expose(), "claims": claims, "token": token})
        })
        .collect();
    if std::env::var_os("SESSION_JWT_WRITE_VECTORS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&computed).unwrap() + "\n",
        )
        .unwrap();
    }
    let stored: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(stored.len(), computed.len());
    for (s, c) in stored.iter().zip(&computed) {
        assert_eq!(s["token"], c["token"], "{}: the token changed", s["alg"]);
        // And each stored token verifies, with long names expanded.
        let alg: Algorithm = s["alg"].as_str().unwrap().parse().unwrap();
        let v = codec(key(s["key"].as_str().unwrap(), alg))
            .verify(s["token"].as_str().unwrap(), now)
            .unwrap();
        assert_eq!(v.get("user_id"), Some(&json!(1)));
        assert_eq!(v.get("username"), Some(&json!("john")));
        assert_eq!(v.session_key(), &sk);
    }
}

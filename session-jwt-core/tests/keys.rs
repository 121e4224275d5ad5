//! Key material: PEM, JWK, JWKS, algorithm choice and mismatch errors,
//! thumbprints, rotation, and redaction.

use serde_json::{Map, Value, json};
use session_jwt_core::{
    Algorithm, Fields, Key, KeyRing, SessionKey, TokenCodec, TokenError, TokenSettings,
};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

fn pem(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn codec(ring: KeyRing) -> TokenCodec {
    TokenCodec::new(
        ring,
        Fields::new(vec![], "sk").unwrap(),
        TokenSettings::default(),
    )
    .unwrap()
}

fn round_trip(signer: &Key, verifier: KeyRing) {
    let sk = SessionKey::generate();
    let token = codec(KeyRing::new(signer.clone()).unwrap())
        .encode(&sk, &Map::new(), NOW, None)
        .unwrap();
    let claims = codec(verifier).verify(&token, NOW).unwrap();
    assert_eq!(claims.session_key(), &sk);
    assert_eq!(
        claims.header().get("alg"),
        Some(&json!(signer.algorithm().as_str()))
    );
}

#[test]
fn the_algorithm_follows_the_key() {
    for (file, alg) in [
        ("rsa.pem", Algorithm::RS256),
        ("rsa.pkcs1.pem", Algorithm::RS256),
        ("p256.pem", Algorithm::ES256),
        ("p384.pem", Algorithm::ES384),
        ("ed25519.pem", Algorithm::EdDSA),
    ] {
        let key = Key::from_pem(pem(file)).unwrap();
        assert_eq!(key.algorithm(), alg, "{file}");
        assert!(key.can_sign());
        assert_eq!(
            key.kid(),
            key.thumbprint().as_deref(),
            "asymmetric kid defaults to the thumbprint"
        );
        // Verified by the public key alone, from PEM and from its JWK.
        let public = Key::from_pem(key.public_pem().unwrap()).unwrap();
        assert!(!public.can_sign());
        round_trip(&key, KeyRing::verify_only([public]).unwrap());
        let jwks = KeyRing::new(key.clone()).unwrap().jwks().unwrap();
        round_trip(&key, KeyRing::from_jwks(jwks.to_string()).unwrap());
    }
    assert_eq!(
        Key::hmac("0123456789abcdef0123456789abcdef")
            .unwrap()
            .algorithm(),
        Algorithm::HS256
    );
    assert_eq!(
        Key::hmac("0123456789abcdef0123456789abcdef").unwrap().kid(),
        None
    );
}

#[test]
fn every_algorithm_signs_and_verifies() {
    let secret = "0123456789abcdef".repeat(4);
    for alg in Algorithm::ALL {
        let key = match alg {
            a if a.is_hmac() => Key::hmac(secret.as_str()).unwrap(),
            Algorithm::ES256 => Key::from_pem(pem("p256.pem")).unwrap(),
            Algorithm::ES384 => Key::from_pem(pem("p384.pem")).unwrap(),
            Algorithm::EdDSA => Key::from_pem(pem("ed25519.pem")).unwrap(),
            _ => Key::from_pem(pem("rsa.pem")).unwrap(),
        }
        .with_algorithm(alg)
        .unwrap_or_else(|e| panic!("{alg}: {e}"));
        // PS256 from PEM is a known josekit pitfall: it must work here.
        round_trip(&key, KeyRing::new(key.clone()).unwrap());
    }
}

#[test]
fn an_algorithm_that_does_not_fit_the_key_names_the_setting() {
    let cases = [
        ("rsa.pem", Algorithm::ES256),
        ("rsa.pem", Algorithm::HS256),
        ("p256.pem", Algorithm::ES384),
        ("p384.pem", Algorithm::ES256),
        ("ed25519.pem", Algorithm::RS256),
    ];
    for (file, alg) in cases {
        let err = Key::from_pem(pem(file))
            .unwrap()
            .with_algorithm(alg)
            .unwrap_err();
        assert_eq!(err.setting(), "algorithm", "{file} {alg}");
        assert!(err.to_string().contains(alg.as_str()));
    }
    let err = Key::hmac("0123456789abcdef0123456789abcdef")
        .unwrap()
        .with_algorithm(Algorithm::RS256)
        .unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");
    assert!("HS999".parse::<Algorithm>().is_err());
}

#[test]
fn pem_pairs_must_match() {
    let ok = Key::from_pem_pair(pem("rsa.pem"), pem("rsa.pub.pem")).unwrap();
    assert!(ok.can_sign());
    let p256_public = Key::from_pem(pem("p256.pem"))
        .unwrap()
        .public_pem()
        .unwrap();
    let err = Key::from_pem_pair(pem("rsa.pem"), p256_public).unwrap_err();
    assert_eq!(err.setting(), "public_key");
    let err = Key::from_pem_pair(pem("rsa.pub.pem"), pem("rsa.pub.pem")).unwrap_err();
    assert!(err.to_string().contains("not a private key"));
}

#[test]
fn garbage_key_material_is_a_clear_error() {
    for bad in [
        "",
        "not a key",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ] {
        let err = Key::from_pem(bad).unwrap_err();
        assert_eq!(err.setting(), "key", "{bad:?}: {err}");
    }
    assert!(
        Key::from_pem_file("/no/such/file.pem")
            .unwrap_err()
            .to_string()
            .contains("/no/such/file.pem")
    );
    assert!(Key::from_jwk_json("{}").is_err());
    assert!(KeyRing::from_jwks(r#"{"keys": []}"#).is_err());
    assert!(KeyRing::from_jwks("nope").is_err());
}

#[test]
fn rfc7638_thumbprint_vector() {
    // RFC 7638 section 3.1.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    let key = Key::from_jwk_json(jwk.to_string()).unwrap();
    assert_eq!(
        key.thumbprint().as_deref(),
        Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    );
    assert_eq!(key.kid(), Some("2011-04-29"), "a JWK's own kid is kept");
    assert!(!key.can_sign());
}

#[test]
fn an_ed25519_jwk_must_hold_one_key_pair() {
    let jwk = |key: &Key| key.private_jwk().unwrap().as_object().unwrap().clone();
    let ours = jwk(&Key::from_pem(pem("ed25519.pem")).unwrap());
    let other = jwk(&session_jwt_core::key::generate(Algorithm::EdDSA).unwrap().0);
    // Another key's public half: signing with `d` would issue tokens that
    // `x` never verifies. Refused at start, naming the setting.
    let mut mixed = ours.clone();
    mixed.insert("x".into(), other["x"].clone());
    let err = Key::from_jwk_json(Value::Object(mixed).to_string()).unwrap_err();
    assert_eq!(err.setting(), "key");
    assert!(err.to_string().contains("does not match"), "{err}");
    assert!(Key::from_jwk_json(Value::Object(ours).to_string()).is_ok());
}

#[test]
fn jwk_round_trip_of_private_keys() {
    for file in ["rsa.pem", "p256.pem", "ed25519.pem"] {
        let key = Key::from_pem(pem(file)).unwrap();
        let back = Key::from_jwk_json(key.private_jwk().unwrap().to_string()).unwrap();
        assert!(back.can_sign());
        assert_eq!(back.public_jwk(), key.public_jwk());
        round_trip(
            &back,
            KeyRing::verify_only([Key::from_pem(key.public_pem().unwrap()).unwrap()]).unwrap(),
        );
    }
    let secret = Key::hmac("0123456789abcdef0123456789abcdef").unwrap();
    let back = Key::from_jwk_json(secret.private_jwk().unwrap().to_string()).unwrap();
    round_trip(&secret, KeyRing::new(back).unwrap());
}

#[test]
fn jwks_publishes_public_keys_only_and_never_secrets() {
    let rsa = Key::from_pem(pem("rsa.pem")).unwrap();
    let old = Key::from_pem(pem("p256.pem")).unwrap();
    let ring = KeyRing::new(rsa)
        .unwrap()
        .with_verification_key(old)
        .unwrap();
    let jwks = ring.jwks().unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "private member published: {k}"
        );
        assert_eq!(k["use"], "sig");
        assert!(k["kid"].is_string() && k["alg"].is_string());
    }
    assert_eq!(
        KeyRing::new(Key::hmac("0123456789abcdef0123456789abcdef").unwrap())
            .unwrap()
            .jwks(),
        None
    );
}

#[test]
fn hmac_and_asymmetric_keys_cannot_share_a_ring() {
    let ring = KeyRing::new(Key::from_pem(pem("rsa.pem")).unwrap()).unwrap();
    let err = ring
        .with_verification_key(Key::hmac("0123456789abcdef0123456789abcdef").unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("cannot share"));
}

#[test]
fn secrets_are_redacted() {
    let secret = "0123456789abcdef0123456789abcdef-SECRET";
    let key = Key::hmac(secret).unwrap();
    let ring = KeyRing::new(key.clone()).unwrap();
    for shown in [
        format!("{key:?}"),
        format!("{ring:?}"),
        format!("{:?}", session_jwt_core::Secret::from(secret)),
    ] {
        assert!(
            !shown.contains("SECRET") && !shown.contains("0123456789"),
            "{shown}"
        );
    }
    let private = Key::from_pem(pem("rsa.pem")).unwrap();
    assert!(!format!("{private:?}").contains("MII"));
}

#[test]
fn generated_keys_work_for_every_algorithm() {
    for alg in [
        Algorithm::HS256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let (key, text) = session_jwt_core::key::generate(alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        assert!(!text.is_empty());
        round_trip(&key, KeyRing::new(key.clone()).unwrap());
    }
}

#[test]
fn rotation_kid_selects_the_key_and_old_tokens_still_verify() {
    let a = Key::from_pem(pem("rsa.pem")).unwrap();
    let b = Key::from_pem(pem("p256.pem")).unwrap();
    let sk = SessionKey::generate();
    let old_token = codec(KeyRing::new(b.clone()).unwrap())
        .encode(&sk, &Map::new(), NOW, None)
        .unwrap();
    let ring = KeyRing::new(a).unwrap().with_verification_key(b).unwrap();
    let claims = codec(ring.clone()).verify(&old_token, NOW).unwrap();
    assert!(!claims.signed_with_current_key());
    // A kid that names no key of the ring.
    let mut header: Value =
        serde_json::from_slice(&base64_decode(old_token.split('.').next().unwrap())).unwrap();
    header["kid"] = json!("gone");
    let forged = format!(
        "{}.{}",
        base64_encode(header.to_string().as_bytes()),
        old_token.split_once('.').unwrap().1
    );
    assert_eq!(
        codec(ring).verify(&forged, NOW).unwrap_err(),
        TokenError::UnknownKeyId
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[test]
fn derived_secrets_are_stable_per_key_and_context() {
    let a = Key::hmac("0123456789abcdef0123456789abcdef").unwrap();
    let a2 = Key::hmac("0123456789abcdef0123456789abcdef").unwrap();
    let b = Key::hmac("another secret of thirty-two bytes!!").unwrap();
    let d = |k: &Key, c| k.derive_secret(c).unwrap();
    assert_eq!(
        d(&a, "x"),
        d(&a2, "x"),
        "same key, same secret: instances agree"
    );
    assert_ne!(d(&a, "x"), d(&b, "x"));
    assert_ne!(d(&a, "x"), d(&a, "y"));
    let rsa = Key::from_pem(pem("rsa.pem")).unwrap();
    let rsa2 = Key::from_pem(pem("rsa.pkcs1.pem")).unwrap();
    assert_eq!(
        d(&rsa, "x"),
        d(&rsa2, "x"),
        "the same private key in two PEM forms"
    );
    assert_ne!(
        d(&rsa, "x"),
        d(&Key::from_pem(pem("p256.pem")).unwrap(), "x")
    );
    let public = Key::from_pem(rsa.public_pem().unwrap()).unwrap();
    assert!(
        public.derive_secret("x").is_none(),
        "nothing secret in a public key"
    );
}

#[test]
fn short_hmac_secrets_only_when_explicitly_allowed() {
    let err = Key::hmac("only-twenty-bytes-xx").unwrap_err();
    assert!(err.to_string().contains("RFC 7518"), "{err}");
    let short = Key::hmac_allow_short("only-twenty-bytes-xx").unwrap();
    round_trip(&short, KeyRing::new(short.clone()).unwrap());
    let short = short
        .with_algorithm(Algorithm::HS512)
        .expect("allowed stays allowed");
    round_trip(&short, KeyRing::new(short.clone()).unwrap());
    assert!(Key::hmac_allow_short("").is_err(), "never an empty secret");
}

#[test]
fn verify_only_rings_check_family_and_kids() {
    let rsa = Key::from_pem(pem("rsa.pem")).unwrap();
    let public = Key::from_pem(rsa.public_pem().unwrap()).unwrap();
    let secret = Key::hmac("0123456789abcdef0123456789abcdef").unwrap();
    assert!(
        KeyRing::verify_only([public.clone(), secret]).is_err(),
        "mixed families"
    );
    assert!(
        KeyRing::verify_only([public.clone(), public.clone()]).is_err(),
        "duplicate kid"
    );
    let mixed = json!({"keys": [{"kty": "oct", "k": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}, rsa.public_jwk().unwrap()]});
    assert!(KeyRing::from_jwks(mixed.to_string()).is_err());
}

#[test]
fn a_jwks_entry_without_kid_still_verifies_our_tokens() {
    let rsa = Key::from_pem(pem("rsa.pem")).unwrap();
    let mut jwk = rsa.public_jwk().unwrap();
    jwk.as_object_mut().unwrap().remove("kid");
    let ring = KeyRing::from_jwks(json!({"keys": [jwk]}).to_string()).unwrap();
    assert_eq!(
        ring.keys().next().unwrap().kid(),
        rsa.kid(),
        "the thumbprint, as from PEM"
    );
    round_trip(&rsa, ring);
}

#[test]
fn ecdsa_tokens_are_signed_with_low_s() {
    // Without normalising, half of all ECDSA signatures have s > n/2 (and
    // their twin n - s verifies too). 64 signatures each: none high.
    use base64::Engine as _;
    let half_order = |alg| -> Vec<u8> {
        let n: &[u8] = match alg {
            Algorithm::ES256 => &[
                0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61,
                0x7e, 0x31, 0x92, 0xa8,
            ],
            _ => &[
                0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe3, 0xb1, 0xa6, 0xc0,
                0xfa, 0x1b, 0x96, 0xef, 0xac, 0x0d, 0x06, 0xd9, 0x24, 0x58, 0x53, 0xbd, 0x76, 0x76,
                0x0c, 0xb5, 0x66, 0x62, 0x94, 0xb9,
            ],
        };
        n.to_vec()
    };
    for (alg, len) in [(Algorithm::ES256, 32), (Algorithm::ES384, 48)] {
        let (key, _) = session_jwt_core::key::generate(alg).unwrap();
        let codec = codec(KeyRing::new(key).unwrap());
        for _ in 0..64 {
            let token = codec
                .encode(&SessionKey::generate(), &Map::new(), NOW, None)
                .unwrap();
            let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token.rsplit('.').next().unwrap())
                .unwrap();
            assert_eq!(sig.len(), 2 * len);
            // Big-endian, equal length: byte order is numeric order.
            assert!(
                sig[len..] <= half_order(alg)[..],
                "{alg}: a high-S signature"
            );
            let _ = codec.verify(&token, NOW).unwrap();
        }
    }
}

#[test]
fn pem_files_and_error_texts_say_what_they_mean() {
    let dir = std::env::temp_dir().join(format!("sjwt-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (private, public) = (dir.join("rsa.pem"), dir.join("rsa.pub.pem"));
    std::fs::write(&private, pem("rsa.pem")).unwrap();
    std::fs::write(&public, pem("rsa.pub.pem")).unwrap();
    let key = Key::from_pem_files(&private, &public).unwrap();
    assert_eq!(key.algorithm(), Algorithm::RS256);
    let err = Key::from_pem_files(&private, dir.join("missing.pem")).unwrap_err();
    assert_eq!(err.setting(), "public_key", "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");
    // Texts are not paths: the PEM-text function says so by failing clearly.
    let err = Key::from_pem_pair(private.to_str().unwrap(), public.to_str().unwrap()).unwrap_err();
    assert!(err.to_string().contains("PEM"), "{err}");
    let err = key.with_algorithm(Algorithm::ES256).unwrap_err();
    assert!(err.to_string().contains("does not fit an RSA key"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn field_errors_name_both_fields() {
    let err = Fields::new(vec![("home", "h").into(), ("height", "h").into()], "sk").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("\"home\"") && text.contains("\"height\"") && text.contains("\"h\""),
        "{text}"
    );
}

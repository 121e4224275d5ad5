//! `rediss://` against a real `redis-server` serving TLS (feature
//! `tls-rustls`).
#![cfg(feature = "tls-rustls")]

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509, X509NameBuilder};
use session_jwt_core::time::{Duration, OffsetDateTime};
use session_jwt_core::{Record, SaveMode, SessionKey, SessionStore, StoreError};
use session_jwt_redis::RedisStore;
use session_jwt_redis::testing::RedisServer;

/// A self-signed certificate for 127.0.0.1 and its key, in PEM.
fn self_signed() -> (Vec<u8>, Vec<u8>) {
    let key = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "127.0.0.1").unwrap();
    let name = name.build();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .build(&cert.x509v3_context(None, None))
        .unwrap();
    cert.append_extension(san).unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    (
        cert.build().to_pem().unwrap(),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
}

#[tokio::test]
async fn rediss_round_trip_with_a_private_root() {
    let (cert, key) = self_signed();
    let Some(redis) = RedisServer::builder()
        .with_tls(cert.clone(), key)
        .with_password("pw")
        .start_or_skip("rediss_round_trip_with_a_private_root")
    else {
        return;
    };
    assert!(redis.url().starts_with("rediss://:pw@127.0.0.1:"));
    let store = RedisStore::builder(redis.url_with_db(1))
        .with_tls_root_certificate(cert)
        .connect()
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let k = SessionKey::generate();
    let mut items = serde_json::Map::new();
    items.insert("_auth_user_id".into(), "1".into());
    let rec = std::sync::Arc::new(Record {
        items,
        expires: now + Duration::hours(1),
    });
    assert!(store.save(&k, &rec, SaveMode::Create, now).await.unwrap());
    assert_eq!(store.load(&k, now).await.unwrap(), Some(rec));
    assert_eq!(store.delete_user_sessions("1", None, now).await.unwrap(), 1);

    // Without trusting the certificate, the server is not trusted.
    let untrusting = RedisStore::new(&redis.url()).unwrap();
    let err = untrusting.load(&k, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    // Plain text to a TLS port fails too, quickly.
    let plain = RedisStore::new(&format!("redis://:pw@127.0.0.1:{}/", redis.port())).unwrap();
    let err = plain.load(&k, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

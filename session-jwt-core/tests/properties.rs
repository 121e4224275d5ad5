//! Property tests: encode then verify gives back the session key and every
//! field, for any field map; and no input makes the cookie reader panic.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use session_jwt_core::fields::REGISTERED_CLAIMS;
use session_jwt_core::{
    Field, Fields, Key, KeyRing, MemoryStore, SessionJwt, SessionKey, TokenCodec, TokenSettings,
};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[^\u{0}]{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn claim_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,10}".prop_filter("not reserved", |n| {
        n != "sk" && !REGISTERED_CLAIMS.contains(&n.as_str())
    })
}

fn codec(fields: Vec<Field>) -> TokenCodec {
    let key = Key::hmac("0123456789abcdef0123456789abcdef").unwrap();
    TokenCodec::new(
        KeyRing::new(key).unwrap(),
        Fields::new(fields, "sk").unwrap(),
        TokenSettings::default(),
    )
    .unwrap()
}

proptest! {
    #[test]
    fn any_claims_round_trip(claims in prop::collection::btree_map(claim_name(), json_value(), 0..8)) {
        let claims: Map<String, Value> = claims.into_iter().collect();
        let c = codec(vec![]);
        let sk = SessionKey::generate();
        let token = c.encode(&sk, &claims, NOW, None).unwrap();
        let v = c.verify(&token, NOW).unwrap();
        prop_assert_eq!(v.session_key(), &sk);
        for (name, value) in &claims {
            prop_assert_eq!(v.get(name), Some(value));
        }
    }

    #[test]
    fn user_fields_come_back_under_long_names(
        values in prop::collection::btree_map("[a-z]{1,8}", json_value().prop_filter("not null", |v| !v.is_null()), 1..6)
    ) {
        // Each user attribute `a` is stored as `s_a` and expanded to `long_a`.
        let fields: Vec<Field> = values.keys().map(|k| Field::new(k.clone(), format!("s_{k}"), format!("long_{k}"))).collect();
        let user = Value::Object(values.clone().into_iter().collect());
        let c = codec(fields.clone());
        let short = c.fields().extract(&user);
        let sk = SessionKey::generate();
        let v = c.verify(&c.encode(&sk, &short, NOW, None).unwrap(), NOW).unwrap();
        for (k, value) in &values {
            prop_assert_eq!(v.get(&format!("s_{k}")), Some(value));
            prop_assert_eq!(v.get(&format!("long_{k}")), Some(value));
        }
    }

    #[test]
    fn any_cookie_header_is_read_without_panic(header in prop::collection::vec(any::<u8>(), 0..600)) {
        let engine = SessionJwt::builder().with_key(Key::hmac("0123456789abcdef0123456789abcdef").unwrap()).unwrap().build().unwrap();
        let incoming = engine.read_cookies([header.as_slice()], NOW);
        prop_assert!(incoming.session_key().is_none());
    }

    #[test]
    fn any_token_text_is_rejected_without_panic(token in "[A-Za-z0-9_.=-]{0,300}") {
        prop_assert!(codec(vec![]).verify(&token, NOW).is_err());
    }
}

#[test]
fn the_store_round_trips_what_the_engine_saves() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let engine = SessionJwt::builder()
            .with_key(Key::hmac("0123456789abcdef0123456789abcdef").unwrap())
            .unwrap()
            .build()
            .unwrap();
        let store = MemoryStore::new();
        let s = engine.new_session();
        s.insert("nested", json!({"a": [1, 2, {"b": null}]}))
            .unwrap();
        let cookie = engine
            .save(&store, &s, NOW)
            .await
            .unwrap()
            .set_cookie
            .unwrap();
        let pair = cookie.split(';').next().unwrap();
        let back = engine.load(&store, [pair.as_bytes()], NOW).await.unwrap();
        assert_eq!(
            back.get_value("nested"),
            Some(json!({"a": [1, 2, {"b": null}]}))
        );
    });
}

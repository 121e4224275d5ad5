//! Any text as a session token: verification rejects it (or, for a token the
//! fuzzer cannot forge, never accepts it) without panicking.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{Field, Fields, Key, KeyRing, TokenCodec, TokenSettings, insecure};

static CODEC: LazyLock<TokenCodec> = LazyLock::new(|| {
    let key = Key::hmac("fuzzing secret, thirty-two bytes long").unwrap();
    let fields = Fields::new(vec![Field::from(("username", "u", "username"))], "sk").unwrap();
    TokenCodec::new(KeyRing::new(key).unwrap(), fields, TokenSettings::default()).unwrap()
});

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let now = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        assert!(CODEC.verify(text, now).is_err(), "the fuzzer forged a token");
        if let Ok(t) = insecure::insecure_decode(text) {
            let _ = t.claims();
        }
    }
});

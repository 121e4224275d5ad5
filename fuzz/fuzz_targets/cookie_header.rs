//! Any bytes as Cookie headers: the engine reads them as an anonymous visitor
//! without panicking.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{Key, SessionJwt};

static ENGINE: LazyLock<SessionJwt> = LazyLock::new(|| {
    let key = Key::hmac("fuzzing secret, thirty-two bytes long").unwrap();
    SessionJwt::builder().with_key(key).unwrap().build().unwrap()
});

fuzz_target!(|data: &[u8]| {
    let now = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
    // Split the input into several header values at NUL bytes.
    let headers = data.split(|b| *b == 0);
    let incoming = ENGINE.read_cookies(headers, now);
    assert!(incoming.session_key().is_none(), "the fuzzer forged a cookie");
});

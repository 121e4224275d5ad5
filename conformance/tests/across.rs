//! The three reference apps together: cookies issued by any are accepted by
//! the others when they share one Redis and one key.

#[test]
fn every_adapter_accepts_the_others_cookies() {
    conformance::cases::every_adapter_accepts_the_others_cookies(&["poem", "rocket", "warp"]);
}

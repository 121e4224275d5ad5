//! The conformance suite against the Warp adapter's reference app.
conformance::suite!("warp");

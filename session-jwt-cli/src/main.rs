//! The session-jwt binary (work in progress).
fn main() {}

//! Conformance suite support (work in progress).

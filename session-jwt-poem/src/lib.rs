//! session-jwt-poem (work in progress).

//! session-jwt-redis (work in progress).

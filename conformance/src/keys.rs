//! Keys made at test time, written as PEM files for the apps to read.

use std::path::PathBuf;

use session_jwt_core::{Algorithm, Key};

/// A generated key pair on disk.
pub struct KeyFiles {
    _dir: tempfile::TempDir,
    /// The private key PEM file.
    pub private: PathBuf,
    /// The public key PEM file.
    pub public: PathBuf,
    /// The key itself.
    pub key: Key,
}

impl KeyFiles {
    /// A new key for `alg`.
    pub fn generate(alg: Algorithm) -> Self {
        let (key, pem) = session_jwt_core::key::generate(alg).expect("generate a key");
        let dir = tempfile::tempdir().expect("temp dir");
        let private = dir.path().join("private.pem");
        let public = dir.path().join("public.pem");
        std::fs::write(&private, pem.as_bytes()).unwrap();
        std::fs::write(&public, key.public_pem().expect("an asymmetric key")).unwrap();
        KeyFiles {
            _dir: dir,
            private,
            public,
            key,
        }
    }

    /// The private key path as text.
    pub fn private_path(&self) -> &str {
        self.private.to_str().unwrap()
    }

    /// The public key path as text.
    pub fn public_path(&self) -> &str {
        self.public.to_str().unwrap()
    }

    /// The public key PEM.
    pub fn public_pem(&self) -> String {
        std::fs::read_to_string(&self.public).unwrap()
    }
}

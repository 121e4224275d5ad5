//! What the test files share: a quiet Rocket and log capture.
#![allow(dead_code)]

use std::sync::Arc;

use rocket::figment::{Figment, Provider};
use rocket::{Build, Rocket};

/// Rocket, quiet (Rocket's own logger writes to stdout).
pub(crate) fn quiet() -> Rocket<Build> {
    rocket::custom(config())
}

/// Rocket, quiet, with `extra` configuration (a `Rocket.toml`) on top.
pub(crate) fn quiet_with(extra: impl Provider) -> Rocket<Build> {
    rocket::custom(config().merge(extra))
}

fn config() -> Figment {
    Figment::from(rocket::Config::debug_default()).merge(("log_level", "off"))
}

/// Collects the log lines written while it is the thread's subscriber.
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures this thread's `tracing` events until the guard is dropped.
    pub(crate) fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(move || logs.clone())
                .with_ansi(false)
                .finish(),
        )
    }

    /// What was logged.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

//! A private `redis-server` process for tests (feature `testing`).
//!
//! [`RedisServer`] starts `redis-server` on a free loopback port in its own
//! temporary directory, waits until it answers `PING`, and kills it when
//! dropped: no fixed port, no state shared between tests. For fault tests it
//! can stop, be killed, restart on the same port (with its data, when
//! started [`with_persistence`](RedisServerBuilder::with_persistence)), and
//! hang ([`pause`](RedisServer::pause) / [`resume`](RedisServer::resume),
//! SIGSTOP/SIGCONT; or [`client_pause`](RedisServer::client_pause)).
//!
//! ```no_run
//! use session_jwt_redis::testing::RedisServer;
//!
//! // Skips (returns) on a machine without redis-server, fails under CI=true.
//! let Some(redis) = RedisServer::start_or_skip("my_test") else { return };
//! let url = redis.url();
//! # drop(url);
//! ```
//!
//! The binary is `redis-server` from `PATH`, or the path in the environment
//! variable `REDIS_SERVER` if set.

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::FromRedisValue;

/// How long a server may take to answer `PING` after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

fn binary() -> OsString {
    std::env::var_os("REDIS_SERVER").unwrap_or_else(|| "redis-server".into())
}

/// Whether this is a CI run: `CI` is `true` (any case) or `1`. The same test
/// as the conformance suite's and session-jwt-cli's tests.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Options of a [`RedisServer`] to start.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RedisServerBuilder {
    password: Option<String>,
    persistence: bool,
    /// Certificate and key (PEM) for TLS.
    #[cfg(feature = "tls-rustls")]
    tls: Option<(Vec<u8>, Vec<u8>)>,
}

impl RedisServerBuilder {
    /// Requires this password (`requirepass`); [`RedisServer::url`] carries it.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Keeps the data across [`RedisServer::stop`]/[`RedisServer::kill`] and
    /// [`RedisServer::restart`]: an append-only file in the server's
    /// temporary directory, written through on every command
    /// (`appendfsync always`). Off by default (`--save "" --appendonly no`).
    pub fn with_persistence(mut self, on: bool) -> Self {
        self.persistence = on;
        self
    }

    /// Serves TLS only (`--port 0 --tls-port N`, no client certificates),
    /// with this self-signed certificate and its private key (PEM);
    /// [`RedisServer::url`] is then `rediss://`, and a client must trust
    /// `certificate` (e.g. with
    /// [`Builder::with_tls_root_certificate`](crate::Builder::with_tls_root_certificate)).
    #[cfg(feature = "tls-rustls")]
    pub fn with_tls(mut self, certificate: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.tls = Some((certificate.into(), key.into()));
        self
    }

    /// Starts the server and waits until it answers `PING`.
    pub fn try_start(self) -> io::Result<RedisServer> {
        let mut last_error = None;
        // A free port can be taken by someone else between the probe and the
        // server's bind: then try another.
        for _ in 0..5 {
            let mut server = RedisServer {
                child: None,
                port: free_port()?,
                dir: tempfile::Builder::new()
                    .prefix("session-jwt-redis-")
                    .tempdir()?,
                options: self.clone(),
                paused: false,
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no free port")))
    }

    /// Starts the server.
    ///
    /// # Panics
    /// If it cannot be started, with the reason (and its log).
    pub fn start(self) -> RedisServer {
        self.try_start()
            .unwrap_or_else(|e| panic!("cannot start redis-server: {e}"))
    }

    /// Starts the server, or, if `redis-server` is not installed, says so on
    /// stderr (naming `test`) and returns `None` so that the test can return.
    ///
    /// # Panics
    /// If `redis-server` is missing while the environment variable `CI` is
    /// `true` (any case) or `1`: under CI a missing server fails the run.
    /// Also if an installed server cannot be started.
    pub fn start_or_skip(self, test: &str) -> Option<RedisServer> {
        if !RedisServer::is_installed() {
            let why = match std::env::var_os("REDIS_SERVER") {
                Some(path) => format!("REDIS_SERVER={} cannot be run", path.to_string_lossy()),
                None => "not on PATH, and REDIS_SERVER is not set".to_owned(),
            };
            let msg = format!(
                "{test}: redis-server is not installed ({why}); \
                 install it (apt-get install redis-server) to run the Redis tests"
            );
            assert!(!under_ci(), "{msg} (CI=true: failing)");
            // Straight to stderr: libtest captures `eprintln!` of passing
            // tests, and a skip must be seen.
            let _ = writeln!(io::stderr(), "SKIPPED {msg}");
            return None;
        }
        Some(self.start())
    }
}

/// A `redis-server` process of one test, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    options: RedisServerBuilder,
    paused: bool,
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn signal(pid: u32, sig: &str) -> io::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("kill -{sig} {pid}: {status}")))
    }
}

impl RedisServer {
    /// Options for a server to start.
    pub fn builder() -> RedisServerBuilder {
        RedisServerBuilder::default()
    }

    /// Starts a server without password or persistence.
    ///
    /// # Panics
    /// If it cannot be started.
    #[must_use]
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// [`RedisServerBuilder::start_or_skip`] with the default options.
    #[must_use]
    pub fn start_or_skip(test: &str) -> Option<Self> {
        Self::builder().start_or_skip(test)
    }

    /// Whether `redis-server` (or `$REDIS_SERVER`) can be run.
    #[must_use]
    pub fn is_installed() -> bool {
        Command::new(binary())
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The port it listens on (127.0.0.1), the same across restarts.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database 0, with the password if there is one.
    #[must_use]
    pub fn url(&self) -> String {
        self.url_with_db(0)
    }

    /// The URL of database `db`, with the password if there is one.
    #[must_use]
    pub fn url_with_db(&self, db: u32) -> String {
        #[cfg(feature = "tls-rustls")]
        let scheme = if self.options.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        #[cfg(not(feature = "tls-rustls"))]
        let scheme = "redis";
        match &self.options.password {
            Some(p) => format!("{scheme}://:{p}@127.0.0.1:{}/{db}", self.port),
            None => format!("{scheme}://127.0.0.1:{}/{db}", self.port),
        }
    }

    /// The server's directory (its log `redis.log`, and its data with
    /// persistence).
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log so far.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    /// Whether the process is alive (paused counts as alive).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn spawn(&mut self) -> io::Result<()> {
        let mut cmd = Command::new(binary());
        #[cfg(feature = "tls-rustls")]
        if let Some((certificate, key)) = &self.options.tls {
            let (cert_path, key_path) = (
                self.dir.path().join("cert.pem"),
                self.dir.path().join("key.pem"),
            );
            std::fs::write(&cert_path, certificate)?;
            std::fs::write(&key_path, key)?;
            cmd.args(["--port", "0", "--tls-auth-clients", "no", "--tls-port"])
                .arg(self.port.to_string())
                .arg("--tls-cert-file")
                .arg(cert_path)
                .arg("--tls-key-file")
                .arg(key_path);
        } else {
            cmd.arg("--port").arg(self.port.to_string());
        }
        #[cfg(not(feature = "tls-rustls"))]
        cmd.arg("--port").arg(self.port.to_string());
        cmd.args(["--bind", "127.0.0.1", "--daemonize", "no", "--save", ""])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(self.log_path());
        if self.options.persistence {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        if let Some(p) = &self.options.password {
            cmd.args(["--requirepass", p]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run {:?}: {e}", binary())))?;
        self.child = Some(child);
        self.paused = false;
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                let log = self.log();
                let kind = if log.contains("Address already in use") {
                    io::ErrorKind::AddrInUse
                } else {
                    io::ErrorKind::Other
                };
                return Err(io::Error::new(
                    kind,
                    format!("redis-server exited ({status}); its log:\n{log}"),
                ));
            }
            if self.query::<String>(&["PING"]).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "redis-server did not answer PING within {READY_TIMEOUT:?}; its log:\n{}",
                        self.log()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Runs one command on a new connection (blocking, 1 s timeouts): for
    /// test setup and inspection, e.g. `query::<Option<String>>(&["GET", k])`.
    pub fn query<T: FromRedisValue>(&self, args: &[&str]) -> redis::RedisResult<T> {
        let client = self.client()?;
        let mut conn = client.get_connection_with_timeout(Duration::from_secs(1))?;
        conn.set_read_timeout(Some(Duration::from_secs(1)))?;
        conn.set_write_timeout(Some(Duration::from_secs(1)))?;
        let mut cmd = redis::cmd(args.first().copied().unwrap_or("PING"));
        for a in args.iter().skip(1) {
            cmd.arg(*a);
        }
        cmd.query(&mut conn)
    }

    #[cfg(not(feature = "tls-rustls"))]
    fn client(&self) -> redis::RedisResult<redis::Client> {
        redis::Client::open(self.url())
    }

    #[cfg(feature = "tls-rustls")]
    fn client(&self) -> redis::RedisResult<redis::Client> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        match &self.options.tls {
            None => redis::Client::open(self.url()),
            Some((certificate, _)) => redis::Client::build_with_tls(
                self.url(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(certificate.clone()),
                },
            ),
        }
    }

    /// Stops the server gracefully (SIGTERM, then waits for it to exit). With
    /// persistence its data is on disk for [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if self.paused {
            self.resume();
        }
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) && signal(child.id(), "TERM").is_err() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }

    /// Kills the server (SIGKILL): a crash. With persistence, every command
    /// it acknowledged is on disk.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused = false;
    }

    /// Starts the server again on the same port, in the same directory (so
    /// with persistence, with the same data), stopping it first if it runs.
    pub fn try_restart(&mut self) -> io::Result<()> {
        self.stop();
        self.spawn()
    }

    /// [`try_restart`](Self::try_restart).
    ///
    /// # Panics
    /// If it cannot be started again.
    pub fn restart(&mut self) {
        self.try_restart()
            .unwrap_or_else(|e| panic!("cannot restart redis-server: {e}"));
    }

    /// Freezes the process (SIGSTOP): connections stay open but nothing is
    /// answered, as with a hung server or a network partition.
    ///
    /// # Panics
    /// If it is not running, or the signal cannot be sent.
    pub fn pause(&mut self) {
        let pid = self
            .child
            .as_ref()
            .expect("redis-server is not running")
            .id();
        signal(pid, "STOP").expect("SIGSTOP to redis-server");
        self.paused = true;
    }

    /// Lets a [`pause`](Self::pause)d process run again (SIGCONT).
    ///
    /// # Panics
    /// If the signal cannot be sent.
    pub fn resume(&mut self) {
        if let Some(child) = &self.child {
            signal(child.id(), "CONT").expect("SIGCONT to redis-server");
        }
        self.paused = false;
    }

    /// Makes the server hold every client's commands for `duration`
    /// (`CLIENT PAUSE <ms> ALL`), then answer them: a slow server rather
    /// than a dead one.
    pub fn client_pause(&self, duration: Duration) -> redis::RedisResult<()> {
        let ms = duration.as_millis().max(1).to_string();
        self.query(&["CLIENT", "PAUSE", &ms, "ALL"])
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // SIGKILL also ends a SIGSTOPped process.
        self.kill();
    }
}

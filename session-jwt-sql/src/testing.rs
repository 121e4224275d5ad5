//! Test helpers (feature `testing`): [`PostgresServer`], a private
//! PostgreSQL cluster per test, as `session_jwt_redis::testing::RedisServer`
//! is for Redis.
//!
//! ```no_run
//! use session_jwt_sql::testing::PostgresServer;
//!
//! // Skips (returns) on a machine without PostgreSQL, fails under CI=true.
//! let Some(pg) = PostgresServer::start_or_skip("my_test") else { return };
//! let url = pg.url();
//! # drop(url);
//! ```
//!
//! The binaries (`initdb`, `postgres`, `pg_isready`) are taken from the
//! directory in the environment variable `PG_BIN` if set, else from `PATH`,
//! else from the newest `/usr/lib/postgresql/*/bin` (where Debian's
//! `postgresql` package puts them). PostgreSQL refuses to run as root: as
//! root, the cluster runs as the `postgres` user (made by that package),
//! through `setpriv`.

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a cluster may take to accept connections after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether this is a CI run: `CI` is `true` (any case) or `1`. The same test
/// as session-jwt-redis's and the conformance suite's.
#[must_use]
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Says on stderr that `test` did not run and why, past the test harness's
/// capture; under CI (`CI=true`) panics instead, so the run fails.
///
/// # Panics
/// Under CI.
pub fn skip(test: &str, why: &str) {
    let msg = format!("{test}: {why}");
    assert!(!under_ci(), "{msg} (CI=true: failing)");
    let _ = writeln!(io::stderr(), "SKIPPED {msg}");
}

/// The directory of PostgreSQL's server binaries, if any.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").is_file().then_some(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
                // Follow a symbolic link to the directory of all the binaries.
                let real = std::fs::canonicalize(dir.join("initdb")).ok()?;
                return real.parent().map(Path::to_path_buf);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Whether this process runs as root.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The uid and gid of `user`.
fn ids_of(user: &str) -> io::Result<(u32, u32)> {
    let id = |flag: &str| -> io::Result<u32> {
        let out = Command::new("id").arg(flag).arg(user).output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "no user {user:?} to run PostgreSQL as (install Debian's postgresql package)"
            )));
        }
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(io::Error::other)
    };
    Ok((id("-u")?, id("-g")?))
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A private PostgreSQL cluster of one test: `initdb` in a temporary
/// directory, a server on a free port of 127.0.0.1 (trust authentication,
/// user `postgres`, `fsync` off), stopped and removed on drop.
#[derive(Debug)]
pub struct PostgresServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Run as `postgres` (`setpriv`), when this process is root.
    as_postgres: bool,
}

impl PostgresServer {
    /// Whether PostgreSQL's server binaries are installed.
    #[must_use]
    pub fn is_installed() -> bool {
        bin_dir().is_some()
    }

    /// Starts a cluster, or, if PostgreSQL is not installed, says so on
    /// stderr (naming `test`) and returns `None` so that the test can return.
    ///
    /// # Panics
    /// If PostgreSQL is missing while the environment variable `CI` is
    /// `true` (any case) or `1`: under CI a missing server fails the run.
    /// Also if an installed server cannot be started.
    #[must_use]
    pub fn start_or_skip(test: &str) -> Option<Self> {
        if !Self::is_installed() {
            let why = match std::env::var_os("PG_BIN") {
                Some(dir) => format!("PG_BIN={} has no initdb", dir.to_string_lossy()),
                None => "no initdb on PATH or in /usr/lib/postgresql/*/bin".to_owned(),
            };
            skip(
                test,
                &format!(
                    "PostgreSQL is not installed ({why}); install it (apt-get install postgresql) \
                     to run the PostgreSQL tests"
                ),
            );
            return None;
        }
        Some(Self::start())
    }

    /// Starts a cluster.
    ///
    /// # Panics
    /// If it cannot be started, with the reason (and its log).
    #[must_use]
    pub fn start() -> Self {
        Self::try_start().unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"))
    }

    /// Starts a cluster: `initdb`, then the server, waiting until it
    /// accepts connections.
    ///
    /// # Errors
    /// If PostgreSQL is not installed, or initdb or the server fails.
    pub fn try_start() -> io::Result<Self> {
        let bin = bin_dir().ok_or_else(|| io::Error::other("PostgreSQL is not installed"))?;
        let dir = tempfile::Builder::new()
            .prefix("session-jwt-pg-")
            .tempdir()?;
        let as_postgres = is_root();
        if as_postgres {
            let (uid, gid) = ids_of("postgres")?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        let mut server = Self {
            child: None,
            port: 0,
            dir,
            bin,
            as_postgres,
        };
        let out = server
            .command("initdb")
            .arg("-D")
            .arg(server.data_dir())
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "initdb failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        // A free port can be taken by someone else between the probe and the
        // server's bind: then try another.
        let mut last_error = None;
        for _ in 0..5 {
            server.port = free_port()?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no free port")))
    }

    /// A command for one of PostgreSQL's binaries, run as `postgres` when
    /// this process is root.
    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres {
            // setpriv execs (no fork): the child is PostgreSQL itself, so
            // signals reach it.
            let mut cmd = Command::new("setpriv");
            cmd.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// The server's log so far.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The port it listens on (127.0.0.1), the same across restarts.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's directory (its data in `data/`, its log).
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The URL of the `postgres` database, as user `postgres`.
    #[must_use]
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of database `db`, as user `postgres`.
    #[must_use]
    pub fn url_of(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Whether the server process is alive.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Whether the port accepts connections.
    #[must_use]
    pub fn accepts(&self) -> bool {
        TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }

    fn spawn(&mut self) -> io::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=50",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run postgres: {e}")))?;
        self.child = Some(child);
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
                    format!("postgres exited ({status}); its log:\n{log}"),
                ));
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p"])
                .arg(self.port.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "postgres did not accept connections within {READY_TIMEOUT:?}; its log:\n{}",
                        self.log()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&mut self, sig: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(child.id().to_string())
                .status();
        }
    }

    /// Stops the server (a fast shutdown, SIGINT: clients are disconnected,
    /// committed data stays on disk) and waits for it to exit.
    pub fn stop(&mut self) {
        if self.is_running() {
            self.signal("INT");
        }
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(15);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server (SIGKILL to the postmaster; its backends exit when
    /// they notice): a crash. Committed data survives (the write-ahead log is
    /// replayed at the next start).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The orphaned backends hold the port's shared memory until they
        // exit; the restart waits for that.
    }

    /// Starts the server again on the same port, with the same data,
    /// stopping it first if it runs.
    ///
    /// # Errors
    /// If it cannot be started again.
    pub fn try_restart(&mut self) -> io::Result<()> {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                // After a kill, the old backends may still hold the lock.
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// [`try_restart`](Self::try_restart).
    ///
    /// # Panics
    /// If it cannot be started again.
    pub fn restart(&mut self) {
        self.try_restart()
            .unwrap_or_else(|e| panic!("cannot restart PostgreSQL: {e}"));
    }

    /// Where `psql` is, for tests that run SQL by hand.
    #[must_use]
    pub fn psql(&self) -> OsString {
        self.bin.join("psql").into_os_string()
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // A fast shutdown, so no backend outlives the test; the temporary
        // directory goes after.
        self.stop();
    }
}

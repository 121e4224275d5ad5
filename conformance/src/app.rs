//! Starting a reference app as a child process and talking to it over HTTP.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

/// The HMAC secret the apps get unless a case sets `SESSION_JWT_KEY`.
pub const SECRET: &str = "conformance-secret-0123456789abcdef-0123456789abcdef";

/// Every variable of the contract; cleared before each start so that the
/// developer's environment never leaks into a case.
const CONTRACT_VARS: &[&str] = &[
    "PORT",
    "SESSION_JWT_KEY",
    "SESSION_JWT_PUBLIC_KEY",
    "SESSION_JWT_ALG",
    "SESSION_JWT_KID",
    "SESSION_JWT_EXPIRES",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_AGE",
    "SESSION_COOKIE_SECURE",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "SESSION_SAVE_EVERY_REQUEST",
    "REDIS_URL",
    "DATABASE_URL",
    "SESSION_STORE",
    "DJANGO_SECRET_KEY",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("conformance/ is in the workspace")
        .to_path_buf()
}

/// Builds `session-jwt-<adapter>`'s `demo` example once per test process and
/// returns a private copy of the executable (adapters' examples share the
/// name `demo`, so cargo's own output path is overwritten by each build).
pub fn demo_binary(adapter: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = built.get(adapter) {
        return path.clone();
    }
    let package = format!("session-jwt-{adapter}");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "-p",
            &package,
            "--example",
            "demo",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {package}'s demo: {e}"));
    assert!(
        out.status.success(),
        "building the {package} demo failed (is the adapter's examples/demo.rs there?)"
    );
    let exe = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "demo")
        .filter(|m| {
            m["package_id"]
                .as_str()
                .is_some_and(|p| p.contains(&package))
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo built no `demo` example for {package}"));
    let dir = workspace_root().join("target").join("conformance");
    std::fs::create_dir_all(&dir).expect("create target/conformance");
    remove_stale_copies(&dir);
    let copy = dir.join(format!("demo-{adapter}-{}", std::process::id()));
    let _ = std::fs::remove_file(&copy);
    // A hard link costs no space; a copy where links are not possible.
    if std::fs::hard_link(&exe, &copy).is_err() {
        std::fs::copy(&exe, &copy).expect("copy the demo executable");
    }
    built.insert(adapter.to_string(), copy.clone());
    copy
}

/// Removes the demo copies of test processes that have ended (their pid is
/// the name's suffix), so that repeated runs do not fill the disk.
fn remove_stale_copies(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.starts_with("demo-"))
            .and_then(|n| n.rsplit('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // Linux only: elsewhere nothing tells a live process from an ended one.
        let alive = !cfg!(target_os = "linux") || Path::new(&format!("/proc/{pid}")).exists();
        if pid != std::process::id() && !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .unwrap()
        .port()
}

/// A running reference app. Killed when dropped.
pub struct App {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    stderr: Arc<Mutex<String>>,
    client: Client,
}

/// How a start that was expected to fail ended.
#[derive(Debug)]
pub struct Failed {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything written to stderr.
    pub stderr: String,
}

enum Started {
    Listening(App),
    Exited(Failed),
}

fn spawn(adapter: &str, env: &[(&str, &str)], port: u16) -> Started {
    let mut cmd = Command::new(demo_binary(adapter));
    for var in CONTRACT_VARS {
        cmd.env_remove(var);
    }
    cmd.env("PORT", port.to_string())
        .env("SESSION_JWT_KEY", SECRET);
    for (k, v) in env {
        if k == &"SESSION_JWT_KEY" && v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the {adapter} demo: {e}"));
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err_pipe = child.stderr.take().unwrap();
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err_pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let expected = format!("listening on http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) if line.trim() == expected => {
                let client = Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                return Started::Listening(App {
                    child,
                    port,
                    stderr,
                    client,
                });
            }
            Ok(line) => panic!("the {adapter} demo printed {line:?} before {expected:?}"),
            Err(_) => {}
        }
        if let Some(status) = child.try_wait().unwrap() {
            // Let the stderr reader finish.
            std::thread::sleep(Duration::from_millis(100));
            let stderr = stderr.lock().unwrap().clone();
            return Started::Exited(Failed { status, stderr });
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "the {adapter} demo did not print {expected:?} within 60 s; stderr:\n{}",
                stderr.lock().unwrap()
            );
        }
    }
}

impl App {
    /// Starts `adapter`'s demo with the default secret and `env` (a
    /// `SESSION_JWT_KEY` of `""` unsets the key).
    pub fn start(adapter: &str, env: &[(&str, &str)]) -> App {
        for _ in 0..3 {
            match spawn(adapter, env, free_port()) {
                Started::Listening(app) => return app,
                Started::Exited(f) if f.stderr.contains("in use") => continue,
                Started::Exited(f) => {
                    panic!("the {adapter} demo exited with {}:\n{}", f.status, f.stderr)
                }
            }
        }
        panic!("the {adapter} demo found no free port in three tries");
    }

    /// Starts `adapter`'s demo expecting it to refuse to start.
    pub fn start_failing(adapter: &str, env: &[(&str, &str)]) -> Failed {
        match spawn(adapter, env, free_port()) {
            Started::Exited(f) => f,
            Started::Listening(_) => {
                panic!("the {adapter} demo started although {env:?} is invalid")
            }
        }
    }

    /// What the app has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `GET path`, with a `Cookie` header when `cookie` is given.
    pub fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut req = self.client.get(self.url(path));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        Reply::from(req.send().unwrap_or_else(|e| panic!("GET {path}: {e}")))
    }

    /// `POST path` with a urlencoded form.
    pub fn post(&self, path: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Reply {
        let mut req = self.client.post(self.url(path)).form(form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        Reply::from(req.send().unwrap_or_else(|e| panic!("POST {path}: {e}")))
    }

    /// [`App::post`] on a connection that is closed after the answer: for a
    /// body the server refuses without reading it all, after which the
    /// server closes the connection and a client reusing it could race that
    /// close.
    pub fn post_closing(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let req = self
            .client
            .post(self.url(path))
            .form(form)
            .header("connection", "close");
        Reply::from(req.send().unwrap_or_else(|e| panic!("POST {path}: {e}")))
    }

    /// `POST path` with `body` as it is, with a `Content-Type` header when
    /// `content_type` is given.
    pub fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: &str,
        cookie: Option<&str>,
    ) -> Reply {
        let mut req = self.client.post(self.url(path)).body(body.to_owned());
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        Reply::from(req.send().unwrap_or_else(|e| panic!("POST {path}: {e}")))
    }

    /// `GET path` with raw headers (possibly not UTF-8, possibly huge).
    /// `None` if the server closed the connection without an answer.
    pub fn get_raw(&self, path: &str, headers: HeaderMap) -> Option<Reply> {
        self.client
            .get(self.url(path))
            .headers(headers)
            .send()
            .ok()
            .map(Reply::from)
    }

    /// Logs `username` in and returns the session cookie as `name=value`.
    pub fn login(&self, username: &str, password: &str, cookie: Option<&str>) -> String {
        let r = self.post(
            "/login",
            &[("username", username), ("password", password)],
            cookie,
        );
        assert_eq!(r.status, 200, "login as {username}: {}", r.body);
        r.cookie("sessionid")
            .expect("a login sets the session cookie")
    }

    /// Sends `signal` (`TERM`, `INT`) and waits for the exit status.
    pub fn signal(mut self, signal: &str) -> ExitStatus {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "kill -{signal} failed");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the demo did not stop within 15 s of SIG{signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl From<reqwest::blocking::Response> for Reply {
    fn from(r: reqwest::blocking::Response) -> Self {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }
}

impl Reply {
    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    /// The `Set-Cookie` header for cookie `name`, if exactly one was sent.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        let all: Vec<String> = self
            .set_cookies()
            .into_iter()
            .filter(|c| c.starts_with(&format!("{name}=")))
            .collect();
        assert!(all.len() <= 1, "several Set-Cookie for {name}: {all:?}");
        all.into_iter().next()
    }

    /// The cookie `name` as a browser sends it back (`name=value`), if set
    /// with a value.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let line = self.set_cookie(name)?;
        let pair = line.split(';').next().unwrap().trim().to_string();
        (pair.len() > name.len() + 1).then_some(pair)
    }

    /// An attribute of cookie `name`'s `Set-Cookie` (`Some("")` for flags).
    pub fn cookie_attr(&self, name: &str, attr: &str) -> Option<String> {
        let line = self.set_cookie(name)?;
        line.split(';').skip(1).find_map(|a| {
            let a = a.trim();
            let (k, v) = a.split_once('=').unwrap_or((a, ""));
            k.eq_ignore_ascii_case(attr).then(|| v.to_string())
        })
    }

    /// Whether the answer removes cookie `name`.
    pub fn removes_cookie(&self, name: &str) -> bool {
        self.set_cookie(name).is_some_and(|l| {
            l.starts_with(&format!("{name}=;")) || l.starts_with(&format!("{name}=\"\";"))
        }) && (self.cookie_attr(name, "Max-Age").as_deref() == Some("0")
            || self
                .cookie_attr(name, "Expires")
                .is_some_and(|e| e.contains("1970")))
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    }
}

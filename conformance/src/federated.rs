//! Federated services (`docs/verifying-elsewhere.md`): other services verify
//! the reference app's live cookie with the page's own snippets.
//!
//! The page's Python, Node and Go code is shown verbatim from three programs
//! ([`docs_show_the_tested_snippets`] checks it):
//!
//! - `py/verify_cookie.py`, PyJWT;
//! - `js/verify_cookie.mjs`, `jose` (pinned by `js/package.json`, installed
//!   with `npm ci --prefix conformance/js`);
//! - `go/verify_cookie.go`, golang-jwt. The page shows jwt **v5**; the program
//!   is built here against Debian's **v4** package
//!   (`golang-github-golang-jwt-jwt-dev`, in GOPATH mode) by rewriting its
//!   import path only, since no Go module proxy is reachable on CI.
//!
//! Each takes `(mode, key, token)` on its command line, `mode` being `secret`
//! (the shared secret), `pem` (a public key file) or `jwks` (the app's JWKS
//! URL), and prints the verified claims as JSON, or `refused: ...` on stderr
//! with exit status 1. Rust's verify-only API (`key_ring`, from the page's
//! Rust section) runs in-process the same way.
//!
//! [`cookie_is_verified_by`] starts the Poem reference app with an HMAC
//! secret, an RSA key and a P-256 key, logs john in, and checks that each
//! consumer reads the user from the live cookie, and refuses it with a wrong
//! secret, another app's public key or JWKS, or the public key used as an
//! HMAC secret. When a consumer's tool is missing the test says so and
//! returns, except under CI (`CI=true`), where it fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{Algorithm, ConfigError, Fields, Key, KeyRing, TokenCodec, TokenSettings};

use crate::App;
use crate::app::SECRET;
use crate::keys::KeyFiles;

/// The adapter whose reference app issues the cookies.
const ADAPTER: &str = "poem";

/// One run of a snippet, JWKS fetch included.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Debian's GOPATH, where `golang-github-golang-jwt-jwt-dev` puts jwt v4.
const DEBIAN_GOPATH: &str = "/usr/share/gocode";

/// The import path the page shows, and the one Debian's v4 package has in
/// GOPATH mode.
const JWT_V5_IMPORT: &str = "\"github.com/golang-jwt/jwt/v5\"";
const JWT_V4_GOPATH_IMPORT: &str = "\"github.com/golang-jwt/jwt\"";

/// Whether this is a CI run: `CI` is `true` (any case) or `1`. The same test
/// as [`crate::python`]'s and [`crate::browser`]'s.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn conformance_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A service that verifies the cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consumer {
    /// `py/verify_cookie.py` (PyJWT).
    Python,
    /// `js/verify_cookie.mjs` (`jose`).
    Node,
    /// `go/verify_cookie.go` (golang-jwt, built against Debian's v4).
    Go,
    /// `key_ring` and `TokenCodec::verify`, in this process.
    Rust,
}

/// What the consumer is given: the shared secret, a public key file, or the
/// app's JWKS URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The HMAC secret itself.
    Secret,
    /// The path of a PEM public key.
    Pem,
    /// The URL of the app's `/.well-known/jwks.json`.
    Jwks,
}

impl Mode {
    /// The name the snippets take on their command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Secret => "secret",
            Mode::Pem => "pem",
            Mode::Jwks => "jwks",
        }
    }
}

/// A consumer ready to run: the command of a snippet, or Rust in-process.
enum Verifier {
    Program {
        name: &'static str,
        command: Vec<String>,
        /// Keeps the built Go program until the test ends.
        _dir: Option<tempfile::TempDir>,
    },
    Rust,
}

/// Says that `consumer` cannot run and how to install it: a panic under CI,
/// a message past the test harness's capture otherwise.
fn missing(consumer: Consumer, why: &str, install: &str) -> Option<Verifier> {
    let msg = format!("{why}: {install} (.ci/run does)");
    assert!(
        !under_ci(),
        "{consumer:?} consumer: {msg} (CI=true: failing)"
    );
    // Straight to stderr: libtest captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "NOT RUN (federated, {consumer:?}): {msg}"
    );
    None
}

/// Runs `program args` to see whether it is there and works.
fn probe(program: &str, args: &[&str]) -> Result<(), String> {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Ok(()),
        // The last line says why (a Python traceback ends with the error).
        Ok(out) => Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or_default()
                .trim()
        )),
        Err(e) => Err(format!("{program} not found ({e})")),
    }
}

impl Verifier {
    /// Finds (and for Go builds) `consumer`'s program; `None` when a tool is
    /// missing outside CI.
    fn find(consumer: Consumer) -> Option<Verifier> {
        let dir = conformance_dir();
        match consumer {
            Consumer::Rust => Some(Verifier::Rust),
            Consumer::Python => {
                let install = "`pip install -r conformance/py/requirements.txt` (PyJWT[crypto])";
                if let Err(why) = probe("python3", &["-c", "import jwt, cryptography"]) {
                    return missing(consumer, &why, install);
                }
                Some(Verifier::Program {
                    name: "py/verify_cookie.py",
                    command: vec![
                        "python3".into(),
                        dir.join("py/verify_cookie.py").display().to_string(),
                    ],
                    _dir: None,
                })
            }
            Consumer::Node => {
                let install = "Node and `npm ci --prefix conformance/js` (jose)";
                if let Err(why) = probe("node", &["--version"]) {
                    return missing(consumer, &why, install);
                }
                if !dir.join("js/node_modules/jose/package.json").is_file() {
                    return missing(
                        consumer,
                        "jose is not in conformance/js/node_modules",
                        install,
                    );
                }
                Some(Verifier::Program {
                    name: "js/verify_cookie.mjs",
                    command: vec![
                        "node".into(),
                        dir.join("js/verify_cookie.mjs").display().to_string(),
                    ],
                    _dir: None,
                })
            }
            Consumer::Go => {
                let install = "`apt-get install golang-go golang-github-golang-jwt-jwt-dev`";
                if let Err(why) = probe("go", &["version"]) {
                    return missing(consumer, &why, install);
                }
                let v4 = Path::new(DEBIAN_GOPATH).join("src/github.com/golang-jwt/jwt");
                if !v4.join("parser_option.go").is_file() {
                    let why = format!("golang-jwt v4 is not in {}", v4.display());
                    return missing(consumer, &why, install);
                }
                let (exe, tmp) = build_go();
                Some(Verifier::Program {
                    name: "go/verify_cookie.go",
                    command: vec![exe.display().to_string()],
                    _dir: Some(tmp),
                })
            }
        }
    }

    /// Verifies `token` given `key` (the secret, a PEM path or a JWKS URL):
    /// the claims, or why it was refused. Anything but a verification or a
    /// refusal (a crash, a usage error, a hang) fails the test.
    fn verify(&self, mode: Mode, key: &str, token: &str) -> Result<Value, String> {
        match self {
            Verifier::Rust => verify_in_rust(mode, key, token),
            Verifier::Program { name, command, .. } => {
                let out = run(name, command, &[mode.as_str(), key, token]);
                let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
                match out.status.code() {
                    Some(0) => Ok(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                        panic!(
                            "{name} {}: stdout is not JSON ({e}): {:?}",
                            mode.as_str(),
                            String::from_utf8_lossy(&out.stdout)
                        )
                    })),
                    Some(1) if stderr.starts_with("refused: ") => Err(stderr),
                    _ => panic!(
                        "{name} {} crashed ({}) instead of verifying or refusing:\n{stderr}",
                        mode.as_str(),
                        out.status
                    ),
                }
            }
        }
    }
}

/// Runs `command args` with [`RUN_TIMEOUT`]; a hang kills it and fails.
fn run(name: &str, command: &[String], args: &[&str]) -> Output {
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let deadline = Instant::now() + RUN_TIMEOUT;
    // The answers are a few hundred bytes: they fit in the pipes.
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?} did not finish within {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Builds `go/verify_cookie.go` against Debian's jwt v4: the same source,
/// with the import path of v5 rewritten to v4's GOPATH path.
fn build_go() -> (PathBuf, tempfile::TempDir) {
    let source = std::fs::read_to_string(conformance_dir().join("go/verify_cookie.go"))
        .expect("read go/verify_cookie.go");
    assert_eq!(
        source.matches(JWT_V5_IMPORT).count(),
        1,
        "go/verify_cookie.go must import {JWT_V5_IMPORT} once"
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("verify_cookie.go");
    std::fs::write(&file, source.replace(JWT_V5_IMPORT, JWT_V4_GOPATH_IMPORT)).unwrap();
    let exe = tmp.path().join("verify_cookie");
    // A cache of our own: HOME may be unset or read-only on CI.
    let cache = conformance_dir().join("../target/conformance/go-cache");
    std::fs::create_dir_all(&cache).expect("create target/conformance/go-cache");
    let out = Command::new("go")
        .current_dir(tmp.path())
        .env("GOPATH", DEBIAN_GOPATH)
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "")
        .env("GOCACHE", &cache)
        .env("CGO_ENABLED", "0")
        .arg("build")
        .arg("-o")
        .arg(&exe)
        .arg(&file)
        .output()
        .expect("run go build");
    assert!(
        out.status.success(),
        "go build of go/verify_cookie.go against jwt v4 ({DEBIAN_GOPATH}) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (exe, tmp)
}

// ------------------------------------------------------------------ Rust

/// The reference app's field configuration.
fn fields() -> Result<Fields, ConfigError> {
    Fields::new(
        vec![
            ("id", "id", "user_id").into(),
            ("username", "u", "username").into(),
            ("email", "e", "email").into(),
            ("profile.team", "t", "team").into(),
        ],
        "sk",
    )
}

// The page's Rust block, verbatim (session-jwt-core/tests/docs.rs has it too).
/// A consumer's verify-only ring, from what the app shares with it. The ring
/// is the algorithm allow-list: a key verifies with its own algorithm only,
/// whatever the token's header asks for.
fn key_ring(mode: &str, key: &str) -> Result<KeyRing, ConfigError> {
    match mode {
        // (a) The shared secret (HS256; `Key::with_algorithm` for HS384/512).
        "secret" => KeyRing::verify_only([Key::hmac(key)?]),
        // (b) The app's public key, a PEM file: RS256 for RSA, ES256 for P-256.
        "pem" => KeyRing::verify_only([Key::from_pem_file(key)?]),
        // (c) The text of the app's JWKS, from its /.well-known/jwks.json
        // (fetched with your HTTP client).
        _ => KeyRing::from_jwks(key),
    }
}

/// The Rust consumer: `key_ring`, then `TokenCodec::verify`.
fn verify_in_rust(mode: Mode, key: &str, token: &str) -> Result<Value, String> {
    let jwks;
    let key = if mode == Mode::Jwks {
        let reply = reqwest::blocking::get(key).unwrap_or_else(|e| panic!("GET {key}: {e}"));
        if !reply.status().is_success() {
            return Err(format!("refused: GET {key}: {}", reply.status()));
        }
        jwks = reply.text().unwrap_or_else(|e| panic!("GET {key}: {e}"));
        jwks.as_str()
    } else {
        key
    };
    let refused = |e: &dyn std::fmt::Display| format!("refused: {e}");
    let ring = key_ring(mode.as_str(), key).map_err(|e| refused(&e))?;
    let codec = TokenCodec::new(ring, fields().unwrap(), TokenSettings::default())
        .map_err(|e| refused(&e))?;
    let claims = codec
        .verify(token, OffsetDateTime::now_utc())
        .map_err(|e| refused(&e))?;
    Ok(Value::Object(claims.claims().clone()))
}

// ------------------------------------------------------------------ the test

/// The token's payload, unverified, for comparison.
fn payload(token: &str) -> Map<String, Value> {
    let p = token.split('.').nth(1).expect("a compact JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("base64url payload"))
        .expect("a JSON payload")
}

/// A reference app and john's live session token.
fn logged_in(env: &[(&str, &str)]) -> (App, String) {
    let app = App::start(ADAPTER, env);
    let cookie = app.login("john", "password", None);
    let token = cookie
        .strip_prefix("sessionid=")
        .expect("the session cookie")
        .to_owned();
    (app, token)
}

/// `consumer` verifies the live cookie of the reference app signed with an
/// HMAC secret, an RSA key and a P-256 key, given the secret, the public key
/// file or the JWKS URL, and refuses it with the wrong key.
pub fn cookie_is_verified_by(consumer: Consumer) {
    let Some(verifier) = Verifier::find(consumer) else {
        return;
    };
    let accepts = |what: &str, mode: Mode, key: &str, token: &str, app: &App| {
        let claims = verifier.verify(mode, key, token).unwrap_or_else(|e| {
            panic!(
                "{consumer:?} refused the cookie ({what}): {e}\napp stderr:\n{}",
                app.stderr()
            )
        });
        let sent = payload(token);
        assert_eq!(claims["u"], "john", "{consumer:?}, {what}: {claims}");
        assert_eq!(claims["username"], "john", "{consumer:?}, {what}: {claims}");
        assert_eq!(claims["id"], 1, "{consumer:?}, {what}: {claims}");
        for name in ["sk", "iat", "exp"] {
            assert_eq!(claims[name], sent[name], "{consumer:?}, {what}: {name}");
        }
    };
    let refuses = |what: &str, mode: Mode, key: &str, token: &str| {
        if let Ok(claims) = verifier.verify(mode, key, token) {
            panic!("{consumer:?} accepted the cookie with {what}: {claims}");
        }
    };

    // (a) The shared secret.
    let (app, token) = logged_in(&[("SESSION_JWT_KEY", SECRET)]);
    accepts("HS256, the secret", Mode::Secret, SECRET, &token, &app);
    let wrong = "another-secret-0123456789abcdef-0123456789abcdef";
    refuses("HS256, another secret", Mode::Secret, wrong, &token);
    drop(app);

    // (b) and (c): the public key file and the JWKS URL.
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        let key = KeyFiles::generate(alg);
        let (app, token) = logged_in(&[("SESSION_JWT_KEY", key.private_path())]);
        let jwks = app.url("/.well-known/jwks.json");
        accepts(
            &format!("{alg}, the public key file"),
            Mode::Pem,
            key.public_path(),
            &token,
            &app,
        );
        accepts(
            &format!("{alg}, the JWKS URL"),
            Mode::Jwks,
            &jwks,
            &token,
            &app,
        );

        // Another app of the same algorithm: its key and its JWKS.
        let other = KeyFiles::generate(alg);
        let other_app = App::start(ADAPTER, &[("SESSION_JWT_KEY", other.private_path())]);
        let other_jwks = other_app.url("/.well-known/jwks.json");
        refuses(
            &format!("{alg}, another public key"),
            Mode::Pem,
            other.public_path(),
            &token,
        );
        refuses(
            &format!("{alg}, another app's JWKS"),
            Mode::Jwks,
            &other_jwks,
            &token,
        );
        // The public key as an HMAC secret: the algorithm is pinned to HS256.
        let pem = key.public_pem();
        refuses(
            &format!("{alg}, the public key as an HS256 secret"),
            Mode::Secret,
            &pem,
            &token,
        );
    }
}

// ------------------------------------------------------------------ the page

/// The fenced blocks of a Markdown page: (language, text, unchecked). A block
/// is unchecked when the line before its fence is `<!-- unchecked: why -->`.
fn fenced_blocks(page: &str) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String, bool)> = None;
    let mut previous = "";
    for line in page.lines() {
        match &mut current {
            None if line.starts_with("```") => {
                let unchecked = previous.trim_start().starts_with("<!-- unchecked:");
                current = Some((line[3..].trim().to_string(), String::new(), unchecked));
            }
            Some(_) if line.starts_with("```") => out.push(current.take().unwrap()),
            Some((_, text, _)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
        previous = line;
    }
    assert!(current.is_none(), "a fenced block is not closed");
    out
}

/// Every ```` ```python ````, ```` ```js ```` and ```` ```go ```` block of
/// `docs/verifying-elsewhere.md` is a verbatim run of lines of the program
/// that [`cookie_is_verified_by`] runs; ```` ```rust ```` blocks are checked by
/// session-jwt-core/tests/docs.rs. A block the tests do not run must say so
/// with `<!-- unchecked: why -->` on the line before its fence.
pub fn docs_show_the_tested_snippets() {
    let root = conformance_dir().parent().unwrap();
    let page = std::fs::read_to_string(root.join("docs/verifying-elsewhere.md"))
        .expect("read docs/verifying-elsewhere.md");
    let programs = [
        ("python", "py/verify_cookie.py"),
        ("js", "js/verify_cookie.mjs"),
        ("go", "go/verify_cookie.go"),
    ];
    let mut checked = std::collections::BTreeMap::<&str, usize>::new();
    let mut unchecked = Vec::new();
    for (lang, text, is_unchecked) in fenced_blocks(&page) {
        if is_unchecked {
            unchecked.push(text);
            continue;
        }
        if matches!(lang.as_str(), "rust" | "json") {
            continue;
        }
        let Some((lang, file)) = programs.iter().find(|(l, _)| *l == lang) else {
            panic!(
                "a ```{lang} block in docs/verifying-elsewhere.md: use python, js, go, \
                 rust or json (they are checked), or mark it <!-- unchecked: why -->:\n{text}"
            );
        };
        let program = std::fs::read_to_string(conformance_dir().join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let block: Vec<&str> = text.lines().collect();
        let lines: Vec<&str> = program.lines().collect();
        assert!(
            lines.windows(block.len()).any(|w| w == block.as_slice()),
            "this ```{lang} block of docs/verifying-elsewhere.md is not in conformance/{file} \
             verbatim (the page shows the tested program: change both):\n{text}"
        );
        *checked.entry(lang).or_default() += 1;
    }
    for (lang, file) in programs {
        assert!(
            checked.get(lang).is_some_and(|&n| n >= 4),
            "docs/verifying-elsewhere.md must show conformance/{file}: its verify \
             function and (a) secret, (b) public key, (c) JWKS ({checked:?})"
        );
    }
    // Only django-session-jwt's settings, run differently by
    // cases::django_session_jwt_verifies_the_cookie.
    assert_eq!(
        unchecked.len(),
        1,
        "unchecked blocks in docs/verifying-elsewhere.md: {unchecked:#?}"
    );
    assert!(
        unchecked[0].contains("DJANGO_SESSION_JWT"),
        "{unchecked:#?}"
    );
}

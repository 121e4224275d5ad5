//! Interoperability with a real Django: the Django app of `tests/django_app`
//! (Django + django-session-jwt, from pip) and the Poem reference app in
//! Django mode share one database and one secret, and are driven over HTTP.
//!
//! - login on Django: `/me` on Rust is the user, and Rust sees the items
//!   Django stored (and Django the items Rust stores);
//! - login on Rust: Django's view sees `request.user`;
//! - logout on either: anonymous on both;
//! - password change in Django: the user's Rust session is logged out at its
//!   next request (and the reverse);
//! - `session_data` that Django signed with another secret: anonymous on
//!   Rust, never an error page.
//!
//! Once on SQLite (a file), once on PostgreSQL (a private cluster).
//! Needs `python3` with the packages of `tests/py/requirements.txt` (and
//! PostgreSQL for the second): without them the tests say so and return,
//! except under CI (`CI=true`), where they fail.

mod common;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::Db;
use conformance::{App, Reply};
use serde_json::{Value, json};

/// Django's `SECRET_KEY`, shared by both apps.
const DJANGO_SECRET: &str = "django-insecure-interop-test-0123456789-abcdefghijklmnop";

fn django_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django_app")
}

/// Whether `python3` can import `modules`; if not, says so (or fails under
/// CI) and the test returns.
fn python_has(modules: &[&str], test: &str) -> bool {
    let imports = modules.join(", ");
    let ok = Command::new("python3")
        .args(["-c", &format!("import {imports}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        session_jwt_sql::testing::skip(
            test,
            &format!(
                "python3 cannot import {imports}: install with \
                 `pip install -r session-jwt-sql/tests/py/requirements.txt` (.ci/run does)"
            ),
        );
    }
    ok
}

/// The environment both apps share, and the adapter whose reference app
/// plays the Rust side.
struct Shared {
    database_url: String,
    adapter: &'static str,
}

impl Shared {
    fn django_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", self.database_url.clone()),
            ("DJANGO_SECRET_KEY", DJANGO_SECRET.to_owned()),
            ("SESSION_JWT_KEY", conformance::app::SECRET.to_owned()),
            ("PYTHONDONTWRITEBYTECODE", "1".to_owned()),
            ("PYTHONUNBUFFERED", "1".to_owned()),
        ]
    }

    /// `python3 manage.py ARGS`; its stdout.
    fn manage(&self, args: &[&str]) -> String {
        let out = Command::new("python3")
            .arg("manage.py")
            .args(args)
            .current_dir(django_dir())
            .envs(self.django_env())
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "manage.py {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The Rust reference app in Django mode.
    fn rust(&self) -> App {
        App::start(
            self.adapter,
            &[
                ("DATABASE_URL", &self.database_url),
                ("SESSION_STORE", "django"),
                ("DJANGO_SECRET_KEY", DJANGO_SECRET),
            ],
        )
    }
}

/// The Django app, served by `manage.py runserver`. Killed on drop.
struct Django {
    child: Child,
    port: u16,
    client: reqwest::blocking::Client,
    stderr: Arc<Mutex<String>>,
}

impl Django {
    fn start(shared: &Shared) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            .args(["manage.py", "runserver", "--noreload"])
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(django_dir())
            .envs(shared.django_env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run python3 manage.py runserver");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "the Django app exited ({status}):\n{}",
                    stderr.lock().unwrap()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the Django app did not listen within 60 s:\n{}",
                stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            child,
            port,
            client,
            stderr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn get(&self, path: &str, cookie: &str) -> Reply {
        let r = self
            .client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .unwrap_or_else(|e| panic!("Django GET {path}: {e}"));
        Reply::from(r)
    }

    fn post(&self, path: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Reply {
        let mut req = self.client.post(self.url(path)).form(form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        Reply::from(
            req.send()
                .unwrap_or_else(|e| panic!("Django POST {path}: {e}")),
        )
    }

    fn login(&self, username: &str, password: &str) -> String {
        let r = self.post(
            "/login",
            &[("username", username), ("password", password)],
            None,
        );
        assert_eq!(
            r.status,
            200,
            "Django login as {username}: {}\n{}",
            r.body,
            self.stderr()
        );
        r.cookie("sessionid")
            .expect("a Django login sets the session cookie")
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Django {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The session key (`sk`) of a session cookie `sessionid=JWT`.
fn session_key(cookie: &str) -> String {
    let jwt = cookie.split_once('=').unwrap().1;
    let payload = jwt.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sk"].as_str().unwrap().to_owned()
}

fn assert_user(r: &Reply, who: &str, side: &str) {
    assert_eq!(r.status, 200, "{side} /me: {} {}", r.status, r.body);
    let id = if who == "john" { 1 } else { 2 };
    assert_eq!(
        r.json(),
        json!({"id": id, "username": who, "email": format!("{who}@domain.com")}),
        "{side} /me"
    );
}

fn assert_anonymous(r: &Reply, side: &str) {
    assert_eq!(r.status, 302, "{side} /me: {} {}", r.status, r.body);
    assert_eq!(r.location().as_deref(), Some("/login?next=/me"), "{side}");
}

/// The whole scenario, on the database at `db`, with `adapter`'s reference
/// app (the Poem one here; the Rocket and Warp ones pass it too).
fn interop(db: &Db, adapter: &'static str) {
    let shared = Shared {
        database_url: db.url(),
        adapter,
    };
    shared.manage(&["migrate", "--noinput", "-v", "0"]);
    assert!(shared.manage(&["seed_users"]).contains("seeded"));
    let django = Django::start(&shared);
    let rust = shared.rust();

    // 1. Login on Django: the same cookie is a login on Rust, with
    // Django's items; the token is django-session-jwt's.
    let d1 = django.login("john", "password");
    assert_user(&django.get("/me", &d1), "john", "Django");
    assert_user(&rust.get("/me", Some(&d1)), "john", "Rust");
    let items = rust.get("/get", Some(&d1)).json();
    assert_eq!(items["test"], "This value should be present", "{items}");
    assert_eq!(items["django"], "set by Django", "{items}");
    assert!(items.get("jwt").is_none(), "{items}");
    let claims = rust.get("/claims", Some(&d1)).json();
    assert_eq!(claims["u"], "john", "{claims}");
    assert_eq!(claims["foo"], "bar", "{claims}");
    assert!(
        claims.get("t").is_none(),
        "a Django user has no team: {claims}"
    );
    // An item Rust stores is Django's to read: Rust writes Django's format.
    let r = rust.post("/set", &[("from_rust", "written by Rust")], Some(&d1));
    assert_eq!(r.status, 200);
    let d1 = r.cookie("sessionid").unwrap_or(d1);
    let items = django.get("/get", &d1).json();
    assert_eq!(items["from_rust"], "written by Rust", "{items}");
    assert_eq!(items["django"], "set by Django", "{items}");
    assert_user(&django.get("/me", &d1), "john", "Django after a Rust write");

    // 2. Login on Rust: Django's view sees request.user.
    let r2 = rust.login("jane", "secret", None);
    assert_user(&rust.get("/me", Some(&r2)), "jane", "Rust");
    assert_user(&django.get("/me", &r2), "jane", "Django");
    let items = django.get("/get", &r2).json();
    assert_eq!(items["test"], "This value should be present", "{items}");
    let claims = rust.get("/claims", Some(&r2)).json();
    assert_eq!(claims["u"], "jane", "{claims}");
    assert!(claims.get("t").is_none(), "{claims}");
    // A wrong password on Rust is checked against Django's hash.
    let r = rust.post(
        "/login",
        &[("username", "jane"), ("password", "wrong")],
        None,
    );
    assert_eq!(r.status, 401);

    // 3. Logout on Django ends the session on Rust, and the reverse.
    let r = django.post("/logout", &[], Some(&r2));
    assert_eq!(r.status, 200);
    assert_anonymous(&django.get("/me", &r2), "Django after a Django logout");
    assert_anonymous(&rust.get("/me", Some(&r2)), "Rust after a Django logout");
    let r = rust.post("/logout", &[], Some(&d1));
    assert_eq!(r.status, 200);
    assert_anonymous(&rust.get("/me", Some(&d1)), "Rust after a Rust logout");
    assert_anonymous(&django.get("/me", &d1), "Django after a Rust logout");

    // 4. A password change in Django logs the user's Rust session out at
    // its next request; Django's own session stays logged in, on both.
    let d3 = django.login("john", "password");
    let r4 = rust.login("john", "password", None);
    assert_user(&rust.get("/me", Some(&r4)), "john", "Rust");
    let r = django.post(
        "/password",
        &[("old", "password"), ("new", "django-new")],
        Some(&d3),
    );
    assert_eq!(r.status, 200, "{}\n{}", r.body, django.stderr());
    let d3 = r.cookie("sessionid").expect("Django re-issues the cookie");
    let r = rust.get("/me", Some(&r4));
    assert_anonymous(&r, "Rust after a password change in Django");
    assert!(r.removes_cookie("sessionid"), "{:?}", r.set_cookies());
    assert_anonymous(&rust.get("/me", Some(&r4)), "Rust, again");
    assert_user(
        &django.get("/me", &d3),
        "john",
        "Django after its password change",
    );
    assert_user(
        &rust.get("/me", Some(&d3)),
        "john",
        "Rust with Django's new cookie",
    );
    // The new password works on Rust, the old one no longer.
    let r = rust.post(
        "/login",
        &[("username", "john"), ("password", "password")],
        None,
    );
    assert_eq!(r.status, 401);
    rust.login("john", "django-new", None);

    // 5. A password change on Rust: Django's sessions of the user end, and
    // Django takes the new password without rehashing it.
    let d5 = django.login("jane", "secret");
    let r6 = rust.login("jane", "secret", None);
    let r = rust.post(
        "/password",
        &[("old", "secret"), ("new", "rust-new")],
        Some(&r6),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r6 = r
        .cookie("sessionid")
        .expect("a password change re-issues the cookie");
    assert_user(
        &rust.get("/me", Some(&r6)),
        "jane",
        "Rust after its password change",
    );
    assert_user(
        &django.get("/me", &r6),
        "jane",
        "Django with Rust's new cookie",
    );
    assert_anonymous(
        &django.get("/me", &d5),
        "Django after a password change on Rust",
    );
    let r = django.post(
        "/login",
        &[("username", "jane"), ("password", "secret")],
        None,
    );
    assert_eq!(r.status, 401);
    django.login("jane", "rust-new");
    assert_eq!(
        shared.manage(&["check_hash", "jane"]).trim(),
        "pbkdf2_sha256 must_update=False"
    );

    // 6. session_data signed with another SECRET_KEY (or tampered): an
    // anonymous visitor on both sides, never an error page.
    let d7 = django.login("john", "django-new");
    let key = session_key(&d7);
    // Django 5.2 signed {"a": "é ü 😀"} with SECRET_KEY "django-insecure-test-key".
    let foreign = "eyJhIjoiXHUwMGU5IFx1MDBmYyBcdWQ4M2RcdWRlMDAifQ:1vb66i:mwKisicVXXIpjSbkw126UNuiwIzjpJywPlSu4QqCVaA";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let raw = db.raw().await;
        let n = raw
            .exec(&format!(
                "UPDATE django_session SET session_data = '{foreign}' WHERE session_key = '{key}'"
            ))
            .await;
        assert_eq!(n, 1);
    });
    let r = rust.get("/me", Some(&d7));
    assert_anonymous(&r, "Rust with foreign session_data");
    let r = rust.get("/get", Some(&d7));
    assert_eq!((r.status, r.json()), (200, json!({})));
    assert_anonymous(&django.get("/me", &d7), "Django with foreign session_data");
    assert!(
        rust.stderr().contains("session_data cannot be read"),
        "a warning is logged: {}",
        rust.stderr()
    );
    assert!(!rust.stderr().contains(&key), "no session key in the log");
}

#[test]
fn django_and_rust_share_sessions_on_sqlite() {
    let test = "django_and_rust_share_sessions_on_sqlite";
    if !python_has(&["django", "django_session_jwt", "jwt"], test) {
        return;
    }
    interop(&Db::sqlite(), "poem");
}

#[test]
fn django_and_rust_share_sessions_on_postgres() {
    let test = "django_and_rust_share_sessions_on_postgres";
    if !python_has(&["django", "django_session_jwt", "jwt", "psycopg"], test) {
        return;
    }
    let Some(db) = Db::postgres(test) else {
        return;
    };
    interop(&db, "poem");
}

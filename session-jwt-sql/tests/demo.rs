//! The reference app (Poem) on the SQL store, selected with `DATABASE_URL`:
//! sessions survive a restart of the app, a stopped database is 503 (never
//! a logout) until it is back, and bad settings stop the app at start with a
//! message naming the variable.

mod common;

use common::Db;
use conformance::App;
use serde_json::{Value, json};

fn john() -> Value {
    json!({"id": 1, "username": "john", "email": "john@domain.com"})
}

/// `/me`: the status, and the body as JSON (text for a non-200).
fn me(app: &App, cookie: &str) -> (u16, Value) {
    let r = app.get("/me", Some(cookie));
    let body = if r.status == 200 {
        r.json()
    } else {
        Value::String(r.body.clone())
    };
    (r.status, body)
}

#[test]
fn the_reference_app_keeps_sessions_in_sqlite_across_restarts() {
    let db = Db::sqlite();
    let url = db.url();
    let env = [("DATABASE_URL", url.as_str())];
    let app = App::start("poem", &env);
    let cookie = app.login("john", "password", None);
    assert_eq!(me(&app, &cookie), (200, john()));
    let r = app.post("/set", &[("color", "blue")], Some(&cookie));
    assert_eq!(r.status, 200);
    let cookie = r.cookie("sessionid").unwrap_or(cookie);
    drop(app);

    // A new process, the same file: the same session.
    let app = App::start("poem", &env);
    assert_eq!(me(&app, &cookie), (200, john()));
    assert_eq!(app.get("/get", Some(&cookie)).json()["color"], "blue");
    // A logout deletes the row: the cookie is dead for every instance.
    assert_eq!(app.post("/logout", &[], Some(&cookie)).status, 200);
    drop(app);
    let app = App::start("poem", &env);
    assert_eq!(me(&app, &cookie).0, 302);
}

#[test]
fn a_stopped_database_is_503_never_a_logout() {
    let Some(mut db) = Db::postgres("a_stopped_database_is_503_never_a_logout") else {
        return;
    };
    let url = db.url();
    let app = App::start("poem", &[("DATABASE_URL", url.as_str())]);
    let cookie = app.login("john", "password", None);
    assert_eq!(me(&app, &cookie), (200, john()));

    db.server().stop();
    let r = app.get("/me", Some(&cookie));
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.set_cookie("sessionid").is_none(), "the cookie is kept");
    let r = app.post(
        "/login",
        &[("username", "jane"), ("password", "secret")],
        None,
    );
    assert_eq!(r.status, 503, "a new session cannot be saved: {}", r.body);

    db.server().restart();
    let start = std::time::Instant::now();
    loop {
        let (status, body) = me(&app, &cookie);
        if status == 200 {
            assert_eq!(body, john());
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the app did not recover"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn bad_database_settings_stop_the_app_naming_the_variable() {
    let db = Db::sqlite();
    let url = db.url();
    for (env, expected) in [
        (
            vec![("DATABASE_URL", "mysql://root@localhost/app")],
            "DATABASE_URL: not a database URL",
        ),
        (
            vec![("DATABASE_URL", "postgres://u:hunter2@host:port/db")],
            "DATABASE_URL: not a PostgreSQL URL",
        ),
        (
            vec![("DATABASE_URL", url.as_str()), ("SESSION_STORE", "django")],
            "DJANGO_SECRET_KEY: required with SESSION_STORE=django",
        ),
        (
            vec![("SESSION_STORE", "django"), ("DJANGO_SECRET_KEY", "x")],
            "SESSION_STORE: django needs DATABASE_URL",
        ),
        (
            vec![("DATABASE_URL", url.as_str()), ("SESSION_STORE", "redis")],
            "SESSION_STORE: \"redis\" is not a store",
        ),
        (
            vec![
                ("DATABASE_URL", url.as_str()),
                ("REDIS_URL", "redis://127.0.0.1:1/0"),
            ],
            "DATABASE_URL: REDIS_URL is set as well",
        ),
    ] {
        let failed = App::start_failing("poem", &env);
        assert!(!failed.status.success());
        assert!(
            failed.stderr.contains(&format!("error: {expected}")),
            "{env:?}: {}",
            failed.stderr
        );
        assert!(!failed.stderr.contains("hunter2"), "{}", failed.stderr);
    }
}

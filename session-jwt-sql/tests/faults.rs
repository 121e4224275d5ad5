//! `SqlStore` through failures: a stopped, crashed or locked database, a
//! dead port, bad URLs and settings, a missing table; and the
//! `testing::PostgresServer` helper itself.

mod common;

use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use common::{Db, Harness, Layout, now, record};
use session_jwt_core::time::{Duration, OffsetDateTime};
use session_jwt_core::{Record, SaveMode, SessionKey, SessionStore, StoreError};
use session_jwt_sql::testing::PostgresServer;
use session_jwt_sql::{DjangoSettings, Error, SqlStore};

/// Loads until the store answers again (the pool reconnects by itself); the
/// record it finds.
async fn wait_recovered(store: &SqlStore, key: &SessionKey, now: OffsetDateTime) -> Arc<Record> {
    let start = Instant::now();
    loop {
        match store.load(key, now).await {
            Ok(r) => return r.expect("the session saved before the outage is there"),
            Err(StoreError::Unavailable(_)) => {
                assert!(
                    start.elapsed() < StdDuration::from_secs(20),
                    "the store did not recover"
                );
                tokio::time::sleep(StdDuration::from_millis(50)).await;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
}

fn accepts(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn postgres_servers_are_private_and_stopped_on_drop() {
    let Some(mut a) =
        PostgresServer::start_or_skip("postgres_servers_are_private_and_stopped_on_drop")
    else {
        return;
    };
    let b = PostgresServer::start();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.dir(), b.dir());
    assert_eq!(
        a.url(),
        format!("postgres://postgres@127.0.0.1:{}/postgres", a.port())
    );
    assert!(a.is_running());
    assert!(
        a.log().contains("ready to accept connections"),
        "{}",
        a.log()
    );
    let (port, dir) = (b.port(), b.dir().to_owned());
    drop(b);
    assert!(!accepts(port), "the server outlived its PostgresServer");
    assert!(!dir.exists(), "the temporary directory was left behind");
    a.stop();
    assert!(!a.is_running());
    assert!(!accepts(a.port()));
    a.restart();
    assert!(accepts(a.port()));
}

/// Runs as an ordinary test, and as the child of the next test with a
/// PostgreSQL that does not exist.
#[test]
fn start_or_skip_probe() {
    match PostgresServer::start_or_skip("start_or_skip_probe") {
        Some(pg) => assert!(accepts(pg.port())),
        None => assert!(!PostgresServer::is_installed()),
    }
}

#[test]
fn a_missing_postgres_skips_but_fails_under_ci() {
    let run = |ci: Option<&str>| {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "start_or_skip_probe", "--nocapture"])
            .env("PG_BIN", "/nonexistent/postgresql/bin");
        match ci {
            Some(v) => cmd.env("CI", v),
            None => cmd.env_remove("CI"),
        };
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = run(None);
    assert!(ok, "{text}");
    assert!(
        text.contains("SKIPPED start_or_skip_probe: PostgreSQL is not installed"),
        "{text}"
    );
    assert!(text.contains("1 passed"), "{text}");
    let (ok, text) = run(Some("true"));
    assert!(!ok, "{text}");
    assert!(text.contains("CI=true: failing"), "{text}");
}

async fn outage_then_recovery(layout: Layout, test: &str) {
    let Some(db) = Db::postgres(test) else {
        return;
    };
    let mut h = Harness::new(db, layout).await;
    let store = h.store.clone();
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());

    h.db.server().stop();
    let start = Instant::now();
    for _ in 0..2 {
        let err = store.load(&key, now).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(std::error::Error::source(&err).is_some());
        let err = store
            .save(&key, &rec, SaveMode::Update, now)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        let other = SessionKey::generate();
        let err = store.cycle(&key, &other, &rec, now).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        let err = store.delete(&key).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        let err = store
            .delete_user_sessions("1", None, now)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(store.ping().await.is_err());
    }
    let elapsed = start.elapsed();
    assert!(elapsed < StdDuration::from_secs(15), "took {elapsed:?}");

    h.db.server().restart();
    assert_eq!(wait_recovered(&store, &key, now).await, rec);
    // Writes work again, and nothing was lost or half-done.
    let new = SessionKey::generate();
    assert!(store.cycle(&key, &new, &rec, now).await.unwrap());
    assert_eq!(store.load(&new, now).await.unwrap(), Some(rec));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_postgres_is_unavailable_then_recovers_with_nothing_lost() {
    outage_then_recovery(
        Layout::Own,
        "a_stopped_postgres_is_unavailable_then_recovers_with_nothing_lost",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_mode_through_a_postgres_outage() {
    outage_then_recovery(Layout::Django, "django_mode_through_a_postgres_outage").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loses_no_committed_session() {
    let Some(db) = Db::postgres("a_crash_loses_no_committed_session") else {
        return;
    };
    let mut h = Harness::new(db, Layout::Own).await;
    let store = h.store.clone();
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    h.db.server().kill();
    assert!(store.load(&key, now).await.is_err());
    h.db.server().restart();
    assert_eq!(wait_recovered(&store, &key, now).await, rec);
    // The per-user index survived too.
    assert_eq!(store.delete_user_sessions("1", None, now).await.unwrap(), 1);
}

async fn a_lock_is_unavailable_then_recovers(db: Db) {
    let h = Harness::new(db, Layout::Own).await;
    let store = h.store.clone();
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());

    // Another client holds the table (a migration, a long transaction).
    let lock = match &h.raw {
        common::Raw::Sqlite(p) => {
            let mut conn = p.acquire().await.unwrap();
            sqlx::query("BEGIN EXCLUSIVE")
                .execute(&mut *conn)
                .await
                .unwrap();
            sqlx::query("DELETE FROM session_jwt_session WHERE 1 = 0")
                .execute(&mut *conn)
                .await
                .unwrap();
            Lock::Sqlite(conn)
        }
        common::Raw::Postgres(p) => {
            let mut tx = p.begin().await.unwrap();
            sqlx::query("LOCK TABLE session_jwt_session IN ACCESS EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await
                .unwrap();
            Lock::Postgres(tx)
        }
    };
    let start = Instant::now();
    let err = store
        .save(&key, &rec, SaveMode::Update, now)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let elapsed = start.elapsed();
    // The store's timeout (2 s in the harness), not forever.
    assert!(
        elapsed >= StdDuration::from_millis(1500) && elapsed < StdDuration::from_secs(6),
        "took {elapsed:?}"
    );
    match lock {
        Lock::Sqlite(mut conn) => {
            sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
        }
        Lock::Postgres(tx) => tx.rollback().await.unwrap(),
    }
    assert_eq!(wait_recovered(&store, &key, now).await, rec);
    let mut changed = rec.clone();
    Arc::make_mut(&mut changed)
        .items
        .insert("after".into(), "the lock".into());
    assert!(
        store
            .save(&key, &changed, SaveMode::Update, now)
            .await
            .unwrap()
    );
    assert_eq!(store.load(&key, now).await.unwrap(), Some(changed));
}

enum Lock {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_database_is_unavailable_then_recovers() {
    a_lock_is_unavailable_then_recovers(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_postgres_table_is_unavailable_then_recovers() {
    let Some(db) = Db::postgres("a_locked_postgres_table_is_unavailable_then_recovers") else {
        return;
    };
    a_lock_is_unavailable_then_recovers(db).await;
}

#[tokio::test]
async fn a_dead_server_is_unavailable_quickly() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://app:hunter2@127.0.0.1:{port}/app");
    let store = SqlStore::builder(&url)
        .with_acquire_timeout(StdDuration::from_millis(500))
        .build()
        .expect("a lazy store builds without a server");
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));

    let start = Instant::now();
    let err = store.load(&key, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store
        .save(&key, &rec, SaveMode::Create, now)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store.delete(&key).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(store.purge_expired(now).await.is_err());
    let elapsed = start.elapsed();
    assert!(elapsed < StdDuration::from_secs(5), "took {elapsed:?}");

    let start = Instant::now();
    let err = SqlStore::builder(&url)
        .with_acquire_timeout(StdDuration::from_millis(500))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with("DATABASE_URL: cannot connect"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    assert!(start.elapsed() < StdDuration::from_secs(3));
}

#[tokio::test]
async fn bad_urls_and_settings_name_the_setting() {
    for url in [
        "mysql://root@localhost/db",
        "redis://127.0.0.1/",
        "just a path",
        "",
        "postgres://u:hunter2@host:notaport/db",
        "sqlite://db?mode=bogus",
    ] {
        let err = SqlStore::builder(url).build().unwrap_err();
        assert!(matches!(err, Error::Url(_)), "{url}: {err:?}");
        let msg = err.to_string();
        assert!(msg.starts_with("DATABASE_URL: "), "{url}: {msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }
    let url = "sqlite://db.sqlite3";
    for (builder, setting) in [
        (SqlStore::builder(url).with_table("Sessions"), "table"),
        (
            SqlStore::builder(url).with_table("a; DROP TABLE b"),
            "table",
        ),
        (
            SqlStore::builder(url).with_max_connections(0),
            "max_connections",
        ),
        (
            SqlStore::builder(url).with_timeout(StdDuration::ZERO),
            "timeout",
        ),
        (
            SqlStore::builder(url).with_acquire_timeout(StdDuration::ZERO),
            "acquire_timeout",
        ),
    ] {
        let err = builder.build().unwrap_err();
        assert!(
            err.to_string().starts_with(&format!("{setting}: ")),
            "{err}"
        );
    }
}

#[test]
fn building_outside_a_runtime_is_an_error_not_a_panic() {
    let err = SqlStore::builder("sqlite://x.db").build().unwrap_err();
    assert!(err.to_string().contains("Tokio runtime"), "{err}");
}

#[tokio::test]
async fn the_table_is_made_by_the_migration_or_on_first_use() {
    let db = Db::sqlite();
    // Without the table, connect says which and how to make it.
    let err = SqlStore::builder(db.url()).connect().await.unwrap_err();
    assert!(matches!(err, Error::Migrate { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("no usable session_jwt_session table"),
        "{err}"
    );
    // The documented migration, run by the app's own tool.
    let lazy = SqlStore::builder(db.url()).build().unwrap();
    let raw = db.raw().await;
    for statement in lazy.migration() {
        raw.exec(&statement).await;
    }
    let store = SqlStore::builder(db.url()).connect().await.unwrap();
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    // migrate() is idempotent and keeps the data.
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.load(&key, now).await.unwrap(), Some(rec.clone()));

    // On first use: a lazy store on a fresh database creates it itself.
    let fresh = Db::sqlite();
    let store = SqlStore::new(&fresh.url()).unwrap();
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    assert_eq!(store.load(&key, now).await.unwrap(), Some(rec.clone()));
    // WAL: readers never wait for a writer.
    let mode = fresh.raw().await.text("PRAGMA journal_mode").await;
    assert_eq!(mode.as_deref(), Some("wal"));
}

#[tokio::test]
async fn sqlite_sessions_survive_a_restart_of_the_app() {
    let db = Db::sqlite();
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));
    {
        let store = SqlStore::new(&db.url()).unwrap();
        assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
        store.close().await;
    }
    let store = SqlStore::connect(&db.url()).await.unwrap();
    assert_eq!(store.load(&key, now).await.unwrap(), Some(rec));
}

#[tokio::test]
async fn django_mode_needs_djangos_database_and_table() {
    let db = Db::sqlite();
    let django = DjangoSettings::new(common::DJANGO_SECRET);
    // Django's database is not created by this store.
    let err = SqlStore::builder(db.url())
        .with_django(django.clone())
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
    // A database without Django's table: run Django's migrate.
    db.raw().await.exec("CREATE TABLE other (x INTEGER)").await;
    let err = SqlStore::builder(db.url())
        .with_django(django.clone())
        .connect()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no usable django_session table (run Django's `manage.py migrate`)"),
        "{err}"
    );
    // The same table Django's migration makes, for tests.
    let store = SqlStore::builder(db.url())
        .with_django(django)
        .with_create_table(true)
        .connect()
        .await
        .unwrap();
    assert!(store.is_django());
    assert_eq!(store.table(), "django_session");
    let ddl = store.migration().join(";\n");
    assert!(
        ddl.contains(r#""session_key" varchar(40) NOT NULL PRIMARY KEY"#),
        "{ddl}"
    );
}

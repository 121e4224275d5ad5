//! What the SQL store adds to a request: the engine's `load` + `save` (HS256,
//! the reference app's fields) over each store, with the session unchanged
//! (one `SELECT`) and modified (a `SELECT` and an `UPDATE`, and a new
//! token), beside the `MemoryStore` as the baseline:
//!
//! - `memory`: the core's `MemoryStore`;
//! - `sqlite`, `postgres`: this library's table;
//! - `django-sqlite`, `django-postgres`: Django's `django_session` (signed,
//!   compressed `session_data`).
//!
//! SQLite is a file in a temporary directory (WAL); PostgreSQL a private
//! cluster on loopback (`fsync` off), skipped when PostgreSQL is not
//! installed.
//!
//!     cargo bench -p session-jwt-sql --bench store -- --warm-up-time 1 --measurement-time 3

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{Key, MemoryStore, SessionJwt, SessionStore};
use session_jwt_sql::testing::PostgresServer;
use session_jwt_sql::{DjangoSettings, SqlStore};

const FIELDS: [(&str, &str, &str); 4] = [
    ("id", "id", "user_id"),
    ("username", "u", "username"),
    ("email", "e", "email"),
    ("profile.team", "t", "team"),
];

fn engine() -> SessionJwt {
    SessionJwt::builder()
        .with_key(Key::hmac("a benchmark secret of at least thirty-two bytes").expect("key"))
        .expect("a signing key")
        .with_fields(FIELDS)
        .build()
        .expect("an engine")
}

/// A session with a few items in `store`; its cookie (`sessionid=...`).
async fn cookie(engine: &SessionJwt, store: &dyn SessionStore, now: OffsetDateTime) -> String {
    let session = engine.load(store, [], now).await.expect("load");
    session
        .insert("test", "This value should be present")
        .expect("insert");
    session
        .insert("cart", vec!["apple", "pear"])
        .expect("insert");
    let headers = engine.save(store, &session, now).await.expect("save");
    headers
        .set_cookie
        .expect("a new session sets the cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned()
}

fn bench_store(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: Arc<dyn SessionStore>,
) {
    let engine = engine();
    let now = OffsetDateTime::now_utc();
    let cookie = rt.block_on(cookie(&engine, store.as_ref(), now));
    let mut group = c.benchmark_group(format!("request/{name}"));
    group.bench_function("unchanged", |b| {
        b.to_async(rt).iter(|| async {
            let session = engine
                .load(store.as_ref(), [black_box(cookie.as_bytes())], now)
                .await
                .expect("load");
            let headers = engine
                .save(store.as_ref(), &session, now)
                .await
                .expect("save");
            assert!(headers.set_cookie.is_none());
        });
    });
    let mut n = 0u64;
    group.bench_function("modified", |b| {
        b.to_async(rt).iter(|| {
            n += 1;
            let (engine, store, cookie) = (&engine, &store, &cookie);
            async move {
                let session = engine
                    .load(store.as_ref(), [black_box(cookie.as_bytes())], now)
                    .await
                    .expect("load");
                session.insert("n", n).expect("insert");
                let headers = engine
                    .save(store.as_ref(), &session, now)
                    .await
                    .expect("save");
                assert!(headers.set_cookie.is_some());
            }
        });
    });
    group.finish();
}

fn stores(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    bench_store(c, &rt, "memory", Arc::new(MemoryStore::new()));

    let dir = tempfile::tempdir().expect("a temporary directory");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    let connect = |url: &str, django: bool| {
        let builder = SqlStore::builder(url).with_create_table(true);
        let builder = if django {
            builder.with_django(DjangoSettings::new("django-insecure-benchmark-key"))
        } else {
            builder
        };
        rt.block_on(builder.connect()).expect("connect")
    };
    bench_store(c, &rt, "sqlite", Arc::new(connect(&sqlite, false)));
    bench_store(c, &rt, "django-sqlite", Arc::new(connect(&sqlite, true)));

    if PostgresServer::is_installed() {
        let pg = PostgresServer::start();
        bench_store(c, &rt, "postgres", Arc::new(connect(&pg.url(), false)));
        bench_store(
            c,
            &rt,
            "django-postgres",
            Arc::new(connect(&pg.url(), true)),
        );
    } else {
        eprintln!("PostgreSQL is not installed: request/postgres not measured");
    }
}

criterion_group!(benches, stores);
criterion_main!(benches);

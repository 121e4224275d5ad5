//! The `testing::RedisServer` helpers, and `RedisStore` through Redis
//! outages: stopped, crashed, restarted on the same port, hung, slow.

use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use session_jwt_core::time::{Duration, OffsetDateTime};
use session_jwt_core::{Record, SaveMode, SessionKey, SessionStore, StoreError};
use session_jwt_redis::RedisStore;
use session_jwt_redis::testing::RedisServer;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn record(expires: OffsetDateTime) -> Arc<Record> {
    let mut items = serde_json::Map::new();
    items.insert("_auth_user_id".into(), "1".into());
    items.insert("test".into(), "This value should be present".into());
    Arc::new(Record { items, expires })
}

fn store(redis: &RedisServer) -> RedisStore {
    RedisStore::builder(redis.url())
        .with_response_timeout(StdDuration::from_millis(500))
        .build()
        .unwrap()
}

fn accepts(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Loads until the store answers again (it reconnects by itself); how long
/// that took.
async fn wait_recovered(store: &RedisStore, key: &SessionKey, now: OffsetDateTime) -> Arc<Record> {
    let start = Instant::now();
    loop {
        match store.load(key, now).await {
            Ok(r) => return r.expect("the session saved before the outage is there"),
            Err(StoreError::Unavailable(_)) => {
                assert!(
                    start.elapsed() < StdDuration::from_secs(10),
                    "the store did not recover"
                );
                tokio::time::sleep(StdDuration::from_millis(50)).await;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
}

#[test]
fn servers_are_private_and_killed_on_drop() {
    let Some(mut a) = RedisServer::start_or_skip("servers_are_private_and_killed_on_drop") else {
        return;
    };
    let b = RedisServer::start();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.dir(), b.dir());
    assert_eq!(a.url(), format!("redis://127.0.0.1:{}/0", a.port()));
    assert_eq!(
        a.url_with_db(2),
        format!("redis://127.0.0.1:{}/2", a.port())
    );
    assert!(a.is_running());
    a.query::<()>(&["SET", "k", "a"]).unwrap();
    assert_eq!(b.query::<Option<String>>(&["GET", "k"]).unwrap(), None);
    assert!(
        a.log().contains("Ready to accept connections"),
        "{}",
        a.log()
    );

    let (port, dir) = (b.port(), b.dir().to_owned());
    drop(b);
    assert!(!accepts(port), "the server outlived its RedisServer");
    assert!(!dir.exists(), "the temporary directory was left behind");
}

#[test]
fn stop_and_restart_on_the_same_port_without_persistence_loses_data() {
    let Some(mut redis) = RedisServer::start_or_skip(
        "stop_and_restart_on_the_same_port_without_persistence_loses_data",
    ) else {
        return;
    };
    let port = redis.port();
    redis.query::<()>(&["SET", "k", "v"]).unwrap();
    redis.stop();
    assert!(!redis.is_running());
    assert!(!accepts(port));
    assert!(redis.query::<String>(&["PING"]).is_err());
    redis.restart();
    assert!(redis.is_running());
    assert_eq!(redis.port(), port);
    assert_eq!(redis.query::<Option<String>>(&["GET", "k"]).unwrap(), None);
}

#[test]
fn persistence_survives_stop_and_crash() {
    let Some(mut redis) = RedisServer::builder()
        .with_persistence(true)
        .start_or_skip("persistence_survives_stop_and_crash")
    else {
        return;
    };
    redis.query::<()>(&["SET", "a", "1"]).unwrap();
    redis.stop();
    redis.restart();
    assert_eq!(
        redis
            .query::<Option<String>>(&["GET", "a"])
            .unwrap()
            .as_deref(),
        Some("1")
    );
    redis.query::<()>(&["SET", "b", "2"]).unwrap();
    redis.kill();
    assert!(!redis.is_running());
    redis.restart();
    assert_eq!(
        redis
            .query::<Option<String>>(&["GET", "b"])
            .unwrap()
            .as_deref(),
        Some("2")
    );
}

#[test]
fn password_is_required_and_in_the_url() {
    let Some(redis) = RedisServer::builder()
        .with_password("pw")
        .start_or_skip("password_is_required_and_in_the_url")
    else {
        return;
    };
    assert_eq!(
        redis.url(),
        format!("redis://:pw@127.0.0.1:{}/0", redis.port())
    );
    assert_eq!(redis.query::<String>(&["PING"]).unwrap(), "PONG");
    let anonymous = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port())).unwrap();
    let mut conn = anonymous.get_connection().unwrap();
    let err = redis::cmd("GET")
        .arg("x")
        .query::<Option<String>>(&mut conn);
    assert!(err.is_err(), "a command without the password was answered");
}

/// Runs as an ordinary test, and as the child of the next test with a
/// `redis-server` that does not exist.
#[test]
fn start_or_skip_probe() {
    match RedisServer::start_or_skip("start_or_skip_probe") {
        Some(r) => assert_eq!(r.query::<String>(&["PING"]).unwrap(), "PONG"),
        None => assert!(!RedisServer::is_installed()),
    }
}

#[test]
fn a_missing_redis_server_skips_but_fails_under_ci() {
    let run = |ci: Option<&str>| {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "start_or_skip_probe", "--nocapture"])
            .env("REDIS_SERVER", "/nonexistent/redis-server");
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
        text.contains("SKIPPED start_or_skip_probe: redis-server is not installed"),
        "{text}"
    );
    assert!(text.contains("1 passed"), "{text}");
    let (ok, text) = run(Some("true"));
    assert!(!ok, "{text}");
    assert!(text.contains("CI=true: failing"), "{text}");
}

#[tokio::test]
async fn an_outage_is_unavailable_and_recovers_with_the_data() {
    let Some(mut redis) = RedisServer::builder()
        .with_persistence(true)
        .start_or_skip("an_outage_is_unavailable_and_recovers_with_the_data")
    else {
        return;
    };
    let store = store(&redis);
    let now = now();
    let key = SessionKey::generate();
    let rec = record(now + Duration::hours(1));
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());

    redis.stop();
    let start = Instant::now();
    for _ in 0..3 {
        let err = store.load(&key, now).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        let err = store
            .save(&key, &rec, SaveMode::Update, now)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    }
    let elapsed = start.elapsed();
    assert!(elapsed < StdDuration::from_secs(5), "took {elapsed:?}");

    redis.restart();
    assert_eq!(wait_recovered(&store, &key, now).await, rec);
    let other = SessionKey::generate();
    assert!(
        store
            .save(&other, &rec, SaveMode::Create, now)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_crash_loses_no_acknowledged_session() {
    let Some(mut redis) = RedisServer::builder()
        .with_persistence(true)
        .start_or_skip("a_crash_loses_no_acknowledged_session")
    else {
        return;
    };
    let store = store(&redis);
    let now = now();
    let key = SessionKey::generate();
    let rec = record(now + Duration::hours(1));
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    redis.kill();
    assert!(store.load(&key, now).await.is_err());
    redis.restart();
    assert_eq!(wait_recovered(&store, &key, now).await, rec);
    // The per-user index survived too.
    assert_eq!(store.delete_user_sessions("1", None, now).await.unwrap(), 1);
}

#[tokio::test]
async fn a_hung_server_times_out_and_recovers() {
    let Some(mut redis) = RedisServer::start_or_skip("a_hung_server_times_out_and_recovers") else {
        return;
    };
    let store = store(&redis);
    let now = now();
    let key = SessionKey::generate();
    let rec = record(now + Duration::hours(1));
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());

    redis.pause();
    let start = Instant::now();
    let err = store.load(&key, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let elapsed = start.elapsed();
    assert!(
        elapsed < StdDuration::from_secs(4),
        "a hung Redis held the request {elapsed:?}"
    );
    redis.resume();
    assert_eq!(wait_recovered(&store, &key, now).await, rec);
}

#[tokio::test]
async fn a_slow_server_is_waited_for() {
    let Some(redis) = RedisServer::start_or_skip("a_slow_server_is_waited_for") else {
        return;
    };
    let store = store(&redis);
    let now = now();
    let key = SessionKey::generate();
    let rec = record(now + Duration::hours(1));
    store.ping().await.unwrap();
    redis.client_pause(StdDuration::from_millis(300)).unwrap();
    let start = Instant::now();
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    let elapsed = start.elapsed();
    assert!(
        elapsed >= StdDuration::from_millis(200),
        "CLIENT PAUSE did not hold the command ({elapsed:?})"
    );
    assert_eq!(store.load(&key, now).await.unwrap(), Some(rec));
}

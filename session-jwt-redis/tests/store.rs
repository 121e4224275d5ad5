//! `RedisStore` against a real `redis-server` (one private process per test).

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use serde_json::{Map, Value, json};
use session_jwt_core::session::USER_ID;
use session_jwt_core::time::{Duration, OffsetDateTime};
use session_jwt_core::{Record, SaveMode, SessionKey, SessionStore, StoreError};
use session_jwt_redis::testing::RedisServer;
use session_jwt_redis::{Error, RedisStore};

/// Starts this test's Redis, or returns from the test (see `start_or_skip`).
macro_rules! redis_or_skip {
    ($name:literal) => {
        match RedisServer::start_or_skip($name) {
            Some(r) => r,
            None => return,
        }
    };
}

const PREFIX: &str = "t:";

async fn store(redis: &RedisServer) -> RedisStore {
    RedisStore::builder(redis.url())
        .with_key_prefix(PREFIX)
        .connect()
        .await
        .expect("connect")
}

/// Now, in whole seconds (the record's JSON keeps seconds).
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn record(user: Option<&str>, expires: OffsetDateTime) -> Arc<Record> {
    let mut items = Map::new();
    if let Some(u) = user {
        items.insert(USER_ID.into(), u.into());
    }
    items.insert("test".into(), "This value should be present".into());
    items.insert("n".into(), json!({"a": [1, 2.5, null, true], "é": "ü"}));
    Arc::new(Record { items, expires })
}

fn raw_key(key: &SessionKey) -> String {
    format!("{PREFIX}{}", key.expose())
}

fn exists(redis: &RedisServer, key: &str) -> bool {
    redis.query::<bool>(&["EXISTS", key]).unwrap()
}

fn members(redis: &RedisServer, set: &str) -> Vec<String> {
    let mut m: Vec<String> = redis.query(&["SMEMBERS", set]).unwrap();
    m.sort();
    m
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap()
}

#[tokio::test]
async fn save_load_delete_round_trip_in_the_core_format() {
    let redis = redis_or_skip!("save_load_delete_round_trip_in_the_core_format");
    let store = store(&redis).await;
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));

    assert_eq!(store.load(&key, now).await.unwrap(), None);
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    assert_eq!(store.load(&key, now).await.unwrap(), Some(rec.clone()));

    // Stored as the core's JSON, under PREFIX + key, expiring at `expires`.
    let raw: Vec<u8> = redis.query(&["GET", &raw_key(&key)]).unwrap();
    assert_eq!(Record::from_json(&raw).unwrap(), *rec);
    assert_eq!(
        serde_json::from_slice::<Value>(&raw).unwrap(),
        serde_json::from_slice::<Value>(&rec.to_json()).unwrap()
    );
    let pexpiretime: i64 = redis.query(&["PEXPIRETIME", &raw_key(&key)]).unwrap();
    assert_eq!(pexpiretime, unix_ms(rec.expires));

    // An update replaces the content and the expiry.
    let mut changed = record(Some("1"), now + Duration::hours(2));
    Arc::make_mut(&mut changed)
        .items
        .insert("x".into(), "y".into());
    assert!(
        store
            .save(&key, &changed, SaveMode::Update, now)
            .await
            .unwrap()
    );
    assert_eq!(store.load(&key, now).await.unwrap(), Some(changed.clone()));
    let pexpiretime: i64 = redis.query(&["PEXPIRETIME", &raw_key(&key)]).unwrap();
    assert_eq!(pexpiretime, unix_ms(changed.expires));

    store.delete(&key).await.unwrap();
    assert_eq!(store.load(&key, now).await.unwrap(), None);
    assert!(!exists(&redis, &raw_key(&key)));
    // Deleting what is not there is no error.
    store.delete(&key).await.unwrap();
}

#[tokio::test]
async fn records_expire_by_redis_ttl() {
    let redis = redis_or_skip!("records_expire_by_redis_ttl");
    let store = store(&redis).await;
    let saved_at = OffsetDateTime::now_utc();
    let key = SessionKey::generate();
    let rec = record(Some("1"), saved_at + Duration::milliseconds(1200));
    assert!(
        store
            .save(&key, &rec, SaveMode::Create, saved_at)
            .await
            .unwrap()
    );
    let ttl: i64 = redis.query(&["PTTL", &raw_key(&key)]).unwrap();
    assert!((1..=1200).contains(&ttl), "PTTL {ttl}");

    // Poll with the save time as `now`: only Redis's own TTL can remove it.
    let start = Instant::now();
    while store.load(&key, saved_at).await.unwrap().is_some() {
        assert!(
            start.elapsed() < StdDuration::from_secs(4),
            "the record did not expire"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let gone_at = OffsetDateTime::now_utc();
    assert!(
        gone_at >= rec.expires,
        "gone {} early",
        rec.expires - gone_at
    );
    assert!(!exists(&redis, &raw_key(&key)));
}

#[tokio::test]
async fn load_honours_now_for_clock_differences() {
    let redis = redis_or_skip!("load_honours_now_for_clock_differences");
    let store = store(&redis).await;
    let now = now();
    let key = SessionKey::generate();
    let rec = record(None, now + Duration::hours(1));
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    // Still in Redis, but expired at the caller's `now`.
    assert_eq!(store.load(&key, rec.expires).await.unwrap(), None);
    assert!(store.load(&key, now).await.unwrap().is_some());
}

#[tokio::test]
async fn create_never_overwrites() {
    let redis = redis_or_skip!("create_never_overwrites");
    let store = store(&redis).await;
    let now = now();
    let key = SessionKey::generate();
    let first = record(Some("1"), now + Duration::hours(1));
    let second = record(Some("2"), now + Duration::hours(3));
    assert!(
        store
            .save(&key, &first, SaveMode::Create, now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .save(&key, &second, SaveMode::Create, now)
            .await
            .unwrap()
    );
    assert_eq!(store.load(&key, now).await.unwrap(), Some(first.clone()));
    let pexpiretime: i64 = redis.query(&["PEXPIRETIME", &raw_key(&key)]).unwrap();
    assert_eq!(pexpiretime, unix_ms(first.expires));
    // The refused write did not index the key under the other user.
    assert!(!exists(&redis, &store.user_set_key("2")));
}

#[tokio::test]
async fn update_never_resurrects() {
    let redis = redis_or_skip!("update_never_resurrects");
    let store = store(&redis).await;
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));

    // Never created.
    assert!(!store.save(&key, &rec, SaveMode::Update, now).await.unwrap());
    assert!(!exists(&redis, &raw_key(&key)));
    assert!(!exists(&redis, &store.user_set_key("1")));

    // Deleted meanwhile (a logout at another instance).
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    store.delete(&key).await.unwrap();
    assert!(!store.save(&key, &rec, SaveMode::Update, now).await.unwrap());
    assert_eq!(store.load(&key, now).await.unwrap(), None);
    assert!(!exists(&redis, &raw_key(&key)));
    assert!(!exists(&redis, &store.user_set_key("1")));
}

#[tokio::test]
async fn a_record_expired_at_save_is_not_written() {
    let redis = redis_or_skip!("a_record_expired_at_save_is_not_written");
    let store = store(&redis).await;
    let now = now();
    let expired = record(Some("1"), now);
    let past = record(Some("1"), now - Duration::hours(1));

    // Create: nothing is written (the session ends at once); the key was free.
    let key = SessionKey::generate();
    assert!(
        store
            .save(&key, &expired, SaveMode::Create, now)
            .await
            .unwrap()
    );
    assert!(
        store
            .save(&key, &past, SaveMode::Create, now)
            .await
            .unwrap()
    );
    assert!(!exists(&redis, &raw_key(&key)));
    assert!(!exists(&redis, &store.user_set_key("1")));

    // Create over a live record: refused, the record is kept.
    let live = record(Some("1"), now + Duration::hours(1));
    assert!(
        store
            .save(&key, &live, SaveMode::Create, now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .save(&key, &expired, SaveMode::Create, now)
            .await
            .unwrap()
    );
    assert_eq!(store.load(&key, now).await.unwrap(), Some(live.clone()));

    // Update with an expired record: the session ends (record and index).
    assert!(
        store
            .save(&key, &expired, SaveMode::Update, now)
            .await
            .unwrap()
    );
    assert!(!exists(&redis, &raw_key(&key)));
    assert!(!exists(&redis, &store.user_set_key("1")));
    // ... and it stays ended.
    assert!(
        !store
            .save(&key, &expired, SaveMode::Update, now)
            .await
            .unwrap()
    );
    assert!(!exists(&redis, &raw_key(&key)));
}

#[tokio::test]
async fn per_user_index_and_delete_user_sessions() {
    let redis = redis_or_skip!("per_user_index_and_delete_user_sessions");
    let store = store(&redis).await;
    let now = now();
    let john: Vec<SessionKey> = (0..3).map(|_| SessionKey::generate()).collect();
    for (i, k) in john.iter().enumerate() {
        let expires = now + Duration::hours(i64::try_from(i).unwrap() + 1);
        assert!(
            store
                .save(k, &record(Some("1"), expires), SaveMode::Create, now)
                .await
                .unwrap()
        );
    }
    let jane = SessionKey::generate();
    let anonymous = SessionKey::generate();
    let exp = now + Duration::hours(1);
    store
        .save(&jane, &record(Some("2"), exp), SaveMode::Create, now)
        .await
        .unwrap();
    store
        .save(&anonymous, &record(None, exp), SaveMode::Create, now)
        .await
        .unwrap();

    let set = store.user_set_key("1");
    assert_eq!(set, "t:user:1");
    let mut expected: Vec<String> = john.iter().map(|k| k.expose().to_owned()).collect();
    expected.sort();
    assert_eq!(members(&redis, &set), expected);
    // The set lives at least as long as the user's longest session.
    let set_expiry: i64 = redis.query(&["PEXPIRETIME", &set]).unwrap();
    assert_eq!(set_expiry, unix_ms(now + Duration::hours(3)));
    // An update with an earlier expiry does not shorten it.
    assert!(
        store
            .save(
                &john[2],
                &record(Some("1"), now + Duration::minutes(5)),
                SaveMode::Update,
                now
            )
            .await
            .unwrap()
    );
    let set_expiry: i64 = redis.query(&["PEXPIRETIME", &set]).unwrap();
    assert_eq!(set_expiry, unix_ms(now + Duration::hours(3)));

    // A session whose user changed stays indexed under the old user but is
    // not deleted with them.
    let switched = SessionKey::generate();
    store
        .save(&switched, &record(Some("1"), exp), SaveMode::Create, now)
        .await
        .unwrap();
    store
        .save(&switched, &record(Some("2"), exp), SaveMode::Update, now)
        .await
        .unwrap();
    assert!(members(&redis, &set).contains(&switched.expose().to_owned()));

    // A stale member whose record has expired or vanished.
    redis
        .query::<()>(&["SADD", &set, "stalestalestale"])
        .unwrap();

    let deleted = store
        .delete_user_sessions("1", Some(&john[0]), now)
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert!(store.load(&john[0], now).await.unwrap().is_some());
    assert!(store.load(&john[1], now).await.unwrap().is_none());
    assert!(store.load(&john[2], now).await.unwrap().is_none());
    assert!(store.load(&jane, now).await.unwrap().is_some());
    assert!(store.load(&anonymous, now).await.unwrap().is_some());
    assert!(store.load(&switched, now).await.unwrap().is_some());
    assert_eq!(members(&redis, &set), vec![john[0].expose().to_owned()]);

    // Again: nothing more to delete.
    assert_eq!(
        store
            .delete_user_sessions("1", Some(&john[0]), now)
            .await
            .unwrap(),
        0
    );
    // Deleting the kept session removes it from the set (and the empty set).
    store.delete(&john[0]).await.unwrap();
    assert!(!exists(&redis, &set));
    // Without `keep`, every session goes; an unknown user is no error.
    assert_eq!(store.delete_user_sessions("2", None, now).await.unwrap(), 2);
    assert!(store.load(&jane, now).await.unwrap().is_none());
    assert!(store.load(&switched, now).await.unwrap().is_none());
    assert_eq!(
        store
            .delete_user_sessions("nobody", None, now)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn user_sets_drop_expired_sessions_as_they_grow() {
    let redis = redis_or_skip!("user_sets_drop_expired_sessions_as_they_grow");
    let store = store(&redis).await;
    let now = now();
    let exp = now + Duration::hours(1);
    let set = store.user_set_key("1");
    let mut live = Vec::new();
    // Up to 16 keys, nothing is pruned.
    for i in 0..16 {
        let k = SessionKey::generate();
        assert!(
            store
                .save(&k, &record(Some("1"), exp), SaveMode::Create, now)
                .await
                .unwrap()
        );
        if i % 4 == 0 {
            live.push(k.expose().to_owned());
        } else {
            // As if it had expired: the record is gone, its key still listed.
            redis.query::<()>(&["DEL", &raw_key(&k)]).unwrap();
        }
    }
    assert_eq!(members(&redis, &set).len(), 16);
    // A new session (a login) beyond 16 prunes the set to the live sessions.
    let k = SessionKey::generate();
    store
        .save(&k, &record(Some("1"), exp), SaveMode::Create, now)
        .await
        .unwrap();
    live.push(k.expose().to_owned());
    live.sort();
    assert_eq!(members(&redis, &set), live);
}

#[tokio::test]
async fn user_ids_with_odd_characters_are_separate_sets() {
    let redis = redis_or_skip!("user_ids_with_odd_characters_are_separate_sets");
    let store = store(&redis).await;
    let now = now();
    let exp = now + Duration::hours(1);
    let ids = ["a:b", "a", "ü ser", ""];
    let mut keys = Vec::new();
    for id in ids {
        let k = SessionKey::generate();
        assert!(
            store
                .save(&k, &record(Some(id), exp), SaveMode::Create, now)
                .await
                .unwrap()
        );
        keys.push(k);
    }
    assert_eq!(store.delete_user_sessions("a", None, now).await.unwrap(), 1);
    assert!(store.load(&keys[0], now).await.unwrap().is_some());
    assert!(store.load(&keys[1], now).await.unwrap().is_none());
    assert_eq!(
        store
            .delete_user_sessions("ü ser", None, now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.delete_user_sessions("", None, now).await.unwrap(), 1);
    assert!(store.load(&keys[0], now).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_to_different_keys() {
    let redis = redis_or_skip!("concurrent_writers_to_different_keys");
    let store = Arc::new(store(&redis).await);
    let now = now();
    let exp = now + Duration::hours(1);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let key = SessionKey::generate();
                let user = format!("{}", i % 5);
                let mut rec = record(Some(&user), exp);
                assert!(store.save(&key, &rec, SaveMode::Create, now).await?);
                Arc::make_mut(&mut rec).items.insert("i".into(), i.into());
                assert!(store.save(&key, &rec, SaveMode::Update, now).await?);
                assert_eq!(store.load(&key, now).await?, Some(rec));
                Ok::<_, StoreError>(key)
            })
        })
        .collect();
    let mut keys = Vec::new();
    for t in tasks {
        keys.push(t.await.unwrap().unwrap());
    }
    assert_eq!(redis.query::<usize>(&["DBSIZE"]).unwrap(), 50 + 5);
    for u in 0..5 {
        assert_eq!(
            members(&redis, &store.user_set_key(&u.to_string())).len(),
            10
        );
    }
    for k in &keys {
        assert!(store.load(k, now).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn cycle_moves_a_record_and_its_user_index_in_one_step() {
    let redis = redis_or_skip!("cycle_moves_a_record_and_its_user_index_in_one_step");
    let store = store(&redis).await;
    let now = now();
    let exp = now + Duration::hours(1);
    let (old, new) = (SessionKey::generate(), SessionKey::generate());
    // An anonymous session logs in: the new record carries the user.
    assert!(
        store
            .save(&old, &record(None, exp), SaveMode::Create, now)
            .await
            .unwrap()
    );
    let logged_in = record(Some("7"), exp);
    assert!(store.cycle(&old, &new, &logged_in, now).await.unwrap());
    assert!(!exists(&redis, &raw_key(&old)));
    assert_eq!(
        store.load(&new, now).await.unwrap(),
        Some(logged_in.clone())
    );
    assert_eq!(members(&redis, &store.user_set_key("7")), [new.expose()]);
    let ttl: i64 = redis.query(&["PTTL", &raw_key(&new)]).unwrap();
    assert!(
        ttl > 3_500_000,
        "the new record keeps the record's expiry: {ttl}"
    );
    // A password change cycles again: the user's set follows.
    let newer = SessionKey::generate();
    assert!(store.cycle(&new, &newer, &logged_in, now).await.unwrap());
    assert_eq!(members(&redis, &store.user_set_key("7")), [newer.expose()]);
    // The old key gone (a logout won): nothing is written.
    let ghost = SessionKey::generate();
    assert!(!store.cycle(&old, &ghost, &logged_in, now).await.unwrap());
    assert!(!exists(&redis, &raw_key(&ghost)));
    // A taken new key is an error, and the old record stays.
    assert!(matches!(
        store.cycle(&newer, &newer, &logged_in, now).await,
        Err(StoreError::Other(_))
    ));
    assert!(exists(&redis, &raw_key(&newer)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cycle_racing_a_logout_never_resurrects_the_session() {
    // 50 races at once, each a login (cycle) against a logout (delete) of
    // the same session: exactly one wins each. A logout that deleted the old
    // record leaves no new one; a login that moved it leaves the logout
    // nothing to delete.
    let redis = redis_or_skip!("a_cycle_racing_a_logout_never_resurrects_the_session");
    let store = Arc::new(store(&redis).await);
    let now = now();
    let exp = now + Duration::hours(1);
    let mut races = Vec::new();
    for i in 0..50 {
        let (old, new) = (SessionKey::generate(), SessionKey::generate());
        let user = format!("{}", i % 5);
        assert!(
            store
                .save(&old, &record(Some(&user), exp), SaveMode::Create, now)
                .await
                .unwrap()
        );
        let rec = record(Some(&user), exp);
        let (s1, s2) = (Arc::clone(&store), Arc::clone(&store));
        let (o1, o2, n1) = (old.clone(), old.clone(), new.clone());
        let login = tokio::spawn(async move { s1.cycle(&o1, &n1, &rec, now).await.unwrap() });
        let logout = tokio::spawn(async move { s2.delete(&o2).await.unwrap() });
        races.push((old, new, login, logout));
    }
    let (mut logins, mut logouts) = (0, 0);
    for (old, new, login, logout) in races {
        let (moved, deleted) = (login.await.unwrap(), logout.await.unwrap());
        let new_exists = store.load(&new, now).await.unwrap().is_some();
        assert_ne!(moved, deleted, "exactly one of login and logout wins");
        assert_eq!(
            moved, new_exists,
            "a new record exists only if the login won"
        );
        assert!(store.load(&old, now).await.unwrap().is_none());
        if moved {
            logins += 1;
        } else {
            logouts += 1;
        }
    }
    assert_eq!(logins + logouts, 50);
    // The users' sets list exactly the sessions that exist.
    for u in 0..5 {
        for member in members(&redis, &store.user_set_key(&u.to_string())) {
            assert!(
                exists(&redis, &format!("{PREFIX}{member}")),
                "stale member {member}"
            );
        }
    }
}

#[tokio::test]
async fn corrupt_data_is_a_corrupt_error() {
    let redis = redis_or_skip!("corrupt_data_is_a_corrupt_error");
    let store = store(&redis).await;
    let now = now();

    let key = SessionKey::generate();
    redis
        .query::<()>(&["SET", &raw_key(&key), "{not json"])
        .unwrap();
    let err = store.load(&key, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
    // Valid JSON, not a record.
    redis
        .query::<()>(&["SET", &raw_key(&key), r#"{"items":[]}"#])
        .unwrap();
    let err = store.load(&key, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    // A corrupt record can still be deleted.
    store.delete(&key).await.unwrap();
    assert!(!exists(&redis, &raw_key(&key)));

    // Something that is not a string at the record's key.
    let other = SessionKey::generate();
    redis.query::<()>(&["SADD", &raw_key(&other), "x"]).unwrap();
    let err = store.load(&other, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    // Neither a corrupt record nor a wrong type breaks "log out everywhere".
    let good = SessionKey::generate();
    store
        .save(
            &good,
            &record(Some("1"), now + Duration::hours(1)),
            SaveMode::Create,
            now,
        )
        .await
        .unwrap();
    let set = store.user_set_key("1");
    redis.query::<()>(&["SADD", &set, other.expose()]).unwrap();
    let bad = SessionKey::generate();
    redis
        .query::<()>(&["SET", &raw_key(&bad), "{not json"])
        .unwrap();
    redis.query::<()>(&["SADD", &set, bad.expose()]).unwrap();
    assert_eq!(store.delete_user_sessions("1", None, now).await.unwrap(), 1);
    assert!(store.load(&good, now).await.unwrap().is_none());
    assert!(!exists(&redis, &set));
    store.delete(&other).await.unwrap();
    assert!(!exists(&redis, &raw_key(&other)));
}

#[tokio::test]
async fn a_dead_server_is_unavailable_quickly() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let store = RedisStore::new(&url).expect("a lazy store builds without a server");
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));

    let start = Instant::now();
    let err = store.load(&key, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
    let err = store
        .save(&key, &rec, SaveMode::Create, now)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store.delete(&key).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store
        .delete_user_sessions("1", None, now)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(store.ping().await.is_err());
    let elapsed = start.elapsed();
    assert!(elapsed < StdDuration::from_secs(5), "took {elapsed:?}");

    let start = Instant::now();
    let err = RedisStore::builder(url).connect().await.unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
    assert!(start.elapsed() < StdDuration::from_secs(3));
}

#[tokio::test]
async fn password_database_and_prefix_separate_stores() {
    let redis = match RedisServer::builder()
        .with_password("s3cret")
        .start_or_skip("password_database_and_prefix_separate_stores")
    {
        Some(r) => r,
        None => return,
    };
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));

    let db3 = RedisStore::builder(redis.url_with_db(3))
        .connect()
        .await
        .unwrap();
    assert_eq!(db3.key_prefix(), "session-jwt:");
    assert!(db3.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    // A second instance of the app: same URL and prefix, same sessions.
    let db3_again = RedisStore::new(&redis.url_with_db(3)).unwrap();
    assert_eq!(db3_again.load(&key, now).await.unwrap(), Some(rec.clone()));
    // Another database or another prefix: other sessions.
    let db0 = RedisStore::new(&redis.url()).unwrap();
    assert_eq!(db0.load(&key, now).await.unwrap(), None);
    let other_prefix = RedisStore::builder(redis.url_with_db(3))
        .with_key_prefix("other:")
        .build()
        .unwrap();
    assert_eq!(other_prefix.load(&key, now).await.unwrap(), None);

    // A wrong password fails, without the password in the message.
    let bad = format!("redis://:wrong@127.0.0.1:{}/3", redis.port());
    let err = RedisStore::builder(bad.as_str())
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("wrong"));
    let store = RedisStore::new(&bad).unwrap();
    let err = store.load(&key, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(!format!("{store:?}").contains("wrong"));
}

#[tokio::test]
async fn bad_configuration_is_an_error_naming_the_setting() {
    let err = RedisStore::new("http://localhost").unwrap_err();
    assert!(matches!(err, Error::Url(_)), "{err:?}");
    assert!(err.to_string().starts_with("REDIS_URL"), "{err}");
    let err = RedisStore::builder("redis://127.0.0.1/")
        .with_response_timeout(StdDuration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().starts_with("response_timeout"), "{err}");
    let err = RedisStore::builder("redis://127.0.0.1/")
        .with_key_prefix("a b")
        .build()
        .unwrap_err();
    assert!(err.to_string().starts_with("key_prefix"), "{err}");
    #[cfg(not(feature = "tls-rustls"))]
    assert!(matches!(
        RedisStore::new("rediss://127.0.0.1/"),
        Err(Error::Url(_))
    ));
}

#[test]
fn building_outside_a_tokio_runtime_is_an_error() {
    let err = RedisStore::new("redis://127.0.0.1/").unwrap_err();
    assert!(err.to_string().contains("Tokio runtime"), "{err}");
}

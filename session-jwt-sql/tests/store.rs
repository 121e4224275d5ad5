//! The store contract (the Redis store's: round trip, expiry, create never
//! overwrites, update never resurrects, atomic cycling under concurrent
//! logouts, the per-user index, purge, corrupt rows), run four times: this
//! library's table and Django's, each on a real SQLite file and on a real
//! PostgreSQL server that the test starts (a private cluster per test).

mod common;

use std::sync::Arc;

use common::{Db, Harness, Layout, now, record};
use session_jwt_core::time::Duration;
use session_jwt_core::{Record, SaveMode, SessionKey, SessionStore, StoreError};

/// One contract check, run on each backend and layout.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(Harness::new(Db::sqlite(), Layout::Own).await).await;
            })*
        }
        mod postgres {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(db) = Db::postgres(concat!("postgres::", stringify!($name))) else {
                    return;
                };
                super::$name(Harness::new(db, Layout::Own).await).await;
            })*
        }
        mod django_sqlite {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(Harness::new(Db::sqlite(), Layout::Django).await).await;
            })*
        }
        mod django_postgres {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(db) = Db::postgres(concat!("django_postgres::", stringify!($name))) else {
                    return;
                };
                super::$name(Harness::new(db, Layout::Django).await).await;
            })*
        }
    };
}

contract!(
    save_load_delete_round_trip,
    expiry_is_honoured_on_read,
    create_never_overwrites,
    update_never_resurrects,
    a_record_expired_at_save_is_not_written,
    per_user_index_and_delete_user_sessions,
    concurrent_writers_to_different_keys,
    cycle_moves_a_record_in_one_step,
    a_cycle_racing_a_logout_never_resurrects_the_session,
    purge_removes_only_expired_rows,
    corrupt_rows,
    a_second_instance_shares_the_sessions,
);

async fn save_load_delete_round_trip(h: Harness) {
    let store = &h.store;
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));

    assert_eq!(store.load(&key, now).await.unwrap(), None);
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    assert_eq!(store.load(&key, now).await.unwrap(), Some(rec.clone()));

    let data = h.data(key.expose()).await.unwrap();
    match h.layout {
        Layout::Own => {
            // The core's JSON, the user indexed, the expiry in milliseconds.
            assert_eq!(Record::from_json(data.as_bytes()).unwrap(), *rec);
            let row = h
                .raw
                .text(&format!(
                    "SELECT CAST(expires AS TEXT) || ' ' || user_id FROM session_jwt_session \
                     WHERE session_key = '{}'",
                    key.expose()
                ))
                .await
                .unwrap();
            let ms = rec.expires.unix_timestamp() * 1000;
            assert_eq!(row, format!("{ms} 1"));
        }
        Layout::Django => {
            // Signed, compressed JSON (Django's format), not readable as is.
            assert!(data.starts_with(".eJ"), "{data}");
            assert_eq!(data.matches(':').count(), 2, "{data}");
            assert!(!data.contains("This value"));
            let expire_date = h
                .raw
                .text(&format!(
                    "SELECT CAST(expire_date AS TEXT) FROM django_session WHERE session_key = '{}'",
                    key.expose()
                ))
                .await
                .unwrap();
            let t = rec.expires;
            let want = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            assert!(expire_date.starts_with(&want), "{expire_date} vs {want}");
        }
    }

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
    // Still live an hour and a half later, thanks to the new expiry.
    let later = now + Duration::minutes(90);
    assert!(store.load(&key, later).await.unwrap().is_some());

    assert!(store.delete(&key).await.unwrap());
    assert_eq!(store.load(&key, now).await.unwrap(), None);
    assert!(!h.has_row(key.expose()).await);
    // Deleting what is not there is no error.
    assert!(!store.delete(&key).await.unwrap());
}

async fn expiry_is_honoured_on_read(h: Harness) {
    let store = &h.store;
    let now = now();
    let key = SessionKey::generate();
    let rec = record(None, now + Duration::seconds(10));
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    assert!(
        store
            .load(&key, now + Duration::seconds(9))
            .await
            .unwrap()
            .is_some()
    );
    // Still in the table, but never read once expired.
    assert!(
        store
            .load(&key, now + Duration::seconds(10))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .load(&key, now + Duration::days(400))
            .await
            .unwrap()
            .is_none()
    );
    assert!(h.has_row(key.expose()).await);
    // Nor updated.
    let later = now + Duration::seconds(11);
    assert!(
        !store
            .save(
                &key,
                &record(None, later + Duration::hours(1)),
                SaveMode::Update,
                later
            )
            .await
            .unwrap()
    );
    assert!(store.load(&key, later).await.unwrap().is_none());
}

async fn create_never_overwrites(h: Harness) {
    let store = &h.store;
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
    // The refused write did not index the key under the other user.
    assert_eq!(store.delete_user_sessions("2", None, now).await.unwrap(), 0);
    assert!(store.load(&key, now).await.unwrap().is_some());

    // An expired row under the key is no session: a create replaces it.
    let later = first.expires + Duration::seconds(1);
    let third = record(Some("3"), later + Duration::hours(1));
    assert!(
        store
            .save(&key, &third, SaveMode::Create, later)
            .await
            .unwrap()
    );
    assert_eq!(store.load(&key, later).await.unwrap(), Some(third));
}

async fn update_never_resurrects(h: Harness) {
    let store = &h.store;
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));

    // Never created.
    assert!(!store.save(&key, &rec, SaveMode::Update, now).await.unwrap());
    assert!(!h.has_row(key.expose()).await);

    // Deleted meanwhile (a logout at another instance).
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    assert!(store.delete(&key).await.unwrap());
    assert!(!store.save(&key, &rec, SaveMode::Update, now).await.unwrap());
    assert_eq!(store.load(&key, now).await.unwrap(), None);
    assert!(!h.has_row(key.expose()).await);

    // Deleted by "log out everywhere".
    assert!(store.save(&key, &rec, SaveMode::Create, now).await.unwrap());
    assert_eq!(store.delete_user_sessions("1", None, now).await.unwrap(), 1);
    assert!(!store.save(&key, &rec, SaveMode::Update, now).await.unwrap());
    assert!(!h.has_row(key.expose()).await);
}

async fn a_record_expired_at_save_is_not_written(h: Harness) {
    let store = &h.store;
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
    assert!(!h.has_row(key.expose()).await);

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

    // Update with an expired record: the session ends.
    assert!(
        store
            .save(&key, &expired, SaveMode::Update, now)
            .await
            .unwrap()
    );
    assert!(!h.has_row(key.expose()).await);
    // ... and it stays ended.
    assert!(
        !store
            .save(&key, &expired, SaveMode::Update, now)
            .await
            .unwrap()
    );
    // A cycle to an expired record ends the session too.
    assert!(
        store
            .save(&key, &live, SaveMode::Create, now)
            .await
            .unwrap()
    );
    let new = SessionKey::generate();
    assert!(!store.cycle(&key, &new, &expired, now).await.unwrap());
    assert!(!h.has_row(key.expose()).await);
    assert!(!h.has_row(new.expose()).await);
}

async fn per_user_index_and_delete_user_sessions(h: Harness) {
    let store = &h.store;
    let now = now();
    let exp = now + Duration::hours(1);
    let john: Vec<SessionKey> = (0..3).map(|_| SessionKey::generate()).collect();
    for k in &john {
        assert!(
            store
                .save(k, &record(Some("1"), exp), SaveMode::Create, now)
                .await
                .unwrap()
        );
    }
    let jane = SessionKey::generate();
    let anonymous = SessionKey::generate();
    store
        .save(&jane, &record(Some("2"), exp), SaveMode::Create, now)
        .await
        .unwrap();
    store
        .save(&anonymous, &record(None, exp), SaveMode::Create, now)
        .await
        .unwrap();
    // A session whose user changed is the new user's only.
    let switched = SessionKey::generate();
    store
        .save(&switched, &record(Some("1"), exp), SaveMode::Create, now)
        .await
        .unwrap();
    store
        .save(&switched, &record(Some("2"), exp), SaveMode::Update, now)
        .await
        .unwrap();
    // An expired session of the user is not counted.
    let stale = SessionKey::generate();
    store
        .save(
            &stale,
            &record(Some("1"), now + Duration::seconds(1)),
            SaveMode::Create,
            now,
        )
        .await
        .unwrap();
    let later = now + Duration::seconds(2);

    let deleted = store
        .delete_user_sessions("1", Some(&john[0]), later)
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert!(store.load(&john[0], later).await.unwrap().is_some());
    assert!(store.load(&john[1], later).await.unwrap().is_none());
    assert!(store.load(&john[2], later).await.unwrap().is_none());
    assert!(store.load(&jane, later).await.unwrap().is_some());
    assert!(store.load(&anonymous, later).await.unwrap().is_some());
    assert!(store.load(&switched, later).await.unwrap().is_some());

    // Again: nothing more to delete.
    assert_eq!(
        store
            .delete_user_sessions("1", Some(&john[0]), later)
            .await
            .unwrap(),
        0
    );
    // Without `keep`, every session goes; an unknown user is no error.
    assert_eq!(
        store.delete_user_sessions("2", None, later).await.unwrap(),
        2
    );
    assert!(store.load(&jane, later).await.unwrap().is_none());
    assert!(store.load(&switched, later).await.unwrap().is_none());
    assert_eq!(
        store
            .delete_user_sessions("nobody", None, later)
            .await
            .unwrap(),
        0
    );

    // User ids are compared exactly, whatever their characters.
    let ids = ["a:b", "a", "ü ser", "", "a%", "A"];
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
    assert!(store.load(&keys[1], now).await.unwrap().is_none());
    for i in [0, 2, 3, 4, 5] {
        assert!(store.load(&keys[i], now).await.unwrap().is_some(), "{i}");
    }
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

async fn concurrent_writers_to_different_keys(h: Harness) {
    let store = Arc::new(h.store.clone());
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
    assert_eq!(h.raw.count(h.table()).await, 50);
    for k in &keys {
        assert!(store.load(k, now).await.unwrap().is_some());
    }
    assert_eq!(
        store.delete_user_sessions("3", None, now).await.unwrap(),
        10
    );
}

async fn cycle_moves_a_record_in_one_step(h: Harness) {
    let store = &h.store;
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
    assert!(!h.has_row(old.expose()).await);
    assert_eq!(
        store.load(&new, now).await.unwrap(),
        Some(logged_in.clone())
    );
    // A password change cycles again; the user index follows.
    let newer = SessionKey::generate();
    assert!(store.cycle(&new, &newer, &logged_in, now).await.unwrap());
    assert!(!h.has_row(new.expose()).await);
    // The old key gone (a logout won): nothing is written.
    let ghost = SessionKey::generate();
    assert!(!store.cycle(&old, &ghost, &logged_in, now).await.unwrap());
    assert!(!h.has_row(ghost.expose()).await);
    // An expired old record is gone as well.
    let short = SessionKey::generate();
    store
        .save(
            &short,
            &record(None, now + Duration::seconds(1)),
            SaveMode::Create,
            now,
        )
        .await
        .unwrap();
    let later = now + Duration::seconds(1);
    assert!(
        !store
            .cycle(&short, &ghost, &logged_in, later)
            .await
            .unwrap()
    );
    assert!(!h.has_row(ghost.expose()).await);
    // A taken new key is an error, and the old record stays.
    let other = SessionKey::generate();
    store
        .save(&other, &record(None, exp), SaveMode::Create, now)
        .await
        .unwrap();
    assert!(matches!(
        store.cycle(&newer, &other, &logged_in, now).await,
        Err(StoreError::Other(_))
    ));
    assert!(store.load(&newer, now).await.unwrap().is_some());
    assert_eq!(
        store.load(&other, now).await.unwrap(),
        Some(record(None, exp))
    );
    assert_eq!(store.delete_user_sessions("7", None, now).await.unwrap(), 1);
}

async fn a_cycle_racing_a_logout_never_resurrects_the_session(h: Harness) {
    // 50 races at once, each a login (cycle) against a logout (delete) of
    // the same session: exactly one wins each. A logout that deleted the old
    // record leaves no new one; a login that moved it leaves the logout
    // nothing to delete.
    let store = Arc::new(h.store.clone());
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
    let mut logins = 0;
    for (old, new, login, logout) in races {
        let (moved, deleted) = (login.await.unwrap(), logout.await.unwrap());
        let new_exists = store.load(&new, now).await.unwrap().is_some();
        assert_ne!(moved, deleted, "exactly one of login and logout wins");
        assert_eq!(
            moved, new_exists,
            "a new record exists only if the login won"
        );
        assert!(store.load(&old, now).await.unwrap().is_none());
        logins += usize::from(moved);
    }
    assert_eq!(h.raw.count(h.table()).await, i64::try_from(logins).unwrap());
}

async fn purge_removes_only_expired_rows(h: Harness) {
    let store = &h.store;
    let now = now();
    for i in 0..5 {
        let k = SessionKey::generate();
        store
            .save(
                &k,
                &record(None, now + Duration::seconds(i + 1)),
                SaveMode::Create,
                now,
            )
            .await
            .unwrap();
    }
    let keep = SessionKey::generate();
    store
        .save(
            &keep,
            &record(Some("1"), now + Duration::hours(1)),
            SaveMode::Create,
            now,
        )
        .await
        .unwrap();
    assert_eq!(store.purge_expired(now).await.unwrap(), 0);
    // Expired at their second: 1, 2 and 3 seconds.
    assert_eq!(
        store
            .purge_expired(now + Duration::seconds(3))
            .await
            .unwrap(),
        3
    );
    assert_eq!(h.raw.count(h.table()).await, 3);
    assert_eq!(
        store
            .purge_expired(now + Duration::minutes(1))
            .await
            .unwrap(),
        2
    );
    assert_eq!(h.raw.count(h.table()).await, 1);
    assert!(store.load(&keep, now).await.unwrap().is_some());
}

async fn corrupt_rows(h: Harness) {
    let store = &h.store;
    let now = now();
    let exp = now + Duration::hours(1);
    let key = SessionKey::generate();
    store
        .save(&key, &record(Some("1"), exp), SaveMode::Create, now)
        .await
        .unwrap();
    match h.layout {
        Layout::Own => {
            for bad in ["'{not json'", r#"'{"items":[]}'"#, "''"] {
                h.set_data(key.expose(), bad).await;
                let err = store.load(&key, now).await.unwrap_err();
                assert!(matches!(err, StoreError::Corrupt(_)), "{bad}: {err:?}");
                assert!(std::error::Error::source(&err).is_some());
            }
            if matches!(h.db, Db::Sqlite(_)) {
                // Not even text: a blob, and bytes that are not UTF-8.
                for bad in ["x'00ff'", "CAST(x'ff' AS TEXT)"] {
                    h.set_data(key.expose(), bad).await;
                    let err = store.load(&key, now).await.unwrap_err();
                    assert!(matches!(err, StoreError::Corrupt(_)), "{bad}: {err:?}");
                }
            }
        }
        Layout::Django => {
            // Django's answer to session_data it cannot verify or decode is
            // an empty session: so is ours, an anonymous visitor.
            for bad in [
                "'{not signed}'",
                "''",
                // A real signature, of another secret.
                "'eyJhIjoiXHUwMGU5IFx1MDBmYyBcdWQ4M2RcdWRlMDAifQ:1vb66i:mwKisicVXXIpjSbkw126UNuiwIzjpJywPlSu4QqCVaA'",
            ] {
                h.set_data(key.expose(), bad).await;
                assert_eq!(store.load(&key, now).await.unwrap(), None, "{bad}");
            }
            if matches!(h.db, Db::Sqlite(_)) {
                // Django's column holds text in SQLite; not a time at all.
                let good = SessionKey::generate();
                store
                    .save(&good, &record(None, exp), SaveMode::Create, now)
                    .await
                    .unwrap();
                h.raw
                    .exec(&format!(
                        "UPDATE django_session SET expire_date = '9999-99-99 junk' \
                         WHERE session_key = '{}'",
                        good.expose()
                    ))
                    .await;
                let err = store.load(&good, now).await.unwrap_err();
                assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
                assert!(store.delete(&good).await.unwrap());
            }
        }
    }
    // A corrupt record breaks neither "log out everywhere" (in this
    // library's table its user column still names the user, so it goes
    // too; in Django's its data names nobody) nor a delete.
    let good = SessionKey::generate();
    store
        .save(&good, &record(Some("1"), exp), SaveMode::Create, now)
        .await
        .unwrap();
    let corrupt_indexed = h.layout == Layout::Own;
    assert_eq!(
        store.delete_user_sessions("1", None, now).await.unwrap(),
        1 + usize::from(corrupt_indexed)
    );
    assert!(store.load(&good, now).await.unwrap().is_none());
    assert_eq!(store.delete(&key).await.unwrap(), !corrupt_indexed);
    assert!(!h.has_row(key.expose()).await);
}

async fn a_second_instance_shares_the_sessions(h: Harness) {
    let now = now();
    let key = SessionKey::generate();
    let rec = record(Some("1"), now + Duration::hours(1));
    assert!(
        h.store
            .save(&key, &rec, SaveMode::Create, now)
            .await
            .unwrap()
    );
    // Another instance of the app: same URL and table, same sessions.
    let other = h.builder().build().unwrap();
    assert_eq!(other.load(&key, now).await.unwrap(), Some(rec.clone()));
    assert!(other.delete(&key).await.unwrap());
    assert_eq!(h.store.load(&key, now).await.unwrap(), None);
    // Another table: other sessions.
    h.store
        .save(&key, &rec, SaveMode::Create, now)
        .await
        .unwrap();
    let elsewhere = h
        .builder()
        .with_table("other_sessions")
        .connect()
        .await
        .unwrap();
    assert_eq!(elsewhere.table(), "other_sessions");
    assert_eq!(elsewhere.load(&key, now).await.unwrap(), None);
    // In Django mode, another SECRET_KEY cannot read them.
    if h.layout == Layout::Django {
        let wrong = session_jwt_sql::SqlStore::builder(h.db.url())
            .with_django(session_jwt_sql::DjangoSettings::new("not the app's secret"))
            .build()
            .unwrap();
        assert_eq!(wrong.load(&key, now).await.unwrap(), None);
        // With the right one as a fallback (SECRET_KEY_FALLBACKS), it can.
        let rotated = session_jwt_sql::SqlStore::builder(h.db.url())
            .with_django(
                session_jwt_sql::DjangoSettings::new("the new secret")
                    .with_secret_key_fallbacks([common::DJANGO_SECRET]),
            )
            .build()
            .unwrap();
        assert_eq!(rotated.load(&key, now).await.unwrap(), Some(rec));
    }
}

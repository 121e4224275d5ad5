//! Where sessions live: the [`SessionStore`] trait and the embedded
//! [`MemoryStore`].
//!
//! A record is the core's own format ([`Record`], JSON), so that apps of
//! different frameworks on one store share sessions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::session::{SessionKey, USER_ID};

/// What a store holds for one session: its items and when it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The session's items, including internal ones (`_auth_user_id`, ...).
    pub items: Map<String, Value>,
    /// When the session ends on the server side (Unix seconds in JSON).
    #[serde(with = "time::serde::timestamp")]
    pub expires: OffsetDateTime,
}

impl Record {
    /// The id of the logged-in user, if any (for per-user indexes).
    #[must_use]
    pub fn user_id(&self) -> Option<&str> {
        crate::session::item(&self.items, USER_ID).and_then(Value::as_str)
    }

    /// Whether the record has expired at `now`.
    #[must_use]
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires <= now
    }

    /// The record as JSON bytes (the format every store keeps).
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a JSON map serializes")
    }

    /// A record from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(Box::new(e)))
    }
}

/// How a record is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    /// A new session key: save only if no record has this key (never
    /// overwrite another session).
    Create,
    /// An existing session: save only if the record still exists (never
    /// resurrect a session deleted meanwhile, by a logout elsewhere).
    Update,
}

/// A session store. Failures are [`StoreError`]s, which adapters answer with
/// 503; they never mean "no session".
///
/// Every method takes `now` so that stores which keep expiry themselves (the
/// [`MemoryStore`]) never read the clock; stores with native expiry may
/// ignore it. Records are shared ([`Arc`]): a store that keeps them in memory
/// hands out the same record rather than a copy.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// The record of `key`, or `None` if there is none or it has expired.
    async fn load(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<Record>>, StoreError>;

    /// Saves `record` under `key` until `record.expires`, as `mode` says.
    /// Returns `false` when `mode` forbade the write (the key existed for
    /// [`SaveMode::Create`], or was gone for [`SaveMode::Update`]).
    async fn save(
        &self,
        key: &SessionKey,
        record: &Arc<Record>,
        mode: SaveMode,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Deletes the record of `key`; whether there was one.
    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError>;

    /// Moves a session to a new key (Django's `cycle_key`: login, password
    /// change): saves `record` under the new key `new` and deletes `old`, but
    /// only if `old` still exists. Returns `false`, and leaves no record under
    /// `new`, when `old` is gone (a logout won the race: it stays a logout).
    ///
    /// The default runs on the other methods and is correct, not atomic:
    /// create `new`, then delete `old`; if `old` was already gone, delete
    /// `new` again. A store with transactions or scripts should override it
    /// with one atomic step.
    async fn cycle(
        &self,
        old: &SessionKey,
        new: &SessionKey,
        record: &Arc<Record>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        if self.load(old, now).await?.is_none() {
            return Ok(false);
        }
        if !self.save(new, record, SaveMode::Create, now).await? {
            return Err(StoreError::Other(
                "the new session key is taken (about 2^-165 odds)".into(),
            ));
        }
        if !self.delete(old).await? {
            self.delete(new).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Deletes every session of the user `user_id` except `keep` ("log out
    /// everywhere", after a password reset or an account lock). Returns how
    /// many were deleted.
    async fn delete_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&SessionKey>,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError>;
}

#[async_trait]
impl<S: SessionStore + ?Sized> SessionStore for Arc<S> {
    async fn load(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<Record>>, StoreError> {
        (**self).load(key, now).await
    }
    async fn save(
        &self,
        key: &SessionKey,
        record: &Arc<Record>,
        mode: SaveMode,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        (**self).save(key, record, mode, now).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        (**self).delete(key).await
    }
    async fn cycle(
        &self,
        old: &SessionKey,
        new: &SessionKey,
        record: &Arc<Record>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        (**self).cycle(old, new, record, now).await
    }
    async fn delete_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&SessionKey>,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        (**self).delete_user_sessions(user_id, keep, now).await
    }
}

/// The embedded store: one process, concurrent, expiry honoured on read, and
/// expired records purged as it goes so memory does not grow without bound.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<MemoryInner>>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    /// Keys are random and come only from tokens this app signed: a fast
    /// (seeded) hash rather than SipHash.
    records: HashMap<SessionKey, Arc<Record>, foldhash::fast::RandomState>,
    /// Size after the last purge; a purge runs when the map has doubled.
    purged_at_len: usize,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records are held (expired ones not yet purged included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the store holds no record.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every record expired at `now`.
    pub fn purge(&self, now: OffsetDateTime) {
        let mut inner = self.lock();
        inner.records.retain(|_, r| !r.is_expired(now));
        inner.purged_at_len = inner.records.len();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        // A panic while holding the lock cannot leave a record half-written
        // (every update is one map operation), so a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MemoryInner {
    /// Whether `mode` allows writing `key` now.
    fn allowed(&self, key: &SessionKey, mode: SaveMode, now: OffsetDateTime) -> bool {
        let live = self.records.get(key).is_some_and(|r| !r.is_expired(now));
        match mode {
            SaveMode::Create => !live,
            SaveMode::Update => live,
        }
    }

    fn insert(&mut self, key: SessionKey, record: Arc<Record>, now: OffsetDateTime) {
        self.records.insert(key, record);
        if self.records.len() >= 2 * self.purged_at_len.max(512) {
            self.records.retain(|_, r| !r.is_expired(now));
            self.purged_at_len = self.records.len();
        }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<Record>>, StoreError> {
        let mut inner = self.lock();
        match inner.records.get(key) {
            Some(r) if r.is_expired(now) => {
                inner.records.remove(key);
                Ok(None)
            }
            // Shared, not copied: the session copies on its first write.
            r => Ok(r.cloned()),
        }
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &Arc<Record>,
        mode: SaveMode,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if !inner.allowed(key, mode, now) {
            return Ok(false);
        }
        inner.insert(key.clone(), record.clone(), now);
        Ok(true)
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        Ok(self.lock().records.remove(key).is_some())
    }

    /// Under one lock: the new record appears only if the old one is live,
    /// and the old one goes in the same step.
    async fn cycle(
        &self,
        old: &SessionKey,
        new: &SessionKey,
        record: &Arc<Record>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if !inner.allowed(old, SaveMode::Update, now) {
            return Ok(false);
        }
        if !inner.allowed(new, SaveMode::Create, now) {
            return Err(StoreError::Other(
                "the new session key is taken (about 2^-165 odds)".into(),
            ));
        }
        inner.records.remove(old);
        inner.insert(new.clone(), record.clone(), now);
        Ok(true)
    }

    async fn delete_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&SessionKey>,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let mut deleted = 0;
        inner.records.retain(|k, r| {
            let theirs = r.user_id() == Some(user_id) && Some(k) != keep;
            deleted += usize::from(theirs && !r.is_expired(now));
            !theirs && !r.is_expired(now)
        });
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn record(user: Option<&str>, expires: OffsetDateTime) -> Arc<Record> {
        let mut items = Map::new();
        if let Some(u) = user {
            items.insert(USER_ID.into(), u.into());
        }
        Arc::new(Record { items, expires })
    }

    #[tokio::test]
    async fn create_never_overwrites_and_update_never_resurrects() {
        let store = MemoryStore::new();
        let k = SessionKey::generate();
        let r = record(None, NOW + Duration::hours(1));
        assert!(
            !store.save(&k, &r, SaveMode::Update, NOW).await.unwrap(),
            "update of a missing key"
        );
        assert!(store.save(&k, &r, SaveMode::Create, NOW).await.unwrap());
        assert!(
            !store
                .save(&k, &record(Some("x"), r.expires), SaveMode::Create, NOW)
                .await
                .unwrap()
        );
        assert_eq!(store.load(&k, NOW).await.unwrap(), Some(r.clone()));
        store.delete(&k).await.unwrap();
        assert!(!store.save(&k, &r, SaveMode::Update, NOW).await.unwrap());
        assert_eq!(store.load(&k, NOW).await.unwrap(), None);
    }

    #[tokio::test]
    async fn expiry_is_honoured_on_read_and_purged() {
        let store = MemoryStore::new();
        let k = SessionKey::generate();
        store
            .save(
                &k,
                &record(None, NOW + Duration::seconds(10)),
                SaveMode::Create,
                NOW,
            )
            .await
            .unwrap();
        assert!(
            store
                .load(&k, NOW + Duration::seconds(9))
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .load(&k, NOW + Duration::seconds(10))
                .await
                .unwrap()
                .is_none()
        );
        for _ in 0..2000 {
            let k = SessionKey::generate();
            store
                .save(
                    &k,
                    &record(None, NOW + Duration::seconds(1)),
                    SaveMode::Create,
                    NOW,
                )
                .await
                .unwrap();
        }
        // Saving at a later time purges what has expired by then.
        let later = NOW + Duration::seconds(5);
        for _ in 0..1100 {
            let k = SessionKey::generate();
            store
                .save(
                    &k,
                    &record(None, later + Duration::hours(1)),
                    SaveMode::Create,
                    later,
                )
                .await
                .unwrap();
        }
        assert!(
            store.len() < 2000,
            "expired records were not purged: {}",
            store.len()
        );
    }

    #[tokio::test]
    async fn deletes_all_sessions_of_a_user_but_one() {
        let store = MemoryStore::new();
        let exp = NOW + Duration::hours(1);
        let keys: Vec<SessionKey> = (0..3).map(|_| SessionKey::generate()).collect();
        for k in &keys {
            store
                .save(k, &record(Some("1"), exp), SaveMode::Create, NOW)
                .await
                .unwrap();
        }
        let other = SessionKey::generate();
        store
            .save(&other, &record(Some("2"), exp), SaveMode::Create, NOW)
            .await
            .unwrap();
        // An expired record of another user is purged on the way, not counted.
        let stale = SessionKey::generate();
        let soon = record(Some("3"), NOW + Duration::seconds(1));
        store
            .save(&stale, &soon, SaveMode::Create, NOW)
            .await
            .unwrap();
        let later = NOW + Duration::seconds(2);
        assert_eq!(
            store
                .delete_user_sessions("1", Some(&keys[0]), later)
                .await
                .unwrap(),
            2
        );
        assert!(store.load(&keys[0], later).await.unwrap().is_some());
        assert!(store.load(&keys[1], later).await.unwrap().is_none());
        assert!(store.load(&other, later).await.unwrap().is_some());
        assert!(store.load(&stale, later).await.unwrap().is_none());
    }
}

//! [`RedisStore`]: the [`SessionStore`] on Redis, and its [`Builder`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{Record, SaveMode, SessionKey, SessionStore, StoreError};

use crate::error::Error;

/// The key prefix used unless [`Builder::with_key_prefix`] says otherwise.
pub const DEFAULT_KEY_PREFIX: &str = "session-jwt:";

/// Reads the user id of a record held as the core's JSON, or `false`.
/// Shared by the scripts below, which read records with `redis.pcall`: a
/// corrupt record, or something else at its key, is only "no user", never a
/// script error.
const USER_OF: &str = r"
local function user_of(v)
  if type(v) ~= 'string' then return false end
  local ok, rec = pcall(cjson.decode, v)
  if ok and type(rec) == 'table' and type(rec.items) == 'table'
     and type(rec.items._auth_user_id) == 'string' then
    return rec.items._auth_user_id
  end
  return false
end
";

/// Writes a record as `SET NX|XX PXAT` and, only if it was written, adds its
/// key to the user's set and extends the set's expiry to at least the
/// record's. One script, so the two never disagree.
///
/// When a key joins a set of more than `PRUNE_ABOVE` members, the members
/// whose records are gone (expired) are dropped, so that the set of a user
/// who logs in every day does not grow for ever.
///
/// KEYS: record, [user set]. ARGV: json, NX|XX, expires (Unix ms), session
/// key, record prefix.
const SAVE: &str = r"
if not redis.call('SET', KEYS[1], ARGV[1], ARGV[2], 'PXAT', ARGV[3]) then
  return 0
end
if #KEYS > 1 then
  if redis.call('SADD', KEYS[2], ARGV[4]) == 1
     and redis.call('SCARD', KEYS[2]) > PRUNE_ABOVE then
    for _, member in ipairs(redis.call('SMEMBERS', KEYS[2])) do
      if redis.call('EXISTS', ARGV[5] .. member) == 0 then
        redis.call('SREM', KEYS[2], member)
      end
    end
  end
  local exp = tonumber(ARGV[3])
  local pttl = redis.call('PTTL', KEYS[2])
  local extend = pttl < 0
  if not extend then
    local t = redis.call('TIME')
    extend = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + pttl < exp
  end
  if extend then redis.call('PEXPIREAT', KEYS[2], ARGV[3]) end
end
return 1
";

/// A user set is pruned of expired sessions when a new key takes it above
/// this size.
const PRUNE_ABOVE: usize = 16;

/// Cycle a session key in one step: KEYS[1] the old record, KEYS[2] the new,
/// KEYS[3] the new record's user's set (if any); ARGV[1] the record JSON,
/// ARGV[2] its expiry (Unix ms), ARGV[3] the old key, ARGV[4] the new key,
/// ARGV[5] the prefix of users' sets. Returns 0 when
/// the old record is gone (a logout won: nothing is written), -1 when the new
/// key is taken, 1 when moved.
const CYCLE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PXAT', ARGV[2]) then return -1 end
local old_user = user_of(redis.pcall('GET', KEYS[1]))
redis.call('DEL', KEYS[1])
if old_user then redis.call('SREM', ARGV[5] .. old_user, ARGV[3]) end
if #KEYS > 2 then
  redis.call('SADD', KEYS[3], ARGV[4])
  local pttl = redis.call('PTTL', KEYS[3])
  local t = redis.call('TIME')
  if pttl < 0 or tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + pttl < tonumber(ARGV[2]) then
    redis.call('PEXPIREAT', KEYS[3], ARGV[2])
  end
end
return 1
";

/// Deletes a record and removes its key from its user's set (the user is read
/// from the record itself). Returns 1 if a record was deleted.
///
/// KEYS: record. ARGV: user-set prefix, session key.
const DELETE: &str = r"
local user = user_of(redis.pcall('GET', KEYS[1]))
local n = redis.call('DEL', KEYS[1])
if user then redis.call('SREM', ARGV[1] .. user, ARGV[2]) end
return n
";

/// Deletes every record of the user's set that still belongs to the user,
/// except `keep`, and drops the members it has checked. Returns the number
/// of records deleted.
///
/// KEYS: user set. ARGV: record prefix, user id, keep ('' for none).
const DELETE_USER: &str = r"
local n = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if member ~= ARGV[3] then
    local key = ARGV[1] .. member
    if user_of(redis.pcall('GET', key)) == ARGV[2] then
      n = n + redis.call('DEL', key)
    end
    redis.call('SREM', KEYS[1], member)
  end
end
return n
";

/// A [`SessionStore`] on Redis, shared by every app instance (and every
/// framework) that uses the same server, database and key prefix.
///
/// Cheap to clone: clones share one multiplexed connection, which
/// reconnects by itself after an outage. See the [crate docs](crate) for the
/// key layout and the write semantics.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    user_prefix: String,
    save: Script,
    delete: Script,
    delete_user: Script,
    cycle: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the connection info: it may hold a password.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisStore`]: a URL, a key prefix and timeouts.
///
/// ```
/// use std::time::Duration;
/// let builder = session_jwt_redis::RedisStore::builder("redis://:secret@127.0.0.1:6379/2")
///     .with_key_prefix("myapp:session:")
///     .with_response_timeout(Duration::from_secs(1));
/// // `builder.build()` (inside a Tokio runtime) or `builder.connect().await`.
/// # drop(builder);
/// ```
#[derive(Clone)]
#[must_use]
pub struct Builder {
    url: String,
    key_prefix: String,
    connection_timeout: Duration,
    response_timeout: Duration,
    reconnect_retries: usize,
    #[cfg(feature = "tls-rustls")]
    tls_root_certificate: Option<Vec<u8>>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("url", &"[REDACTED]")
            .field("key_prefix", &self.key_prefix)
            .field("connection_timeout", &self.connection_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("reconnect_retries", &self.reconnect_retries)
            .finish()
    }
}

impl Builder {
    /// Default for [`with_connection_timeout`](Self::with_connection_timeout).
    pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);
    /// Default for [`with_response_timeout`](Self::with_response_timeout).
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
    /// Default for [`with_reconnect_retries`](Self::with_reconnect_retries).
    pub const DEFAULT_RECONNECT_RETRIES: usize = 1;

    fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            connection_timeout: Self::DEFAULT_CONNECTION_TIMEOUT,
            response_timeout: Self::DEFAULT_RESPONSE_TIMEOUT,
            reconnect_retries: Self::DEFAULT_RECONNECT_RETRIES,
            #[cfg(feature = "tls-rustls")]
            tls_root_certificate: None,
        }
    }

    /// The prefix of every key this store writes (default
    /// [`DEFAULT_KEY_PREFIX`]). Apps that share sessions use the same one.
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long one connection attempt (TCP, TLS, `AUTH`, `SELECT`) may take
    /// (default 1 s).
    pub fn with_connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long a command may wait for its answer (default 2 s). This bounds
    /// how long a request waits on a Redis that hangs.
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How many times a failed connection attempt is retried (with a short
    /// backoff, at most 1 s) before the waiting commands fail (default 1).
    /// The next command after a failure starts a new attempt, so the store
    /// always recovers; more retries only make requests wait longer during
    /// an outage.
    pub fn with_reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }

    /// Trusts only this root certificate (PEM) for a `rediss://` server,
    /// instead of the system's roots: for a private CA or a self-signed
    /// server certificate.
    #[cfg(feature = "tls-rustls")]
    pub fn with_tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root_certificate = Some(pem.into());
        self
    }

    /// The store, connecting lazily: the first command connects, so an app
    /// starts even while Redis is down (its requests answer 503 until Redis
    /// is back).
    ///
    /// Must be called inside a Tokio runtime.
    pub fn build(self) -> Result<RedisStore, Error> {
        if self.connection_timeout.is_zero() {
            return Err(Error::Invalid {
                setting: "connection_timeout",
                reason: "must be more than zero",
            });
        }
        if self.response_timeout.is_zero() {
            return Err(Error::Invalid {
                setting: "response_timeout",
                reason: "must be more than zero",
            });
        }
        if self.key_prefix.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(Error::Invalid {
                setting: "key_prefix",
                reason: "must not contain whitespace",
            });
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Invalid {
                setting: "runtime",
                reason: "a RedisStore must be built inside a Tokio runtime",
            });
        }
        let client = self.client().map_err(Error::Url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connection_timeout))
            .set_response_timeout(Some(self.response_timeout))
            .set_number_of_retries(self.reconnect_retries)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(Error::Url)?;
        Ok(RedisStore {
            conn,
            user_prefix: format!("{}user:", self.key_prefix),
            prefix: self.key_prefix,
            save: Script::new(&SAVE.replace("PRUNE_ABOVE", &PRUNE_ABOVE.to_string())),
            delete: Script::new(&format!("{USER_OF}{DELETE}")),
            delete_user: Script::new(&format!("{USER_OF}{DELETE_USER}")),
            cycle: Script::new(&format!("{USER_OF}{CYCLE}")),
        })
    }

    #[cfg(not(feature = "tls-rustls"))]
    fn client(&self) -> redis::RedisResult<redis::Client> {
        redis::Client::open(self.url.as_str())
    }

    #[cfg(feature = "tls-rustls")]
    fn client(&self) -> redis::RedisResult<redis::Client> {
        // rustls needs a process-wide crypto provider; install *ring* unless
        // the application has installed one already (then this is a no-op).
        let _ = rustls::crypto::ring::default_provider().install_default();
        match &self.tls_root_certificate {
            None => redis::Client::open(self.url.as_str()),
            Some(pem) => redis::Client::build_with_tls(
                self.url.as_str(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
        }
    }

    /// The store, after checking that Redis answers (`PING`) with these
    /// credentials and database: for apps that want to fail at start.
    pub async fn connect(self) -> Result<RedisStore, Error> {
        let store = self.build()?;
        let mut conn = store.conn.clone();
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(Error::Connect)?;
        Ok(store)
    }
}

fn unavailable(e: RedisError) -> StoreError {
    StoreError::unavailable(e)
}

/// `expires` as Unix milliseconds, for `PXAT`.
fn unix_ms(t: OffsetDateTime) -> Result<i64, StoreError> {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|e| StoreError::Other(Box::new(e)))
}

impl RedisStore {
    /// A store on the server at `url` with the default settings (see
    /// [`Builder`]), connecting lazily. Must be called inside a Tokio
    /// runtime.
    ///
    /// `url`: `redis://[[user]:password@]host[:port][/db]`, or `rediss://`
    /// with the `tls-rustls` feature.
    pub fn new(url: &str) -> Result<Self, Error> {
        Self::builder(url).build()
    }

    /// A builder for a store on the server at `url`.
    pub fn builder(url: impl Into<String>) -> Builder {
        Builder::new(url)
    }

    /// The prefix of every key this store writes.
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The Redis key of the per-user set of `user_id`'s session keys.
    #[must_use]
    pub fn user_set_key(&self, user_id: &str) -> String {
        format!("{}{user_id}", self.user_prefix)
    }

    /// Whether Redis answers: for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }

    fn record_key(&self, key: &SessionKey) -> String {
        format!("{}{}", self.prefix, key.expose())
    }

    /// Deletes the record of `key` and its entry in its user's set; whether
    /// there was a record.
    async fn delete_record(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let n: i64 = self
            .delete
            .key(self.record_key(key))
            .arg(&self.user_prefix)
            .arg(key.expose())
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(n > 0)
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn load(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<Record>>, StoreError> {
        let mut conn = self.conn.clone();
        let bytes: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.record_key(key))
            .query_async(&mut conn)
            .await
            .map_err(|e| {
                if e.code() == Some("WRONGTYPE") {
                    // Something else sits at the record's key.
                    StoreError::Corrupt(Box::new(e))
                } else {
                    unavailable(e)
                }
            })?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let record = Record::from_json(&bytes)?;
        // Redis expires the key itself; this only covers a clock difference
        // between this host and Redis.
        Ok((!record.is_expired(now)).then(|| Arc::new(record)))
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &Arc<Record>,
        mode: SaveMode,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        if record.is_expired(now) {
            // Never written: saving a record that has already ended is
            // ending the session. Create: allowed only if the key is free
            // (no write either way). Update: the old record goes, if any.
            return match mode {
                SaveMode::Create => {
                    let mut conn = self.conn.clone();
                    let exists: bool = redis::cmd("EXISTS")
                        .arg(self.record_key(key))
                        .query_async(&mut conn)
                        .await
                        .map_err(unavailable)?;
                    Ok(!exists)
                }
                SaveMode::Update => self.delete_record(key).await,
            };
        }
        let condition = match mode {
            SaveMode::Create => "NX",
            SaveMode::Update => "XX",
        };
        let mut invocation = self.save.prepare_invoke();
        invocation.key(self.record_key(key));
        if let Some(user) = record.user_id() {
            invocation.key(self.user_set_key(user));
        }
        invocation
            .arg(record.to_json())
            .arg(condition)
            .arg(unix_ms(record.expires)?)
            .arg(key.expose())
            .arg(&self.prefix);
        let mut conn = self.conn.clone();
        let written: i64 = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(written == 1)
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        self.delete_record(key).await
    }

    /// One script: the new record is written only if the old one exists,
    /// and the old one is deleted in the same step, so a logout that wins the
    /// race stays a logout.
    async fn cycle(
        &self,
        old: &SessionKey,
        new: &SessionKey,
        record: &Arc<Record>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        if record.is_expired(now) {
            // Never written (as in `save`): the session ends.
            self.delete_record(old).await?;
            return Ok(false);
        }
        let mut invocation = self.cycle.prepare_invoke();
        invocation
            .key(self.record_key(old))
            .key(self.record_key(new));
        if let Some(user) = record.user_id() {
            invocation.key(self.user_set_key(user));
        }
        invocation
            .arg(record.to_json())
            .arg(unix_ms(record.expires)?)
            .arg(old.expose())
            .arg(new.expose())
            .arg(&self.user_prefix);
        let mut conn = self.conn.clone();
        let moved: i64 = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        match moved {
            1 => Ok(true),
            0 => Ok(false),
            _ => Err(StoreError::Other(
                "the new session key is taken (about 2^-165 odds)".into(),
            )),
        }
    }

    async fn delete_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&SessionKey>,
        _now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let mut conn = self.conn.clone();
        let n: usize = self
            .delete_user
            .key(self.user_set_key(user_id))
            .arg(&self.prefix)
            .arg(user_id)
            .arg(keep.map_or("", SessionKey::expose))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(n)
    }
}

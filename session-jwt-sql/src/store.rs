//! [`SqlStore`]: the [`SessionStore`] on SQLite or PostgreSQL, and its
//! [`Builder`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::{Record, SaveMode, SessionKey, SessionStore, StoreError};
use sqlx::Row as _;
use tokio::sync::OnceCell;

use crate::django::DjangoSettings;
use crate::error::Error;
use crate::sql::{Layout, Sql, django_time, parse_django_time, valid_table_name};

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("session-jwt-sql needs the `sqlite` or the `postgres` feature (or both)");

/// How much longer than the database's own timeout an operation may take
/// before the store gives up on it (see `SqlStore::timed`).
const OUTER_GRACE: Duration = Duration::from_secs(1);

/// This library's table, unless [`Builder::with_table`] says otherwise.
pub const DEFAULT_TABLE: &str = "session_jwt_session";

/// Django's session table, the default in Django mode.
pub const DJANGO_TABLE: &str = "django_session";

/// The database behind a [`SqlStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (`sqlite://PATH`).
    Sqlite,
    /// PostgreSQL (`postgres://...`, `postgresql://...`).
    Postgres,
}

impl Backend {
    fn of_url(url: &str) -> Result<Self, Error> {
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        let backend = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Self::Sqlite,
            "postgres" | "postgresql" => Self::Postgres,
            _ => {
                return Err(Error::Url(
                    "not a database URL this store supports: use sqlite://PATH or \
                     postgres://USER:PASSWORD@HOST:PORT/DATABASE"
                        .into(),
                ));
            }
        };
        let built_in = match backend {
            Self::Sqlite => cfg!(feature = "sqlite"),
            Self::Postgres => cfg!(feature = "postgres"),
        };
        if built_in {
            Ok(backend)
        } else {
            let feature = match backend {
                Self::Sqlite => "sqlite",
                Self::Postgres => "postgres",
            };
            Err(Error::Url(format!(
                "{scheme}: this build of session-jwt-sql has no {feature} support (feature `{feature}`)"
            )))
        }
    }
}

/// The connection pool, of one backend.
#[derive(Clone)]
pub(crate) enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$p` bound to the pool of whichever backend it is: the
/// body is compiled once per backend.
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite($p) => $body,
            #[cfg(feature = "postgres")]
            Pool::Postgres($p) => $body,
        }
    };
}

/// A bind parameter.
#[derive(Debug)]
pub(crate) enum Arg<'a> {
    Str(&'a str),
    OptStr(Option<&'a str>),
    Text(String),
    Int(i64),
}

/// `sqlx::query($sql)` with `$args` bound in order.
macro_rules! query {
    ($sql:expr, $args:expr) => {{
        let mut q = sqlx::query($sql);
        for arg in $args {
            q = match arg {
                Arg::Str(s) => q.bind(s),
                Arg::OptStr(s) => q.bind(s),
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
            };
        }
        q
    }};
}

/// What a [`SessionStore::cycle`] transaction did.
enum Cycled {
    Moved,
    OldGone,
    NewTaken,
}

/// No answer within the store's timeout.
#[derive(Debug, thiserror::Error)]
#[error("no answer from the database within {0:?}")]
struct TimedOut(Duration);

/// The message of a database failure as a [`StoreError`]: the connection
/// (refused, lost, timed out, busy, locked) is [`StoreError::Unavailable`]
/// (503, and it recovers by itself); a row that does not decode is
/// [`StoreError::Corrupt`]; anything else (a missing table, a SQL error) is
/// [`StoreError::Other`].
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Corrupt(Box::new(e))
        }
        sqlx::Error::Database(db) if !transient(db.as_ref()) => StoreError::Other(Box::new(e)),
        sqlx::Error::Configuration(_)
        | sqlx::Error::RowNotFound
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::Encode(_) => StoreError::Other(Box::new(e)),
        _ => StoreError::Unavailable(Box::new(e)),
    }
}

/// Whether a database error is about the database's state rather than the
/// statement: it may succeed when retried later.
fn transient(db: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(feature = "sqlite")]
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // Primary result codes: BUSY, LOCKED, IOERR, FULL, CANTOPEN, PROTOCOL.
        let code: i32 = db.code().and_then(|c| c.parse().ok()).unwrap_or(0);
        return matches!(code & 0xff, 5 | 6 | 10 | 13 | 14 | 15);
    }
    // PostgreSQL's SQLSTATE classes: connection exception, insufficient
    // resources, operator intervention (shutdown, statement timeout),
    // transaction rollback (serialization, deadlock), system error.
    let code = db.code().unwrap_or_default();
    ["08", "53", "57", "40", "58"]
        .iter()
        .any(|class| code.starts_with(class))
}

/// A [`SessionStore`] on SQLite or PostgreSQL: this library's own table, or
/// (Django mode) Django's `django_session` table in Django's format.
///
/// Cheap to clone: clones share one connection pool. See the [crate
/// docs](crate) for the table, the write semantics and Django mode.
#[derive(Clone)]
pub struct SqlStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    backend: Backend,
    table: String,
    sql: Sql,
    timeout: Duration,
    create_table: bool,
    ready: OnceCell<()>,
    django: Option<DjangoSettings>,
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("SqlStore")
            .field("backend", &self.inner.backend)
            .field("table", &self.inner.table)
            .field("django", &self.inner.django.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds a [`SqlStore`]: a URL, a table, the pool's size and timeouts, and
/// optionally Django mode.
///
/// ```
/// use std::time::Duration;
/// let builder = session_jwt_sql::SqlStore::builder("postgres://app:secret@127.0.0.1/app")
///     .with_max_connections(20)
///     .with_timeout(Duration::from_secs(2))
///     .with_create_table(true);
/// // `builder.build()` (inside a Tokio runtime) or `builder.connect().await`.
/// # drop(builder);
/// ```
#[derive(Clone)]
#[must_use]
pub struct Builder {
    url: String,
    table: Option<String>,
    max_connections: u32,
    acquire_timeout: Duration,
    timeout: Duration,
    create_table: bool,
    django: Option<DjangoSettings>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("url", &"[REDACTED]")
            .field("table", &self.table)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("timeout", &self.timeout)
            .field("create_table", &self.create_table)
            .field("django", &self.django)
            .finish()
    }
}

impl Builder {
    /// Default for [`with_max_connections`](Self::with_max_connections).
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
    /// Default for [`with_acquire_timeout`](Self::with_acquire_timeout).
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
    /// Default for [`with_timeout`](Self::with_timeout).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            table: None,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
            timeout: Self::DEFAULT_TIMEOUT,
            create_table: false,
            django: None,
        }
    }

    /// The table: lower-case letters, digits and `_`, starting with a
    /// letter or `_`, at most 48 bytes. Default [`DEFAULT_TABLE`], or
    /// [`DJANGO_TABLE`] in Django mode (a custom session model's table there).
    pub fn with_table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    /// The most connections the pool opens (default 10). SQLite runs one
    /// writer at a time whatever the pool's size.
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// How long an operation waits for a connection, including connecting
    /// (default 2 s): while the database is down, requests fail after this
    /// long with [`StoreError::Unavailable`].
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// The longest any one operation may take, connection included (default
    /// 5 s); past it, [`StoreError::Unavailable`]. Also SQLite's busy timeout
    /// and PostgreSQL's `statement_timeout`, so a statement waiting on a lock
    /// gives up in the database too.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Creates the table and its indexes if they are absent ([`SqlStore::migrate`]):
    /// in [`connect`](Self::connect), or before the first operation of a
    /// store from [`build`](Self::build). Off by default: the app runs the
    /// migration ([`SqlStore::migration`]) itself. In Django mode this
    /// creates Django's own table (for tests; Django's `migrate` is the
    /// normal way, see `docs/django-mode.md`).
    pub fn with_create_table(mut self, create: bool) -> Self {
        self.create_table = create;
        self
    }

    /// Django mode: sessions in Django's `django_session` table, in
    /// Django's signed format, shared with a Django app using the same
    /// database and `SECRET_KEY` (see the [crate docs](crate#django-mode)).
    pub fn with_django(mut self, django: DjangoSettings) -> Self {
        self.django = Some(django);
        self
    }

    /// The store, connecting lazily: the first operation connects, and
    /// while the database is down operations fail with
    /// [`StoreError::Unavailable`] until it is back. Checks the URL and the
    /// settings.
    ///
    /// # Errors
    /// [`Error::Url`] for a URL that does not parse or that this build does
    /// not support, [`Error::Invalid`] for a bad setting, or when not called
    /// inside a Tokio runtime.
    pub fn build(self) -> Result<SqlStore, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Invalid {
                setting: "runtime",
                reason: "SqlStore must be built inside a Tokio runtime".into(),
            });
        }
        let backend = Backend::of_url(&self.url)?;
        let layout = if self.django.is_some() {
            Layout::Django
        } else {
            Layout::Own
        };
        let table = self.table.clone().unwrap_or_else(|| {
            match layout {
                Layout::Own => DEFAULT_TABLE,
                Layout::Django => DJANGO_TABLE,
            }
            .to_owned()
        });
        if !valid_table_name(&table) {
            return Err(Error::Invalid {
                setting: "table",
                reason: format!(
                    "{table:?} is not a plain table name (a-z, 0-9, _; at most 48 bytes)"
                ),
            });
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(invalid("timeout", "must be more than 0"));
        }
        if self.acquire_timeout.is_zero() {
            return Err(invalid("acquire_timeout", "must be more than 0"));
        }
        // The same options for either backend's pool type.
        macro_rules! options {
            () => {
                sqlx::pool::PoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.acquire_timeout)
                    .test_before_acquire(true)
            };
        }
        let pool = match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let mut connect: sqlx::sqlite::SqliteConnectOptions = self
                    .url
                    .parse()
                    .map_err(|e| Error::Url(format!("not a SQLite URL (sqlite://PATH): {e}")))?;
                connect = connect.busy_timeout(self.timeout);
                if layout == Layout::Own {
                    // This library's table runs in WAL mode (`migrate`),
                    // where NORMAL never corrupts the file and loses at most
                    // the last commits on power loss (not on a crash of the
                    // app): a session save then costs no fsync. Django's
                    // database keeps SQLite's defaults.
                    connect = connect.synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
                }
                if layout == Layout::Own || self.create_table {
                    // The embedded default: the file is made on first use.
                    // Django's database is Django's to create, unless this
                    // store is to create Django's table too.
                    connect = connect.create_if_missing(true);
                }
                Pool::Sqlite(options!().connect_lazy_with(connect))
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let connect: sqlx::postgres::PgConnectOptions = self.url.parse().map_err(|e| {
                    Error::Url(format!(
                        "not a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE): {e}"
                    ))
                })?;
                let statement_timeout = format!("{}ms", self.timeout.as_millis().max(1));
                let connect = connect
                    .application_name("session-jwt")
                    .options([("statement_timeout", statement_timeout.as_str())]);
                Pool::Postgres(options!().connect_lazy_with(connect))
            }
            #[allow(unreachable_patterns)]
            _ => unreachable!("Backend::of_url refuses backends that are not built in"),
        };
        Ok(SqlStore {
            inner: Arc::new(Inner {
                pool,
                backend,
                sql: Sql::new(backend, layout, &table),
                table,
                timeout: self.timeout,
                create_table: self.create_table,
                ready: OnceCell::new(),
                django: self.django,
            }),
        })
    }

    /// The store, connected: checks that the database answers, creates the
    /// table if [`with_create_table`](Self::with_create_table) is on, and
    /// otherwise checks that the table exists.
    ///
    /// # Errors
    /// As [`build`](Self::build), and [`Error::Connect`] when the database
    /// cannot be reached, [`Error::Migrate`] when the table cannot be
    /// created or is missing.
    pub async fn connect(self) -> Result<SqlStore, Error> {
        let store = self.build()?;
        store
            .timed_setup(store.ping_inner())
            .await
            .map_err(Error::Connect)?;
        if store.inner.create_table {
            store.migrate().await?;
        } else {
            let table = store.inner.table.clone();
            store
                .timed_setup(store.fetch(&store.inner.sql.probe, vec![], 0))
                .await
                .map_err(|source| Error::Migrate {
                    what: if store.inner.django.is_some() {
                        format!("no usable {table} table (run Django's `manage.py migrate`)")
                    } else {
                        format!(
                            "no usable {table} table (run the migration, SqlStore::migration, \
                             or build with with_create_table(true))"
                        )
                    },
                    source,
                })?;
        }
        Ok(store)
    }
}

fn invalid(setting: &'static str, reason: &str) -> Error {
    Error::Invalid {
        setting,
        reason: reason.to_owned(),
    }
}

impl SqlStore {
    /// A builder for a store at `url` (`sqlite://PATH`, `postgres://...`).
    pub fn builder(url: impl Into<String>) -> Builder {
        Builder::new(url)
    }

    /// A store at `url` with the default settings, connecting lazily
    /// ([`Builder::build`]); it creates its table on first use.
    ///
    /// # Errors
    /// As [`Builder::build`].
    pub fn new(url: &str) -> Result<Self, Error> {
        Self::builder(url).with_create_table(true).build()
    }

    /// A store at `url` with the default settings, connected, its table
    /// created if absent ([`Builder::connect`] with
    /// [`with_create_table`](Builder::with_create_table)).
    ///
    /// # Errors
    /// As [`Builder::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder(url).with_create_table(true).connect().await
    }

    /// The database behind this store.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The table this store uses.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.inner.table
    }

    /// Whether this store is in Django mode.
    #[must_use]
    pub fn is_django(&self) -> bool {
        self.inner.django.is_some()
    }

    /// The migration this store runs in [`migrate`](Self::migrate): the SQL
    /// statements, in order, each idempotent (`IF NOT EXISTS`). For an app
    /// that applies migrations with its own tool.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = session_jwt_sql::SqlStore::builder("sqlite://sessions.db").build()?;
    /// let sql = store.migration().join(";\n");
    /// assert!(sql.starts_with("CREATE TABLE IF NOT EXISTS session_jwt_session ("));
    /// # Ok::<(), session_jwt_sql::Error>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn migration(&self) -> Vec<String> {
        self.inner.sql.ddl.clone()
    }

    /// Creates the table and its indexes if they are absent (and, for
    /// SQLite in this library's table, turns on write-ahead logging, so
    /// readers never wait for a writer).
    ///
    /// # Errors
    /// [`Error::Migrate`] when a statement fails (the database is down, the
    /// user may not create tables).
    pub async fn migrate(&self) -> Result<(), Error> {
        self.timed_setup(self.migrate_inner())
            .await
            .map_err(|source| Error::Migrate {
                what: format!("cannot create the {} table", self.inner.table),
                source,
            })?;
        let _ = self.inner.ready.set(());
        Ok(())
    }

    async fn migrate_inner(&self) -> Result<(), sqlx::Error> {
        #[cfg(feature = "sqlite")]
        if self.inner.backend == Backend::Sqlite && self.inner.django.is_none() {
            self.exec("PRAGMA journal_mode = WAL", vec![]).await?;
        }
        for statement in &self.inner.sql.ddl {
            self.exec(statement, vec![]).await?;
        }
        Ok(())
    }

    /// Whether the database answers (`SELECT 1`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.timed(async { self.ping_inner().await.map_err(store_error) })
            .await
    }

    async fn ping_inner(&self) -> Result<(), sqlx::Error> {
        with_pool!(&self.inner.pool, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))
    }

    /// Deletes every session expired at `now` (Django's `clearsessions`);
    /// how many. Expired sessions are never read, whatever their age; this
    /// only reclaims space. Run it from a periodic task.
    ///
    /// # Errors
    /// A [`StoreError`] when the database fails.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.op(async {
            self.exec(&self.inner.sql.purge, vec![self.stamp(now)])
                .await
        })
        .await
    }

    /// Closes the pool: waits for connections in use to come back, and
    /// closes them all. Later operations fail.
    pub async fn close(&self) {
        with_pool!(&self.inner.pool, p => p.close().await);
    }

    // ------------------------------------------------------------ plumbing

    /// A time as a parameter of this store's table.
    fn stamp(&self, t: OffsetDateTime) -> Arg<'static> {
        match self.inner.django {
            None => Arg::Int(unix_ms(t)),
            Some(_) => Arg::Text(django_time(self.inner.backend, t)),
        }
    }

    /// Bounds `fut` by the store's timeout, plus a grace period: the
    /// database's own timeout (SQLite's busy timeout, PostgreSQL's
    /// `statement_timeout`, both the store's timeout) must end a waiting
    /// statement first. Dropping the future instead would leave the
    /// statement running on its connection, and a write the caller was told
    /// had failed could land later, over a newer one.
    async fn timed<T>(
        &self,
        fut: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.inner.timeout + OUTER_GRACE, fut)
            .await
            .unwrap_or_else(|_| Err(StoreError::unavailable(TimedOut(self.inner.timeout))))
    }

    /// [`timed`](Self::timed) for setup steps, which report `sqlx::Error`.
    async fn timed_setup<T>(
        &self,
        fut: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        tokio::time::timeout(self.inner.timeout + OUTER_GRACE, fut)
            .await
            .unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut))
    }

    /// One store operation: the table is made first if asked to, failures
    /// become [`StoreError`]s, and the whole is bounded by the timeout.
    pub(crate) async fn op<T>(
        &self,
        fut: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        self.timed(async {
            if self.inner.create_table {
                self.inner
                    .ready
                    .get_or_try_init(|| self.migrate_inner())
                    .await
                    .map_err(store_error)?;
            }
            fut.await.map_err(store_error)
        })
        .await
    }

    /// Runs a statement; the number of rows it changed.
    pub(crate) async fn exec(&self, sql: &str, args: Vec<Arg<'_>>) -> Result<u64, sqlx::Error> {
        with_pool!(&self.inner.pool, p => query!(sql, args)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
    }

    /// Runs a query; each row's first `columns` columns, as text.
    pub(crate) async fn fetch(
        &self,
        sql: &str,
        args: Vec<Arg<'_>>,
        columns: usize,
    ) -> Result<Vec<Vec<String>>, sqlx::Error> {
        with_pool!(&self.inner.pool, p => {
            let rows = query!(sql, args).fetch_all(p).await?;
            rows.iter()
                .map(|row| (0..columns).map(|i| row.try_get::<String, _>(i)).collect())
                .collect()
        })
    }

    /// The first row of a query, as [`fetch`](Self::fetch).
    pub(crate) async fn fetch_one(
        &self,
        sql: &str,
        args: Vec<Arg<'_>>,
        columns: usize,
    ) -> Result<Option<Vec<String>>, sqlx::Error> {
        with_pool!(&self.inner.pool, p => {
            match query!(sql, args).fetch_optional(p).await? {
                None => Ok(None),
                Some(row) => (0..columns)
                    .map(|i| row.try_get::<String, _>(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
            }
        })
    }

    /// `session_data` or `record` for `record`, as written at `now`.
    fn encode(&self, record: &Record, now: OffsetDateTime) -> String {
        match &self.inner.django {
            None => String::from_utf8(record.to_json()).expect("serde_json writes UTF-8"),
            Some(django) => django.encode(&record.items, now),
        }
    }

    /// The parameters of `create` and `update`.
    fn write_args<'a>(
        &self,
        key: &'a SessionKey,
        data: String,
        record: &'a Record,
        now: OffsetDateTime,
    ) -> Vec<Arg<'a>> {
        let mut args = vec![Arg::Str(key.expose()), Arg::Text(data)];
        if self.inner.django.is_none() {
            args.push(Arg::OptStr(record.user_id()));
        }
        args.push(self.stamp(record.expires));
        args.push(self.stamp(now));
        args
    }

    /// Deletes `key`'s record if it is live at `now`; whether it was.
    async fn delete_live(&self, key: &SessionKey, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.op(async {
            self.exec(
                &self.inner.sql.delete_live,
                vec![Arg::Str(key.expose()), self.stamp(now)],
            )
            .await
        })
        .await
        .map(|n| n > 0)
    }

    async fn cycle_tx(
        &self,
        old: &SessionKey,
        new: &SessionKey,
        data: String,
        record: &Record,
        now: OffsetDateTime,
    ) -> Result<Cycled, sqlx::Error> {
        let sql = &self.inner.sql;
        with_pool!(&self.inner.pool, p => {
            let mut tx = p.begin_with(sql.begin).await?;
            let gone = query!(&sql.delete_live, [Arg::Str(old.expose()), self.stamp(now)])
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if gone == 0 {
                tx.rollback().await?;
                return Ok(Cycled::OldGone);
            }
            let written = query!(&sql.create, self.write_args(new, data, record, now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if written == 0 {
                tx.rollback().await?;
                return Ok(Cycled::NewTaken);
            }
            tx.commit().await?;
            Ok(Cycled::Moved)
        })
    }
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn load(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<Record>>, StoreError> {
        let sql = &self.inner.sql;
        let columns = if self.is_django() { 2 } else { 1 };
        let row = self
            .op(self.fetch_one(
                &sql.load,
                vec![Arg::Str(key.expose()), self.stamp(now)],
                columns,
            ))
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let record = match &self.inner.django {
            None => Record::from_json(row[0].as_bytes())?,
            Some(django) => {
                let items = match django.decode(&row[0]) {
                    Ok(items) => items,
                    Err(e) => {
                        // Django's own answer to such data: an empty session.
                        tracing::warn!(
                            table = %self.inner.table,
                            error = %e,
                            "session_data cannot be read with this SECRET_KEY: the visitor is anonymous"
                        );
                        return Ok(None);
                    }
                };
                let expires = parse_django_time(&row[1]).ok_or_else(|| {
                    StoreError::Corrupt(format!("expire_date {:?} is not a time", row[1]).into())
                })?;
                Record { items, expires }
            }
        };
        Ok((!record.is_expired(now)).then(|| Arc::new(record)))
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &Arc<Record>,
        mode: SaveMode,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sql = &self.inner.sql;
        if record.is_expired(now) {
            // Never written: saving a record that has already ended is
            // ending the session. Create: allowed only if the key is free
            // (no write either way). Update: the old record goes, if any.
            return match mode {
                SaveMode::Create => self
                    .op(self.fetch_one(
                        &sql.exists,
                        vec![Arg::Str(key.expose()), self.stamp(now)],
                        0,
                    ))
                    .await
                    .map(|row| row.is_none()),
                SaveMode::Update => self.delete_live(key, now).await,
            };
        }
        let data = self.encode(record, now);
        let statement = match mode {
            SaveMode::Create => &sql.create,
            SaveMode::Update => &sql.update,
        };
        let written = self
            .op(self.exec(statement, self.write_args(key, data, record, now)))
            .await?;
        Ok(written == 1)
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        self.op(self.exec(&self.inner.sql.delete, vec![Arg::Str(key.expose())]))
            .await
            .map(|n| n > 0)
    }

    /// One transaction: the old record is deleted only if it is live, the
    /// new one written only if the old one was deleted, so a logout that
    /// wins the race stays a logout.
    async fn cycle(
        &self,
        old: &SessionKey,
        new: &SessionKey,
        record: &Arc<Record>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        if record.is_expired(now) {
            // Never written (as in `save`): the session ends.
            self.delete_live(old, now).await?;
            return Ok(false);
        }
        let data = self.encode(record, now);
        match self.op(self.cycle_tx(old, new, data, record, now)).await? {
            Cycled::Moved => Ok(true),
            Cycled::OldGone => Ok(false),
            Cycled::NewTaken => Err(StoreError::Other(
                "the new session key is taken (about 2^-165 odds)".into(),
            )),
        }
    }

    async fn delete_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&SessionKey>,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let sql = &self.inner.sql;
        let Some(django) = &self.inner.django else {
            let mut args = vec![Arg::Str(user_id), self.stamp(now)];
            let statement = match keep {
                Some(k) => {
                    args.push(Arg::Str(k.expose()));
                    &sql.delete_user_keep
                }
                None => &sql.delete_user,
            };
            let n = self.op(self.exec(statement, args)).await?;
            return Ok(usize::try_from(n).unwrap_or(usize::MAX));
        };
        // Django's table has no user column: read every live session's user
        // from its data, and delete those of the user that have not changed
        // since (a session that was re-saved meanwhile is left alone).
        let rows = self
            .op(self.fetch(&sql.scan, vec![self.stamp(now)], 2))
            .await?;
        let mut deleted = 0;
        for row in rows {
            let (key, data) = (&row[0], &row[1]);
            if keep.is_some_and(|k| k.expose() == key) {
                continue;
            }
            let theirs = django.decode(data).is_ok_and(|items| {
                items
                    .get(session_jwt_core::session::USER_ID)
                    .and_then(|v| v.as_str())
                    == Some(user_id)
            });
            if theirs {
                let n = self
                    .op(self.exec(
                        &sql.delete_if_unchanged,
                        vec![Arg::Str(key), Arg::Str(data)],
                    ))
                    .await?;
                deleted += usize::try_from(n).unwrap_or(0);
            }
        }
        Ok(deleted)
    }
}

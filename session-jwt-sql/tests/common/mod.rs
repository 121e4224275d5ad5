//! What the store tests share: a database of each kind (a SQLite file in a
//! temporary directory, a private PostgreSQL cluster), a store on it in
//! either layout, and raw SQL access for inspection.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::{Map, json};
use session_jwt_core::Record;
use session_jwt_core::session::USER_ID;
use session_jwt_core::time::OffsetDateTime;
use session_jwt_sql::testing::PostgresServer;
use session_jwt_sql::{Builder, DjangoSettings, SqlStore};
use sqlx::Row as _;

/// The Django `SECRET_KEY` of the Django-mode tests.
pub const DJANGO_SECRET: &str = "django-insecure-session-jwt-sql-tests-0123456789";

/// Now, in whole seconds (the record's JSON keeps seconds).
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

pub fn record(user: Option<&str>, expires: OffsetDateTime) -> Arc<Record> {
    let mut items = Map::new();
    if let Some(u) = user {
        items.insert(USER_ID.into(), u.into());
    }
    items.insert("test".into(), "This value should be present".into());
    items.insert("n".into(), json!({"a": [1, 2.5, null, true], "é": "ü 😀"}));
    Arc::new(Record { items, expires })
}

/// The database under a test, kept alive as long as the test holds it.
pub enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(PostgresServer),
}

impl Db {
    /// A fresh SQLite file.
    pub fn sqlite() -> Self {
        Self::Sqlite(
            tempfile::Builder::new()
                .prefix("session-jwt-sql-")
                .tempdir()
                .unwrap(),
        )
    }

    /// A private PostgreSQL cluster, or `None` (the test returns) when
    /// PostgreSQL is not installed and this is no CI run.
    pub fn postgres(test: &str) -> Option<Self> {
        PostgresServer::start_or_skip(test).map(Self::Postgres)
    }

    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("sqlite://{}", dir.path().join("db.sqlite3").display()),
            Self::Postgres(pg) => pg.url(),
        }
    }

    pub fn server(&mut self) -> &mut PostgresServer {
        match self {
            Self::Postgres(pg) => pg,
            Self::Sqlite(_) => panic!("not a PostgreSQL test"),
        }
    }

    /// A second connection, outside the store, for inspection and sabotage.
    pub async fn raw(&self) -> Raw {
        match self {
            Self::Sqlite(_) => {
                let options: sqlx::sqlite::SqliteConnectOptions = self.url().parse().unwrap();
                Raw::Sqlite(
                    sqlx::pool::PoolOptions::new()
                        .max_connections(2)
                        .connect_with(
                            options
                                .create_if_missing(true)
                                .busy_timeout(StdDuration::from_secs(10)),
                        )
                        .await
                        .unwrap(),
                )
            }
            Self::Postgres(_) => Raw::Postgres(
                sqlx::pool::PoolOptions::new()
                    .max_connections(2)
                    .connect(&self.url())
                    .await
                    .unwrap(),
            ),
        }
    }
}

/// Raw SQL on the test's database.
pub enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    pub async fn exec(&self, sql: &str) -> u64 {
        let done = match self {
            Self::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
            Self::Postgres(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The first column of each row, as text (`CAST(... AS TEXT)` it).
    pub async fn texts(&self, sql: &str) -> Vec<Option<String>> {
        match self {
            Self::Sqlite(p) => sqlx::query(sql)
                .fetch_all(p)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|r| r.try_get::<Option<String>, _>(0).unwrap())
                .collect(),
            Self::Postgres(p) => sqlx::query(sql)
                .fetch_all(p)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|r| r.try_get::<Option<String>, _>(0).unwrap())
                .collect(),
        }
    }

    /// The one value of a query, as text.
    pub async fn text(&self, sql: &str) -> Option<String> {
        let mut all = self.texts(sql).await;
        assert!(all.len() <= 1, "{sql}: {} rows", all.len());
        all.pop().flatten()
    }

    /// How many rows `table` has.
    pub async fn count(&self, table: &str) -> i64 {
        self.text(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}"))
            .await
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// Which table a store test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Own,
    Django,
}

/// A store test's world: the database, a store on it, raw access.
pub struct Harness {
    pub db: Db,
    pub layout: Layout,
    pub store: SqlStore,
    pub raw: Raw,
}

impl Harness {
    pub async fn new(db: Db, layout: Layout) -> Self {
        let store = Self::builder_for(&db, layout)
            .connect()
            .await
            .expect("connect");
        let raw = db.raw().await;
        Self {
            db,
            layout,
            store,
            raw,
        }
    }

    /// The builder of this world's store (short timeouts, table created).
    pub fn builder_for(db: &Db, layout: Layout) -> Builder {
        let builder = SqlStore::builder(db.url())
            .with_create_table(true)
            .with_acquire_timeout(StdDuration::from_millis(500))
            .with_timeout(StdDuration::from_secs(2));
        match layout {
            Layout::Own => builder,
            Layout::Django => builder.with_django(DjangoSettings::new(DJANGO_SECRET)),
        }
    }

    pub fn builder(&self) -> Builder {
        Self::builder_for(&self.db, self.layout)
    }

    pub fn table(&self) -> &'static str {
        match self.layout {
            Layout::Own => "session_jwt_session",
            Layout::Django => "django_session",
        }
    }

    /// Whether a row with this key is in the table (live or not).
    pub async fn has_row(&self, key: &str) -> bool {
        self.raw
            .text(&format!(
                "SELECT session_key FROM {} WHERE session_key = '{key}'",
                self.table()
            ))
            .await
            .is_some()
    }

    /// The stored data of `key`: `record` or `session_data`.
    pub async fn data(&self, key: &str) -> Option<String> {
        let column = match self.layout {
            Layout::Own => "record",
            Layout::Django => "session_data",
        };
        self.raw
            .text(&format!(
                "SELECT {column} FROM {} WHERE session_key = '{key}'",
                self.table()
            ))
            .await
    }

    /// Replaces the stored data of `key` by `data` (SQL text).
    pub async fn set_data(&self, key: &str, data_sql: &str) {
        let column = match self.layout {
            Layout::Own => "record",
            Layout::Django => "session_data",
        };
        let n = self
            .raw
            .exec(&format!(
                "UPDATE {} SET {column} = {data_sql} WHERE session_key = '{key}'",
                self.table()
            ))
            .await;
        assert_eq!(n, 1);
    }
}

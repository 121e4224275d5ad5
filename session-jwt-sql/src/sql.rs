//! The SQL text of each operation, for each backend and table layout. Built
//! once, when the store is built; every value is a bind parameter (`$n`,
//! which SQLite accepts as well), only the checked table name is spliced in.

use time::OffsetDateTime;

use crate::store::Backend;

/// The columns and time type of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// This library's table: `session_key`, `record` (the core's JSON),
    /// `user_id`, `expires` (Unix milliseconds).
    Own,
    /// Django's `django_session`: `session_key`, `session_data`,
    /// `expire_date` (a timestamp; text in SQLite).
    Django,
}

/// Every statement a store runs.
#[derive(Debug)]
pub(crate) struct Sql {
    /// How a transaction starts: SQLite takes the write lock at once, so two
    /// writers never deadlock upgrading a read lock.
    pub(crate) begin: &'static str,
    /// Own: `record`. Django: `session_data` and `expire_date` as text.
    pub(crate) load: String,
    pub(crate) exists: String,
    pub(crate) create: String,
    pub(crate) update: String,
    pub(crate) delete: String,
    pub(crate) delete_live: String,
    /// Own only: a user's live sessions; with `keep`: all but one.
    pub(crate) delete_user: String,
    pub(crate) delete_user_keep: String,
    /// Django only: the live sessions, to find a user's (no user column).
    pub(crate) scan: String,
    pub(crate) delete_if_unchanged: String,
    pub(crate) purge: String,
    /// `SELECT` that fails when the table is missing.
    pub(crate) probe: String,
    /// The migration: `CREATE TABLE IF NOT EXISTS` and its indexes.
    pub(crate) ddl: Vec<String>,
}

impl Sql {
    pub(crate) fn new(backend: Backend, layout: Layout, t: &str) -> Self {
        let begin = match backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        match layout {
            Layout::Own => Self {
                begin,
                load: format!("SELECT record FROM {t} WHERE session_key = $1 AND expires > $2"),
                exists: format!(
                    "SELECT session_key FROM {t} WHERE session_key = $1 AND expires > $2"
                ),
                // An expired row under the key is replaced: it is no session.
                create: format!(
                    "INSERT INTO {t} (session_key, record, user_id, expires) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (session_key) DO UPDATE SET record = excluded.record, \
                     user_id = excluded.user_id, expires = excluded.expires \
                     WHERE {t}.expires <= $5"
                ),
                update: format!(
                    "UPDATE {t} SET record = $2, user_id = $3, expires = $4 \
                     WHERE session_key = $1 AND expires > $5"
                ),
                delete: format!("DELETE FROM {t} WHERE session_key = $1"),
                delete_live: format!("DELETE FROM {t} WHERE session_key = $1 AND expires > $2"),
                delete_user: format!("DELETE FROM {t} WHERE user_id = $1 AND expires > $2"),
                delete_user_keep: format!(
                    "DELETE FROM {t} WHERE user_id = $1 AND expires > $2 AND session_key <> $3"
                ),
                scan: String::new(),
                delete_if_unchanged: String::new(),
                purge: format!("DELETE FROM {t} WHERE expires <= $1"),
                probe: format!("SELECT session_key FROM {t} WHERE 1 = 0"),
                ddl: own_ddl(t),
            },
            Layout::Django => {
                // A time parameter, and expire_date read back as text.
                let (p, expire_text) = match backend {
                    // Django keeps naive UTC text in SQLite, and compares
                    // it as text: so do we, in Django's format.
                    Backend::Sqlite => (
                        (|n: u8| format!("${n}")) as fn(u8) -> String,
                        "expire_date".to_owned(),
                    ),
                    Backend::Postgres => (
                        (|n: u8| format!("CAST(${n} AS TIMESTAMPTZ)")) as fn(u8) -> String,
                        "to_char(expire_date AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
                            .to_owned(),
                    ),
                };
                Self {
                    begin,
                    load: format!(
                        "SELECT session_data, {expire_text} FROM {t} \
                         WHERE session_key = $1 AND expire_date > {}",
                        p(2)
                    ),
                    exists: format!(
                        "SELECT session_key FROM {t} WHERE session_key = $1 AND expire_date > {}",
                        p(2)
                    ),
                    create: format!(
                        "INSERT INTO {t} (session_key, session_data, expire_date) VALUES ($1, $2, {}) \
                         ON CONFLICT (session_key) DO UPDATE SET session_data = excluded.session_data, \
                         expire_date = excluded.expire_date WHERE {t}.expire_date <= {}",
                        p(3),
                        p(4)
                    ),
                    update: format!(
                        "UPDATE {t} SET session_data = $2, expire_date = {} \
                         WHERE session_key = $1 AND expire_date > {}",
                        p(3),
                        p(4)
                    ),
                    delete: format!("DELETE FROM {t} WHERE session_key = $1"),
                    delete_live: format!(
                        "DELETE FROM {t} WHERE session_key = $1 AND expire_date > {}",
                        p(2)
                    ),
                    delete_user: String::new(),
                    delete_user_keep: String::new(),
                    scan: format!(
                        "SELECT session_key, session_data FROM {t} WHERE expire_date > {}",
                        p(1)
                    ),
                    delete_if_unchanged: format!(
                        "DELETE FROM {t} WHERE session_key = $1 AND session_data = $2"
                    ),
                    purge: format!("DELETE FROM {t} WHERE expire_date <= {}", p(1)),
                    probe: format!("SELECT session_key FROM {t} WHERE 1 = 0"),
                    ddl: django_ddl(backend, t),
                }
            }
        }
    }
}

/// The migration of this library's table (the same text for SQLite and
/// PostgreSQL).
fn own_ddl(t: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n    \
             session_key VARCHAR(128) NOT NULL PRIMARY KEY,\n    \
             record TEXT NOT NULL,\n    \
             user_id TEXT,\n    \
             expires BIGINT NOT NULL\n)"
        ),
        format!("CREATE INDEX IF NOT EXISTS {t}_user_id ON {t} (user_id)"),
        format!("CREATE INDEX IF NOT EXISTS {t}_expires ON {t} (expires)"),
    ]
}

/// Django's own `sessions.0001_initial` (`manage.py sqlmigrate sessions
/// 0001`), made idempotent.
fn django_ddl(backend: Backend, t: &str) -> Vec<String> {
    let time_type = match backend {
        Backend::Sqlite => "datetime",
        Backend::Postgres => "timestamp with time zone",
    };
    let index = if t == "django_session" {
        "django_session_expire_date_a5c62663".to_owned()
    } else {
        format!("{t}_expire_date")
    };
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS \"{t}\" (\"session_key\" varchar(40) NOT NULL PRIMARY KEY, \
             \"session_data\" text NOT NULL, \"expire_date\" {time_type} NOT NULL)"
        ),
        format!("CREATE INDEX IF NOT EXISTS \"{index}\" ON \"{t}\" (\"expire_date\")"),
    ]
}

/// Whether `name` can be spliced into SQL as a table name: an unquoted
/// identifier that is the same in SQLite and PostgreSQL (lower case, since
/// PostgreSQL folds case), at most 48 bytes so that index names derived from
/// it fit PostgreSQL's 63.
pub(crate) fn valid_table_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.len() <= 48
}

/// A time as a Django-mode parameter: Django's text in SQLite (naive UTC,
/// microseconds), ISO 8601 with the offset for PostgreSQL's cast.
pub(crate) fn django_time(backend: Backend, t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let text = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    );
    match backend {
        Backend::Sqlite => text,
        Backend::Postgres => text + "+00:00",
    }
}

/// `expire_date` as read back: `YYYY-MM-DD HH:MM:SS`, optionally with a
/// fraction and an offset (`Z`, `+HH:MM`); naive times are UTC (Django with
/// `USE_TZ = True`).
pub(crate) fn parse_django_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let (date_time, rest) = (text.get(..19)?, text.get(19..)?);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let alt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let base = time::PrimitiveDateTime::parse(date_time, &format)
        .or_else(|_| time::PrimitiveDateTime::parse(date_time, &alt))
        .ok()?;
    let (fraction, offset) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            (&r[..end], &r[end..])
        }
        None => ("", rest),
    };
    let mut nanos: u32 = 0;
    for (i, d) in fraction.bytes().take(9).enumerate() {
        nanos += u32::from(d - b'0') * 10u32.pow(8 - u32::try_from(i).ok()?);
    }
    let offset = match offset {
        "" | "Z" | "+00" | "+00:00" => time::UtcOffset::UTC,
        o => {
            let f = time::macros::format_description!("[offset_hour]:[offset_minute]");
            let short = time::macros::format_description!("[offset_hour]");
            time::UtcOffset::parse(o, &f)
                .or_else(|_| time::UtcOffset::parse(o, &short))
                .ok()?
        }
    };
    Some(base.replace_nanosecond(nanos).ok()?.assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn table_names() {
        for ok in ["session_jwt_session", "django_session", "_s", "a1"] {
            assert!(valid_table_name(ok), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "Sessions",
            "a-b",
            "a;drop table x",
            "s.t",
            "\"t\"",
            &"x".repeat(49),
        ] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }

    #[test]
    fn django_times() {
        let t = datetime!(2026-03-04 05:06:07.089 UTC);
        assert_eq!(
            django_time(Backend::Sqlite, t),
            "2026-03-04 05:06:07.089000"
        );
        assert_eq!(
            django_time(Backend::Postgres, t),
            "2026-03-04 05:06:07.089000+00:00"
        );
        let other = datetime!(2026-03-04 07:06:07 +02:00);
        assert_eq!(
            django_time(Backend::Sqlite, other),
            "2026-03-04 05:06:07.000000"
        );
        for (text, want) in [
            ("2026-03-04 05:06:07", datetime!(2026-03-04 05:06:07 UTC)),
            (
                "2026-03-04 05:06:07.089000",
                datetime!(2026-03-04 05:06:07.089 UTC),
            ),
            (
                "2026-03-04 05:06:07.5",
                datetime!(2026-03-04 05:06:07.5 UTC),
            ),
            (
                "2026-03-04T05:06:07.123456+00:00",
                datetime!(2026-03-04 05:06:07.123456 UTC),
            ),
            (
                "2026-03-04 07:06:07+02:00",
                datetime!(2026-03-04 05:06:07 UTC),
            ),
            ("2026-03-04 05:06:07Z", datetime!(2026-03-04 05:06:07 UTC)),
        ] {
            assert_eq!(parse_django_time(text), Some(want), "{text}");
        }
        for bad in [
            "",
            "2026-03-04",
            "yesterday",
            "2026-13-04 05:06:07",
            "2026-03-04 05:06:07 junk",
        ] {
            assert_eq!(parse_django_time(bad), None, "{bad}");
        }
    }
}

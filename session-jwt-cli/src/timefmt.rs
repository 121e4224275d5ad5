//! Dates and "in 7h 59m" / "3m ago" phrases, relative to a given `now`.

use session_jwt_core::time::OffsetDateTime;
use session_jwt_core::time::macros::format_description;

/// `2024-01-01 09:00:00 UTC`.
pub(crate) fn utc(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(session_jwt_core::time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// A length of time in its two largest units: `7h 59m`, `3m`, `2d 1h`, `45s`.
pub(crate) fn span(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let Some(i) = units.iter().position(|(len, _)| s >= *len) else {
        return "0s".into();
    };
    let (len, name) = units[i];
    let mut out = format!("{}{name}", s / len);
    if let Some((next, next_name)) = units.get(i + 1) {
        let rest = (s % len) / next;
        if rest > 0 {
            out.push_str(&format!(" {rest}{next_name}"));
        }
    }
    out
}

/// `in 7h 59m`, `3m ago`, or `now`.
pub(crate) fn relative(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let d = (t - now).whole_seconds();
    match d {
        0 => "now".into(),
        d if d > 0 => format!("in {}", span(d)),
        d => format!("{} ago", span(d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_use_two_units() {
        assert_eq!(span(7 * 3600 + 59 * 60 + 30), "7h 59m");
        assert_eq!(span(180), "3m");
        assert_eq!(span(-185), "3m 5s");
        assert_eq!(span(45), "45s");
        assert_eq!(span(0), "0s");
        assert_eq!(span(2 * 86_400 + 3_600 + 5), "2d 1h");
        assert_eq!(span(14 * 86_400), "14d");
    }

    #[test]
    fn relative_phrases() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let later = now + session_jwt_core::time::Duration::minutes(3);
        assert_eq!(relative(later, now), "in 3m");
        assert_eq!(relative(now, later), "3m ago");
        assert_eq!(relative(now, now), "now");
        assert_eq!(utc(now), "2023-11-14 22:13:20 UTC");
    }
}

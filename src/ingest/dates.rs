//! Date and time values of `event_dates[]` entries (§3.2).
//!
//! Invariants:
//! * a date is exactly `YYYY-MM-DD` and must exist in the calendar;
//! * a time is split on `:`; with 2 or 3 parts every part must be a decimal
//!   integer in range (else an error), any other part count means "no time" and is
//!   reported back as [`TimeValue::Ignored`] so the caller can warn about it;
//! * `null` and `""` mean "none" for times and for `end_date`.

use chrono::{NaiveDate, NaiveTime};

use super::json::{quote_excerpt, Json};
use super::lenient::expected;

/// Outcome of reading a time field that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeValue {
    Absent,
    At(NaiveTime),
    /// A string with neither 2 nor 3 `:`-separated parts: silently "no time".
    Ignored,
}

/// Required `date` field.
pub fn required_date(v: Option<&Json>) -> Result<NaiveDate, String> {
    match v {
        None => Err("missing required field".to_string()),
        Some(Json::Str(s)) => parse_date(s),
        Some(other) => Err(expected("a date string YYYY-MM-DD", other)),
    }
}

/// Optional `end_date` field: null, absent or `""` → `None`.
pub fn optional_date(v: Option<&Json>) -> Result<Option<NaiveDate>, String> {
    match v {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Str(s)) if s.is_empty() => Ok(None),
        Some(Json::Str(s)) => parse_date(s).map(Some),
        Some(other) => Err(expected("a date string YYYY-MM-DD or null", other)),
    }
}

/// Strict `YYYY-MM-DD`; distinguishes malformed text from impossible dates.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shaped {
        return Err(format!(
            "expected a date YYYY-MM-DD, got {}",
            quote_excerpt(s)
        ));
    }
    let num = |range: std::ops::Range<usize>| s[range].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let year = i32::try_from(year).unwrap_or(0);
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| format!("{s} is not a calendar date"))
}

/// `start_time` / `end_time`.
pub fn time_field(v: Option<&Json>) -> Result<TimeValue, String> {
    match v {
        None | Some(Json::Null) => Ok(TimeValue::Absent),
        Some(Json::Str(s)) => parse_time(s),
        Some(other) => Err(expected("a time string HH:MM[:SS] or null", other)),
    }
}

/// Parses a time string per §3.2 (empty string = no time).
pub fn parse_time(s: &str) -> Result<TimeValue, String> {
    if s.is_empty() {
        return Ok(TimeValue::Absent);
    }
    let parts: Vec<&str> = s.split(':').collect();
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (*h, *m, None),
        [h, m, sec] => (*h, *m, Some(*sec)),
        _ => return Ok(TimeValue::Ignored),
    };
    let hour = part(s, "hour", h, 23)?;
    let minute = part(s, "minute", m, 59)?;
    let second = match sec {
        Some(p) => part(s, "second", p, 59)?,
        None => 0,
    };
    NaiveTime::from_hms_opt(hour, minute, second)
        .map(TimeValue::At)
        .ok_or_else(|| format!("{} is not a valid time", quote_excerpt(s)))
}

/// One time component: ASCII digits only (no sign, no spaces), value ≤ `max`.
fn part(whole: &str, name: &str, text: &str, max: u32) -> Result<u32, String> {
    if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "{name} {} in time {} is not an integer",
            quote_excerpt(text),
            quote_excerpt(whole)
        ));
    }
    match text.parse::<u32>() {
        Ok(v) if v <= max => Ok(v),
        _ => Err(format!(
            "{name} {} out of range 0-{max}",
            text.trim_start_matches('0')
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32, s: u32) -> TimeValue {
        TimeValue::At(NaiveTime::from_hms_opt(h, m, s).unwrap())
    }

    #[test]
    fn valid_times() {
        assert_eq!(parse_time("14:00"), Ok(t(14, 0, 0)));
        assert_eq!(parse_time("19:30:00"), Ok(t(19, 30, 0)));
        assert_eq!(parse_time("00:00"), Ok(t(0, 0, 0)));
        assert_eq!(parse_time("23:59:59"), Ok(t(23, 59, 59)));
        // Each part is just an integer, so a single-digit minute is accepted.
        assert_eq!(parse_time("07:5"), Ok(t(7, 5, 0)));
        assert_eq!(parse_time("7:05"), Ok(t(7, 5, 0)));
        assert_eq!(parse_time(""), Ok(TimeValue::Absent));
    }

    #[test]
    fn wrong_part_count_is_ignored_not_an_error() {
        assert_eq!(parse_time("14"), Ok(TimeValue::Ignored));
        assert_eq!(parse_time("14:00:00:00"), Ok(TimeValue::Ignored));
        assert_eq!(parse_time("14.00"), Ok(TimeValue::Ignored));
        assert_eq!(parse_time("ab"), Ok(TimeValue::Ignored));
    }

    #[test]
    fn out_of_range_or_non_integer_parts_are_errors() {
        assert_eq!(
            parse_time("25:00"),
            Err("hour 25 out of range 0-23".to_string())
        );
        assert_eq!(
            parse_time("24:00"),
            Err("hour 24 out of range 0-23".to_string())
        );
        assert_eq!(
            parse_time("12:60"),
            Err("minute 60 out of range 0-59".to_string())
        );
        assert_eq!(
            parse_time("12:00:60"),
            Err("second 60 out of range 0-59".to_string())
        );
        assert!(parse_time("ab:cd").unwrap_err().contains("not an integer"));
        assert!(parse_time("14:").is_err());
        assert!(parse_time(":30").is_err());
        assert!(parse_time("-1:30").is_err());
        assert!(parse_time(" 9:30").is_err());
        assert!(parse_time("99999999999999999999:00")
            .unwrap_err()
            .contains("out of range"));
    }

    #[test]
    fn time_field_types() {
        assert_eq!(time_field(None), Ok(TimeValue::Absent));
        assert_eq!(time_field(Some(&Json::Null)), Ok(TimeValue::Absent));
        assert!(time_field(Some(&Json::Number(1400.into()))).is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("2026-02-15"),
            Ok(NaiveDate::from_ymd_opt(2026, 2, 15).unwrap())
        );
        assert_eq!(
            parse_date("2024-02-29"),
            Ok(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
        );
        assert_eq!(
            parse_date("2026-02-30"),
            Err("2026-02-30 is not a calendar date".to_string())
        );
        assert!(parse_date("2026-13-01")
            .unwrap_err()
            .contains("not a calendar date"));
        assert!(parse_date("2026-00-10").is_err());
        assert!(parse_date("2026-2-15")
            .unwrap_err()
            .contains("expected a date YYYY-MM-DD"));
        assert!(parse_date("15.02.2026").is_err());
        assert!(parse_date("2026-02-15T10:00").is_err());
        assert!(parse_date("").is_err());
        assert!(parse_date("２０２６-02-15").is_err());
    }

    #[test]
    fn date_fields() {
        assert!(required_date(None).is_err());
        assert!(required_date(Some(&Json::Null)).is_err());
        assert!(required_date(Some(&Json::Str("".into()))).is_err());
        assert_eq!(optional_date(Some(&Json::Str("".into()))), Ok(None));
        assert_eq!(optional_date(Some(&Json::Null)), Ok(None));
        assert!(optional_date(Some(&Json::Str("2026-02-30".into()))).is_err());
        assert!(optional_date(Some(&Json::Number(20260215.into()))).is_err());
    }
}

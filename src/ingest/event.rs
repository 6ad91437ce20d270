//! Turns one JSON event object into a [`SourceEvent`] (§3.1–§3.3).
//!
//! Invariants:
//! * every field is checked even after an earlier one failed, so the report lists
//!   all problems of the event at once; the returned event is only meaningful when
//!   no error was recorded;
//! * unknown keys are ignored at every level;
//! * `location_city` is the derived city: `_sanitizeResult.city` when it is a
//!   non-empty string, else `location.city`;
//! * an out-of-range or non-finite geo block is dropped whole (with a warning),
//!   never stored half.

use crate::model::{EventDate, SourceEvent};

use super::dates::{optional_date, required_date, time_field, TimeValue};
use super::json::Json;
use super::lenient::{
    expected, opt_bool, opt_int, opt_number, opt_number_raw, opt_string, opt_string_list,
    req_string,
};
use super::report::{EventScope, Sink};

/// Validates `events[index]`; problems go to `sink`.
pub fn read_event(index: usize, value: &Json, source_code: &str, sink: &mut Sink) -> SourceEvent {
    let id = match value.get("id") {
        Some(Json::Str(s)) => Some(s.to_string()),
        _ => None,
    };
    let mut scope = EventScope { index, id, sink };
    if !matches!(value, Json::Object(_)) {
        scope.error("", expected("an event object", value));
        return SourceEvent::default();
    }
    let mut ev = SourceEvent {
        source_code: source_code.to_string(),
        ..SourceEvent::default()
    };
    read_scalars(value, &mut ev, &mut scope);
    ev.dates = read_dates(value.get("event_dates"), &mut scope);
    read_location(value.get("location"), &mut ev, &mut scope);
    ev
}

/// Top-level event fields other than dates and location.
fn read_scalars(obj: &Json, ev: &mut SourceEvent, s: &mut EventScope) {
    ev.id = s.take("id", req_string(obj.get("id"))).unwrap_or_default();
    ev.title = s
        .take("title", req_string(obj.get("title")))
        .unwrap_or_default();
    ev.source_type = s
        .take("source_type", req_string(obj.get("source_type")))
        .unwrap_or_default();
    ev.short_description = opt_str(obj, "short_description", s);
    ev.description = opt_str(obj, "description", s);
    ev.registration_contact = opt_str(obj, "registration_contact", s);
    ev.highlights = str_list(obj, "highlights", s);
    ev.categories = str_list(obj, "categories", s);
    ev.is_family_event = flag(obj, "is_family_event", s);
    ev.is_child_focused = flag(obj, "is_child_focused", s);
    ev.admission_free = flag(obj, "admission_free", s);
    ev.registration_required = flag(obj, "registration_required", s);
    ev.confidence_score = s
        .take("confidence_score", opt_number(obj.get("confidence_score")))
        .flatten();
    let (key, v) = with_synonym(obj, "_batch_index", "batch_index");
    ev.batch_index = s.take(key, opt_int(v)).flatten();
    let (key, v) = with_synonym(obj, "_extracted_at", "extracted_at");
    ev.extracted_at = s.take(key, opt_string(v)).flatten();
}

/// The underscored key wins when present (even as null); the plain key is the
/// documented synonym. Returns the key actually read, for the problem path.
fn with_synonym<'j, 'a>(
    obj: &'j Json<'a>,
    primary: &'static str,
    synonym: &'static str,
) -> (&'static str, Option<&'j Json<'a>>) {
    match obj.get(primary) {
        Some(v) => (primary, Some(v)),
        None => (synonym, obj.get(synonym)),
    }
}

fn opt_str(obj: &Json, key: &str, s: &mut EventScope) -> Option<String> {
    s.take(key, opt_string(obj.get(key))).flatten()
}

fn flag(obj: &Json, key: &str, s: &mut EventScope) -> Option<bool> {
    s.take(key, opt_bool(obj.get(key))).flatten()
}

fn str_list(obj: &Json, key: &str, s: &mut EventScope) -> Option<Vec<String>> {
    match opt_string_list(obj.get(key)) {
        Ok(v) => v,
        Err((None, reason)) => {
            s.error(key, reason);
            None
        }
        Err((Some(i), reason)) => {
            s.error(format_args!("{key}.{i}"), reason);
            None
        }
    }
}

/// `event_dates`: absent → no dates (warned); otherwise an array of objects.
fn read_dates(v: Option<&Json>, s: &mut EventScope) -> Vec<EventDate> {
    let items = match v {
        None => &[][..],
        Some(Json::Array(items)) => items.as_slice(),
        Some(other) => {
            s.error("event_dates", expected("an array of date objects", other));
            return Vec::new();
        }
    };
    if items.is_empty() {
        s.warn("event_dates", "no event_dates: never compared");
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| read_date(i, item, s))
        .collect()
}

fn read_date(i: usize, item: &Json, s: &mut EventScope) -> Option<EventDate> {
    if !matches!(item, Json::Object(_)) {
        s.error(
            format_args!("event_dates.{i}"),
            expected("a date object", item),
        );
        return None;
    }
    let date = s.take(
        format_args!("event_dates.{i}.date"),
        required_date(item.get("date")),
    );
    let end_date = s.take(
        format_args!("event_dates.{i}.end_date"),
        optional_date(item.get("end_date")),
    );
    let start_time = read_time(i, "start_time", item, s);
    let end_time = read_time(i, "end_time", item, s);
    Some(EventDate {
        date: date?,
        start_time: start_time?,
        end_time: end_time?,
        end_date: end_date?,
    })
}

/// `Some(None)` = no time; `None` = error recorded.
fn read_time(
    i: usize,
    key: &str,
    item: &Json,
    s: &mut EventScope,
) -> Option<Option<chrono::NaiveTime>> {
    let path = format_args!("event_dates.{i}.{key}");
    match s.take(path, time_field(item.get(key)))? {
        TimeValue::Absent => Some(None),
        TimeValue::At(t) => Some(Some(t)),
        TimeValue::Ignored => {
            let shown = item.get(key).map_or_else(String::new, Json::describe);
            s.warn(
                format_args!("event_dates.{i}.{key}"),
                format!("{shown} is neither HH:MM nor HH:MM:SS; treated as no time"),
            );
            Some(None)
        }
    }
}

/// `location` object: flattened strings, derived city and geo.
fn read_location(v: Option<&Json>, ev: &mut SourceEvent, s: &mut EventScope) {
    let loc = match v {
        None | Some(Json::Null) => return,
        Some(loc @ Json::Object(_)) => loc,
        Some(other) => {
            s.error("location", expected("a location object or null", other));
            return;
        }
    };
    let field = |key: &str, s: &mut EventScope| {
        s.take(format_args!("location.{key}"), opt_string(loc.get(key)))
            .flatten()
    };
    ev.location_name = field("name", s);
    let printed_city = field("city", s);
    ev.location_district = field("district", s);
    ev.location_street = field("street", s);
    ev.location_street_no = field("street_no", s);
    ev.location_zipcode = field("zipcode", s);
    let sanitized_city = read_sanitized_city(loc.get("_sanitizeResult"), s);
    ev.location_city = match sanitized_city {
        Some(city) if !city.is_empty() => Some(city),
        _ => printed_city,
    };
    read_geo(loc.get("geo"), ev, s);
}

/// Only `_sanitizeResult.city` is used; its other keys are not validated.
fn read_sanitized_city(v: Option<&Json>, s: &mut EventScope) -> Option<String> {
    match v {
        None | Some(Json::Null) => None,
        Some(obj @ Json::Object(_)) => s
            .take("location._sanitizeResult.city", opt_string(obj.get("city")))
            .flatten(),
        Some(other) => {
            s.error(
                "location._sanitizeResult",
                expected("an object or null", other),
            );
            None
        }
    }
}

/// Geo coordinates; type errors are fatal, implausible values drop the block.
fn read_geo(v: Option<&Json>, ev: &mut SourceEvent, s: &mut EventScope) {
    let geo = match v {
        None | Some(Json::Null) => return,
        Some(geo @ Json::Object(_)) => geo,
        Some(other) => {
            s.error("location.geo", expected("a geo object or null", other));
            return;
        }
    };
    let num = |key: &str, s: &mut EventScope| {
        s.take(
            format_args!("location.geo.{key}"),
            opt_number_raw(geo.get(key)),
        )
        .flatten()
    };
    let lat = num("latitude", s);
    let lon = num("longitude", s);
    let conf = num("confidence", s);
    let country = s
        .take("location.geo.country", opt_string(geo.get("country")))
        .flatten();
    if let Some(reason) = implausible_geo(lat, lon, conf) {
        s.warn("location.geo", format!("geo block dropped: {reason}"));
        return;
    }
    ev.geo_latitude = lat;
    ev.geo_longitude = lon;
    ev.geo_confidence = conf;
    ev.geo_country = country;
}

/// Why a geo block cannot be stored, if it cannot.
fn implausible_geo(lat: Option<f64>, lon: Option<f64>, conf: Option<f64>) -> Option<String> {
    let checks = [
        ("latitude", lat, 90.0, -90.0),
        ("longitude", lon, 180.0, -180.0),
        ("confidence", conf, 1.0, 0.0),
    ];
    checks
        .iter()
        .find_map(|&(name, value, max, min)| match value {
            Some(x) if !x.is_finite() => Some(format!("{name} {x} is not finite")),
            Some(x) if !(min..=max).contains(&x) => {
                Some(format!("{name} {x} outside [{min}, {max}]"))
            }
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (SourceEvent, Sink) {
        let doc = Json::parse(text).unwrap();
        let mut sink = Sink::default();
        let ev = read_event(2, &doc, "wzo", &mut sink);
        (ev, sink)
    }

    const MINIMAL: &str =
        r#"{"id":"e1","title":"T","source_type":"artikel","event_dates":[{"date":"2026-02-15"}]"#;

    fn with(extra: &str) -> String {
        format!("{MINIMAL}{extra}}}")
    }

    #[test]
    fn minimal_event() {
        let (ev, sink) = read(&with(""));
        assert!(
            sink.errors.is_empty() && sink.warnings.is_empty(),
            "{sink:?}"
        );
        assert_eq!(ev.id, "e1");
        assert_eq!(ev.source_code, "wzo");
        assert_eq!(ev.dates.len(), 1);
        assert_eq!(ev.dates[0].start_time, None);
        assert_eq!(ev.location_city, None);
    }

    #[test]
    fn collects_every_problem_with_index_and_id() {
        let (_, sink) = read(
            r#"{"id":"e1","title":null,"source_type":5,"categories":["a",1],"admission_free":"maybe"}"#,
        );
        let fields: Vec<&str> = sink.errors.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "events.2.title",
                "events.2.source_type",
                "events.2.categories.1",
                "events.2.admission_free"
            ]
        );
        assert!(sink
            .errors
            .iter()
            .all(|p| p.event_index == Some(2) && p.event_id.as_deref() == Some("e1")));
    }

    #[test]
    fn unreadable_id_has_no_event_id() {
        let (_, sink) = read(r#"{"id":17,"title":"t","source_type":"x"}"#);
        assert_eq!(sink.errors.len(), 1);
        assert_eq!(sink.errors[0].field, "events.2.id");
        assert_eq!(sink.errors[0].event_id, None);
        assert_eq!(sink.errors[0].problem, "expected a string, got number 17");
    }

    #[test]
    fn non_object_event() {
        let (_, sink) = read("[1]");
        assert_eq!(sink.errors[0].field, "events.2");
    }

    #[test]
    fn missing_dates_warn_but_null_dates_fail() {
        let (_, sink) = read(r#"{"id":"e","title":"","source_type":"x"}"#);
        assert!(sink.errors.is_empty());
        assert_eq!(sink.warnings[0].problem, "no event_dates: never compared");
        let (_, sink) = read(r#"{"id":"e","title":"","source_type":"x","event_dates":[]}"#);
        assert_eq!(sink.warnings.len(), 1);
        let (_, sink) = read(r#"{"id":"e","title":"","source_type":"x","event_dates":null}"#);
        assert_eq!(sink.errors[0].field, "events.2.event_dates");
    }

    #[test]
    fn date_and_time_errors_have_paths() {
        let (_, sink) = read(
            r#"{"id":"e","title":"","source_type":"x","event_dates":[{"date":"2026-02-15"},{"date":"2026-02-30","start_time":"25:00","end_time":"ab:cd","end_date":"x"},7]}"#,
        );
        let got: Vec<(&str, &str)> = sink
            .errors
            .iter()
            .map(|p| (p.field.as_str(), p.problem.as_str()))
            .collect();
        assert_eq!(
            got[0],
            (
                "events.2.event_dates.1.date",
                "2026-02-30 is not a calendar date"
            )
        );
        assert_eq!(got[1].0, "events.2.event_dates.1.end_date");
        assert_eq!(
            got[2],
            (
                "events.2.event_dates.1.start_time",
                "hour 25 out of range 0-23"
            )
        );
        assert_eq!(got[3].0, "events.2.event_dates.1.end_time");
        assert_eq!(got[4].0, "events.2.event_dates.2");
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn odd_time_shapes_warn_and_mean_no_time() {
        let (ev, sink) = read(
            r#"{"id":"e","title":"","source_type":"x","event_dates":[{"date":"2026-02-15","start_time":"14","end_time":"14:00:00:00"}]}"#,
        );
        assert!(sink.errors.is_empty());
        assert_eq!(ev.dates[0].start_time, None);
        assert_eq!(ev.dates[0].end_time, None);
        assert_eq!(sink.warnings.len(), 2);
        assert_eq!(sink.warnings[0].field, "events.2.event_dates.0.start_time");
    }

    #[test]
    fn derived_city() {
        let (ev, _) = read(&with(
            r#","location":{"city":"Bleibach","_sanitizeResult":{"city":"Gutach im Breisgau","district":7}}"#,
        ));
        assert_eq!(ev.location_city.as_deref(), Some("Gutach im Breisgau"));
        let (ev, _) = read(&with(
            r#","location":{"city":"Bleibach","_sanitizeResult":{"city":""}}"#,
        ));
        assert_eq!(ev.location_city.as_deref(), Some("Bleibach"));
        let (ev, _) = read(&with(
            r#","location":{"city":"Bleibach","_sanitizeResult":null}"#,
        ));
        assert_eq!(ev.location_city.as_deref(), Some("Bleibach"));
        let (ev, _) = read(&with(
            r#","location":{"city":null,"_sanitizeResult":{"city":null}}"#,
        ));
        assert_eq!(ev.location_city, None);
        let (_, sink) = read(&with(r#","location":{"_sanitizeResult":{"city":3}}"#));
        assert_eq!(
            sink.errors[0].field,
            "events.2.location._sanitizeResult.city"
        );
    }

    #[test]
    fn location_strings_are_not_coerced() {
        let (_, sink) = read(&with(r#","location":{"zipcode":79341,"street_no":12}"#));
        let fields: Vec<&str> = sink.errors.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["events.2.location.street_no", "events.2.location.zipcode"]
        );
        let (_, sink) = read(&with(r#","location":"Waldkirch""#));
        assert_eq!(sink.errors[0].field, "events.2.location");
    }

    #[test]
    fn geo_lenient_and_dropped_when_implausible() {
        let (ev, sink) = read(&with(
            r#","location":{"geo":{"latitude":"48.1","longitude":7.9,"confidence":null,"country":"DEU"}}"#,
        ));
        assert!(sink.errors.is_empty());
        assert_eq!(
            (ev.geo_latitude, ev.geo_longitude, ev.geo_confidence),
            (Some(48.1), Some(7.9), None)
        );
        assert_eq!(ev.geo_country.as_deref(), Some("DEU"));
        for bad in [
            r#""latitude":91"#,
            r#""longitude":-180.5"#,
            r#""confidence":1.2"#,
            r#""latitude":"NaN""#,
            r#""longitude":"-inf""#,
        ] {
            let (ev, sink) = read(&with(&format!(
                r#","location":{{"geo":{{"latitude":48,"longitude":7,"country":"DEU",{bad}}}}}"#
            )));
            assert!(sink.errors.is_empty(), "{bad}: {sink:?}");
            assert_eq!(sink.warnings.len(), 1, "{bad}");
            assert_eq!(sink.warnings[0].field, "events.2.location.geo");
            assert_eq!(
                (
                    ev.geo_latitude,
                    ev.geo_longitude,
                    ev.geo_confidence,
                    ev.geo_country
                ),
                (None, None, None, None)
            );
        }
        let (_, sink) = read(&with(r#","location":{"geo":{"latitude":"north"}}"#));
        assert_eq!(sink.errors[0].field, "events.2.location.geo.latitude");
    }

    #[test]
    fn synonyms_and_lenient_scalars() {
        let (ev, sink) = read(&with(
            r#","batch_index":"3","extracted_at":"x","confidence_score":"0.5","is_family_event":"yes""#,
        ));
        assert!(sink.errors.is_empty(), "{sink:?}");
        assert_eq!(ev.batch_index, Some(3));
        assert_eq!(ev.extracted_at.as_deref(), Some("x"));
        assert_eq!(ev.confidence_score, Some(0.5));
        assert_eq!(ev.is_family_event, Some(true));
        let (ev, _) = read(&with(r#","_batch_index":2.0,"batch_index":9"#));
        assert_eq!(ev.batch_index, Some(2));
        let (_, sink) = read(&with(r#","batch_index":1.5"#));
        assert_eq!(sink.errors[0].field, "events.2.batch_index");
        let (_, sink) = read(&with(r#","confidence_score":"NaN""#));
        assert_eq!(sink.errors[0].field, "events.2.confidence_score");
    }
}

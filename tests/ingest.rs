//! Integration tests for `event_dedup::ingest` against input-format.md.
//!
//! Covers the complete example of §8 (fixture), each invalid variant listed there,
//! encoding and top-level failures, the real development data set, and a property
//! test that no input can make the parser panic.

use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime};
use event_dedup::ingest::*;
use proptest::prelude::*;
use serde_json::json;

const FIXTURE_NAME: &str = "wzo_14.02.2026_2026-02-14T07-12-05-331Z.json";
const FIXTURE: &str = include_str!("fixtures/ingest/wzo_14.02.2026_2026-02-14T07-12-05-331Z.json");
const DEV_EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dev/events");

#[allow(clippy::result_large_err)] // the contract returns the rejection by value
fn parse(text: &str) -> Result<ParsedFile, FileRejection> {
    parse_event_file(FIXTURE_NAME, text.as_bytes())
}

/// The fixture with one exact snippet replaced (the snippet must exist once).
fn variant(from: &str, to: &str) -> String {
    assert_eq!(
        FIXTURE.matches(from).count(),
        1,
        "snippet {from:?} not unique"
    );
    FIXTURE.replace(from, to)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn time(s: &str) -> Option<NaiveTime> {
    Some(NaiveTime::parse_from_str(s, "%H:%M:%S").unwrap())
}

/// Renders dates like the spec's table: `date, start, end, end_date`.
fn dates_row(ev: &event_dedup::model::SourceEvent) -> String {
    let show_t =
        |t: Option<NaiveTime>| t.map_or("null".to_string(), |t| t.format("%H:%M:%S").to_string());
    let show_d = |d: Option<NaiveDate>| d.map_or("null".to_string(), |d| d.to_string());
    ev.dates
        .iter()
        .map(|d| {
            format!(
                "{}, {}, {}, {}",
                d.date,
                show_t(d.start_time),
                show_t(d.end_time),
                show_d(d.end_date)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn spec_example_stores_the_documented_values() {
    let f = parse(FIXTURE).unwrap();
    assert_eq!(f.file_name, FIXTURE_NAME);
    assert_eq!(f.source_code, "wzo");
    assert_eq!(f.file_hash, file_hash(FIXTURE.as_bytes()));
    assert_eq!(f.file_hash.len(), 64);
    assert_eq!(f.events.len(), 5);
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);

    type Row<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        (f64, f64, f64),
        &'a str,
    );
    let table: [Row; 5] = [
        (
            "pdf-3fa91c02-1-0",
            Some("Waldkirch"),
            None,
            (48.0935, 7.9608, 0.96),
            "2026-02-15, 14:00:00, 17:30:00, null",
        ),
        (
            "pdf-3fa91c02-1-1",
            Some("Gutach im Breisgau"),
            Some("Bleibach"),
            (48.1139, 8.0168, 0.91),
            "2026-02-17, 19:30:00, null, null",
        ),
        (
            "pdf-3fa91c02-2-0",
            Some("Emmendingen"),
            None,
            (48.1213, 7.8494, 0.87),
            "2026-02-20, 08:00:00, 12:00:00, null; 2026-02-21, 08:00:00, 12:00:00, null",
        ),
        (
            "pdf-3fa91c02-2-1",
            None,
            None,
            (46.948, 7.4474, 0.62),
            "2026-02-19, 17:00:00, 18:30:00, null",
        ),
        (
            "pdf-3fa91c02-3-0",
            Some("Kenzingen"),
            None,
            (48.1934, 7.7712, 0.99),
            "2026-02-28, 11:00:00, 18:00:00, 2026-03-01",
        ),
    ];
    for (ev, (id, city, district, (lat, lon, conf), dates)) in f.events.iter().zip(table) {
        assert_eq!(ev.id, id);
        assert_eq!(ev.source_code, "wzo");
        assert_eq!(ev.location_city.as_deref(), city, "{id}");
        assert_eq!(ev.location_district.as_deref(), district, "{id}");
        assert_eq!(
            (ev.geo_latitude, ev.geo_longitude, ev.geo_confidence),
            (Some(lat), Some(lon), Some(conf)),
            "{id}"
        );
        assert_eq!(dates_row(ev), dates, "{id}");
    }

    let first = &f.events[0];
    assert_eq!(first.title, "Narrenzunft Bergteufel - Großer Fasnetsumzug");
    assert_eq!(first.source_type, "artikel");
    assert_eq!(
        first.highlights,
        Some(vec![
            "Über 60 Zünfte".to_string(),
            "Guggemusik am Marktplatz".to_string()
        ])
    );
    assert_eq!(
        first.categories,
        Some(vec!["fasnacht".to_string(), "fest".to_string()])
    );
    assert_eq!(first.location_zipcode.as_deref(), Some("79183"));
    assert_eq!(first.location_street.as_deref(), Some("Lange Straße"));
    assert_eq!(first.geo_country.as_deref(), Some("DEU"));
    assert_eq!(
        (
            first.is_family_event,
            first.is_child_focused,
            first.admission_free,
            first.registration_required
        ),
        (Some(true), Some(false), Some(true), Some(false))
    );
    assert_eq!(first.confidence_score, Some(0.93));
    assert_eq!(first.batch_index, Some(1));
    assert_eq!(
        first.extracted_at.as_deref(),
        Some("2026-02-14T07:11:58.204Z")
    );
    assert_eq!(first.dates[0].date, date("2026-02-15"));
    assert_eq!(first.dates[0].start_time, time("14:00:00"));

    let second = &f.events[1];
    assert_eq!(second.location_street_no.as_deref(), Some("12"));
    assert_eq!(
        second.registration_contact.as_deref(),
        Some("Tel. 07685 1234")
    );
    assert_eq!(second.is_child_focused, None);
    assert_eq!(second.description, None);
    assert_eq!(f.events[3].geo_country.as_deref(), Some("CHE"));
    assert_eq!(f.events[4].short_description, None);

    let expected_meta = json!({
        "processedAt": "2026-02-14T07:12:05.331Z",
        "sourceKey": "wzo_14.02.2026.pdf",
        "totalExtracted": 6,
        "totalRejected": 1,
        "pageCount": 24
    });
    assert_eq!(f.metadata, expected_meta);
    assert_eq!(
        serde_json::to_string(&f.metadata).unwrap(),
        serde_json::to_string(&expected_meta).unwrap(),
        "metadata key order is kept"
    );
}

#[test]
fn spec_invalid_variants_reject_the_whole_file() {
    let cases = [
        (
            r#""zipcode": "79341""#,
            r#""zipcode": 79341"#,
            "events.4.location.zipcode",
            Some("pdf-3fa91c02-3-0"),
        ),
        (
            r#""date": "2026-02-28""#,
            r#""date": "2026-02-30""#,
            "events.4.event_dates.0.date",
            Some("pdf-3fa91c02-3-0"),
        ),
        (
            r#""date": "2026-02-15", "start_time": "14:00""#,
            r#""date": "2026-02-15", "start_time": "25:00""#,
            "events.0.event_dates.0.start_time",
            Some("pdf-3fa91c02-1-0"),
        ),
        (
            r#""title": "Vortrag: Streuobstwiesen im Elztal""#,
            r#""title": null"#,
            "events.1.title",
            Some("pdf-3fa91c02-1-1"),
        ),
        (
            r#""id": "pdf-3fa91c02-2-1""#,
            r#""id": 17"#,
            "events.3.id",
            None,
        ),
        (
            r#""categories": ["markt"]"#,
            r#""categories": "markt""#,
            "events.2.categories",
            Some("pdf-3fa91c02-2-0"),
        ),
    ];
    for (from, to, field, id) in cases {
        let r = parse(&variant(from, to)).unwrap_err();
        assert_eq!(r.reason, RejectionReason::Validation, "{to}");
        assert_eq!(r.file, FIXTURE_NAME);
        assert_eq!(r.source_code, "wzo");
        assert_eq!(r.details.len(), 1, "{to}: {:?}", r.details);
        let p = &r.details[0];
        assert_eq!(p.field, field, "{to}");
        assert_eq!(p.event_id.as_deref(), id, "{to}");
        assert!(p.event_index.is_some());
        let prefix = format!("Validation error for {FIXTURE_NAME}: 1 problem: {field}: ");
        assert!(r.message.starts_with(&prefix), "{}", r.message);
    }
}

#[test]
fn validation_reasons_are_specific() {
    let r = parse(&variant(
        r#""date": "2026-02-28""#,
        r#""date": "2026-02-30""#,
    ))
    .unwrap_err();
    assert_eq!(r.details[0].problem, "2026-02-30 is not a calendar date");
    let r = parse(&variant(r#""end_time": "17:30""#, r#""end_time": "25:00""#)).unwrap_err();
    assert_eq!(r.details[0].problem, "hour 25 out of range 0-23");
    let r = parse(&variant(r#""zipcode": "79341""#, r#""zipcode": 79341"#)).unwrap_err();
    assert!(
        r.message
            .contains("events.4.location.zipcode: expected a string, got number 79341"),
        "{}",
        r.message
    );
}

#[test]
fn two_different_errors_are_both_reported() {
    let text = variant(r#""zipcode": "79341""#, r#""zipcode": 79341"#).replace(
        r#""title": "Vortrag: Streuobstwiesen im Elztal""#,
        r#""title": null"#,
    );
    let r = parse(&text).unwrap_err();
    assert_eq!(r.reason, RejectionReason::Validation);
    let fields: Vec<&str> = r.details.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["events.1.title", "events.4.location.zipcode"]);
    assert!(
        r.message.contains("2 problems: events.1.title: "),
        "{}",
        r.message
    );
    assert!(
        r.message.contains("; events.4.location.zipcode: "),
        "{}",
        r.message
    );
}

#[test]
fn unreadable_files_are_invalid_json() {
    let cases: [(&str, Vec<u8>); 4] = [
        ("empty", Vec::new()),
        ("non-utf8", b"{\"events\": [], \"x\": \"caf\xe9\"}".to_vec()),
        (
            "truncated",
            FIXTURE.as_bytes()[..FIXTURE.len() / 2].to_vec(),
        ),
        (
            "nan",
            variant(r#""confidence_score": 0.93"#, r#""confidence_score": NaN"#).into_bytes(),
        ),
    ];
    for (what, bytes) in cases {
        let r = parse_event_file(FIXTURE_NAME, &bytes).unwrap_err();
        assert_eq!(r.reason, RejectionReason::InvalidJson, "{what}");
        assert!(
            r.message
                .starts_with(&format!("Invalid JSON in {FIXTURE_NAME}: ")),
            "{what}: {}",
            r.message
        );
        assert!(
            r.message.contains("line ") && r.message.contains("column "),
            "{what}: {}",
            r.message
        );
        assert_eq!(r.file_hash, file_hash(&bytes));
    }
    let r = parse_event_file(FIXTURE_NAME, b"{\"events\": [], \"x\": \"caf\xe9\"}").unwrap_err();
    assert!(r.message.contains("UTF-8"), "{}", r.message);
}

#[test]
fn bom_prefixed_file_is_accepted_with_its_own_hash() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(FIXTURE.as_bytes());
    let with_bom = parse_event_file(FIXTURE_NAME, &bytes).unwrap();
    let plain = parse(FIXTURE).unwrap();
    assert_eq!(with_bom.events, plain.events);
    assert_ne!(with_bom.file_hash, plain.file_hash);
    assert_eq!(with_bom.file_hash, file_hash(&bytes));
}

#[test]
fn top_level_shape_is_enforced() {
    let cases = [
        ("[]", ""),
        (r#"{"events": null}"#, "events"),
        (r#"{"metadata": {}}"#, "events"),
        (r#"{"events": [], "rejected": "none"}"#, "rejected"),
        (r#"{"events": [], "rejected": null}"#, "rejected"),
    ];
    for (text, field) in cases {
        let r = parse(text).unwrap_err();
        assert_eq!(r.reason, RejectionReason::Validation, "{text}");
        assert_eq!(r.details[0].field, field, "{text}");
        assert_eq!(r.details[0].event_index, None);
    }
    let top_array = format!("[{FIXTURE}]");
    assert_eq!(
        parse(&top_array).unwrap_err().reason,
        RejectionReason::Validation
    );
    let f = parse(r#"{"events": [], "extra": {"anything": [1, 2]}}"#).unwrap();
    assert_eq!(f.events.len(), 0);
}

#[test]
fn duplicate_id_rejects_with_both_indices() {
    let text = variant(r#""id": "pdf-3fa91c02-2-1""#, r#""id": "pdf-3fa91c02-1-0""#);
    let r = parse(&text).unwrap_err();
    assert_eq!(r.reason, RejectionReason::DuplicateId);
    assert!(r.message.contains("pdf-3fa91c02-1-0"), "{}", r.message);
    assert!(
        r.message.contains("events.0") && r.message.contains("events.3"),
        "{}",
        r.message
    );
    assert_eq!(r.details.len(), 1);
    assert_eq!(r.details[0].event_index, Some(3));
    assert_eq!(r.details[0].field, "events.3.id");
    let reason = serde_json::to_value(r.reason).unwrap();
    assert_eq!(reason, json!("duplicate_id"));
}

#[test]
fn warnings_do_not_reject() {
    let text = variant(r#""start_time": "19:30:00""#, r#""start_time": "19""#)
        .replace(r#""latitude": 46.948"#, r#""latitude": 146.948"#)
        .replace(
            r#""event_dates": [
        { "date": "2026-02-28", "end_date": "2026-03-01", "start_time": "11:00", "end_time": "18:00" }
      ],"#,
            "",
        );
    let f = parse_event_file("wzo.json", text.as_bytes()).unwrap();
    assert_eq!(f.source_code, "wzo.json");
    let fields: Vec<&str> = f.warnings.iter().map(|w| w.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "file_name",
            "events.1.event_dates.0.start_time",
            "events.3.location.geo",
            "events.4.event_dates"
        ]
    );
    assert_eq!(f.events[1].dates[0].start_time, None);
    assert_eq!(f.events[3].geo_latitude, None);
    assert_eq!(f.events[3].geo_country, None);
    assert!(f.events[4].dates.is_empty());
    assert_eq!(f.warnings[3].problem, "no event_dates: never compared");
    assert_eq!(f.warnings[3].event_id.as_deref(), Some("pdf-3fa91c02-3-0"));
}

#[test]
fn dev_data_set_parses_completely() {
    let files = collect_json_files(&[PathBuf::from(DEV_EVENTS)]).unwrap();
    assert_eq!(files.len(), 48);
    let (parsed, rejected) = read_event_files(&files);
    assert!(rejected.is_empty(), "{:#?}", rejected);
    assert_eq!(parsed.len(), 48);
    let total: usize = parsed.iter().map(|f| f.events.len()).sum();
    assert_eq!(total, 801);
    for f in &parsed {
        assert_eq!(f.source_code, f.file_name.split('_').next().unwrap());
        assert!(f.metadata.get("processedAt").is_some() && f.metadata.get("sourceKey").is_some());
        assert!(f.events.iter().all(|e| e.source_code == f.source_code));
    }
}

/// Small JSON values that are plausible replacements for any node of an event file.
fn json_leaf() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| json!(x)),
        "\\PC{0,12}".prop_map(|s| json!(s)),
        prop::sample::select(vec![
            "",
            "25:00",
            "14",
            "ab:cd",
            "2026-02-30",
            "2026-02-15",
            "NaN",
            "yes",
            "1",
            "-inf",
            "1e999"
        ])
        .prop_map(|s| json!(s)),
    ]
}

fn json_any() -> impl Strategy<Value = serde_json::Value> {
    json_leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec(("[a-z_]{0,6}", inner), 0..4)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Every node of a JSON tree as a JSON pointer.
fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                pointers(
                    item,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
    out.push(at);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_event_file("x_y.json", &bytes);
    }

    #[test]
    fn byte_splices_of_the_fixture_never_panic(
        at in 0usize..FIXTURE.len(),
        cut in 0usize..16,
        insert in prop::sample::select(vec![
            &b""[..], b"null", b"1", b"\"", b"[", b"]", b"{", b"}", b",", b":", b"\\u0000", b"\\ud800",
            "\u{FEFF}".as_bytes(), b"NaN", b"-1e400", b"\xFF", b"\xC3",
        ]),
    ) {
        let mut bytes = FIXTURE.as_bytes().to_vec();
        let end = (at + cut).min(bytes.len());
        bytes.splice(at..end, insert.iter().copied());
        let _ = parse_event_file(FIXTURE_NAME, &bytes);
    }

    #[test]
    fn node_replacements_never_panic_and_keep_all_or_nothing(pick in any::<prop::sample::Index>(), new in json_any()) {
        let mut doc: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let ptr = pick.get(&all).clone();
        match doc.pointer_mut(&ptr) {
            Some(slot) => *slot = new,
            None => unreachable!(),
        }
        let text = serde_json::to_string(&doc).unwrap();
        match parse(&text) {
            Ok(f) => {
                let n = doc.get("events").and_then(|e| e.as_array()).map(Vec::len);
                prop_assert_eq!(Some(f.events.len()), n);
            }
            Err(r) => {
                prop_assert!(!r.message.is_empty());
                prop_assert!(r.reason != RejectionReason::InvalidJson, "{}", r.message);
            }
        }
    }
}

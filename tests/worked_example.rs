//! The worked example of `matching.md` §10: two files, nine events, golden scores in
//! both comparison modes, clusters and canonical fields. Proves the implementation
//! faithful to the specification (with the improvement options off).

mod common;

use chrono::NaiveDate;
use event_dedup::matching::config::{DescriptionCompareOn, TitleCompareOn};
use event_dedup::model::Decision;

use common::{fixture, load_events, run_spec, spec_config};

struct Row {
    a: &'static str,
    b: &'static str,
    normalized: [f64; 5],
    normalized_decision: Decision,
    raw: [f64; 3],
    raw_decision: Decision,
}

const ROWS: [Row; 5] = [
    Row {
        a: "pdf-3fa91c02-1-0",
        b: "pdf-7c0d55e1-1-0",
        normalized: [1.0, 0.494132, 0.908772, 0.427984, 0.739630],
        normalized_decision: Decision::Ambiguous,
        raw: [0.597403, 0.406780, 0.658607],
        raw_decision: Decision::Ambiguous,
    },
    Row {
        a: "pdf-3fa91c02-1-0",
        b: "pdf-7c0d55e1-1-1",
        normalized: [1.0, 0.981243, 0.208333, 0.344538, 0.698137],
        normalized_decision: Decision::Ambiguous,
        raw: [0.559574, 0.354978, 0.787513],
        raw_decision: Decision::Match,
    },
    Row {
        a: "pdf-3fa91c02-1-1",
        b: "pdf-7c0d55e1-2-0",
        normalized: [1.0, 1.0, 1.0, 0.896970, 0.984545],
        normalized_decision: Decision::Match,
        raw: [0.938983, 0.878049, 0.963402],
        raw_decision: Decision::Match,
    },
    Row {
        a: "pdf-3fa91c02-2-0",
        b: "pdf-7c0d55e1-2-1",
        normalized: [0.5, 0.993160, 0.631216, 0.4, 0.647655],
        normalized_decision: Decision::Ambiguous,
        raw: [0.631216, 0.4, 0.647655],
        raw_decision: Decision::Ambiguous,
    },
    Row {
        a: "pdf-7c0d55e1-1-0",
        b: "pdf-7c0d55e1-1-1",
        normalized: [1.0, 0.490423, 0.262295, 0.469565, 0.583135],
        normalized_decision: Decision::Ambiguous,
        raw: [0.275862, 0.432432, 0.580957],
        raw_decision: Decision::Ambiguous,
    },
];

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() < 1e-6,
        "{what}: got {got:.6}, want {want:.6}"
    );
}

#[test]
fn normalized_mode_reproduces_golden_scores() {
    let result = run_spec(load_events(&fixture("worked_example")), &spec_config());
    assert_eq!(result.stats.events, 9);
    assert_eq!(result.stats.total_possible_pairs, 36);
    assert_eq!(result.stats.candidate_pairs, 5);
    close(result.stats.comparisons_avoided_pct, 86.111111, "reduction");
    for row in &ROWS {
        let (ia, ib) = (
            result.index_of(row.a).unwrap(),
            result.index_of(row.b).unwrap(),
        );
        let d = result.explain(result.pair(ia, ib).expect("candidate pair"));
        let s = d.scores;
        for (got, want, what) in [
            (s.date, row.normalized[0], "date"),
            (s.geo, row.normalized[1], "geo"),
            (s.title, row.normalized[2], "title"),
            (s.description, row.normalized[3], "description"),
            (d.combined, row.normalized[4], "combined"),
        ] {
            close(got, want, &format!("{} vs {} {what}", row.a, row.b));
        }
        assert_eq!(
            d.decision, row.normalized_decision,
            "{} vs {}",
            row.a, row.b
        );
        let fasnacht = row.a.ends_with("1-0") && (row.b.ends_with("1-0") || row.b.ends_with("1-1"));
        assert_eq!(
            d.weight_source.as_deref(),
            fasnacht.then_some("fasnacht"),
            "{} vs {}",
            row.a,
            row.b
        );
    }
}

#[test]
fn raw_modes_reproduce_golden_scores() {
    let mut config = spec_config();
    config.title.compare_on = TitleCompareOn::RawCasefold;
    config.description.compare_on = DescriptionCompareOn::Raw;
    let result = run_spec(load_events(&fixture("worked_example")), &config);
    for row in &ROWS {
        let (ia, ib) = (
            result.index_of(row.a).unwrap(),
            result.index_of(row.b).unwrap(),
        );
        let d = result.explain(result.pair(ia, ib).expect("candidate pair"));
        close(
            d.scores.title,
            row.raw[0],
            &format!("{} vs {} raw title", row.a, row.b),
        );
        close(
            d.scores.description,
            row.raw[1],
            &format!("{} vs {} raw description", row.a, row.b),
        );
        close(
            d.combined,
            row.raw[2],
            &format!("{} vs {} raw combined", row.a, row.b),
        );
        assert_eq!(d.decision, row.raw_decision, "{} vs {}", row.a, row.b);
    }
    // The children's ball is merged into the parade: 7 canonical events.
    assert_eq!(result.canonical_count(), 7);
    let merged = result
        .canonical_events()
        .into_iter()
        .find(|c| c.source_event_ids == ["pdf-3fa91c02-1-0", "pdf-7c0d55e1-1-1"])
        .expect("raw-mode false merge");
    close(
        merged.match_confidence.unwrap(),
        0.787513,
        "raw merge confidence",
    );
}

#[test]
fn normalized_mode_clusters_and_canonical_fields() {
    let result = run_spec(load_events(&fixture("worked_example")), &spec_config());
    assert_eq!(result.canonical_count(), 8);
    assert_eq!(result.stats.flagged, 0);
    let multi: Vec<_> = result
        .canonical_events()
        .into_iter()
        .filter(|c| c.source_count > 1)
        .collect();
    assert_eq!(multi.len(), 1);
    let c = &multi[0];
    assert_eq!(c.source_event_ids, ["pdf-3fa91c02-1-1", "pdf-7c0d55e1-2-0"]);
    close(c.match_confidence.unwrap(), 0.984545, "match_confidence");
    assert_eq!(c.title, "Vortrag: Streuobstwiesen im Elztal");
    assert_eq!(c.short_description.as_deref(), Some("Der Obst- und Gartenbauverein lädt zum Bildervortrag über heimische Streuobstwiesen ein."));
    assert_eq!(c.description, None);
    assert_eq!(&*c.field_provenance.description, "pdf-3fa91c02-1-1");
    assert!(c.highlights.is_empty());
    assert_eq!(
        c.location_name.as_deref(),
        Some("Gasthaus Löwen, Nebenzimmer")
    );
    assert_eq!(c.location_district.as_deref(), Some("Bleibach"));
    assert_eq!(c.location_street.as_deref(), Some("Hauptstraße"));
    assert_eq!(c.location_zipcode.as_deref(), Some("79261"));
    assert_eq!(c.location_city.as_deref(), Some("Gutach im Breisgau"));
    assert_eq!(
        (c.geo_latitude, c.geo_longitude, c.geo_confidence),
        (Some(48.1139), Some(8.0168), Some(0.91))
    );
    assert_eq!(&*c.field_provenance.geo, "pdf-3fa91c02-1-1");
    let dates = serde_json::to_value(&c.dates).unwrap();
    assert_eq!(
        dates,
        serde_json::json!([{"date": "2026-02-17", "start_time": "19:30:00", "end_time": null, "end_date": null}])
    );
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(
        (c.first_date, c.last_date),
        (Some(d("2026-02-17")), Some(d("2026-02-17")))
    );
    assert_eq!(c.categories, ["bildung", "natur"]);
    assert_eq!(
        (c.is_family_event, c.is_child_focused, c.admission_free),
        (false, false, true)
    );
    assert_eq!(&*c.field_provenance.admission_free, "pdf-3fa91c02-1-1");
    assert!(!c.needs_review && !c.ai_assisted);

    let single = result
        .canonical_events()
        .into_iter()
        .find(|c| c.source_event_ids == ["pdf-3fa91c02-3-0"])
        .unwrap();
    assert_eq!(
        (single.first_date, single.last_date),
        (Some(d("2026-02-28")), Some(d("2026-03-01")))
    );
    assert_eq!(single.short_description, None);
    assert!(single.highlights.is_empty());
    assert!(!single.admission_free);
    assert_eq!(single.match_confidence, None);
    let provenance = serde_json::to_value(&single.field_provenance).unwrap();
    assert_eq!(provenance.as_object().unwrap().len(), 15);
}

#[test]
fn stored_keys_match_the_preprocessing_worked_example() {
    let config = spec_config();
    let lists = event_dedup::preprocess::WordLists::bundled();
    let result = run_spec(load_events(&fixture("worked_example")), &config);
    let event = |id: &str| &result.events[result.index_of(id).unwrap() as usize];
    let keys = |id: &str| {
        event_dedup::matching::prepared::stored_blocking_keys(event(id), &lists, &config)
    };
    assert_eq!(
        keys("pdf-3fa91c02-1-0"),
        ["dc|2026-02-15|waldkirch", "dg|2026-02-15|48.06|7.93"]
    );
    assert_eq!(
        keys("pdf-3fa91c02-1-1"),
        [
            "dc|2026-02-17|gutach im breisgau",
            "dg|2026-02-17|48.15|8.06"
        ]
    );
    assert!(keys("pdf-3fa91c02-2-1").is_empty());
    assert_eq!(
        keys("pdf-3fa91c02-3-0"),
        ["dc|2026-02-28|kenzingen", "dg|2026-02-28|48.15|7.80"]
    );
    let derived = event_dedup::preprocess::derive(event("pdf-3fa91c02-1-1"), &lists);
    assert_eq!(derived.blocking_keys, keys("pdf-3fa91c02-1-1"));
    assert_eq!(derived.short_description_normalized.as_deref(), Some("der obst- und gartenbauverein laedt zum bildervortrag ueber heimische streuobstwiesen ein"));
    assert_eq!(
        derived.location_name_normalized.as_deref(),
        Some("gasthaus loewen nebenzimmer")
    );
}

//! Property tests over whole events: every signal score and the combined score lie in
//! [0, 1] and do not depend on which event comes first.

use chrono::NaiveDate;
use event_dedup::matching::{explain_pair, MatchingConfig};
use event_dedup::model::{EventDate, SourceEvent};
use event_dedup::preprocess::WordLists;
use proptest::prelude::*;

fn arb_event(id: &'static str) -> impl Strategy<Value = SourceEvent> {
    (
        "[A-Za-zäöüÄÖÜß: -]{0,30}",
        proptest::option::of("[a-zäöü ,.]{0,60}"),
        proptest::collection::vec(
            (
                0u32..5,
                proptest::option::of(0u32..24),
                proptest::option::of(0u32..10),
            ),
            0..3,
        ),
        proptest::option::of((
            47.9f64..48.2,
            7.7f64..8.1,
            proptest::option::of(0.0f64..1.0),
        )),
        proptest::option::of("[A-Za-zä ]{0,20}"),
        prop_oneof![Just("artikel"), Just("terminliste"), Just("anzeige")],
        proptest::collection::vec(
            prop_oneof![Just("fasnacht"), Just("versammlung"), Just("musik")],
            0..3,
        ),
    )
        .prop_map(
            move |(title, desc, dates, geo, venue, source_type, cats)| SourceEvent {
                id: id.to_string(),
                title,
                description: desc,
                dates: dates
                    .into_iter()
                    .map(|(day, hour, range)| EventDate {
                        date: NaiveDate::from_ymd_opt(2026, 2, 10 + day).unwrap(),
                        start_time: hour.and_then(|h| chrono::NaiveTime::from_hms_opt(h, 0, 0)),
                        end_time: None,
                        end_date: range
                            .and_then(|r| NaiveDate::from_ymd_opt(2026, 2, 10 + day + r)),
                    })
                    .collect(),
                geo_latitude: geo.map(|g| g.0),
                geo_longitude: geo.map(|g| g.1),
                geo_confidence: geo.and_then(|g| g.2),
                location_name: venue,
                location_city: Some("Waldkirch".into()),
                source_type: source_type.to_string(),
                categories: Some(cats.into_iter().map(str::to_string).collect()),
                ..Default::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn scores_are_bounded_and_symmetric(a in arb_event("a"), b in arb_event("b")) {
        let lists = WordLists::bundled();
        for config in [MatchingConfig::default(), {
            let mut spec = MatchingConfig::default();
            spec.geo.untrusted_as_missing = false;
            spec.description.blend = None;
            spec
        }] {
            let ab = explain_pair(&a, &b, &config, &lists);
            let mut b2 = b.clone();
            let mut a2 = a.clone();
            // Swap identities so the other event comes first in id order.
            a2.id = "b".into();
            b2.id = "a".into();
            let ba = explain_pair(&b2, &a2, &config, &lists);
            for (x, y) in [
                (ab.scores.date, ba.scores.date),
                (ab.scores.geo, ba.scores.geo),
                (ab.scores.title, ba.scores.title),
                (ab.scores.description, ba.scores.description),
                (ab.combined, ba.combined),
            ] {
                prop_assert!((0.0..=1.0).contains(&x), "{x} out of range");
                prop_assert!((x - y).abs() < 1e-12, "asymmetric {x} vs {y}");
            }
            prop_assert_eq!(ab.decision, ba.decision);
        }
    }
}

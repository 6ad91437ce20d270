//! Pipeline behaviour beyond scoring: the block-size guard, review constraints
//! (must-link, cannot-link, reviewed sets) and flagged clusters.

mod common;

use chrono::{NaiveDate, NaiveTime};
use event_dedup::matching::{self, MatchingConfig, ReviewConstraints};
use event_dedup::model::{Decision, DecisionRule, EventDate, SourceEvent};
use event_dedup::preprocess::WordLists;

use common::{fixture, load_events, spec_config};

fn listing(id: &str, title: &str, day: u32) -> SourceEvent {
    SourceEvent {
        id: id.into(),
        title: title.into(),
        source_type: "terminliste".into(),
        location_city: Some("Offenburg".into()),
        location_name: Some(format!("Halle {id}")),
        dates: vec![EventDate {
            date: NaiveDate::from_ymd_opt(2026, 2, day).unwrap(),
            start_time: NaiveTime::from_hms_opt(19, 0, 0),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn an_overfull_block_is_split_and_reported_but_duplicates_still_meet() {
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett",
    ];
    let mut events: Vec<SourceEvent> = (0..300)
        .map(|i| {
            listing(
                &format!("e{i:03}"),
                &format!("Abend {} {} {i}", words[i % 10], words[(i / 10) % 10]),
                14,
            )
        })
        .collect();
    events.push(listing("dup-a", "Jahreskonzert Musikverein Zunsweier", 14));
    events.push(listing("dup-b", "JAHRESKONZERT MUSIKVEREIN ZUNSWEIER", 14));
    let mut config = MatchingConfig::default();
    config.blocking.max_block_size = 50;
    let r = matching::run(
        events.clone(),
        &config,
        &WordLists::bundled(),
        &ReviewConstraints::default(),
    );
    assert_eq!(r.stats.blocking.blocks_split, 1);
    assert!(r.stats.blocking.pairs_avoided_by_guard > 0);
    assert!(
        r.stats.candidate_pairs < 302 * 301 / 2 / 4,
        "{} pairs",
        r.stats.candidate_pairs
    );
    let (a, b) = (r.index_of("dup-a").unwrap(), r.index_of("dup-b").unwrap());
    assert_eq!(
        r.pair(a, b).expect("duplicates still compared").decision,
        Decision::Match
    );
    // Without the guard every pair of the block is a candidate.
    config.blocking.max_block_size = 0;
    let unguarded = matching::run(
        events,
        &config,
        &WordLists::bundled(),
        &ReviewConstraints::default(),
    );
    assert_eq!(unguarded.stats.candidate_pairs, 302 * 301 / 2);
}

#[test]
fn review_constraints_override_scores() {
    let events = load_events(&fixture("worked_example"));
    let lists = WordLists::bundled();
    let config = spec_config();
    let pair = (
        "pdf-3fa91c02-1-1".to_string(),
        "pdf-7c0d55e1-2-0".to_string(),
    );
    let unrelated = (
        "pdf-3fa91c02-2-1".to_string(),
        "pdf-7c0d55e1-2-1".to_string(),
    );
    let constraints = ReviewConstraints {
        cannot_link: vec![pair.clone()],
        must_link: vec![unrelated.clone()],
        reviewed: vec![],
    };
    let r = matching::run(events, &config, &lists, &constraints);
    let members = |id: &str| {
        r.canonical_events()
            .into_iter()
            .find(|c| c.source_event_ids.iter().any(|s| s == id))
            .unwrap()
            .source_event_ids
            .clone()
    };
    assert_eq!(members(&pair.0), vec![pair.0.clone()], "split holds");
    let d = r
        .pair(r.index_of(&pair.0).unwrap(), r.index_of(&pair.1).unwrap())
        .unwrap();
    assert_eq!(
        (d.decision, d.rule),
        (Decision::NoMatch, DecisionRule::CannotLink)
    );
    assert_eq!(
        members(&unrelated.0),
        [unrelated.0.clone(), unrelated.1.clone()],
        "merge holds although never a candidate"
    );
    assert_eq!(r.stats.constraint_overrides, 1);
}

#[test]
fn cannot_link_drops_the_weakest_edge_of_a_chain() {
    // a ~ b ~ c all match; a and c are cannot-linked: one of the two edges must go.
    let mut events = vec![
        listing("a", "Jahreskonzert Musikverein Zunsweier", 14),
        listing("b", "Jahreskonzert Musikverein Zunsweier", 14),
        listing("c", "Jahreskonzert Musikverein Zunsweier", 14),
    ];
    for e in &mut events {
        e.location_name = Some("Halle".into());
    }
    let constraints = ReviewConstraints {
        cannot_link: vec![("a".into(), "c".into())],
        ..Default::default()
    };
    let r = matching::run(
        events,
        &MatchingConfig::default(),
        &WordLists::bundled(),
        &constraints,
    );
    assert_eq!(r.canonical_count(), 2);
    assert_eq!(r.stats.edges_dropped_by_cannot_link, 1);
    assert!(r
        .pairs
        .iter()
        .any(|p| p.rule == DecisionRule::CannotLinkSeparation));
    for c in &r.canonical_events() {
        assert!(
            !(c.source_event_ids.contains(&"a".to_string())
                && c.source_event_ids.contains(&"c".to_string()))
        );
    }
}

#[test]
fn date_spread_flags_a_cluster_and_a_reviewed_set_is_not_flagged_again() {
    let mk = |id: &str| {
        let mut e = listing(id, "Wochenmarkt auf dem Marktplatz", 2);
        e.location_name = Some("Marktplatz".into());
        e.dates = (2..6)
            .map(|d| EventDate {
                date: NaiveDate::from_ymd_opt(2026, 3, d).unwrap(),
                ..Default::default()
            })
            .collect();
        e
    };
    let events = vec![mk("m1"), mk("m2"), listing("z", "Anderes", 20)];
    let r = matching::run(
        events.clone(),
        &MatchingConfig::default(),
        &WordLists::bundled(),
        &ReviewConstraints::default(),
    );
    let last = r.canonical_events().last().cloned().unwrap();
    assert!(last.needs_review, "flagged clusters come last");
    assert!(last
        .review_reason
        .as_deref()
        .unwrap()
        .starts_with("date_spread"));
    assert_eq!(last.source_event_ids, ["m1", "m2"]);
    let reviewed = ReviewConstraints {
        reviewed: vec![vec!["m1".into(), "m2".into()]],
        ..Default::default()
    };
    let r = matching::run(
        events,
        &MatchingConfig::default(),
        &WordLists::bundled(),
        &reviewed,
    );
    assert!(r.canonical_events().iter().all(|c| !c.needs_review));
}

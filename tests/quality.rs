//! Matching quality on every labelled set at once (`tests/fixtures/dev` and the six
//! sets of `tests/fixtures/train`), the worst set being the figure: a regression guard
//! for the shipped defaults (learned model, conflict-aware clustering), plus the
//! `train` command's learning, thresholds and refusals.

mod common;

use std::process::Command;

use event_dedup::cli::sets::load_sets;
use event_dedup::evaluation::quality;
use event_dedup::evaluation::training::{train, ReviewerPair, TrainOptions};
use event_dedup::evaluation::LabelledSet;
use event_dedup::matching::learned::MatchModel;
use event_dedup::matching::{features_of_pair, MatchingConfig};
use event_dedup::preprocess::WordLists;

use common::fixture;

const TRAIN_SETS: [&str; 6] = [
    "plain-21", "plain-22", "plain-23", "hard-31", "hard-32", "hard-33",
];

fn all_sets() -> Vec<LabelledSet> {
    let mut dirs = vec![fixture("dev")];
    dirs.extend(TRAIN_SETS.iter().map(|s| fixture(&format!("train/{s}"))));
    load_sets(&dirs).expect("labelled fixtures load")
}

#[test]
fn shipped_defaults_hold_on_every_labelled_set() {
    let report = quality::measure(
        &all_sets(),
        &MatchingConfig::default(),
        &WordLists::bundled(),
    );
    assert_eq!(report.sets.len(), 7);
    // Reached: worst P 0.987, F1 0.938, B-cubed F1 0.978 (README, "Quality"); the
    // floors leave room for noise, not for a regression.
    let w = report.worst;
    assert!(w.precision >= 0.98, "worst precision {:.3}", w.precision);
    assert!(w.f1 >= 0.93, "worst F1 {:.3}", w.f1);
    assert!(w.bcubed_f1 >= 0.97, "worst B-cubed F1 {:.3}", w.bcubed_f1);
    for s in &report.sets {
        let plain = s.name == "dev" || s.name.starts_with("plain");
        let floor = if plain { 0.945 } else { 0.93 };
        assert!(s.f1 >= floor, "{}: F1 {:.3}", s.name, s.f1);
        // Chains are cut: no set has a false merge inside a group of five or more.
        let big = s
            .errors
            .merges_by_cluster_size
            .get("5+")
            .copied()
            .unwrap_or(0);
        assert!(big <= 2, "{}: {big} false pairs in groups of 5+", s.name);
    }
    let text = quality::render(&report);
    assert!(text.contains("worst") && text.contains("hard-33"), "{text}");
}

#[test]
fn the_weighted_sum_is_still_available_and_clearly_worse() {
    let sets = all_sets();
    let mut weighted = MatchingConfig::default();
    weighted.model.method = event_dedup::matching::config::ScoringMethod::WeightedSum;
    let lists = WordLists::bundled();
    let learned = quality::measure(&sets, &MatchingConfig::default(), &lists);
    let summed = quality::measure(&sets, &weighted, &lists);
    assert!(
        summed.worst.f1 + 0.05 < learned.worst.f1,
        "{:?} vs {:?}",
        summed.worst,
        learned.worst
    );
}

#[test]
fn training_learns_calibrated_probabilities_from_other_sets() {
    let sets: Vec<LabelledSet> = all_sets()
        .into_iter()
        .filter(|s| s.name == "plain-21" || s.name == "plain-22" || s.name == "hard-31")
        .collect();
    let options = TrainOptions::default();
    let report = train(
        &sets,
        &[],
        &MatchingConfig::default(),
        &WordLists::bundled(),
        options,
    )
    .expect("trains");
    assert_eq!(report.folds.len(), 3);
    let held = report.held_out.expect("held-out figures");
    assert!(held.worst.precision >= 0.95, "{:?}", held.worst);
    assert!(held.worst.f1 >= 0.88, "{:?}", held.worst);
    // Calibration: in the confident bins, the observed rate is close to the prediction.
    for bin in report.reliability.iter().filter(|b| b.pairs >= 200) {
        assert!(
            (bin.mean_predicted - bin.observed).abs() < 0.1,
            "bin {:.1}-{:.1}: predicted {:.3}, observed {:.3}",
            bin.lo,
            bin.hi,
            bin.mean_predicted,
            bin.observed
        );
    }
    let t = report.model.thresholds;
    assert!(0.0 < t.low && t.low < t.high && t.high < 1.0);
    // The written model is what a deployment loads.
    let text = serde_json::to_string(&report.model).expect("json");
    let back = MatchModel::parse(&text, std::path::Path::new("trained.json")).expect("valid");
    assert_eq!(back.thresholds, report.model.thresholds);
    let probe = features_of_pair(
        &sets[0].events[0],
        &sets[0].events[1],
        &MatchingConfig::default(),
        &WordLists::bundled(),
    );
    assert!((back.probability(&probe) - report.model.probability(&probe)).abs() < 1e-12);
}

#[test]
fn a_reviewers_split_pair_scores_lower_after_training() {
    let sets: Vec<LabelledSet> = all_sets()
        .into_iter()
        .filter(|s| s.name == "plain-21")
        .collect();
    let config = MatchingConfig::default();
    let lists = WordLists::bundled();
    let options = TrainOptions {
        folds: false,
        ..TrainOptions::default()
    };
    // A pair the labelled data calls the same event; a reviewer split it.
    let truth = &sets[0].truth;
    let (a, b) = truth.same_pairs.iter().next().expect("a true pair");
    let find = |id: &str| {
        sets[0]
            .events
            .iter()
            .find(|e| e.id == id)
            .expect("event")
            .clone()
    };
    let split = ReviewerPair {
        a: find(a),
        b: find(b),
        same: false,
    };
    let features = features_of_pair(&split.a, &split.b, &config, &lists);
    let before = train(&sets, &[], &config, &lists, options).expect("trains");
    let after = train(&sets, &[split], &config, &lists, options).expect("trains");
    assert_eq!(after.model.training.reviewer_pairs, 1);
    let (p0, p1) = (
        before.model.probability(&features),
        after.model.probability(&features),
    );
    assert!(p1 < p0, "split pair: {p0:.4} before, {p1:.4} after");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_event-dedup"))
}

#[test]
fn train_refuses_unusable_sets_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let set = dir.path().join("broken");
    std::fs::create_dir_all(set.join("events")).expect("dirs");
    std::fs::copy(
        fixture("worked_example/wzo_14.02.2026_2026-02-14T07-12-05-331Z.json"),
        set.join("events/wzo_14.02.2026_2026-02-14T07-12-05-331Z.json"),
    )
    .expect("copy");
    let run = |truth: &str| {
        std::fs::write(set.join("truth.json"), truth).expect("truth");
        let out = bin()
            .arg("train")
            .arg(&set)
            .arg("--out")
            .arg(dir.path().join("model.json"))
            .output()
            .expect("runs");
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let unknown = run(
        r#"{"format":"event-groundtruth/1","event_to_true":{"pdf-3fa91c02-1-0":"T1","nope":"T1"}}"#,
    );
    assert!(
        unknown.contains("nope") && unknown.contains("broken"),
        "{unknown}"
    );
    let no_pairs = run(
        r#"{"format":"event-groundtruth/1","event_to_true":{"pdf-3fa91c02-1-0":"T1","pdf-3fa91c02-1-1":"T2"}}"#,
    );
    assert!(no_pairs.contains("no duplicate pair"), "{no_pairs}");
    let inconsistent = run(
        r#"{"format":"event-groundtruth/1","event_to_true":{"pdf-3fa91c02-1-0":"T1","pdf-3fa91c02-1-1":"T1"},"duplicate_pairs":[["pdf-3fa91c02-1-0","pdf-3fa91c02-2-0"]]}"#,
    );
    assert!(inconsistent.contains("disagree"), "{inconsistent}");
    let not_a_set = bin().arg("train").arg(dir.path()).output().expect("runs");
    assert!(String::from_utf8_lossy(&not_a_set.stderr).contains("not a labelled set"));
    assert!(!dir.path().join("model.json").exists());
}

#[test]
fn a_corrupt_model_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = dir.path().join("model.json");
    std::fs::write(&model, "{\"format\": \"event-dedup-model/1\"").expect("write");
    let out = bin()
        .arg("dedup")
        .arg(fixture("worked_example"))
        .arg("--model")
        .arg(&model)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("model.json") && err.contains("invalid match model"),
        "{err}"
    );
}

//! Behaviour of the synthetic data generator: determinism, truth consistency,
//! file format, scaling of geography and density, and presence of duplicates
//! and hard-negative families.

use event_dedup::generate::{generate, GenerateOptions, GenerateSummary};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn opts(events: usize, seed: u64) -> GenerateOptions {
    GenerateOptions {
        events,
        seed,
        ..GenerateOptions::default()
    }
}

fn run(o: &GenerateOptions) -> (tempfile::TempDir, GenerateSummary) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = generate(o, dir.path()).expect("generate");
    (dir, s)
}

/// All files below `dir` (relative name → bytes), sorted by name.
fn read_all(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    out.insert(
        "truth.json".to_string(),
        std::fs::read(dir.join("truth.json")).expect("truth"),
    );
    for e in std::fs::read_dir(dir.join("events")).expect("events dir") {
        let e = e.expect("entry");
        let name = e.file_name().to_string_lossy().to_string();
        out.insert(
            format!("events/{name}"),
            std::fs::read(e.path()).expect("read"),
        );
    }
    out
}

fn load_events(dir: &Path) -> Vec<(String, Value)> {
    read_all(dir)
        .into_iter()
        .filter(|(k, _)| k.starts_with("events/"))
        .map(|(k, v)| (k, serde_json::from_slice(&v).expect("valid json")))
        .collect()
}

fn truth(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("truth.json")).expect("truth")).expect("json")
}

#[test]
fn same_seed_gives_identical_bytes() {
    let o = GenerateOptions {
        hard: true,
        ..opts(1500, 7)
    };
    let (a, sa) = run(&o);
    let (b, sb) = run(&o);
    assert_eq!(sa, sb);
    let (fa, fb) = (read_all(a.path()), read_all(b.path()));
    assert_eq!(fa.len(), sa.files + 1);
    assert_eq!(fa, fb);
}

#[test]
fn different_seed_gives_different_output() {
    let (a, _) = run(&opts(600, 1));
    let (b, _) = run(&opts(600, 2));
    assert_ne!(read_all(a.path()), read_all(b.path()));
}

#[test]
fn truth_is_consistent_with_files() {
    let (dir, s) = run(&GenerateOptions {
        hard: true,
        ..opts(2000, 3)
    });
    let t = truth(dir.path());
    assert_eq!(t["format"], "event-groundtruth/1");
    let e2t = t["event_to_true"].as_object().expect("event_to_true");
    let mut file_ids = BTreeSet::new();
    for (_, f) in load_events(dir.path()) {
        for e in f["events"].as_array().expect("events") {
            let id = e["id"].as_str().expect("id").to_string();
            assert!(file_ids.insert(id), "duplicate event id");
        }
    }
    let truth_ids: BTreeSet<String> = e2t.keys().cloned().collect();
    assert_eq!(file_ids, truth_ids);
    let keys: Vec<&String> = e2t.keys().collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "event_to_true sorted");

    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, tid) in e2t {
        groups
            .entry(tid.as_str().expect("tid"))
            .or_default()
            .push(id);
    }
    let true_events = t["true_events"].as_object().expect("true_events");
    assert_eq!(groups.len(), true_events.len());
    let mut expected = Vec::new();
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for (tid, ids) in &groups {
        assert_eq!(
            true_events[*tid]["n_sources"].as_u64(),
            Some(ids.len() as u64)
        );
        *sizes.entry(ids.len().to_string()).or_default() += 1;
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                let (x, y) = if a < b { (a, b) } else { (b, a) };
                expected.push(vec![x.to_string(), y.to_string()]);
            }
        }
    }
    expected.sort();
    let pairs: Vec<Vec<String>> =
        serde_json::from_value(t["duplicate_pairs"].clone()).expect("pairs");
    assert_eq!(pairs, expected);

    let st = &t["stats"];
    assert_eq!(st["source_events"].as_u64(), Some(e2t.len() as u64));
    assert_eq!(st["true_events"].as_u64(), Some(true_events.len() as u64));
    assert_eq!(st["duplicate_pairs"].as_u64(), Some(pairs.len() as u64));
    assert_eq!(st["files"].as_u64(), Some(s.files as u64));
    let gs: BTreeMap<String, u64> =
        serde_json::from_value(st["group_sizes"].clone()).expect("sizes");
    assert_eq!(gs, sizes);
    assert_eq!(s.source_events, e2t.len());
    assert_eq!(s.duplicate_pairs, pairs.len());
}

fn valid_date(s: &str) -> bool {
    s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn valid_time(v: &Value) -> bool {
    match v.as_str() {
        None => v.is_null(),
        Some(s) => {
            chrono::NaiveTime::parse_from_str(s, "%H:%M").is_ok()
                || chrono::NaiveTime::parse_from_str(s, "%H:%M:%S").is_ok()
        }
    }
}

#[test]
fn files_follow_the_input_format_and_naming() {
    let (dir, s) = run(&opts(1200, 11));
    let files = load_events(dir.path());
    assert_eq!(files.len(), s.files);
    let mut total = 0;
    for (name, f) in &files {
        let base = name.trim_start_matches("events/");
        let parts: Vec<&str> = base.trim_end_matches(".json").splitn(3, '_').collect();
        assert_eq!(parts.len(), 3, "{base}");
        assert!(parts[0].chars().all(|c| c.is_ascii_lowercase()), "{base}");
        assert!(
            chrono::NaiveDate::parse_from_str(parts[1], "%d.%m.%Y").is_ok(),
            "{base}"
        );
        let processed = f["metadata"]["processedAt"].as_str().expect("processedAt");
        assert_eq!(parts[2], processed.replace([':', '.'], "-"));
        assert!(f["rejected"].is_array());
        let events = f["events"].as_array().expect("events array");
        assert_eq!(
            f["metadata"]["eventCount"].as_u64(),
            Some(events.len() as u64)
        );
        for e in events {
            total += 1;
            let id = e["id"].as_str().expect("id");
            let p: Vec<&str> = id.split('-').collect();
            assert_eq!(p.len(), 4, "{id}");
            assert_eq!(p[0], "pdf");
            assert!(
                p[1].len() == 8 && p[1].chars().all(|c| c.is_ascii_hexdigit()),
                "{id}"
            );
            assert!(e["title"].is_string());
            let st = e["source_type"].as_str().expect("source_type");
            assert!(st == "artikel" || st == "terminliste");
            let dates = e["event_dates"].as_array().expect("dates");
            assert!(!dates.is_empty());
            for d in dates {
                assert!(valid_date(d["date"].as_str().expect("date")));
                assert!(valid_time(&d["start_time"]) && valid_time(&d["end_time"]));
                assert!(
                    d["end_date"].is_null() || valid_date(d["end_date"].as_str().expect("end"))
                );
            }
            if let Some(z) = e["location"].get("zipcode") {
                assert!(z.is_null() || z.is_string());
            }
        }
    }
    assert_eq!(total, s.source_events);
    let diff = (s.source_events as f64 - 1200.0).abs() / 1200.0;
    assert!(diff < 0.05, "listings {} far from target", s.source_events);
}

#[test]
fn geography_grows_with_size() {
    let (_a, small) = run(&opts(1000, 5));
    let (_b, big) = run(&GenerateOptions {
        pretty: false,
        ..opts(50_000, 5)
    });
    assert!(
        big.towns > small.towns * 4,
        "{} vs {}",
        big.towns,
        small.towns
    );
    assert!(big.sources > small.sources);
    assert!(big.days > small.days);
    let per_town_day =
        |s: &GenerateSummary| s.source_events as f64 / (s.towns as f64 * s.days as f64);
    let ratio = per_town_day(&big) / per_town_day(&small);
    assert!(
        (0.5..2.0).contains(&ratio),
        "listings per town-day drift: {ratio}"
    );
}

#[test]
fn density_packs_more_listings_per_town_day() {
    let (_a, d1) = run(&opts(4000, 9));
    let (_b, d5) = run(&GenerateOptions {
        density: 5.0,
        ..opts(4000, 9)
    });
    let per = |s: &GenerateSummary| s.source_events as f64 / (s.towns as f64 * s.days as f64);
    assert!(per(&d5) > per(&d1) * 2.5, "{} vs {}", per(&d5), per(&d1));
}

#[test]
fn duplicates_and_default_families_exist() {
    let (dir, s) = run(&opts(1000, 1));
    assert!(s.duplicate_pairs > 100);
    let t = truth(dir.path());
    let sizes = t["stats"]["group_sizes"].as_object().expect("sizes");
    assert!(sizes.keys().any(|k| k != "1"));
    let fams: BTreeSet<&str> = t["true_events"]
        .as_object()
        .expect("te")
        .values()
        .filter_map(|v| v["family"].as_str())
        .collect();
    for f in [
        "single",
        "hn:kino",
        "hn:two_talks",
        "hn:same_title_towns",
        "hn:weekly",
    ] {
        assert!(fams.contains(f), "missing {f}");
    }
    assert!(!fams.contains("hn:vernissage"));
}

#[test]
fn hard_families_present_when_hard() {
    let (dir, _) = run(&GenerateOptions {
        hard: true,
        ..opts(3000, 4)
    });
    let t = truth(dir.path());
    let fams: BTreeSet<&str> = t["true_events"]
        .as_object()
        .expect("te")
        .values()
        .filter_map(|v| v["family"].as_str())
        .collect();
    for f in ["hn:same_venue_day", "hn:district_twins", "hn:vernissage"] {
        assert!(fams.contains(f), "missing {f}");
    }
}

#[test]
fn tiny_empty_and_odd_options_work() {
    let (dir, s) = run(&opts(0, 1));
    assert_eq!(s.source_events, 0);
    assert_eq!(truth(dir.path())["stats"]["source_events"], 0);
    let (_d, s) = run(&opts(40, 1));
    assert!(s.source_events >= 40 && s.files > 0);
    let (_d, s) = run(&GenerateOptions {
        density: f64::NAN,
        ..opts(300, 1)
    });
    assert!(s.source_events >= 300);
    let (_d, s) = run(&GenerateOptions {
        density: 0.2,
        ..opts(300, 1)
    });
    assert!(s.towns >= 8);
}

//! The pipeline is a pure function: the same events give the same result whatever the
//! order of files or events (everything but wall-clock timings is identical).

mod common;

use event_dedup::matching::MatchingConfig;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use common::{dev_set, load_events, run};

fn fingerprint(result: &event_dedup::matching::PipelineResult) -> String {
    let decisions: Vec<_> = result.pairs.iter().map(|p| result.explain(p)).collect();
    let mut stats = serde_json::to_value(&result.stats).unwrap();
    stats.as_object_mut().unwrap().remove("timings");
    serde_json::to_string(&(&result.canonical_events(), &decisions, stats)).unwrap()
}

#[test]
fn event_order_does_not_change_anything() {
    let events = load_events(&dev_set().join("events"));
    let config = MatchingConfig::default();
    let reference = fingerprint(&run(events.clone(), &config));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for _ in 0..3 {
        let mut shuffled = events.clone();
        shuffled.shuffle(&mut rng);
        assert_eq!(fingerprint(&run(shuffled, &config)), reference);
    }
}

//! Weights (category-aware), combined score and the decision table (`matching.md` §5).
//!
//! The title veto only caps a would-be match at `ambiguous`: one venue often hosts
//! several events at once (films in a cinema) whose date, geo and template
//! descriptions all agree while the titles differ.

use super::config::MatchingConfig;
use super::learned::ModelThresholds;
use crate::model::{Decision, DecisionRule, SignalScores, Weights};

/// The weight set for a pair and where it came from (`None` = default `scoring`).
pub fn select_weights<'c>(
    categories_a: &[String],
    categories_b: &[String],
    config: &'c MatchingConfig,
) -> (&'c Weights, Option<&'c str>) {
    let cw = &config.category_weights;
    for category in &cw.priority {
        let shared = categories_a.binary_search(category).is_ok()
            && categories_b.binary_search(category).is_ok();
        if shared {
            if let Some(w) = cw.overrides.get(category) {
                return (w, Some(category.as_str()));
            }
        }
    }
    (&config.scoring, None)
}

/// Weighted mean of the four signals; 0 when the weights sum to 0.
pub fn combine(s: &SignalScores, w: &Weights) -> f64 {
    let sum = w.sum();
    if sum == 0.0 {
        return 0.0;
    }
    (w.date * s.date + w.geo * s.geo + w.title * s.title + w.description * s.description) / sum
}

/// The decision table, in order: veto, high, low, between.
pub fn decide(combined: f64, title: f64, config: &MatchingConfig) -> (Decision, DecisionRule) {
    let t = &config.thresholds;
    if combined >= t.high && t.title_veto > 0.0 && title < t.title_veto {
        (Decision::Ambiguous, DecisionRule::TitleVeto)
    } else if combined >= t.high {
        (Decision::Match, DecisionRule::ThresholdHigh)
    } else if combined <= t.low {
        (Decision::NoMatch, DecisionRule::ThresholdLow)
    } else {
        (Decision::Ambiguous, DecisionRule::Between)
    }
}

/// The decision table of the learned model: its probability against its thresholds.
/// No title veto: the model weighs the title against everything else itself.
pub fn decide_probability(p: f64, t: &ModelThresholds) -> (Decision, DecisionRule) {
    if p >= t.high {
        (Decision::Match, DecisionRule::ThresholdHigh)
    } else if p <= t.low {
        (Decision::NoMatch, DecisionRule::ThresholdLow)
    } else {
        (Decision::Ambiguous, DecisionRule::Between)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats(c: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = c.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn overrides_follow_priority_and_need_a_shared_category() {
        let c = MatchingConfig::default();
        let (w, src) = select_weights(
            &cats(&["fasnacht", "versammlung"]),
            &cats(&["versammlung", "fasnacht"]),
            &c,
        );
        assert_eq!((w.geo, src), (0.30, Some("fasnacht")));
        let (w, src) = select_weights(
            &cats(&["versammlung"]),
            &cats(&["versammlung", "musik"]),
            &c,
        );
        assert_eq!((w.title, src), (0.40, Some("versammlung")));
        let (_, src) = select_weights(&cats(&["fasnacht"]), &cats(&["musik"]), &c);
        assert_eq!(src, None);
        // Case-sensitive, exact strings.
        let (_, src) = select_weights(&cats(&["Fasnacht"]), &cats(&["Fasnacht"]), &c);
        assert_eq!(src, None);
        // An override that is not in the priority list is never used.
        let mut c2 = c.clone();
        c2.category_weights.priority.clear();
        let (_, src) = select_weights(&cats(&["fasnacht"]), &cats(&["fasnacht"]), &c2);
        assert_eq!(src, None);
    }

    #[test]
    fn decision_table() {
        let c = MatchingConfig::default();
        assert_eq!(
            decide(0.77, 0.22, &c),
            (Decision::Ambiguous, DecisionRule::TitleVeto)
        );
        assert_eq!(
            decide(0.77, 0.50, &c),
            (Decision::Match, DecisionRule::ThresholdHigh)
        );
        assert_eq!(
            decide(0.75, 0.45, &c),
            (Decision::Match, DecisionRule::ThresholdHigh)
        );
        assert_eq!(
            decide(0.35, 0.9, &c),
            (Decision::NoMatch, DecisionRule::ThresholdLow)
        );
        assert_eq!(
            decide(0.5, 0.9, &c),
            (Decision::Ambiguous, DecisionRule::Between)
        );
        let mut no_veto = c.clone();
        no_veto.thresholds.title_veto = 0.0;
        assert_eq!(decide(0.77, 0.0, &no_veto).0, Decision::Match);
    }

    #[test]
    fn zero_weights_give_zero() {
        let w = Weights {
            date: 0.0,
            geo: 0.0,
            title: 0.0,
            description: 0.0,
        };
        let s = SignalScores {
            date: 1.0,
            geo: 1.0,
            title: 1.0,
            description: 1.0,
        };
        assert_eq!(combine(&s, &w), 0.0);
    }
}

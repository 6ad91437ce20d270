//! Validation of a matching config (`matching.md` §8.3), on load and on every
//! runtime update. Every problem names the offending key, and all problems are
//! reported at once so an operator can fix a file in one pass.

use serde::Serialize;

use super::{BlendParams, MatchingConfig};
use crate::model::Weights;

/// Weight sets must sum to 1 within this tolerance.
const WEIGHT_SUM_TOLERANCE: f64 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, e.g. `thresholds.low: must be below thresholds.high (0.8 ≥ 0.75)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
    pub severity: Severity,
}

struct Checker {
    problems: Vec<ConfigProblem>,
}

impl Checker {
    fn error(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            key: key.into(),
            message: message.into(),
            severity: Severity::Error,
        });
    }

    fn warning(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            key: key.into(),
            message: message.into(),
            severity: Severity::Warning,
        });
    }

    fn unit(&mut self, key: &str, v: f64) {
        if !(0.0..=1.0).contains(&v) {
            self.error(key, format!("must be between 0 and 1, got {v}"));
        }
    }

    fn positive(&mut self, key: &str, v: f64) {
        if !(v.is_finite() && v > 0.0) {
            self.error(key, format!("must be greater than 0, got {v}"));
        }
    }

    /// `low_key` must not exceed `high_key`.
    fn not_above(&mut self, low_key: &str, low: f64, high_key: &str, high: f64) {
        if low > high {
            self.error(
                low_key,
                format!("must not exceed {high_key} ({low} > {high})"),
            );
        }
    }

    fn weights(&mut self, prefix: &str, w: &Weights) {
        for (name, v) in [
            ("date", w.date),
            ("geo", w.geo),
            ("title", w.title),
            ("description", w.description),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                self.error(format!("{prefix}.{name}"), format!("must be ≥ 0, got {v}"));
            }
        }
        let sum = w.sum();
        if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE || sum.is_nan() {
            self.error(
                prefix,
                format!("weights must sum to 1.0 (±0.01), got {sum:.4}"),
            );
        }
    }

    fn blend(&mut self, prefix: &str, b: &BlendParams) {
        self.unit(&format!("{prefix}.primary_weight"), b.primary_weight);
        self.unit(&format!("{prefix}.secondary_weight"), b.secondary_weight);
        self.unit(&format!("{prefix}.blend_lower"), b.blend_lower);
        self.unit(&format!("{prefix}.blend_upper"), b.blend_upper);
        self.not_above(
            &format!("{prefix}.blend_lower"),
            b.blend_lower,
            &format!("{prefix}.blend_upper"),
            b.blend_upper,
        );
    }
}

pub(super) fn validate(c: &MatchingConfig) -> Vec<ConfigProblem> {
    let mut k = Checker {
        problems: Vec::new(),
    };
    k.weights("scoring", &c.scoring);
    for (cat, w) in &c.category_weights.overrides {
        k.weights(&format!("category_weights.overrides.{cat}"), w);
    }
    for cat in &c.category_weights.priority {
        if !c.category_weights.overrides.contains_key(cat) {
            k.warning(
                "category_weights.priority",
                format!(
                    "category {cat:?} has no entry in category_weights.overrides and is never used"
                ),
            );
        }
    }

    let t = &c.thresholds;
    k.unit("thresholds.high", t.high);
    k.unit("thresholds.low", t.low);
    k.unit("thresholds.title_veto", t.title_veto);
    if t.low >= t.high {
        k.error(
            "thresholds.low",
            format!("must be below thresholds.high ({} ≥ {})", t.low, t.high),
        );
    }

    let g = &c.geo;
    k.positive("geo.max_distance_km", g.max_distance_km);
    k.positive("geo.venue_match_distance_km", g.venue_match_distance_km);
    k.unit("geo.min_confidence", g.min_confidence);
    k.unit("geo.neutral_score", g.neutral_score);
    k.unit("geo.venue_mismatch_factor", g.venue_mismatch_factor);
    let r = &g.region;
    for (key, lo, hi, limit) in [
        ("geo.region.min_lat", r.min_lat, r.max_lat, 90.0),
        ("geo.region.min_lon", r.min_lon, r.max_lon, 180.0),
    ] {
        if !(lo.is_finite() && hi.is_finite() && -limit <= lo && lo < hi && hi <= limit) {
            k.error(
                key,
                format!("must be below its max and within ±{limit} ({lo} .. {hi})"),
            );
        }
    }

    let d = &c.date;
    k.unit("date.close_factor", d.close_factor);
    k.unit("date.far_factor", d.far_factor);
    k.unit("date.time_gap_penalty_factor", d.time_gap_penalty_factor);
    k.positive("date.time_gap_penalty_hours", d.time_gap_penalty_hours);
    k.not_above(
        "date.time_tolerance_minutes",
        f64::from(d.time_tolerance_minutes),
        "date.time_close_minutes",
        f64::from(d.time_close_minutes),
    );
    k.not_above(
        "date.time_close_minutes",
        f64::from(d.time_close_minutes),
        "date.time_gap_penalty_hours × 60",
        d.time_gap_penalty_hours * 60.0,
    );

    k.blend("title", &c.title.main_block());
    if let Some(cross) = &c.title.cross_source_type {
        k.blend("title.cross_source_type", cross);
    }
    if let Some(blend) = &c.description.blend {
        k.blend("description.blend", blend);
    }

    if c.cluster.max_cluster_size < 2 {
        k.error(
            "cluster.max_cluster_size",
            format!("must be at least 2, got {}", c.cluster.max_cluster_size),
        );
    }
    k.unit(
        "cluster.min_internal_similarity",
        c.cluster.min_internal_similarity,
    );
    k.unit("cluster.min_average_link", c.cluster.min_average_link);

    let a = &c.ai;
    k.unit("ai.confidence_threshold", a.confidence_threshold);
    k.unit("ai.min_combined_score", a.min_combined_score);
    k.unit("ai.max_combined_score", a.max_combined_score);
    k.not_above(
        "ai.min_combined_score",
        a.min_combined_score,
        "ai.max_combined_score",
        a.max_combined_score,
    );
    if a.max_concurrent_requests < 1 {
        k.error("ai.max_concurrent_requests", "must be at least 1");
    }
    if !(0.0..=2.0).contains(&a.temperature) {
        k.error(
            "ai.temperature",
            format!("must be between 0 and 2, got {}", a.temperature),
        );
    }
    for (key, v) in [
        ("ai.cost_per_1m_input_tokens", a.cost_per_1m_input_tokens),
        ("ai.cost_per_1m_output_tokens", a.cost_per_1m_output_tokens),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            k.error(key, format!("must be ≥ 0, got {v}"));
        }
    }
    for (key, v) in [
        ("ai.budget_seconds", a.budget_seconds),
        ("ai.request_timeout_seconds", a.request_timeout_seconds),
    ] {
        // Bounded above so a typo cannot make a run wait for days (a day is plenty).
        if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
            k.error(key, format!("must be > 0 and at most 86400, got {v}"));
        }
    }
    k.problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(c: &MatchingConfig) -> Vec<String> {
        validate(c)
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.key)
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert!(validate(&MatchingConfig::default()).is_empty());
    }

    #[test]
    fn every_problem_is_listed_with_its_key() {
        let mut c = MatchingConfig::default();
        c.scoring.date = 0.5;
        c.thresholds.low = 0.9;
        c.title.blend_lower = 0.9;
        c.geo.max_distance_km = 0.0;
        c.date.time_tolerance_minutes = 100;
        c.cluster.max_cluster_size = 1;
        c.ai.min_combined_score = 0.9;
        c.category_weights
            .overrides
            .get_mut("fasnacht")
            .unwrap()
            .geo = -0.1;
        let keys = errors(&c);
        for want in [
            "scoring",
            "thresholds.low",
            "title.blend_lower",
            "geo.max_distance_km",
            "date.time_tolerance_minutes",
            "cluster.max_cluster_size",
            "ai.min_combined_score",
            "category_weights.overrides.fasnacht.geo",
        ] {
            assert!(keys.iter().any(|k| k == want), "missing {want} in {keys:?}");
        }
    }

    #[test]
    fn nan_is_rejected() {
        let mut c = MatchingConfig::default();
        c.thresholds.high = f64::NAN;
        assert!(errors(&c).contains(&"thresholds.high".to_string()));
    }

    #[test]
    fn priority_without_override_is_a_warning() {
        let mut c = MatchingConfig::default();
        c.category_weights.priority.push("musik".into());
        let problems = validate(&c);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].severity, Severity::Warning);
    }

    #[test]
    fn tie_breaker_time_limits_must_be_positive() {
        let mut c = MatchingConfig::default();
        c.ai.budget_seconds = 0.0;
        c.ai.request_timeout_seconds = f64::INFINITY;
        let keys = errors(&c);
        assert!(keys.contains(&"ai.budget_seconds".to_string()), "{keys:?}");
        assert!(
            keys.contains(&"ai.request_timeout_seconds".to_string()),
            "{keys:?}"
        );
    }
}

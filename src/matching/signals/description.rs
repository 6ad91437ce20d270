//! Description score: token-sort ratio of the first non-blank of `description` and
//! `short_description`, with fixed neutral values when text is missing (a missing
//! description says little, one missing says slightly less than both missing).

use crate::matching::config::DescriptionConfig;
use crate::matching::prepared::PreparedEvent;
use crate::matching::similarity::{token_set_ratio_prepared, token_sort_ratio_prepared};

pub const BOTH_EMPTY: f64 = 0.5;
pub const ONE_EMPTY: f64 = 0.4;

pub fn description_score(a: &PreparedEvent, b: &PreparedEvent, cfg: &DescriptionConfig) -> f64 {
    let (x, y) = match (&a.description, &b.description) {
        (None, None) => return BOTH_EMPTY,
        (Some(_), None) | (None, Some(_)) => return ONE_EMPTY,
        (Some(x), Some(y)) => (x, y),
    };
    let p = token_sort_ratio_prepared(x, y) / 100.0;
    match &cfg.blend {
        Some(b) if b.blend_lower <= p && p <= b.blend_upper => {
            b.primary_weight * p + b.secondary_weight * token_set_ratio_prepared(x, y) / 100.0
        }
        _ => p,
    }
}

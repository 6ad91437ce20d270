//! Description score: token-sort ratio of the first non-blank of `description` and
//! `short_description`, with fixed neutral values when text is missing (a missing
//! description says little, one missing says slightly less than both missing).

use crate::matching::prepared::PreparedEvent;
use crate::matching::similarity::token_sort_ratio_prepared;

pub const BOTH_EMPTY: f64 = 0.5;
pub const ONE_EMPTY: f64 = 0.4;

pub fn description_score(a: &PreparedEvent, b: &PreparedEvent) -> f64 {
    match (&a.description, &b.description) {
        (None, None) => BOTH_EMPTY,
        (Some(_), None) | (None, Some(_)) => ONE_EMPTY,
        (Some(x), Some(y)) => token_sort_ratio_prepared(x, y) / 100.0,
    }
}

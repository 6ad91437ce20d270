//! The four signal scorers (`matching.md` §4). Each returns a value in [0, 1] and is
//! symmetric in its two arguments.

pub mod date;
pub mod description;
pub mod geo;
pub mod title;

use super::config::MatchingConfig;
use super::prepared::PreparedEvent;
use crate::model::{SignalScores, SourceEvent};

/// A pair's four scores with the geometry behind the geo score, which the weights and
/// the learned features reuse instead of recomputing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairSignals {
    pub scores: SignalScores,
    pub geo: geo::PairGeo,
}

/// Scores all four signals of a pair, keeping the pair's geometry.
pub fn pair_signals(
    a: (&SourceEvent, &PreparedEvent),
    b: (&SourceEvent, &PreparedEvent),
    config: &MatchingConfig,
) -> PairSignals {
    let geo = geo::PairGeo::of(a.0, b.0, &config.geo);
    PairSignals {
        scores: SignalScores {
            date: date::date_score(&a.1.days, &b.1.days, &config.date),
            geo: geo::geo_score_of(a.1, b.1, geo, &config.geo),
            title: title::title_score(a.1, b.1, &config.title),
            description: description::description_score(a.1, b.1, &config.description),
        },
        geo,
    }
}

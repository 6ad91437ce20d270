//! The four signal scorers (`matching.md` §4). Each returns a value in [0, 1] and is
//! symmetric in its two arguments.

pub mod date;
pub mod description;
pub mod geo;
pub mod title;

use super::config::MatchingConfig;
use super::prepared::PreparedEvent;
use crate::model::{SignalScores, SourceEvent};

/// Scores all four signals of a pair.
pub fn score_pair(
    a: (&SourceEvent, &PreparedEvent),
    b: (&SourceEvent, &PreparedEvent),
    config: &MatchingConfig,
) -> SignalScores {
    SignalScores {
        date: date::date_score(&a.1.days, &b.1.days, &config.date),
        geo: geo::geo_score(a, b, &config.geo),
        title: title::title_score(a.1, b.1, &config.title),
        description: description::description_score(a.1, b.1, &config.description),
    }
}

//! Title score: token-sort ratio, blended with token-set inside a band.
//!
//! Articles carry long journalistic headlines and listings short formal names, so for
//! artikel ↔ terminliste pairs a separate blend block rewards the shorter title being
//! contained in the longer one (token_set).

use crate::matching::config::{BlendParams, TitleConfig};
use crate::matching::prepared::{PreparedEvent, SourceKind};
use crate::matching::similarity::{token_set_ratio_prepared, token_sort_ratio_prepared};

pub fn title_score(a: &PreparedEvent, b: &PreparedEvent, cfg: &TitleConfig) -> f64 {
    if a.title.is_empty() || b.title.is_empty() {
        return 0.0;
    }
    let params = effective_params(a.source_kind, b.source_kind, cfg);
    let p = token_sort_ratio_prepared(&a.title, &b.title) / 100.0;
    if params.blend_lower <= p && p <= params.blend_upper {
        params.primary_weight * p
            + params.secondary_weight * token_set_ratio_prepared(&a.title, &b.title) / 100.0
    } else {
        p
    }
}

/// The cross-source block applies only to artikel ↔ terminliste pairs.
fn effective_params(a: SourceKind, b: SourceKind, cfg: &TitleConfig) -> BlendParams {
    use SourceKind::{Artikel, Terminliste};
    match (cfg.cross_source_type, a, b) {
        (Some(cross), Artikel, Terminliste) | (Some(cross), Terminliste, Artikel) => cross,
        _ => cfg.main_block(),
    }
}

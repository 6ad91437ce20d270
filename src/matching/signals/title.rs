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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::MatchingConfig;
    use crate::model::SourceEvent;
    use crate::preprocess::WordLists;

    fn prep(title: &str, source_type: &str, config: &MatchingConfig) -> PreparedEvent {
        let e = SourceEvent {
            id: "x".into(),
            title: title.into(),
            source_type: source_type.into(),
            ..Default::default()
        };
        PreparedEvent::new(&e, &WordLists::bundled(), config)
    }

    fn score(a: (&str, &str), b: (&str, &str), config: &MatchingConfig) -> f64 {
        let (pa, pb) = (prep(a.0, a.1, config), prep(b.0, b.1, config));
        let s = title_score(&pa, &pb, &config.title);
        assert_eq!(s, title_score(&pb, &pa, &config.title), "symmetric");
        s
    }

    #[test]
    fn cross_source_block_applies_only_to_artikel_and_terminliste() {
        let c = MatchingConfig::default();
        let long = "Großer Fasnetsumzug in Waldkirch";
        let short = "Narrenzunft Bergteufel - Großer Fasnetsumzug";
        let cross = score((short, "artikel"), (long, "terminliste"), &c);
        assert!((cross - 0.908772).abs() < 1e-6, "{cross}");
        // Same source type: main block (0.7 / 0.3 inside 0.40–0.80).
        let same = score((short, "artikel"), (long, "artikel"), &c);
        assert!((same - (0.7 * 0.771930 + 0.3)).abs() < 1e-5, "{same}");
        // anzeige never switches.
        assert_eq!(score((short, "anzeige"), (long, "terminliste"), &c), same);
        // Without the block, artikel ↔ terminliste uses the main block too.
        let mut off = c.clone();
        off.title.cross_source_type = None;
        assert_eq!(score((short, "artikel"), (long, "terminliste"), &off), same);
    }

    #[test]
    fn umlauts_sharp_s_and_synonyms_compare_equal_when_normalized() {
        let c = MatchingConfig::default();
        assert_eq!(
            score(
                ("Straßenfest Müllheim", "artikel"),
                ("STRASSENFEST MUELLHEIM", "artikel"),
                &c
            ),
            1.0
        );
        assert_eq!(
            score(("Fasnetumzug", "artikel"), ("Faschingumzug", "artikel"), &c),
            1.0
        );
        let mut raw = c.clone();
        raw.title.compare_on = crate::matching::config::TitleCompareOn::RawCasefold;
        // Case folding maps ß to ss, but umlauts stay umlauts in raw mode.
        assert_eq!(
            score(
                ("Große Straße", "artikel"),
                ("GROSSE STRASSE", "artikel"),
                &raw
            ),
            1.0
        );
        assert!(score(("Müllheim", "artikel"), ("Muellheim", "artikel"), &raw) < 1.0);
    }

    #[test]
    fn empty_titles_score_zero_and_outside_band_is_plain_token_sort() {
        let c = MatchingConfig::default();
        assert_eq!(score(("", "artikel"), ("Konzert", "artikel"), &c), 0.0);
        assert_eq!(
            score(("Vortrag: ", "artikel"), ("Vortrag: ", "artikel"), &c),
            0.0
        );
        let s = score(("stadttheater", "artikel"), ("messehalle", "artikel"), &c);
        assert!((s - 0.363636).abs() < 1e-5, "{s}");
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::MatchingConfig;
    use crate::model::SourceEvent;
    use crate::preprocess::WordLists;

    fn prep(
        description: Option<&str>,
        short: Option<&str>,
        config: &MatchingConfig,
    ) -> PreparedEvent {
        let e = SourceEvent {
            id: "x".into(),
            description: description.map(str::to_string),
            short_description: short.map(str::to_string),
            ..Default::default()
        };
        PreparedEvent::new(&e, &WordLists::bundled(), config)
    }

    #[test]
    fn neutral_values_and_fallback_to_short_description() {
        let c = MatchingConfig::default();
        let none = prep(None, Some("   "), &c);
        let text = prep(Some("  "), Some("Konzert im Park"), &c);
        assert_eq!(
            description_score(&none, &prep(None, None, &c), &c.description),
            BOTH_EMPTY
        );
        assert_eq!(description_score(&none, &text, &c.description), ONE_EMPTY);
        assert_eq!(
            description_score(
                &text,
                &prep(Some("Konzert im Park"), None, &c),
                &c.description
            ),
            1.0
        );
    }

    #[test]
    fn blend_rewards_containment_and_raw_mode_is_case_sensitive() {
        let mut c = MatchingConfig::default();
        let short = "Konzert des Musikvereins";
        let long =
            "Das Konzert des Musikvereins beginnt um acht Uhr in der festlich geschmückten Halle";
        let blended = description_score(
            &prep(Some(short), None, &c),
            &prep(Some(long), None, &c),
            &c.description,
        );
        c.description.blend = None;
        let plain = description_score(
            &prep(Some(short), None, &c),
            &prep(Some(long), None, &c),
            &c.description,
        );
        assert!(blended > plain, "{blended} > {plain}");
        c.description.compare_on = crate::matching::config::DescriptionCompareOn::Raw;
        let raw = description_score(
            &prep(Some("KINDERFILM"), None, &c),
            &prep(Some("Kinderfilm"), None, &c),
            &c.description,
        );
        assert!(raw < 0.2, "{raw}");
    }
}

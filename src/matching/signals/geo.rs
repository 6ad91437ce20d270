//! Geo score: distance decay with a venue-name check for close points.
//!
//! Untrusted or missing coordinates give the neutral score rather than 0, because a
//! missing geocode says nothing about whether two listings are the same event.
//! Identical coordinates skip the confidence gate: two sources geocoded to the very
//! same point are strong evidence even at low confidence.

use crate::matching::config::GeoConfig;
use crate::matching::prepared::PreparedEvent;
use crate::matching::similarity::token_sort_ratio_prepared;
use crate::model::SourceEvent;

/// Earth radius used by the haversine distance, in km.
pub const EARTH_RADIUS_KM: f64 = 6371.0;
/// Venue names scoring below this (token_sort / 100) count as different venues.
pub const VENUE_SIMILARITY_CUTOFF: f64 = 0.5;
/// Coordinates closer than this (degrees) count as identical.
const IDENTICAL_EPS: f64 = 1e-6;

/// The geometry of a pair, computed once per pair: the geo score, the weights
/// (`geo.untrusted_as_missing`) and the learned features all need it, and the
/// haversine is the costliest part of the geo signal.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PairGeo {
    /// Distance between the two points when the pair's geo is informative
    /// ([`trusted_points`]), `None` otherwise.
    pub trusted_km: Option<f64>,
}

impl PairGeo {
    pub fn of(ea: &SourceEvent, eb: &SourceEvent, cfg: &GeoConfig) -> Self {
        PairGeo {
            trusted_km: trusted_points(ea, eb, cfg)
                .map(|((lat1, lon1), (lat2, lon2))| haversine_km(lat1, lon1, lat2, lon2)),
        }
    }
}

pub fn geo_score(
    a: (&SourceEvent, &PreparedEvent),
    b: (&SourceEvent, &PreparedEvent),
    cfg: &GeoConfig,
) -> f64 {
    geo_score_of(a.1, b.1, PairGeo::of(a.0, b.0, cfg), cfg)
}

/// [`geo_score`] of a pair whose geometry is already known.
pub fn geo_score_of(pa: &PreparedEvent, pb: &PreparedEvent, geo: PairGeo, cfg: &GeoConfig) -> f64 {
    let Some(d) = geo.trusted_km else {
        return cfg.neutral_score;
    };
    let mut score = (1.0 - d / cfg.max_distance_km).max(0.0);
    if d < cfg.venue_match_distance_km {
        if let (Some(va), Some(vb)) = (&pa.venue, &pb.venue) {
            if token_sort_ratio_prepared(va, vb) / 100.0 < VENUE_SIMILARITY_CUTOFF {
                score *= cfg.venue_mismatch_factor;
            }
        }
    }
    score
}

/// Both points when the pair's geo is informative: coordinates on both sides, both
/// inside the region (a point outside is a geocoding error, treated as missing), and
/// either identical or both confidences trusted (a missing confidence is trusted).
pub fn trusted_points(
    ea: &SourceEvent,
    eb: &SourceEvent,
    cfg: &GeoConfig,
) -> Option<((f64, f64), (f64, f64))> {
    let (lat1, lon1, lat2, lon2) = (
        ea.geo_latitude?,
        ea.geo_longitude?,
        eb.geo_latitude?,
        eb.geo_longitude?,
    );
    if !cfg.region.contains(lat1, lon1) || !cfg.region.contains(lat2, lon2) {
        return None;
    }
    let identical = (lat1 - lat2).abs() < IDENTICAL_EPS && (lon1 - lon2).abs() < IDENTICAL_EPS;
    let untrusted = |c: Option<f64>| c.is_some_and(|c| c < cfg.min_confidence);
    if !identical && (untrusted(ea.geo_confidence) || untrusted(eb.geo_confidence)) {
        return None;
    }
    Some(((lat1, lon1), (lat2, lon2)))
}

/// Great-circle distance in km.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    EARTH_RADIUS_KM * 2.0 * h.sqrt().atan2((1.0 - h).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::MatchingConfig;
    use crate::preprocess::WordLists;

    fn ev(
        geo: Option<(f64, f64, Option<f64>)>,
        venue: Option<&str>,
    ) -> (SourceEvent, PreparedEvent) {
        let e = SourceEvent {
            id: "x".into(),
            geo_latitude: geo.map(|g| g.0),
            geo_longitude: geo.map(|g| g.1),
            geo_confidence: geo.and_then(|g| g.2),
            location_name: venue.map(str::to_string),
            ..Default::default()
        };
        let p = PreparedEvent::new(&e, &WordLists::bundled(), &MatchingConfig::default());
        (e, p)
    }

    fn score(a: &(SourceEvent, PreparedEvent), b: &(SourceEvent, PreparedEvent)) -> f64 {
        let cfg = GeoConfig::default();
        let s = geo_score((&a.0, &a.1), (&b.0, &b.1), &cfg);
        let t = geo_score((&b.0, &b.1), (&a.0, &a.1), &cfg);
        assert_eq!(s, t, "symmetric");
        s
    }

    #[test]
    fn spec_examples() {
        let p = |lat, lon, c| ev(Some((lat, lon, c)), None);
        assert_eq!(
            score(&p(48.0, 7.8, Some(0.95)), &p(48.0, 7.8, Some(0.95))),
            1.0
        );
        assert_eq!(
            score(&p(48.0, 7.8, Some(0.30)), &p(48.0, 7.8, Some(0.30))),
            1.0
        );
        assert!(
            (score(&p(48.0, 7.8, Some(0.95)), &p(48.045, 7.8, Some(0.95))) - 0.4996).abs() < 1e-3
        );
        assert_eq!(
            score(&p(48.0, 7.8, Some(0.50)), &p(48.01, 7.8, Some(0.95))),
            0.5
        );
        assert_eq!(score(&ev(None, None), &p(48.0, 7.8, Some(0.95))), 0.5);
        assert_eq!(
            score(&p(48.45, 8.4, Some(0.95)), &p(48.0, 7.8, Some(0.95))),
            0.0
        );
        // Outside the region: a geocoding error, treated as missing (neutral), even
        // with a high confidence.
        assert_eq!(
            score(&p(49.0, 9.0, Some(0.99)), &p(48.0, 7.8, Some(0.95))),
            0.5
        );
        // A missing confidence is trusted.
        assert!(score(&p(48.0, 7.8, None), &p(48.0, 7.81, Some(0.9))) > 0.9);
    }

    #[test]
    fn venue_names_matter_only_when_close() {
        let v = |lat, name| ev(Some((lat, 7.8, Some(0.95))), Some(name));
        assert_eq!(score(&v(48.0, "Stadttheater"), &v(48.0, "Messehalle")), 0.5);
        assert_eq!(
            score(
                &v(48.0, "Stadttheater Freiburg"),
                &v(48.0, "Freiburg Stadttheater")
            ),
            1.0
        );
        // Farther than 1 km: names are not compared.
        let far = score(&v(48.0, "Stadttheater"), &v(48.01, "Messehalle"));
        assert!((far - (1.0 - haversine_km(48.0, 7.8, 48.01, 7.8) / 10.0)).abs() < 1e-12);
        // A missing name on one side changes nothing.
        assert_eq!(
            score(
                &v(48.0, "Stadttheater"),
                &ev(Some((48.0, 7.8, Some(0.95))), None)
            ),
            1.0
        );
    }
}

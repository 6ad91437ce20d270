//! Blocking keys (`preprocessing.md` §6): only events sharing a key are ever compared.
//!
//! Two kinds per date: `dc|<date>|<city>` and `dg|<date>|<cell_lat>|<cell_lon>`. The
//! geo key needs *valid geo* (confidence ≥ 0.85 inside the region box). These
//! constants are fixed by the spec, independent of the matching config.

use std::fmt;

use chrono::NaiveDate;

use crate::model::{EventDate, SourceEvent};

/// Geo confidence needed for a grid key (independent of `geo.min_confidence`).
pub const GEO_MIN_CONFIDENCE: f64 = 0.85;
/// Region box; coordinates outside are treated as geocoding errors for blocking.
pub const LAT_RANGE: (f64, f64) = (47.5, 48.5);
pub const LON_RANGE: (f64, f64) = (7.3, 8.5);
/// Grid cell size, about 10 km × 10 km at 48° N.
pub const CELL_LAT: f64 = 0.09;
pub const CELL_LON: f64 = 0.13;

/// A blocking key in typed form; `Display` renders the stored string form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockingKey {
    DateCity(NaiveDate, String),
    /// Date and grid cell indices (`round_half_even(lat / 0.09)`, same for lon).
    DateCell(NaiveDate, i64, i64),
}

impl fmt::Display for BlockingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockingKey::DateCity(d, city) => write!(f, "dc|{}|{}", d.format("%Y-%m-%d"), city),
            BlockingKey::DateCell(d, la, lo) => write!(
                f,
                "dg|{}|{:.2}|{:.2}",
                d.format("%Y-%m-%d"),
                *la as f64 * CELL_LAT,
                *lo as f64 * CELL_LON
            ),
        }
    }
}

/// True when latitude, longitude and confidence are present, the confidence reaches
/// the blocking threshold and the point lies inside the region box.
pub fn has_valid_geo(event: &SourceEvent) -> bool {
    match (
        event.geo_latitude,
        event.geo_longitude,
        event.geo_confidence,
    ) {
        (Some(lat), Some(lon), Some(conf)) => {
            conf >= GEO_MIN_CONFIDENCE
                && (LAT_RANGE.0..=LAT_RANGE.1).contains(&lat)
                && (LON_RANGE.0..=LON_RANGE.1).contains(&lon)
        }
        _ => false,
    }
}

/// Grid cell indices with ties to even (exact ties are common with 3-decimal input).
pub fn cell_indices(lat: f64, lon: f64) -> (i64, i64) {
    (
        (lat / CELL_LAT).round_ties_even() as i64,
        (lon / CELL_LON).round_ties_even() as i64,
    )
}

/// The cell as stored: `"48.06|7.93"`.
pub fn grid_cell(lat: f64, lon: f64) -> String {
    let (la, lo) = cell_indices(lat, lon);
    format!("{:.2}|{:.2}", la as f64 * CELL_LAT, lo as f64 * CELL_LON)
}

/// The days an event is listed on, in input order without repeats. With
/// `expand_range_days > 0` a `date..end_date` range contributes up to that many days.
pub fn listed_days(event: &SourceEvent, expand_range_days: u32) -> Vec<NaiveDate> {
    let mut days: Vec<NaiveDate> = Vec::with_capacity(event.dates.len());
    for entry in &event.dates {
        for day in entry_days(entry, expand_range_days) {
            if !days.contains(&day) {
                days.push(day);
            }
        }
    }
    days
}

/// The days one date entry stands for: its `date`, plus (when expanding) the following
/// days up to `end_date`, at most `expand_range_days` days in all.
pub fn entry_days(entry: &EventDate, expand_range_days: u32) -> impl Iterator<Item = NaiveDate> {
    let end = if expand_range_days > 0 {
        entry.end_date.unwrap_or(entry.date)
    } else {
        entry.date
    };
    let cap = expand_range_days.max(1) as usize;
    entry
        .date
        .iter_days()
        .take_while(move |d| *d <= end)
        .take(cap)
}

/// Typed blocking keys of one event (first days only unless `expand_range_days > 0`).
pub fn typed_blocking_keys(
    event: &SourceEvent,
    city_normalized: Option<&str>,
    expand_range_days: u32,
) -> Vec<BlockingKey> {
    let cell = match (event.geo_latitude, event.geo_longitude) {
        (Some(lat), Some(lon)) if has_valid_geo(event) => Some(cell_indices(lat, lon)),
        _ => None,
    };
    let city = city_normalized.filter(|c| !c.is_empty());
    let mut keys = Vec::new();
    for day in listed_days(event, expand_range_days) {
        if let Some(c) = city {
            keys.push(BlockingKey::DateCity(day, c.to_string()));
        }
        if let Some((la, lo)) = cell {
            keys.push(BlockingKey::DateCell(day, la, lo));
        }
    }
    keys
}

/// Blocking keys in stored string form.
pub fn blocking_keys(
    event: &SourceEvent,
    city_normalized: Option<&str>,
    expand_range_days: u32,
) -> Vec<String> {
    typed_blocking_keys(event, city_normalized, expand_range_days)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn event(dates: &[&str], geo: Option<(f64, f64, f64)>) -> SourceEvent {
        SourceEvent {
            dates: dates
                .iter()
                .map(|s| EventDate {
                    date: d(s),
                    ..Default::default()
                })
                .collect(),
            geo_latitude: geo.map(|g| g.0),
            geo_longitude: geo.map(|g| g.1),
            geo_confidence: geo.map(|g| g.2),
            ..Default::default()
        }
    }

    #[test]
    fn grid_cells_match_spec_table() {
        for (lat, lon, want) in [
            (48.0935, 7.9608, "48.06|7.93"),
            (48.0941, 7.9621, "48.06|7.93"),
            (48.1213, 7.8494, "48.15|7.80"),
            (47.995, 7.852, "47.97|7.80"),
            (48.045, 7.865, "48.06|7.80"),
            (48.105, 7.9, "48.06|7.93"),
        ] {
            assert_eq!(grid_cell(lat, lon), want, "({lat}, {lon})");
        }
    }

    #[test]
    fn repeated_dates_give_each_key_once_in_order() {
        let e = event(
            &["2026-02-20", "2026-02-21", "2026-02-20"],
            Some((48.1213, 7.8494, 0.87)),
        );
        assert_eq!(
            blocking_keys(&e, Some("emmendingen"), 0),
            [
                "dc|2026-02-20|emmendingen",
                "dg|2026-02-20|48.15|7.80",
                "dc|2026-02-21|emmendingen",
                "dg|2026-02-21|48.15|7.80"
            ]
        );
    }

    #[test]
    fn no_city_and_no_confidence_gives_no_keys() {
        let mut e = event(&["2026-02-20"], Some((48.1213, 7.8494, 0.87)));
        e.geo_confidence = None;
        assert!(blocking_keys(&e, None, 0).is_empty());
        assert!(blocking_keys(&event(&[], None), Some("x"), 0).is_empty());
    }

    #[test]
    fn valid_geo_edges() {
        assert!(has_valid_geo(&event(&[], Some((48.5, 8.5, 0.85)))));
        assert!(!has_valid_geo(&event(&[], Some((48.50001, 8.0, 0.9)))));
        assert!(!has_valid_geo(&event(&[], Some((48.0, 8.0, 0.8499)))));
    }

    #[test]
    fn ranges_count_their_first_day_unless_expanded() {
        let mut e = event(&["2026-02-28"], None);
        e.dates[0].end_date = Some(d("2026-03-02"));
        assert_eq!(
            blocking_keys(&e, Some("kenzingen"), 0),
            ["dc|2026-02-28|kenzingen"]
        );
        assert_eq!(
            blocking_keys(&e, Some("kenzingen"), 14),
            [
                "dc|2026-02-28|kenzingen",
                "dc|2026-03-01|kenzingen",
                "dc|2026-03-02|kenzingen"
            ]
        );
        e.dates[0].end_date = Some(d("2027-03-02"));
        assert_eq!(listed_days(&e, 14).len(), 14);
    }
}

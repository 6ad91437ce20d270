//! Date score: Jaccard overlap of listed days × mean time factor over shared days.
//!
//! Missing times get the benefit of the doubt (factor 1.0): calendars often omit them.

use chrono::NaiveTime;

use crate::matching::config::DateConfig;
use crate::matching::prepared::DayTimes;

pub fn date_score(a: &[DayTimes], b: &[DayTimes], cfg: &DateConfig) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j) = (0, 0);
    let (mut shared, mut factor_sum) = (0usize, 0.0f64);
    while i < a.len() && j < b.len() {
        match a[i].date.cmp(&b[j].date) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                factor_sum += day_factor(&a[i], &b[j], cfg);
                i += 1;
                j += 1;
            }
        }
    }
    if shared == 0 {
        return 0.0;
    }
    let union = a.len() + b.len() - shared;
    (shared as f64 / union as f64) * (factor_sum / shared as f64)
}

fn day_factor(a: &DayTimes, b: &DayTimes, cfg: &DateConfig) -> f64 {
    if !cfg.best_time_pair {
        let first = |d: &DayTimes| d.starts.first().copied().flatten();
        return time_factor(first(a), first(b), cfg);
    }
    let mut best = 0.0f64;
    for sa in &a.starts {
        for sb in &b.starts {
            best = best.max(time_factor(*sa, *sb, cfg));
        }
    }
    best
}

/// Factor for two start times on the same day (no wrap at midnight).
pub fn time_factor(t1: Option<NaiveTime>, t2: Option<NaiveTime>, cfg: &DateConfig) -> f64 {
    let (Some(t1), Some(t2)) = (t1, t2) else {
        return 1.0;
    };
    let delta = (t1 - t2).num_seconds().unsigned_abs() as f64 / 60.0;
    if delta <= f64::from(cfg.time_tolerance_minutes) {
        1.0
    } else if delta <= f64::from(cfg.time_close_minutes) {
        cfg.close_factor
    } else if delta <= cfg.time_gap_penalty_hours * 60.0 {
        cfg.far_factor
    } else {
        cfg.time_gap_penalty_factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(date: &str, starts: &[Option<&str>]) -> DayTimes {
        DayTimes {
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            starts: starts
                .iter()
                .map(|s| s.map(|s| NaiveTime::parse_from_str(s, "%H:%M").unwrap()))
                .collect(),
        }
    }

    fn score(a: &[DayTimes], b: &[DayTimes]) -> f64 {
        date_score(a, b, &DateConfig::default())
    }

    #[test]
    fn spec_examples() {
        let cases: Vec<(Vec<DayTimes>, Vec<DayTimes>, f64)> = vec![
            (
                vec![day("2026-03-01", &[None])],
                vec![day("2026-03-01", &[None])],
                1.0,
            ),
            (
                vec![day("2026-03-01", &[Some("14:00")])],
                vec![day("2026-03-01", &[Some("14:00")])],
                1.0,
            ),
            (
                vec![day("2026-03-01", &[Some("14:00")])],
                vec![day("2026-03-01", &[Some("14:30")])],
                1.0,
            ),
            (
                vec![day("2026-03-01", &[Some("14:00")])],
                vec![day("2026-03-01", &[Some("15:00")])],
                0.1,
            ),
            (
                vec![day("2026-03-01", &[Some("10:00")])],
                vec![day("2026-03-01", &[Some("12:01")])],
                0.0,
            ),
            (
                vec![day("2026-03-01", &[None]), day("2026-03-02", &[None])],
                vec![day("2026-03-01", &[None]), day("2026-03-03", &[None])],
                1.0 / 3.0,
            ),
            (
                vec![
                    day("2026-02-20", &[Some("08:00")]),
                    day("2026-02-21", &[Some("08:00")]),
                ],
                vec![day("2026-02-20", &[Some("08:00")])],
                0.5,
            ),
            (
                vec![day("2026-03-01", &[Some("14:00")])],
                vec![day("2026-03-01", &[None])],
                1.0,
            ),
            (
                vec![day("2026-03-01", &[None])],
                vec![day("2026-03-02", &[None])],
                0.0,
            ),
            (
                vec![day("2026-03-01", &[Some("14:00"), Some("20:00")])],
                vec![day("2026-03-01", &[Some("20:00")])],
                0.0,
            ),
            (vec![], vec![day("2026-03-01", &[None])], 0.0),
        ];
        for (a, b, want) in cases {
            assert!((score(&a, &b) - want).abs() < 1e-12, "{a:?} vs {b:?}");
            assert!((score(&b, &a) - want).abs() < 1e-12, "symmetry");
        }
    }

    #[test]
    fn best_time_pair_takes_the_closest_start() {
        let cfg = DateConfig {
            best_time_pair: true,
            ..Default::default()
        };
        let a = vec![day("2026-03-01", &[Some("14:00"), Some("20:00")])];
        let b = vec![day("2026-03-01", &[Some("20:00")])];
        assert_eq!(date_score(&a, &b, &cfg), 1.0);
    }

    #[test]
    fn far_and_gap_tiers_use_their_factors() {
        let cfg = DateConfig {
            far_factor: 0.05,
            time_gap_penalty_factor: 0.01,
            ..Default::default()
        };
        let f = |x: &str, y: &str| {
            time_factor(
                Some(NaiveTime::parse_from_str(x, "%H:%M").unwrap()),
                Some(NaiveTime::parse_from_str(y, "%H:%M").unwrap()),
                &cfg,
            )
        };
        assert_eq!(f("10:00", "11:45"), 0.05);
        assert_eq!(f("10:00", "12:01"), 0.01);
        assert_eq!(f("10:00", "10:30"), 1.0);
    }
}

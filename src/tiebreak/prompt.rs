//! The two chat messages sent for one pair (storage-and-api.md §9, "Prompt content"),
//! with the spec's notes applied: the *weighted* combined score is printed (not the
//! mean of the four signals), and a missing location part is an empty string, never
//! a null marker.
//!
//! Invariant: the text depends only on the two events and the pair's scores, so the
//! same pair always produces the same prompt.

use crate::matching::ScoredPair;
use crate::model::{EventDate, SourceEvent};

/// Longest description shown per event, in characters.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// Dates shown per event: enough to see an overlap, short enough to keep the
/// prompt (and its cost) small for long-running series.
const MAX_DATES: usize = 5;

/// The system message: the task and the domain knowledge the model needs.
pub const SYSTEM_MESSAGE: &str = "You are an expert deduplication system for German regional events. \
Decide whether two event records describe the same real-world event: the same gathering, at the same place, at the same time.\n\
Guidance:\n\
- Compound words and regional dialects describe the same thing differently: Fasnet, Fasching, Fastnacht and Karneval all mean carnival.\n\
- Records of source type 'artikel' have journalistic headlines; records of type 'terminliste' have formal event names.\n\
- One source may list a multi-day range, so dates can differ slightly.\n\
- Venue names vary: abbreviations, spelling, a missing street.\n\
- Description length and style vary: compare facts, not style.\n\
- Events at the same venue on the same day may still be different events: check the titles carefully.\n\
Answer only with the JSON object {\"decision\": \"same\" | \"different\", \"confidence\": number between 0 and 1, \"reasoning\": string}.";

/// The user message for the pair `(a, b)`.
pub fn user_message(a: &SourceEvent, b: &SourceEvent, pair: &ScoredPair) -> String {
    let mut out = String::from("Compare these two events.\n\n");
    out.push_str(&event_block("A", a));
    out.push('\n');
    out.push_str(&event_block("B", b));
    let s = &pair.scores;
    out.push_str(&format!(
        "\nDeterministic scoring context:\n\
         - Combined score: {:.2}\n\
         - Date score: {:.2}\n\
         - Geo score: {:.2}\n\
         - Title score: {:.2}\n\
         - Description score: {:.2}\n\
         These scores put the pair between the auto-match and auto-reject thresholds.\n\n\
         Are these two records the same real-world event?",
        pair.combined, s.date, s.geo, s.title, s.description
    ));
    out
}

fn event_block(label: &str, e: &SourceEvent) -> String {
    let description = e
        .description
        .as_deref()
        .filter(|d| !d.is_empty())
        .or(e.short_description.as_deref().filter(|d| !d.is_empty()))
        .map(truncate)
        .unwrap_or_else(|| "N/A".to_string());
    let dates: Vec<String> = e.dates.iter().take(MAX_DATES).map(format_date).collect();
    let dates = if dates.is_empty() {
        "N/A".to_string()
    } else {
        dates.join("; ")
    };
    let categories = e.categories.as_deref().unwrap_or_default().join(", ");
    format!(
        "Event {label} (id {}, source {}, type {}):\n\
         Title: {}\n\
         Description: {description}\n\
         Location: {}, {}\n\
         Dates: {dates}\n\
         Categories: {categories}\n",
        e.id,
        e.source_code,
        e.source_type,
        e.title,
        e.location_name.as_deref().unwrap_or(""),
        e.location_city.as_deref().unwrap_or(""),
    )
}

/// First 497 characters plus `...` when longer than 500 characters.
fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_DESCRIPTION_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_DESCRIPTION_CHARS - 3).collect();
    cut.push_str("...");
    cut
}

/// `date[ start][-end][ to end_date]`.
fn format_date(d: &EventDate) -> String {
    let mut s = d.date.to_string();
    if let Some(t) = d.start_time {
        s.push_str(&format!(" {}", t.format("%H:%M")));
    }
    if let Some(t) = d.end_time {
        s.push_str(&format!("-{}", t.format("%H:%M")));
    }
    if let Some(end) = d.end_date {
        s.push_str(&format!(" to {end}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};

    #[test]
    fn long_descriptions_are_cut_and_missing_parts_are_empty() {
        let e = SourceEvent {
            id: "x-1".into(),
            title: "Fasnetsumzug".into(),
            description: Some("ä".repeat(600)),
            location_city: Some("Waldkirch".into()),
            dates: vec![EventDate {
                date: NaiveDate::from_ymd_opt(2026, 2, 14).unwrap(),
                start_time: NaiveTime::from_hms_opt(14, 0, 0),
                end_time: None,
                end_date: NaiveDate::from_ymd_opt(2026, 2, 15),
            }],
            ..SourceEvent::default()
        };
        let block = event_block("A", &e);
        let desc = block
            .lines()
            .find(|l| l.starts_with("Description: "))
            .unwrap();
        assert_eq!(desc.chars().count(), "Description: ".len() + 500);
        assert!(desc.ends_with("..."));
        assert!(block.contains("Location: , Waldkirch\n"), "{block}");
        assert!(
            block.contains("Dates: 2026-02-14 14:00 to 2026-02-15\n"),
            "{block}"
        );
        assert!(!block.contains("None"));
    }
}

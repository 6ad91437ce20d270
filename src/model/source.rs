//! A source event: one listing of one source document, validated and flattened.
//!
//! The field set mirrors the `source_events` table of the storage spec so the same
//! value can be produced by file ingestion, loaded from PostgreSQL, or fed to the
//! pure matching pipeline. Strings are stored exactly as given (never trimmed);
//! `location_city` is the *derived* city (`_sanitizeResult.city` when non-empty,
//! else `location.city`).

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

/// One occurrence of an event. Times are rendered `HH:MM:SS` downstream.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventDate {
    pub date: NaiveDate,
    pub start_time: Option<NaiveTime>,
    pub end_time: Option<NaiveTime>,
    /// Marks a multi-day range starting at `date`.
    pub end_date: Option<NaiveDate>,
}

/// A validated listing. See `input-format.md` §3 for each field's meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SourceEvent {
    pub id: String,
    /// File name up to the first `_` (the whole name when there is none).
    pub source_code: String,
    pub source_type: String,
    pub title: String,
    pub short_description: Option<String>,
    pub description: Option<String>,
    pub highlights: Option<Vec<String>>,
    /// Date entries in input order (duplicates allowed: separate occurrences).
    pub dates: Vec<EventDate>,
    pub location_name: Option<String>,
    /// Derived city: sanitizer's city when non-empty, else the printed city.
    pub location_city: Option<String>,
    pub location_district: Option<String>,
    pub location_street: Option<String>,
    pub location_street_no: Option<String>,
    pub location_zipcode: Option<String>,
    pub geo_latitude: Option<f64>,
    pub geo_longitude: Option<f64>,
    pub geo_confidence: Option<f64>,
    pub geo_country: Option<String>,
    pub categories: Option<Vec<String>>,
    pub is_family_event: Option<bool>,
    pub is_child_focused: Option<bool>,
    pub admission_free: Option<bool>,
    pub registration_required: Option<bool>,
    pub registration_contact: Option<String>,
    pub confidence_score: Option<f64>,
    pub batch_index: Option<i64>,
    pub extracted_at: Option<String>,
}

impl Default for EventDate {
    fn default() -> Self {
        EventDate {
            date: NaiveDate::MIN,
            start_time: None,
            end_time: None,
            end_date: None,
        }
    }
}

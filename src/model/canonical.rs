//! The canonical event: one synthesized record per cluster of source listings.
//!
//! Invariant: `source_event_ids` is sorted (code-point order) and `field_provenance`
//! has exactly the 15 keys of `matching.md` §7.2, each a member id or
//! `"union_all_sources"`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::source::EventDate;

/// Which member each canonical field came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FieldProvenance {
    pub title: String,
    pub short_description: String,
    pub description: String,
    pub highlights: String,
    pub location_name: String,
    pub location_city: String,
    pub location_district: String,
    pub location_street: String,
    pub location_zipcode: String,
    pub geo: String,
    pub dates: String,
    pub categories: String,
    pub is_family_event: String,
    pub is_child_focused: String,
    pub admission_free: String,
}

/// A synthesized event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanonicalEvent {
    pub title: String,
    pub short_description: Option<String>,
    pub description: Option<String>,
    pub highlights: Vec<String>,
    pub location_name: Option<String>,
    pub location_city: Option<String>,
    pub location_district: Option<String>,
    pub location_street: Option<String>,
    pub location_zipcode: Option<String>,
    pub geo_latitude: Option<f64>,
    pub geo_longitude: Option<f64>,
    pub geo_confidence: Option<f64>,
    pub dates: Vec<EventDate>,
    pub first_date: Option<NaiveDate>,
    pub last_date: Option<NaiveDate>,
    pub categories: Vec<String>,
    pub is_family_event: bool,
    pub is_child_focused: bool,
    pub admission_free: bool,
    pub field_provenance: FieldProvenance,
    pub source_count: usize,
    pub match_confidence: Option<f64>,
    pub needs_review: bool,
    /// Why the cluster was flagged (size, internal_similarity, date_spread, …).
    pub review_reason: Option<String>,
    pub ai_assisted: bool,
    pub source_event_ids: Vec<String>,
}

//! The canonical event: one synthesized record per cluster of source listings.
//!
//! Invariant: `source_event_ids` is sorted (code-point order) and `field_provenance`
//! has exactly the 15 keys of `matching.md` §7.2, each a member id or
//! `"union_all_sources"`.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::source::EventDate;

/// Which member each canonical field came from.
///
/// Values are shared (`Arc<str>`): the 15 fields name at most a few distinct members,
/// and a run holds one of these per canonical event (hundreds of thousands).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FieldProvenance {
    pub title: Arc<str>,
    pub short_description: Arc<str>,
    pub description: Arc<str>,
    pub highlights: Arc<str>,
    pub location_name: Arc<str>,
    pub location_city: Arc<str>,
    pub location_district: Arc<str>,
    pub location_street: Arc<str>,
    pub location_zipcode: Arc<str>,
    pub geo: Arc<str>,
    pub dates: Arc<str>,
    pub categories: Arc<str>,
    pub is_family_event: Arc<str>,
    pub is_child_focused: Arc<str>,
    pub admission_free: Arc<str>,
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

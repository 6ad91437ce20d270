//! The matching configuration (`matching.md` §8): every parameter with its default.
//!
//! Precedence: built-in defaults ← config file ← runtime overrides. The built-in
//! defaults *equal* the shipped `config/matching.toml` (including the cross-source title
//! block and the category overrides), so no feature silently switches off when the
//! file is not read. A file may contain only the keys it changes; unknown keys are
//! errors, so a typo never goes unnoticed. The layering itself (and the stored
//! overrides that no longer validate) is [`layered`], in `layers.rs`.

mod layers;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use crate::model::Weights;

pub use layers::{deep_merge, layered, with_overrides, ConfigSource, Layered};
pub use validate::{ConfigProblem, Severity};

/// Why a matching config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read matching config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid matching config {path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid matching config {path}: {}", format_problems(problems))]
    Invalid {
        path: String,
        problems: Vec<ConfigProblem>,
    },
}

fn format_problems(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchingConfig {
    pub scoring: Weights,
    pub thresholds: Thresholds,
    pub geo: GeoConfig,
    pub date: DateConfig,
    pub title: TitleConfig,
    pub description: DescriptionConfig,
    pub cluster: ClusterConfig,
    pub canonical: CanonicalConfig,
    pub category_weights: CategoryWeights,
    pub blocking: BlockingConfig,
    pub ai: AiConfig,
    pub model: ModelConfig,
}

/// How a pair's decision is reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    pub method: ScoringMethod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScoringMethod {
    /// The learned, calibrated model (`config/model.json` or the model file setting):
    /// `combined` is the match probability, decided on the model's thresholds.
    #[default]
    Learned,
    /// The spec's hand-set weighted sum of the four signals with `[thresholds]` and the
    /// title veto (`matching.md` §5).
    WeightedSum,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// combined ≥ high → match.
    pub high: f64,
    /// combined ≤ low → no_match.
    pub low: f64,
    /// A title score below this caps a would-be match at ambiguous; 0 disables.
    pub title_veto: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeoConfig {
    pub max_distance_km: f64,
    pub min_confidence: f64,
    pub neutral_score: f64,
    pub venue_match_distance_km: f64,
    pub venue_mismatch_factor: f64,
    /// When coordinates are missing or untrusted on either side, leave the geo signal
    /// out of the combined score (its weight is shared by the other signals) instead
    /// of scoring it `neutral_score`: a town-centroid geocode is no evidence either
    /// way, and a fixed 0.5 drags true duplicates below the match threshold.
    pub untrusted_as_missing: bool,
    /// The region the sources cover. A geocode outside it is a geocoding error (a
    /// venue matched to a homonymous street far away, often with high confidence), so
    /// it is treated as missing: it must neither separate nor join listings.
    pub region: RegionBox,
}

/// A latitude/longitude box, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegionBox {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

impl RegionBox {
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        (self.min_lat..=self.max_lat).contains(&lat) && (self.min_lon..=self.max_lon).contains(&lon)
    }
}

impl Default for RegionBox {
    /// The blocking region of `preprocessing.md` §6.
    fn default() -> Self {
        use crate::preprocess::blocking::{LAT_RANGE, LON_RANGE};
        RegionBox {
            min_lat: LAT_RANGE.0,
            max_lat: LAT_RANGE.1,
            min_lon: LON_RANGE.0,
            max_lon: LON_RANGE.1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DateConfig {
    pub time_tolerance_minutes: u32,
    pub time_close_minutes: u32,
    pub close_factor: f64,
    pub far_factor: f64,
    pub time_gap_penalty_hours: f64,
    pub time_gap_penalty_factor: f64,
    /// Expand `date..end_date` ranges (up to 14 days) in blocking and the date score.
    pub expand_ranges: bool,
    /// Compare the best-matching pair of start times per shared date instead of only
    /// the first entry of each date (the spec's fragile rule).
    pub best_time_pair: bool,
}

/// Blend parameters of the title scorer (main block and cross-source block).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlendParams {
    pub primary_weight: f64,
    pub secondary_weight: f64,
    pub blend_lower: f64,
    pub blend_upper: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TitleCompareOn {
    Normalized,
    RawCasefold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DescriptionCompareOn {
    Normalized,
    Raw,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TitleConfig {
    pub primary_weight: f64,
    pub secondary_weight: f64,
    pub blend_lower: f64,
    pub blend_upper: f64,
    /// Parameters for artikel ↔ terminliste pairs; `false`/`null` disables.
    #[serde(deserialize_with = "optional_block")]
    pub cross_source_type: Option<BlendParams>,
    pub compare_on: TitleCompareOn,
}

impl TitleConfig {
    pub fn main_block(&self) -> BlendParams {
        BlendParams {
            primary_weight: self.primary_weight,
            secondary_weight: self.secondary_weight,
            blend_lower: self.blend_lower,
            blend_upper: self.blend_upper,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DescriptionConfig {
    pub compare_on: DescriptionCompareOn,
    /// Blend token_set into the description score like the title scorer does: an
    /// article's long text usually *contains* the facts of a calendar's terse one, which
    /// token_sort alone punishes for the length difference. `false` disables.
    #[serde(deserialize_with = "optional_block")]
    pub blend: Option<BlendParams>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    pub max_cluster_size: usize,
    pub min_internal_similarity: f64,
    /// Flag a cluster when it contains a pair decided `no_match` (a chaining symptom).
    pub flag_no_match_inside: bool,
    pub method: ClusterMethod,
    /// Conflict-aware only: two groups join only when the mean combined score of
    /// their cross pairs (compared pairs at their score, conflicting pairs at 0)
    /// reaches this.
    pub min_average_link: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClusterMethod {
    /// Match edges by descending score; a merge with a conflict or a weak average
    /// link is refused and the groups are flagged (stops chaining).
    #[default]
    ConflictAware,
    /// The spec's connected components of match edges (cannot-links still honoured).
    ConnectedComponents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StringStrategy {
    LongestNonGeneric,
    Longest,
    MostComplete,
    MostFrequent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListStrategy {
    Union,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeoStrategy {
    HighestConfidence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoolStrategy {
    AnyTrue,
}

/// Synthesis strategy per canonical field (`matching.md` §7.2). Typed, so a strategy
/// that does not fit the field's kind is rejected when the config is loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldStrategies {
    pub title: StringStrategy,
    pub short_description: StringStrategy,
    pub description: StringStrategy,
    pub highlights: ListStrategy,
    pub location_name: StringStrategy,
    pub location_city: StringStrategy,
    pub location_street: StringStrategy,
    pub geo: GeoStrategy,
    pub categories: ListStrategy,
    pub is_family_event: BoolStrategy,
    pub is_child_focused: BoolStrategy,
    pub admission_free: BoolStrategy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CanonicalConfig {
    pub field_strategies: FieldStrategies,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CategoryWeights {
    /// Override order: the first listed category shared by both events wins.
    pub priority: Vec<String>,
    pub overrides: BTreeMap<String, Weights>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlockingConfig {
    /// A block (events sharing one key) larger than this is split by distinctive title
    /// and venue tokens, and reported; 0 disables the guard.
    pub max_block_size: usize,
    /// What the `dc` key uses for the town: the normalized city (spec) or its stem
    /// (`kehl am rhein` → `kehl`, `lahr/schwarzwald` → `lahr`), so spelling variants
    /// of one town still meet.
    pub city_key: CityKey,
    /// Also pair listings of one municipality one day apart whose longest title word
    /// (5+ characters) is the same: a date printed one day off otherwise keeps true
    /// duplicates from ever being compared.
    pub title_day_keys: bool,
    /// A title-day block with more members than this is a generic word, not evidence,
    /// and is skipped whole (keeps pairs per event bounded).
    pub max_title_block_size: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CityKey {
    Normalized,
    Stem,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AiConfig {
    /// Off by default; also needs an API key (runtime config or environment).
    pub enabled: bool,
    pub model: String,
    pub temperature: f64,
    pub max_output_tokens: u32,
    pub max_concurrent_requests: u32,
    pub confidence_threshold: f64,
    pub min_combined_score: f64,
    pub max_combined_score: f64,
    pub cache_enabled: bool,
    pub cost_per_1m_input_tokens: f64,
    pub cost_per_1m_output_tokens: f64,
    /// A run never waits on the model longer than this (seconds): past it, pairs not
    /// yet answered stay ambiguous and the run completes.
    pub budget_seconds: f64,
    /// Limit of one HTTP request (seconds); a timeout is retried like a 5xx.
    pub request_timeout_seconds: f64,
}

fn optional_block<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BlendParams>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Block {
        Params(BlendParams),
        Flag(bool),
    }
    match Option::<Block>::deserialize(d)? {
        None | Some(Block::Flag(false)) => Ok(None),
        Some(Block::Params(p)) => Ok(Some(p)),
        Some(Block::Flag(true)) => Ok(Some(TitleConfig::default_cross_source())),
    }
}

impl TitleConfig {
    fn default_cross_source() -> BlendParams {
        BlendParams {
            primary_weight: 0.4,
            secondary_weight: 0.6,
            blend_lower: 0.25,
            blend_upper: 0.95,
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            high: 0.75,
            low: 0.35,
            title_veto: 0.45,
        }
    }
}

impl Default for GeoConfig {
    fn default() -> Self {
        GeoConfig {
            max_distance_km: 10.0,
            min_confidence: 0.85,
            neutral_score: 0.5,
            venue_match_distance_km: 1.0,
            venue_mismatch_factor: 0.5,
            untrusted_as_missing: true,
            region: RegionBox::default(),
        }
    }
}

impl Default for DateConfig {
    fn default() -> Self {
        DateConfig {
            time_tolerance_minutes: 30,
            time_close_minutes: 90,
            close_factor: 0.1,
            far_factor: 0.0,
            time_gap_penalty_hours: 2.0,
            time_gap_penalty_factor: 0.0,
            expand_ranges: true,
            best_time_pair: false,
        }
    }
}

impl Default for TitleConfig {
    fn default() -> Self {
        TitleConfig {
            primary_weight: 0.7,
            secondary_weight: 0.3,
            blend_lower: 0.40,
            blend_upper: 0.80,
            cross_source_type: Some(Self::default_cross_source()),
            compare_on: TitleCompareOn::Normalized,
        }
    }
}

impl Default for DescriptionConfig {
    fn default() -> Self {
        DescriptionConfig {
            compare_on: DescriptionCompareOn::Normalized,
            blend: Some(BlendParams {
                primary_weight: 0.5,
                secondary_weight: 0.5,
                blend_lower: 0.0,
                blend_upper: 1.0,
            }),
        }
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            max_cluster_size: 15,
            min_internal_similarity: 0.40,
            flag_no_match_inside: false,
            method: ClusterMethod::ConflictAware,
            min_average_link: 0.5,
        }
    }
}

impl Default for FieldStrategies {
    fn default() -> Self {
        use StringStrategy::*;
        FieldStrategies {
            title: LongestNonGeneric,
            short_description: Longest,
            description: Longest,
            highlights: ListStrategy::Union,
            location_name: MostComplete,
            location_city: MostFrequent,
            location_street: MostComplete,
            geo: GeoStrategy::HighestConfidence,
            categories: ListStrategy::Union,
            is_family_event: BoolStrategy::AnyTrue,
            is_child_focused: BoolStrategy::AnyTrue,
            admission_free: BoolStrategy::AnyTrue,
        }
    }
}

impl Default for CategoryWeights {
    fn default() -> Self {
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "fasnacht".to_string(),
            Weights {
                date: 0.30,
                geo: 0.30,
                title: 0.25,
                description: 0.15,
            },
        );
        overrides.insert(
            "versammlung".to_string(),
            Weights {
                date: 0.25,
                geo: 0.20,
                title: 0.40,
                description: 0.15,
            },
        );
        CategoryWeights {
            priority: vec!["fasnacht".to_string(), "versammlung".to_string()],
            overrides,
        }
    }
}

impl Default for BlockingConfig {
    fn default() -> Self {
        BlockingConfig {
            max_block_size: 200,
            city_key: CityKey::Stem,
            title_day_keys: true,
            max_title_block_size: 4,
        }
    }
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            enabled: false,
            model: "gpt-4o-mini".to_string(),
            temperature: 0.1,
            max_output_tokens: 2048,
            max_concurrent_requests: 5,
            confidence_threshold: 0.6,
            min_combined_score: 0.65,
            max_combined_score: 0.79,
            cache_enabled: true,
            cost_per_1m_input_tokens: 0.30,
            cost_per_1m_output_tokens: 2.50,
            budget_seconds: 120.0,
            request_timeout_seconds: 30.0,
        }
    }
}

impl Default for MatchingConfig {
    fn default() -> Self {
        MatchingConfig {
            scoring: Weights {
                date: 0.30,
                geo: 0.25,
                title: 0.30,
                description: 0.15,
            },
            thresholds: Thresholds::default(),
            geo: GeoConfig::default(),
            date: DateConfig::default(),
            title: TitleConfig::default(),
            description: DescriptionConfig::default(),
            cluster: ClusterConfig::default(),
            canonical: CanonicalConfig::default(),
            category_weights: CategoryWeights::default(),
            blocking: BlockingConfig::default(),
            ai: AiConfig::default(),
            model: ModelConfig::default(),
        }
    }
}

impl MatchingConfig {
    /// Parses a (possibly partial) TOML document over the built-in defaults and
    /// validates the result. `shown` names the source in messages.
    pub fn from_toml_str(text: &str, shown: &str) -> Result<Self, ConfigError> {
        let config: MatchingConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: shown.to_string(),
            message: e.to_string(),
        })?;
        config.validated(shown)
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Returns the config when it has no errors (warnings are allowed).
    pub fn validated(self, shown: &str) -> Result<Self, ConfigError> {
        let errors: Vec<ConfigProblem> = self
            .validate()
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .collect();
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(ConfigError::Invalid {
                path: shown.to_string(),
                problems: errors,
            })
        }
    }

    /// Every problem of this config (errors and warnings), each naming its key.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        validate::validate(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../config/matching.toml");

    #[test]
    fn shipped_file_equals_builtin_defaults() {
        let c = MatchingConfig::from_toml_str(SHIPPED, "config/matching.toml").unwrap();
        assert_eq!(c, MatchingConfig::default());
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c = MatchingConfig::from_toml_str(
            "[title]\nprimary_weight = 0.6\nsecondary_weight = 0.4\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.title.primary_weight, 0.6);
        assert_eq!(
            c.title.cross_source_type,
            MatchingConfig::default().title.cross_source_type
        );
        assert_eq!(c.thresholds, Thresholds::default());
    }

    #[test]
    fn cross_source_block_can_be_disabled() {
        let c = MatchingConfig::from_toml_str("[title]\ncross_source_type = false\n", "x").unwrap();
        assert_eq!(c.title.cross_source_type, None);
    }

    #[test]
    fn unknown_keys_and_bad_strategies_are_rejected_with_the_key() {
        let err =
            MatchingConfig::from_toml_str("[thresholds]\nhihg = 0.8\n", "f.toml").unwrap_err();
        assert!(err.to_string().contains("hihg"), "{err}");
        let err = MatchingConfig::from_toml_str(
            "[canonical.field_strategies]\ngeo = \"longest\"\n",
            "f.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("geo"), "{err}");
    }

    #[test]
    fn range_errors_name_keys() {
        let err = MatchingConfig::from_toml_str("[thresholds]\nlow = 0.8\n", "f.toml").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("thresholds.low") && msg.contains("f.toml"),
            "{msg}"
        );
    }
}

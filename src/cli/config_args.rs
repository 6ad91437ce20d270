//! Resolving the matching config and word lists of an offline command: file (or the
//! shipped default) plus `--set KEY=VALUE` overrides, validated as a whole.

use std::path::Path;

use anyhow::{bail, Context};

use super::MatchingArgs;
use crate::matching::learned::MatchModel;
use crate::matching::MatchingConfig;
use crate::preprocess::WordLists;

/// The shipped config file, used when it exists and no other file was given.
pub const DEFAULT_CONFIG_PATH: &str = "config/matching.toml";

pub fn load_config(args: &MatchingArgs) -> anyhow::Result<MatchingConfig> {
    let (text, shown) = match &args.config {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read matching config {}", path.display()))?,
            path.display().to_string(),
        ),
        None if Path::new(DEFAULT_CONFIG_PATH).is_file() => (
            std::fs::read_to_string(DEFAULT_CONFIG_PATH)
                .with_context(|| format!("cannot read {DEFAULT_CONFIG_PATH}"))?,
            DEFAULT_CONFIG_PATH.to_string(),
        ),
        None => (String::new(), "built-in defaults".to_string()),
    };
    let mut doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("invalid matching config {shown}"))?;
    for item in &args.overrides {
        apply_override(&mut doc, item)?;
    }
    let merged = toml::to_string(&doc)?;
    Ok(MatchingConfig::from_toml_str(&merged, &shown)?)
}

pub fn load_word_lists(args: &MatchingArgs) -> anyhow::Result<WordLists> {
    let lists = WordLists::load(
        args.prefixes.as_deref(),
        args.synonyms.as_deref(),
        args.city_aliases.as_deref(),
    )?;
    Ok(match &args.model {
        Some(path) => lists.with_model(Some(MatchModel::load(path)?)),
        None => lists,
    })
}

/// Sets a dotted key in a TOML table, creating intermediate tables.
fn apply_override(doc: &mut toml::Table, item: &str) -> anyhow::Result<()> {
    let Some((key, raw)) = item.split_once('=') else {
        bail!("--set expects KEY=VALUE, got {item:?}");
    };
    let value = parse_value(raw.trim());
    let parts: Vec<&str> = key.trim().split('.').collect();
    let Some((last, parents)) = parts.split_last() else {
        bail!("--set has an empty key: {item:?}");
    };
    let mut table = doc;
    for part in parents {
        let entry = table
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = match entry {
            toml::Value::Table(t) => t,
            _ => bail!("--set {key}: {part} is not a table"),
        };
    }
    table.insert(last.to_string(), value);
    Ok(())
}

fn parse_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(overrides: &[&str]) -> MatchingArgs {
        MatchingArgs {
            config: None,
            overrides: overrides.iter().map(|s| s.to_string()).collect(),
            prefixes: None,
            synonyms: None,
            city_aliases: None,
            model: None,
        }
    }

    #[test]
    fn overrides_apply_and_are_validated() {
        let c = load_config(&args(&[
            "title.compare_on=raw_casefold",
            "thresholds.high=0.8",
            "date.expand_ranges=true",
        ]))
        .unwrap();
        assert_eq!(
            c.title.compare_on,
            crate::matching::config::TitleCompareOn::RawCasefold
        );
        assert_eq!(c.thresholds.high, 0.8);
        assert!(c.date.expand_ranges);
        let err = load_config(&args(&["thresholds.low=0.9"])).unwrap_err();
        assert!(format!("{err:#}").contains("thresholds.low"));
        assert!(load_config(&args(&["nonsense"])).is_err());
        assert!(load_config(&args(&["thresholds.bogus=1"])).is_err());
    }
}

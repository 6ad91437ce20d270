//! Pair decisions (`match_decisions`): the run's candidate pairs written by diff, and
//! the reads of the API (a group's decisions, the dashboard's counts).
//!
//! Invariant: `match_decisions` always equals the last run's candidate pairs; an
//! unchanged decision keeps its row (see [`write_decisions`]).

use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, ToSql, Type};
use tokio_postgres::{GenericClient, Row, Transaction};

use super::bulk_keys::{KeyCheck, References};
use super::error::StoreError;
use super::events::get;
use crate::matching::pipeline::PipelineResult;
use crate::model::{PairDecision, Tier};

const DECISION_TYPES: &[Type] = &[
    Type::TEXT,
    Type::TEXT,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::TEXT,
    Type::TEXT,
    Type::JSONB,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::FLOAT8,
];

/// Columns that make up a decision's content (everything but identity and run).
const DECISION_CONTENT: &str = "combined_score, date_score, geo_score, title_score, \
     description_score, decision, tier, weights, weight_source, rule, ai_reasoning, \
     ai_confidence";

/// [`DECISION_CONTENT`] qualified by a table alias (`i.combined_score, i.date_score, …`).
fn decision_content(alias: &str) -> String {
    DECISION_CONTENT
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Brings `match_decisions` to this run's pairs by diff; returns the rows written
/// (inserted: new pairs and pairs whose content changed). Onto an empty table (the
/// first run over a burst) every pair is new: the decisions are then copied straight
/// into it, without staging and comparing them. The caller holds the canonical-state
/// lock, which every writer of this table takes, so the table cannot fill meanwhile.
/// That copy may be key-checked in bulk (`keys`); the caller verifies before commit.
pub async fn write_decisions(
    tx: &Transaction<'_>,
    keys: &mut KeyCheck,
    result: &PipelineResult,
    run_row_id: i64,
) -> Result<u64, StoreError> {
    let decisions = result.pairs.iter().map(|p| result.explain(p));
    if is_empty(tx).await? {
        let id = |i: u32| result.events[i as usize].id.as_str();
        let refs = |r: &mut References| {
            r.stored_sources(result.pairs.iter().flat_map(|p| [id(p.a), id(p.b)]));
        };
        let copy = copy_decisions(tx, "match_decisions", Some(run_row_id), decisions);
        return keys.copy(tx, result.pairs.len(), refs, copy).await;
    }
    stage_decisions(tx, decisions).await?;
    // A row whose pair is gone or whose content differs in any column goes...
    tx.execute(
        &format!(
            "DELETE FROM match_decisions d
             WHERE NOT EXISTS (
                 SELECT 1 FROM incoming_decisions i
                 WHERE i.source_event_id_a = d.source_event_id_a
                   AND i.source_event_id_b = d.source_event_id_b
                   AND ({}) IS NOT DISTINCT FROM ({}))",
            decision_content("i"),
            decision_content("d"),
        ),
        &[],
    )
    .await?;
    // ...and every pair without a row (new, or just deleted as changed) is inserted.
    insert_staged(tx, run_row_id).await
}

/// Applies an incremental run's decision diff: `upserts` (added and changed pairs)
/// replace their rows where the content differs or insert them, `removed` pairs are
/// deleted; every other row is neither read nor written. The rows end as
/// [`write_decisions`] of the equivalent full run leaves them (an unchanged content
/// keeps its row). Returns the rows written.
pub async fn write_decision_diff(
    tx: &Transaction<'_>,
    upserts: &[PairDecision],
    removed: &[(String, String)],
    run_row_id: i64,
) -> Result<u64, StoreError> {
    if !removed.is_empty() {
        let (a, b): (Vec<&str>, Vec<&str>) = removed
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .unzip();
        tx.execute(
            "DELETE FROM match_decisions d
             USING unnest($1::text[], $2::text[]) AS r(a, b)
             WHERE d.source_event_id_a = r.a COLLATE \"C\"
               AND d.source_event_id_b = r.b COLLATE \"C\"",
            &[&a, &b],
        )
        .await?;
    }
    if upserts.is_empty() {
        return Ok(0);
    }
    stage_decisions(tx, upserts.iter().cloned()).await?;
    tx.execute(
        &format!(
            "DELETE FROM match_decisions d USING incoming_decisions i
             WHERE i.source_event_id_a = d.source_event_id_a
               AND i.source_event_id_b = d.source_event_id_b
               AND ({}) IS DISTINCT FROM ({})",
            decision_content("i"),
            decision_content("d"),
        ),
        &[],
    )
    .await?;
    insert_staged(tx, run_row_id).await
}

/// Creates `incoming_decisions` (dropped at commit) and bulk-copies `decisions` into it.
async fn stage_decisions(
    tx: &Transaction<'_>,
    decisions: impl Iterator<Item = PairDecision>,
) -> Result<u64, StoreError> {
    tx.batch_execute(
        "CREATE TEMPORARY TABLE incoming_decisions (
             source_event_id_a text COLLATE \"C\" NOT NULL,
             source_event_id_b text COLLATE \"C\" NOT NULL,
             combined_score double precision NOT NULL,
             date_score double precision NOT NULL,
             geo_score double precision NOT NULL,
             title_score double precision NOT NULL,
             description_score double precision NOT NULL,
             decision text NOT NULL,
             tier text NOT NULL,
             weights jsonb NOT NULL,
             weight_source text NULL,
             rule text NOT NULL,
             ai_reasoning text NULL,
             ai_confidence double precision NULL
         ) ON COMMIT DROP",
    )
    .await?;
    let copied = copy_decisions(tx, "incoming_decisions", None, decisions).await?;
    tx.batch_execute("ANALYZE incoming_decisions").await?;
    Ok(copied)
}

/// Whether `match_decisions` holds no row.
async fn is_empty(tx: &Transaction<'_>) -> Result<bool, StoreError> {
    let row = tx
        .query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM match_decisions) AS empty",
            &[],
        )
        .await?;
    get(&row, "empty")
}

/// Inserts every staged pair that has no row (new, or just deleted as changed).
async fn insert_staged(tx: &Transaction<'_>, run_row_id: i64) -> Result<u64, StoreError> {
    Ok(tx
        .execute(
            &format!(
                "INSERT INTO match_decisions (source_event_id_a, source_event_id_b,
                     {DECISION_CONTENT}, processing_run_id)
                 SELECT i.source_event_id_a, i.source_event_id_b, {i_cols}, $1
                 FROM incoming_decisions i
                 WHERE NOT EXISTS (
                     SELECT 1 FROM match_decisions d
                     WHERE d.source_event_id_a = i.source_event_id_a
                       AND d.source_event_id_b = i.source_event_id_b)",
                i_cols = decision_content("i"),
            ),
            &[&run_row_id],
        )
        .await?)
}

/// Bulk-copies decisions with their explanations into `table` (`incoming_decisions`,
/// or `match_decisions` itself when every pair is new), with `processing_run_id` when
/// `run_row_id` is given; returns the rows copied.
async fn copy_decisions(
    tx: &Transaction<'_>,
    table: &str,
    run_row_id: Option<i64>,
    decisions: impl Iterator<Item = PairDecision>,
) -> Result<u64, StoreError> {
    let mut types = DECISION_TYPES.to_vec();
    let run_column = match run_row_id {
        Some(_) => {
            types.push(Type::INT8);
            ", processing_run_id"
        }
        None => "",
    };
    let sink = tx
        .copy_in(&format!(
            "COPY {table} (source_event_id_a, source_event_id_b, {DECISION_CONTENT}{run_column})
             FROM STDIN BINARY"
        ))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for d in decisions {
        let weights = Json(&d.weights);
        let ai_reasoning = d.ai.as_ref().map(|n| n.reasoning.as_str());
        let ai_confidence = d.ai.as_ref().map(|n| n.confidence);
        let row: [&(dyn ToSql + Sync); 15] = [
            &d.id_a,
            &d.id_b,
            &d.combined,
            &d.scores.date,
            &d.scores.geo,
            &d.scores.title,
            &d.scores.description,
            &d.decision.as_str(),
            &tier_str(d.tier),
            &weights,
            &d.weight_source,
            &d.rule.as_str(),
            &ai_reasoning,
            &ai_confidence,
            &run_row_id,
        ];
        writer.as_mut().write(&row[..types.len()]).await?;
    }
    Ok(writer.finish().await?)
}

/// Column value of a tier (the `tier` CHECK constraint lists the same names).
pub fn tier_str(t: Tier) -> &'static str {
    match t {
        Tier::Deterministic => "deterministic",
        Tier::Ai => "ai",
        Tier::AiLowConfidence => "ai_low_confidence",
        Tier::AiUnexpected => "ai_unexpected",
    }
}

/// Every stored decision whose two events are both members of the canonical, in
/// pair order.
pub async fn decisions_within(
    client: &impl GenericClient,
    canonical_id: i32,
) -> Result<Vec<Row>, StoreError> {
    Ok(client
        .query(
            "SELECT d.* FROM match_decisions d
             WHERE d.source_event_id_a IN
                     (SELECT source_event_id FROM canonical_event_sources WHERE canonical_event_id = $1)
               AND d.source_event_id_b IN
                     (SELECT source_event_id FROM canonical_event_sources WHERE canonical_event_id = $1)
             ORDER BY d.source_event_id_a, d.source_event_id_b",
            &[&canonical_id],
        )
        .await?)
}

/// How many stored decisions are `match`, `no_match` and `ambiguous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionCounts {
    pub matches: i64,
    pub no_match: i64,
    pub ambiguous: i64,
}

/// The stored decisions counted by outcome (the dashboard's figures).
pub async fn decision_counts(client: &impl GenericClient) -> Result<DecisionCounts, StoreError> {
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE decision = 'match') AS m,
                    count(*) FILTER (WHERE decision = 'no_match') AS n,
                    count(*) FILTER (WHERE decision = 'ambiguous') AS a
             FROM match_decisions",
            &[],
        )
        .await?;
    Ok(DecisionCounts {
        matches: get(&row, "m")?,
        no_match: get(&row, "n")?,
        ambiguous: get(&row, "a")?,
    })
}

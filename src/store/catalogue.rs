//! The canonical catalogue as reviewers read it: the filtered, sorted list of
//! canonical summaries (`GET /api/canonical-events`), the distinct categories and
//! cities, and summaries by id.
//!
//! Folded search: the API folds the typed text with the matcher's own
//! `preprocess::normalize` (umlauts, ß, dialect synonyms) and splits it into words;
//! a canonical matches when one of its member source events holds every word, in any
//! order, in the normalized title, venue or city that ingestion stored with it (the
//! same function wrote those columns). No folding rule is repeated in SQL: the
//! database only compares already folded strings. The raw text still matches the
//! canonical title case-insensitively (a stripped title prefix is searchable too).
//!
//! Invariants: every user value is a bound parameter; only whitelisted sort
//! expressions are interpolated; `id` is the last sort key, so pages are stable.
//! Title and city sort with the ICU `german` collation (migration V4).

use chrono::NaiveDate;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::error::StoreError;
use super::events::get;

/// Columns of a canonical summary row (alias `c`).
pub const SUMMARY_COLUMNS: &str =
    "c.id, c.title, c.location_city, c.dates, c.categories, c.source_count, \
     c.match_confidence, c.needs_review, c.ai_assisted, c.first_date, c.last_date";

/// Sort keys of the catalogue (unknown keys sort by title).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Title,
    City,
    Date,
    Categories,
    SourceCount,
    Confidence,
    Review,
}

impl SortKey {
    pub fn parse(key: &str) -> SortKey {
        match key {
            "city" => SortKey::City,
            "date" => SortKey::Date,
            "categories" => SortKey::Categories,
            "source_count" => SortKey::SourceCount,
            "confidence" => SortKey::Confidence,
            "review" => SortKey::Review,
            _ => SortKey::Title,
        }
    }

    fn expression(self) -> &'static str {
        match self {
            SortKey::Title => "c.title COLLATE german",
            SortKey::City => "c.location_city COLLATE german",
            SortKey::Date => "c.first_date",
            SortKey::Categories => "c.categories::text",
            SortKey::SourceCount => "c.source_count",
            SortKey::Confidence => "c.match_confidence",
            SortKey::Review => "c.needs_review",
        }
    }
}

/// A title search: what was typed, and its folded words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Search {
    pub raw: String,
    pub folded_words: Vec<String>,
}

/// Filters, sort and page of the catalogue list.
#[derive(Debug, Clone, Default)]
pub struct CatalogueQuery {
    pub search: Option<Search>,
    pub cities: Vec<String>,
    /// One set per chosen category: a canonical must hold one category of every set
    /// (a set is a category and its synonym spellings).
    pub category_sets: Vec<Vec<String>>,
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
    pub review: Option<bool>,
    pub min_sources: Option<i32>,
    pub sort: SortKey,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Escapes `\`, `%` and `_` so a user's text is matched literally by `LIKE`.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for ch in text.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

type Param = Box<dyn ToSql + Sync + Send>;

fn bind(params: &mut Vec<Param>, v: Param) -> String {
    params.push(v);
    format!("${}", params.len())
}

/// The `WHERE` clause of a query and its parameters.
fn filter(q: &CatalogueQuery) -> (String, Vec<Param>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    if let Some(search) = &q.search {
        let raw = bind(
            &mut params,
            Box::new(format!("%{}%", escape_like(&search.raw))),
        );
        let folded = if search.folded_words.is_empty() {
            String::new()
        } else {
            let words: Vec<String> = search
                .folded_words
                .iter()
                .map(|w| format!("%{}%", escape_like(w)))
                .collect();
            let n = bind(&mut params, Box::new(words));
            // LIKE's default escape character is the backslash.
            format!(
                " OR EXISTS (SELECT 1 FROM canonical_event_sources m
                    JOIN source_events s ON s.id = m.source_event_id
                    WHERE m.canonical_event_id = c.id
                      AND concat_ws(' ', s.title_normalized, s.location_name_normalized,
                                    s.location_city_normalized) LIKE ALL ({n}::text[]))"
            )
        };
        clauses.push(format!("(c.title ILIKE {raw} ESCAPE '\\'{folded})"));
    }
    if !q.cities.is_empty() {
        let n = bind(&mut params, Box::new(q.cities.clone()));
        clauses.push(format!(
            "lower(c.location_city) IN (SELECT lower(x) FROM unnest({n}::text[]) AS x)"
        ));
    }
    for set in &q.category_sets {
        let n = bind(&mut params, Box::new(set.clone()));
        clauses.push(format!(
            "jsonb_typeof(c.categories) = 'array' AND c.categories ?| {n}::text[]"
        ));
    }
    // Overlap semantics: the event has a day inside [date_from, date_to].
    if let Some(from) = q.date_from {
        let n = bind(&mut params, Box::new(from));
        clauses.push(format!("c.last_date >= {n}"));
    }
    if let Some(to) = q.date_to {
        let n = bind(&mut params, Box::new(to));
        clauses.push(format!("c.first_date <= {n}"));
    }
    if let Some(review) = q.review {
        let n = bind(&mut params, Box::new(review));
        clauses.push(format!("c.needs_review = {n}"));
    }
    if let Some(min) = q.min_sources {
        let n = bind(&mut params, Box::new(min));
        clauses.push(format!("c.source_count >= {n}"));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, params)
}

/// One page of canonical summaries ([`SUMMARY_COLUMNS`]) and the total count.
pub async fn list_canonicals(
    client: &impl GenericClient,
    q: &CatalogueQuery,
) -> Result<(i64, Vec<Row>), StoreError> {
    let (filter, params) = filter(q);
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|b| b.as_ref() as _).collect();
    let total: i64 = get(
        &client
            .query_one(
                &format!("SELECT count(*) AS n FROM canonical_events c {filter}"),
                &refs,
            )
            .await?,
        "n",
    )?;
    let direction = if q.descending {
        "DESC NULLS LAST"
    } else {
        "ASC NULLS FIRST"
    };
    let mut page_refs = refs.clone();
    page_refs.push(&q.limit);
    page_refs.push(&q.offset);
    let n = refs.len();
    let rows = client
        .query(
            &format!(
                "SELECT {SUMMARY_COLUMNS} FROM canonical_events c {filter}
                 ORDER BY {} {direction}, c.id ASC LIMIT ${} OFFSET ${}",
                q.sort.expression(),
                n + 1,
                n + 2
            ),
            &page_refs,
        )
        .await?;
    Ok((total, rows))
}

/// Summaries of the given canonicals (unknown ids skipped), in id order.
pub async fn canonical_summaries(
    client: &impl GenericClient,
    ids: &[i32],
) -> Result<Vec<Row>, StoreError> {
    Ok(client
        .query(
            &format!(
                "SELECT {SUMMARY_COLUMNS} FROM canonical_events c WHERE c.id = ANY($1) ORDER BY c.id"
            ),
            &[&ids],
        )
        .await?)
}

/// Distinct category strings of the catalogue, in code-point order.
pub async fn distinct_categories(client: &impl GenericClient) -> Result<Vec<String>, StoreError> {
    let rows = client
        .query(
            "SELECT DISTINCT x FROM canonical_events c,
                    jsonb_array_elements_text(
                        CASE WHEN jsonb_typeof(c.categories) = 'array'
                             THEN c.categories ELSE '[]'::jsonb END) AS x
             ORDER BY x",
            &[],
        )
        .await?;
    rows.iter().map(|r| get(r, "x")).collect()
}

/// Distinct non-null cities of the catalogue, in German order.
pub async fn distinct_cities(client: &impl GenericClient) -> Result<Vec<String>, StoreError> {
    let rows = client
        .query(
            "SELECT DISTINCT location_city COLLATE german AS city FROM canonical_events
             WHERE location_city IS NOT NULL ORDER BY 1",
            &[],
        )
        .await?;
    rows.iter().map(|r| get(r, "city")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    #[test]
    fn unknown_sort_falls_back_to_title() {
        assert_eq!(SortKey::parse("nope; DROP TABLE x"), SortKey::Title);
    }

    #[test]
    fn every_folded_word_and_category_set_is_a_bound_parameter() {
        let q = CatalogueQuery {
            search: Some(Search {
                raw: "Fasent Willstätt".into(),
                folded_words: vec!["fastnacht".into(), "willstaett".into()],
            }),
            category_sets: vec![
                vec!["fasching".into(), "karneval".into()],
                vec!["musik".into()],
            ],
            ..CatalogueQuery::default()
        };
        let (sql, params) = filter(&q);
        assert_eq!(params.len(), 4, "{sql}");
        assert!(
            !sql.contains("fastnacht") && !sql.contains("Willst"),
            "{sql}"
        );
        assert_eq!(sql.matches("?|").count(), 2, "{sql}");
    }
}

/// Everything the detail view of one canonical shows: its row, its member source
/// rows (id order), their dates (event, position order) and the decisions between
/// members. `None` when there is no such canonical.
pub struct CanonicalDetail {
    pub canonical: Row,
    pub sources: Vec<Row>,
    pub dates: Vec<Row>,
    pub decisions: Vec<Row>,
}

/// The rows of [`CanonicalDetail`].
pub async fn canonical_detail(
    client: &impl GenericClient,
    id: i32,
) -> Result<Option<CanonicalDetail>, StoreError> {
    let Some(canonical) = client
        .query_opt("SELECT * FROM canonical_events WHERE id = $1", &[&id])
        .await?
    else {
        return Ok(None);
    };
    let sources = client
        .query(
            "SELECT s.* FROM source_events s
             JOIN canonical_event_sources m ON m.source_event_id = s.id
             WHERE m.canonical_event_id = $1 ORDER BY s.id",
            &[&id],
        )
        .await?;
    let dates = client
        .query(
            "SELECT d.event_id, d.date, d.start_time, d.end_time, d.end_date
             FROM event_dates d
             JOIN canonical_event_sources m ON m.source_event_id = d.event_id
             WHERE m.canonical_event_id = $1 ORDER BY d.event_id, d.position",
            &[&id],
        )
        .await?;
    let decisions = super::decisions::decisions_within(client, id).await?;
    Ok(Some(CanonicalDetail {
        canonical,
        sources,
        dates,
        decisions,
    }))
}

/// Canonical rows with their sorted member ids (`members`), created and/or modified
/// after the bounds, in id order (the export).
pub async fn export_rows(
    client: &impl GenericClient,
    created_after: Option<chrono::DateTime<chrono::Utc>>,
    modified_after: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<Row>, StoreError> {
    Ok(client
        .query(
            "SELECT c.*,
                    (SELECT array_agg(m.source_event_id ORDER BY m.source_event_id)
                     FROM canonical_event_sources m WHERE m.canonical_event_id = c.id) AS members
             FROM canonical_events c
             WHERE ($1::timestamptz IS NULL OR c.created_at >= $1)
               AND ($2::timestamptz IS NULL OR c.updated_at >= $2)
             ORDER BY c.id",
            &[&created_after, &modified_after],
        )
        .await?)
}

/// The dashboard's canonical figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CanonicalCounts {
    pub total: i64,
    pub needs_review: i64,
    /// Rounded to 4 decimals; `None` without a confidence.
    pub avg_confidence: Option<f64>,
}

/// Counts canonicals, flagged ones, and their mean confidence.
pub async fn canonical_counts(client: &impl GenericClient) -> Result<CanonicalCounts, StoreError> {
    let row = client
        .query_one(
            "SELECT count(*) AS total,
                    count(*) FILTER (WHERE needs_review) AS needs_review,
                    round(avg(match_confidence)::numeric, 4)::float8 AS avg_confidence
             FROM canonical_events",
            &[],
        )
        .await?;
    Ok(CanonicalCounts {
        total: get(&row, "total")?,
        needs_review: get(&row, "needs_review")?,
        avg_confidence: get(&row, "avg_confidence")?,
    })
}

/// Names and queries of the stored figures `/metrics` reports at scrape time.
const STORED_FIGURES: [(&str, &str); 5] = [
    ("source_events", "SELECT count(*) FROM source_events"),
    ("canonical_events", "SELECT count(*) FROM canonical_events"),
    (
        "needs_review",
        "SELECT count(*) FROM canonical_events WHERE needs_review",
    ),
    (
        "files_completed",
        "SELECT count(*) FROM file_ingestions WHERE status = 'completed'",
    ),
    (
        "files_failed",
        "SELECT count(*) FROM file_ingestions WHERE status = 'failed'",
    ),
];

/// The stored figures (`(name, count)` in a fixed order) that `/metrics` reports.
pub async fn stored_figures(
    client: &impl GenericClient,
) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let mut figures = Vec::with_capacity(STORED_FIGURES.len());
    for (what, sql) in STORED_FIGURES {
        let row = client.query_one(sql, &[]).await?;
        let count: i64 = row
            .try_get(0)
            .map_err(|e| StoreError::Decode(format!("{what}: {e}")))?;
        figures.push((what, count));
    }
    Ok(figures)
}

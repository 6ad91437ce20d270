//! `POST /api/export` (storage-and-api.md §10): canonical events in input-file shape,
//! one JSON document per 200 events; one part → JSON, several → a deflate ZIP.
//!
//! Invariant (the spec's note): every exported event carries `"id": "canonical-<id>"`,
//! `"source_type": "canonical"` and its member `source_event_ids`, so an export is a
//! valid input file that can be re-ingested.

use std::io::Write;

use actix_web::{post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio_postgres::Row;

use super::col;
use super::error::ApiError;
use super::review::optional_json;
use super::state::ApiState;

/// Events per exported file (spec §10).
pub const EVENTS_PER_FILE: usize = 200;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ExportRequest {
    #[serde(default)]
    pub created_after: Option<String>,
    #[serde(default)]
    pub modified_after: Option<String>,
}

/// ISO 8601 date-time (offset optional: none means UTC) or a plain date (midnight).
pub fn parse_instant(value: &str) -> Option<DateTime<Utc>> {
    let v = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn bound(name: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    match value {
        // A cleared form field arrives as "" and means "no bound", like null.
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        // A validation problem like every other (422), not a 400 (issue 13).
        Some(v) => parse_instant(v).map(Some).ok_or_else(|| {
            ApiError::invalid(
                &["body", name],
                format!("Invalid datetime format for {name}: '{v}'"),
            )
        }),
    }
}

fn non_empty(row: &Row, name: &str) -> Result<Option<String>, ApiError> {
    Ok(col::<Option<String>>(row, name)?.filter(|s| !s.is_empty()))
}

fn non_empty_array(row: &Row, name: &str) -> Result<Option<Value>, ApiError> {
    Ok(col::<Option<Value>>(row, name)?.filter(|v| v.as_array().is_some_and(|a| !a.is_empty())))
}

/// One canonical row in input-file shape.
fn exported_event(row: &Row) -> Result<Value, ApiError> {
    let id: i32 = col(row, "id")?;
    let mut e = Map::new();
    e.insert("id".into(), json!(format!("canonical-{id}")));
    e.insert("source_type".into(), json!("canonical"));
    e.insert("title".into(), json!(col::<String>(row, "title")?));
    for key in ["short_description", "description"] {
        if let Some(v) = non_empty(row, key)? {
            e.insert(key.into(), json!(v));
        }
    }
    if let Some(v) = non_empty_array(row, "highlights")? {
        e.insert("highlights".into(), v);
    }
    e.insert(
        "event_dates".into(),
        col::<Option<Value>>(row, "dates")?.unwrap_or_else(|| json!([])),
    );
    let mut location = Map::new();
    for (out, column) in [
        ("name", "location_name"),
        ("city", "location_city"),
        ("district", "location_district"),
        ("street", "location_street"),
        ("zipcode", "location_zipcode"),
    ] {
        if let Some(v) = non_empty(row, column)? {
            location.insert(out.into(), json!(v));
        }
    }
    let lat: Option<f64> = col(row, "geo_latitude")?;
    let lon: Option<f64> = col(row, "geo_longitude")?;
    if let (Some(lat), Some(lon)) = (lat, lon) {
        let mut geo = Map::new();
        geo.insert("longitude".into(), json!(lon));
        geo.insert("latitude".into(), json!(lat));
        if let Some(c) = col::<Option<f64>>(row, "geo_confidence")? {
            geo.insert("confidence".into(), json!(c));
        }
        location.insert("geo".into(), Value::Object(geo));
    }
    if !location.is_empty() {
        e.insert("location".into(), Value::Object(location));
    }
    if let Some(v) = non_empty_array(row, "categories")? {
        e.insert("categories".into(), v);
    }
    for key in ["is_family_event", "is_child_focused", "admission_free"] {
        if let Some(v) = col::<Option<bool>>(row, key)? {
            e.insert(key.into(), json!(v));
        }
    }
    let members: Option<Vec<String>> = col(row, "members")?;
    e.insert(
        "source_event_ids".into(),
        json!(members.unwrap_or_default()),
    );
    Ok(Value::Object(e))
}

/// `POST /api/export`
#[tracing::instrument(name = "Exporting canonical events", skip_all)]
#[utoipa::path(post, path = "/api/export", operation_id = "export", tag = "export",
    request_body(content = Option<ExportRequest>, description = "Optional `created_after` / `modified_after` bounds (ISO 8601)"),
    responses(
        (status = 200, description = "One JSON file in the input format (≤ 200 events) or a ZIP of 200-event parts", content((Object = "application/json"), (String = "application/zip"))),
        (status = 422, description = "The body is not a JSON object of that shape, or a bound is not a date-time", body = crate::api::openapi::ErrorBody),
    ))]
#[post("/api/export")]
pub async fn export(
    state: web::Data<ApiState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let req: ExportRequest = optional_json(&super::read_body(payload).await?)?;
    let created = bound("created_after", req.created_after.as_deref())?;
    let modified = bound("modified_after", req.modified_after.as_deref())?;
    let client = state.pool.get().await?;
    let stamp = Utc::now().format("%Y-%m-%dT%H-%M").to_string();
    let filters = (req.created_after.clone(), req.modified_after.clone());
    let files = export_parts(&**client, created, modified, filters).await?;
    drop(client);
    if let [(name, bytes)] = files.as_slice() {
        return Ok(HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{name}\""),
            ))
            .body(bytes.clone()));
    }
    let zip = web::block(move || zip_files(&files))
        .await
        .map_err(|e| ApiError::unexpected(format!("zip task failed: {e}")))??;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"export_{stamp}.zip\""),
        ))
        .body(zip))
}

/// The export as part files `(name, pretty JSON bytes)`: canonical events created
/// and/or modified after the bounds, in id order, 200 per part; one empty part when
/// nothing matches. `filters` is echoed into each part's metadata.
pub async fn export_parts(
    client: &impl tokio_postgres::GenericClient,
    created: Option<DateTime<Utc>>,
    modified: Option<DateTime<Utc>>,
    filters: (Option<String>, Option<String>),
) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
    let rows = crate::store::catalogue::export_rows(client, created, modified).await?;
    let events = rows
        .iter()
        .map(exported_event)
        .collect::<Result<Vec<_>, _>>()?;
    drop(rows);

    let now = Utc::now();
    let stamp = now.format("%Y-%m-%dT%H-%M").to_string();
    let chunks: Vec<&[Value]> = if events.is_empty() {
        vec![&[]]
    } else {
        events.chunks(EVENTS_PER_FILE).collect()
    };
    let total = chunks.len();
    let mut files = Vec::with_capacity(total);
    for (i, chunk) in chunks.iter().enumerate() {
        let doc = json!({
            "events": chunk,
            "metadata": {
                "exportedAt": now.to_rfc3339(),
                "eventCount": chunk.len(),
                "part": i + 1,
                "totalParts": total,
                "filters": {
                    "created_after": filters.0,
                    "modified_after": filters.1,
                },
            },
        });
        let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| ApiError::Unexpected(e.into()))?;
        files.push((format!("export_{stamp}_part_{}.json", i + 1), bytes));
    }
    Ok(files)
}

/// A deflate ZIP of the part files.
fn zip_files(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, ApiError> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        writer
            .start_file(name.as_str(), options)
            .map_err(|e| ApiError::Unexpected(e.into()))?;
        writer
            .write_all(bytes)
            .map_err(|e| ApiError::Unexpected(e.into()))?;
    }
    let cursor = writer
        .finish()
        .map_err(|e| ApiError::Unexpected(e.into()))?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_parse_with_and_without_offset() {
        let utc = parse_instant("2026-02-01T00:00:00").expect("naive");
        assert_eq!(
            utc,
            parse_instant("2026-02-01T01:00:00+01:00").expect("offset")
        );
        assert_eq!(utc, parse_instant("2026-02-01").expect("date"));
        assert!(parse_instant("yesterday").is_none());
    }
}

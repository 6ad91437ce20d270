//! The canonical catalogue: list, filters, folded search, German sort, categories, cities and the detail view.

use event_dedup::matching::learned::MatchModel;
use serde_json::{json, Value};

use crate::helpers::{assert_error, multi_member, spawn_app};

#[tokio::test]
async fn list_paginates_filters_and_sorts() {
    let app = spawn_app().await;
    let all = app.canonicals().await;
    let total = all.len() as i64;
    assert!(total >= 5);

    let page = app.get_json("/api/canonical-events?size=2&page=2").await;
    assert_eq!(page["total"], json!(total));
    assert_eq!(page["size"], json!(2));
    assert_eq!(page["page"], json!(2));
    assert_eq!(page["pages"], json!((total + 1) / 2));
    assert_eq!(page["items"].as_array().expect("items").len(), 2);

    let past = app.get_json("/api/canonical-events?page=99").await;
    assert_eq!(past["items"], json!([]));
    assert_eq!(past["total"], json!(total));

    // City: exact, case-insensitive, repeatable (OR).
    let wk = app.get_json("/api/canonical-events?city=waldkirch").await;
    assert!(wk["total"].as_i64().expect("total") >= 1);
    for item in wk["items"].as_array().expect("items") {
        assert_eq!(item["location_city"], json!("Waldkirch"));
    }
    let both = app
        .get_json("/api/canonical-events?city=waldkirch&city=EMMENDINGEN")
        .await;
    assert!(both["total"].as_i64() > wk["total"].as_i64());
    let partial = app.get_json("/api/canonical-events?city=Waldkir").await;
    assert_eq!(partial["total"], json!(0));

    // q: substring, with LIKE wildcards taken literally.
    let q = app.get_json("/api/canonical-events?q=streuobst").await;
    assert!(q["total"].as_i64().expect("total") >= 1);
    let wild = app.get_json("/api/canonical-events?q=%25").await;
    assert_eq!(wild["total"], json!(0));
    let underscore = app.get_json("/api/canonical-events?q=_").await;
    assert_eq!(underscore["total"], json!(0));

    // Category: exact membership, AND over values.
    let fas = app
        .get_json("/api/canonical-events?category=fasnacht")
        .await;
    assert!(fas["total"].as_i64().expect("total") >= 1);
    let none = app
        .get_json("/api/canonical-events?category=fasnacht&category=no-such-category")
        .await;
    assert_eq!(none["total"], json!(0));
    let sub = app.get_json("/api/canonical-events?category=fasn").await;
    assert_eq!(sub["total"], json!(0));

    // Dates: overlap semantics.
    let feb15 = app
        .get_json("/api/canonical-events?date_from=2026-02-15&date_to=2026-02-15")
        .await;
    assert!(feb15["total"].as_i64().expect("total") >= 1);
    let far = app
        .get_json("/api/canonical-events?date_from=2030-01-01")
        .await;
    assert_eq!(far["total"], json!(0));

    // Sorting: source_count desc puts the biggest first; id breaks ties.
    let sorted = app
        .get_json("/api/canonical-events?sort_by=source_count&sort_dir=desc&size=100")
        .await;
    let counts: Vec<i64> = sorted["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["source_count"].as_i64().expect("count"))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    for key in [
        "title",
        "city",
        "date",
        "categories",
        "confidence",
        "review",
        "bogus",
    ] {
        app.get_json(&format!("/api/canonical-events?sort_by={key}"))
            .await;
    }
    let min2 = app.get_json("/api/canonical-events?min_sources=2").await;
    assert!(min2["total"].as_i64().expect("total") >= 1);
    app.get_json("/api/canonical-events?review=false").await;
}

#[tokio::test]
async fn list_rejects_bad_parameters_with_422() {
    let app = spawn_app().await;
    for query in [
        "size=0",
        "size=10001",
        "page=0",
        "page=abc",
        "date_from=2026-13-01",
        "date_to=tomorrow",
        "review=maybe",
        "min_sources=0",
        "page=9223372036854775807&size=10000",
    ] {
        let body = assert_error(
            app.get(&format!("/api/canonical-events?{query}")).await,
            422,
        )
        .await;
        let detail = body["detail"].as_array().expect("problem list");
        assert!(detail[0]["loc"].is_array() && detail[0]["msg"].is_string());
    }
    let body = assert_error(app.get("/api/canonical-events?size=0&page=0").await, 422).await;
    assert_eq!(body["detail"].as_array().expect("list").len(), 2);
}

#[tokio::test]
async fn categories_and_cities_are_sorted_and_distinct() {
    let app = spawn_app().await;
    for path in [
        "/api/canonical-events/categories",
        "/api/canonical-events/cities",
    ] {
        let values: Vec<String> =
            serde_json::from_value(app.get_json(path).await).expect("strings");
        assert!(!values.is_empty());
        let mut sorted = values.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(values.len(), sorted.len());
    }
    let cities = app.get_json("/api/canonical-events/cities").await;
    assert!(cities
        .as_array()
        .expect("array")
        .contains(&json!("Waldkirch")));
}

#[tokio::test]
async fn detail_shows_sources_provenance_and_decisions() {
    let app = spawn_app().await;
    let (id, members) = multi_member(&app).await;
    let d = app.get_json(&format!("/api/canonical-events/{id}")).await;
    assert_eq!(d["source_count"].as_u64(), Some(members.len() as u64));
    assert!(d["field_provenance"]["title"].is_string());
    let decisions = d["match_decisions"].as_array().expect("decisions");
    assert!(!decisions.is_empty());
    for dec in decisions {
        assert!(members.contains(&dec["source_event_id_a"].as_str().expect("a").to_string()));
        assert!(dec["weights"]["title"].is_number());
        assert!(dec["rule"].is_string() && dec["tier"].is_string());
        assert!(dec["combined_score"].is_number());
        // The learned model explains itself feature by feature, and the contributions
        // add up to the stored match probability.
        let contributions = dec["contributions"].as_array().expect("contributions");
        assert_eq!(
            contributions.len(),
            event_dedup::matching::learned::N_FEATURES
        );
        let log_odds: f64 = contributions
            .iter()
            .map(|c| c["contribution"].as_f64().expect("number"))
            .sum();
        let p = 1.0 / (1.0 + (-(log_odds + MatchModel::bundled().intercept)).exp());
        let stored = dec["combined_score"].as_f64().expect("score");
        assert!((p - stored).abs() < 1e-9, "{p} vs {stored}");
    }
    let first = &d["sources"][0];
    assert!(first["dates"][0]["date"].is_string());
    assert!(first["source_code"].is_string());

    assert_error(app.get("/api/canonical-events/999999").await, 404).await;
    assert_error(app.get("/api/canonical-events/abc").await, 422).await;
    assert_error(app.get("/api/canonical-events/99999999999").await, 422).await;
}

/// Titles of a list answer.
pub(crate) fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["title"].as_str().expect("title").to_string())
        .collect()
}

#[tokio::test]
async fn search_folds_umlauts_synonyms_and_word_order_like_the_matcher() {
    let app = spawn_app().await;
    // A dialect synonym: "Fasent" and "Fastnacht" fold to the same word as "Fasnet".
    for q in ["Fasent", "FASTNACHT", "fasching"] {
        let found = titles(&app.get_json(&format!("/api/canonical-events?q={q}")).await);
        assert!(!found.is_empty(), "q={q} finds the Fasnet parades");
        assert!(
            found.iter().all(|t| t.contains("Fasnet")),
            "q={q}: {found:?}"
        );
    }
    // ß = ss, any word order, city words count (the parade is in Waldkirch).
    let grosser = titles(&app.get_json("/api/canonical-events?q=grosser").await);
    assert!(grosser.iter().any(|t| t.contains("Großer")), "{grosser:?}");
    let reordered = titles(
        &app.get_json("/api/canonical-events?q=waldkirch%20umzug")
            .await,
    );
    assert!(
        reordered.iter().any(|t| t.contains("Fasnet")),
        "{reordered:?}"
    );
    let none = app
        .get_json("/api/canonical-events?q=umzug%20nirgendwo")
        .await;
    assert_eq!(none["total"], json!(0), "every word must match");
    // A stripped title prefix ("Vortrag:") still matches the raw title.
    let raw = titles(&app.get_json("/api/canonical-events?q=Vortrag").await);
    let stored = app
        .count("SELECT count(*) FROM canonical_events WHERE title ILIKE '%Vortrag%'")
        .await;
    assert_eq!(raw.len() as i64, stored);
}

#[tokio::test]
async fn synonym_categories_filter_together() {
    let app = spawn_app().await;
    let fasnacht = app
        .get_json("/api/canonical-events?category=fasnacht")
        .await;
    assert!(fasnacht["total"].as_i64().expect("total") >= 1);
    for spelling in ["fasching", "karneval", "Fasnet"] {
        let other = app
            .get_json(&format!("/api/canonical-events?category={spelling}"))
            .await;
        assert_eq!(other["total"], fasnacht["total"], "category={spelling}");
    }
    // Still AND over chips: a synonym plus an unknown category finds nothing.
    let none = app
        .get_json("/api/canonical-events?category=fasching&category=no-such")
        .await;
    assert_eq!(none["total"], json!(0));
}

#[tokio::test]
async fn titles_sort_in_german_order() {
    let app = spawn_app().await;
    let client = app.pool.get().await.expect("connection");
    client
        .execute(
            "UPDATE canonical_events SET title = 'Ökumenischer Abend'
             WHERE id = (SELECT min(id) FROM canonical_events)",
            &[],
        )
        .await
        .expect("rename");
    let sorted = titles(
        &app.get_json("/api/canonical-events?sort_by=title&size=100")
            .await,
    );
    let at = sorted
        .iter()
        .position(|t| t.starts_with("Ökumen"))
        .expect("renamed title listed");
    // DIN 5007: "Ö" sorts as "O" (byte order would put it after "Z").
    let initial = |t: &String| t.chars().next().expect("non-empty").to_ascii_uppercase();
    assert!(at + 1 < sorted.len(), "not last: {sorted:?}");
    assert!(initial(&sorted[at + 1]) >= 'O', "{sorted:?}");
    if at > 0 {
        assert!(initial(&sorted[at - 1]) <= 'O', "{sorted:?}");
    }
    let summary = &app.canonicals().await[0];
    assert!(summary.get("first_date").is_some() && summary.get("last_date").is_some());
}

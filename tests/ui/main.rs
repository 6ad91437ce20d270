//! Browser tests of the review UI (issue #5): the real service in-process (its own
//! database, watched directory and port, seeded with fixture files and matched by the
//! running pipeline, so split and merge trigger real re-matches), driven through a
//! headless Chromium over WebDriver ([`browser`]).
//!
//! Every test saves full-page screenshots to `target/ui-screenshots/<name>.png`.
//!
//! The tests run one at a time ([`SERIAL`]): each starts a Chromium next to the
//! service's pipeline, and two or three of those at once on a 2-core CI machine make
//! every timing-dependent wait slower and flakier than running them in a row.

#[path = "../service/helpers.rs"]
mod helpers;

mod browser;

use browser::Browser;
use helpers::{events_in, fixture, wait_until, TestApp, TestEnv, TIMEOUT};
use serde_json::Value;

/// Serializes the tests (see the module docs).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

mod seed;
use seed::SEED;

/// A seeded, running service plus a browser.
struct Ui {
    env: TestEnv,
    app: Option<TestApp>,
    browser: Browser,
    http: reqwest::Client,
    base: String,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

impl Ui {
    async fn start() -> Ui {
        let serial = SERIAL.lock().await;
        let env = TestEnv::new().await;
        let app = env.spawn().await;
        let mut expected = 0i64;
        for rel in SEED {
            let path = fixture(rel);
            expected += events_in(&path) as i64;
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            env.drop_copy(&path, &name);
        }
        wait_until("the seed ingested and matched", TIMEOUT, || async {
            env.count("SELECT count(*) FROM canonical_event_sources")
                .await
                == expected
        })
        .await;
        let base = format!("http://127.0.0.1:{}", app.port);
        let browser = Browser::start().await;
        Ui {
            env,
            app: Some(app),
            browser,
            http: reqwest::Client::new(),
            base,
            _serial: serial,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn goto(&self, path: &str) {
        self.browser.goto(&self.url(path)).await;
    }

    async fn api(&self, path: &str) -> Value {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .expect("API request");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.expect("JSON")
    }

    /// The first canonical with at least `min` sources, by id.
    async fn canonical_with_sources(&self, min: i64) -> Value {
        let list = self
            .api("/api/canonical-events?size=10000&sort_by=source_count&sort_dir=desc")
            .await;
        let items = list["items"].as_array().expect("items");
        let summary = items
            .iter()
            .find(|c| c["source_count"].as_i64().unwrap_or(0) >= min)
            .unwrap_or_else(|| panic!("a canonical with {min}+ sources in the seed"));
        self.api(&format!("/api/canonical-events/{}", summary["id"]))
            .await
    }

    /// Number of elements matching `css` on the page.
    async fn count(&self, css: &str) -> usize {
        self.browser.find_all(css).await.len()
    }

    /// Checks that the page logged no script error or CSP violation, then stops.
    async fn stop(mut self) {
        let errors = self.browser.js("return window.uiErrors || [];").await;
        assert_eq!(errors, serde_json::json!([]), "errors in the page");
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
    }
}

/// Types `text` into the element `css` after clearing it.
async fn type_into(ui: &Ui, css: &str, text: &str) {
    let el = ui.browser.find(css).await;
    el.clear().await.expect("clear");
    if !text.is_empty() {
        el.send_keys(text).await.expect("type");
    }
}

async fn click(ui: &Ui, css: &str) {
    ui.browser.find(css).await.click().await.expect("click");
}

#[actix_rt::test]
async fn the_event_list_shows_rows_and_filters_by_a_city_chip() {
    let ui = Ui::start().await;
    ui.goto("/").await;
    ui.browser
        .wait_js(
            "rows",
            "document.querySelectorAll('.events-table tbody tr').length > 0",
        )
        .await;
    let total: Value = ui.api("/api/canonical-events?size=1").await;
    let info = ui
        .browser
        .find(".page-info")
        .await
        .text()
        .await
        .expect("text");
    assert!(
        info.contains(&format!("({} results)", total["total"])),
        "pager shows the total: {info}"
    );
    ui.browser.screenshot("events").await;

    // Title search with an umlaut, applied on Enter, reflected in the URL.
    type_into(&ui, "#f-q", "Großer").await;
    ui.browser
        .find("#f-q")
        .await
        .send_keys("\u{E007}")
        .await
        .expect("enter");
    ui.browser
        .wait_js(
            "URL with the search",
            "location.search === '?q=Gro%C3%9Fer'",
        )
        .await;
    ui.browser
        .wait_js(
            "only matching rows",
            "(() => { const t = [...document.querySelectorAll('.events-table tbody .title-cell')].map(td => td.textContent); \
             return t.length > 0 && t.every(x => x.includes('Großer')) && !document.querySelector('.events-table.loading'); })()",
        )
        .await;
    ui.browser.screenshot("events-search").await;
    click(&ui, "#f-clear").await;
    ui.browser
        .wait_js("cleared", "location.search === ''")
        .await;

    // Type-ahead over the distinct cities; Enter picks the first match.
    type_into(&ui, "#f-city", "waldk").await;
    ui.browser
        .wait_js("city options", "[...document.querySelectorAll('#f-city-options .option')].some(o => o.textContent === 'Waldkirch')")
        .await;
    ui.browser.screenshot("events-city-typeahead").await;
    ui.browser
        .find("#f-city")
        .await
        .send_keys("\u{E007}")
        .await
        .expect("enter");
    ui.browser
        .wait_js(
            "URL with the city",
            "location.search.includes('city=Waldkirch')",
        )
        .await;
    ui.browser
        .wait_js(
            "only Waldkirch rows",
            "(() => { const c = [...document.querySelectorAll('.events-table tbody .city-cell')].map(td => td.textContent); \
             return c.length > 0 && c.every(x => x === 'Waldkirch') && !document.querySelector('.events-table.loading'); })()",
        )
        .await;
    let chip = ui
        .browser
        .find(".chip-removable")
        .await
        .text()
        .await
        .expect("chip");
    assert!(chip.starts_with("Waldkirch"), "chip shown: {chip}");
    let location = ui.browser.location().await;
    assert_eq!(location, "/?city=Waldkirch", "the view is linkable");
    ui.browser.screenshot("events-filtered").await;

    // The URL alone restores the view (shareable).
    ui.goto("/?city=Waldkirch&sort_by=date").await;
    ui.browser
        .wait_js(
            "filtered rows from the URL",
            "document.querySelectorAll('.events-table tbody tr').length > 0",
        )
        .await;
    let cities = ui
        .browser
        .js("return [...document.querySelectorAll('.events-table tbody .city-cell')].map(td => td.textContent);")
        .await;
    assert!(
        cities
            .as_array()
            .expect("cities")
            .iter()
            .all(|c| c == "Waldkirch"),
        "{cities}"
    );
    ui.stop().await;
}

#[actix_rt::test]
async fn sorting_by_a_column_orders_rows_and_toggles_direction() {
    let ui = Ui::start().await;
    ui.goto("/").await;
    ui.browser
        .wait_js(
            "rows",
            "document.querySelectorAll('.events-table tbody tr').length > 0",
        )
        .await;
    let sources = "[...document.querySelectorAll('.events-table tbody tr')].map(tr => Number(tr.children[4].textContent))";
    click(&ui, "button.sort[data-sort='source_count']").await;
    ui.browser
        .wait_js(
            "ascending by sources",
            "location.search === '?sort_by=source_count'",
        )
        .await;
    ui.browser
        .wait_js(
            "rows re-ordered",
            "!document.querySelector('.events-table.loading')",
        )
        .await;
    let asc = ui.browser.js(&format!("return {sources};")).await;
    let asc: Vec<i64> = serde_json::from_value(asc).expect("numbers");
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "ascending: {asc:?}");

    click(&ui, "button.sort[data-sort='source_count']").await;
    ui.browser
        .wait_js(
            "descending",
            "location.search === '?sort_by=source_count&sort_dir=desc'",
        )
        .await;
    ui.browser
        .wait_js(
            "rows re-ordered",
            "!document.querySelector('.events-table.loading') && document.querySelector(\"th[aria-sort='descending'] .arrow\")?.textContent === '▼'",
        )
        .await;
    let desc: Vec<i64> = serde_json::from_value(ui.browser.js(&format!("return {sources};")).await)
        .expect("numbers");
    assert!(
        desc.windows(2).all(|w| w[0] >= w[1]),
        "descending: {desc:?}"
    );
    assert!(desc[0] >= 2, "the seed has multi-source groups: {desc:?}");
    ui.browser.screenshot("events-sorted").await;
    ui.stop().await;
}

#[actix_rt::test]
async fn the_detail_shows_sources_provenance_and_score_bars() {
    let ui = Ui::start().await;
    let c = ui.canonical_with_sources(2).await;
    let id = c["id"].as_i64().expect("id");
    let n = c["sources"].as_array().expect("sources").len();
    ui.goto(&format!("/events/{id}")).await;
    ui.browser.find(".source-card").await;
    assert_eq!(ui.count(".source-card").await, n, "one card per source");
    let chip = ui
        .browser
        .find("[data-testid='source-count']")
        .await
        .text()
        .await
        .expect("chip");
    assert_eq!(chip, format!("{n} source(s)"));
    assert!(ui.count(".provenance").await > 0, "provenance hints");
    let decisions = c["match_decisions"].as_array().expect("decisions").len();
    assert_eq!(
        ui.count(".decision-card").await,
        decisions,
        "one card per decision"
    );
    assert!(decisions > 0, "the group has decisions");
    // Four signal bars plus the combined one per decision, each a meter with a width.
    assert_eq!(
        ui.count(".decision-card .score-row .bar[role='meter']")
            .await,
        decisions * 5
    );
    let width = ui
        .browser
        .js("return document.querySelector('.decision-card .combined .bar-fill').style.width;")
        .await;
    assert!(
        width.as_str().is_some_and(|w| w.ends_with('%')),
        "bar width: {width}"
    );
    let rule = ui
        .browser
        .find(".decision-card .rule")
        .await
        .text()
        .await
        .expect("rule");
    let expected_rule = c["match_decisions"][0]["rule"].as_str().expect("rule");
    assert!(rule.contains(expected_rule), "deciding rule shown: {rule}");
    // The learned model explains itself by its features' contributions (the API's
    // largest first), not by signal weights.
    let first = &c["match_decisions"][0]["contributions"][0];
    let feature = first["feature"].as_str().expect("feature");
    let shown = ui
        .browser
        .js("return document.querySelector('.decision-card .contribution-row')?.dataset.feature;")
        .await;
    assert_eq!(shown, feature, "largest contribution first");
    assert_eq!(
        ui.count(".decision-card .contribution-row").await,
        decisions * 6,
        "six contributions per decision"
    );
    let label = ui
        .browser
        .find(".decision-card .combined .score-label")
        .await
        .text()
        .await
        .expect("label");
    assert_eq!(label, "Probability");
    assert_eq!(ui.count(".decision-card .weights").await, 0);
    ui.browser.screenshot("detail").await;

    // Keyboard: the merge dialog is modal and Escape closes it.
    click(&ui, "#merge-button").await;
    ui.browser.find("#merge-dialog[open]").await;
    let focused = ui
        .browser
        .js("return document.activeElement?.id || document.activeElement?.tagName;")
        .await;
    assert_eq!(focused, "merge-target", "focus moves into the dialog");
    ui.browser
        .find("#merge-operator")
        .await
        .send_keys("\u{E00C}")
        .await
        .expect("escape");
    ui.browser
        .wait_js("dialog closed", "!document.querySelector('#merge-dialog')")
        .await;

    ui.goto("/events/999999").await;
    ui.browser
        .wait_js(
            "not found",
            "document.querySelector('main h1')?.textContent === 'Event not found.'",
        )
        .await;
    ui.stop().await;
}

#[actix_rt::test]
async fn split_a_source_off_then_merge_it_back_and_see_both_in_the_audit_trail() {
    let ui = Ui::start().await;
    let c = ui.canonical_with_sources(2).await;
    let id = c["id"].as_i64().expect("id");
    let n = c["sources"].as_array().expect("sources").len();
    let moved = c["sources"][n - 1]["id"]
        .as_str()
        .expect("source id")
        .to_string();
    ui.goto(&format!("/events/{id}")).await;

    // Split the last source into a new canonical.
    click(&ui, &format!("button[data-split='{moved}']")).await;
    ui.browser.find("#split-dialog[open]").await;
    type_into(&ui, "#split-operator", "Jörg").await;
    ui.browser.screenshot("split-dialog").await;
    click(&ui, "#split-dialog button[type='submit']").await;
    ui.browser
        .wait_js(
            "the group shrinks",
            &format!("document.querySelector(\"[data-testid='source-count']\")?.textContent === '{} source(s)'", n - 1),
        )
        .await;
    assert_eq!(ui.count(".source-card").await, n - 1);
    assert_eq!(
        ui.count(&format!(".source-card[data-source-id='{moved}']"))
            .await,
        0
    );
    let after = ui.api(&format!("/api/canonical-events/{id}")).await;
    assert_eq!(after["sources"].as_array().expect("sources").len(), n - 1);
    let audit = ui
        .api(&format!(
            "/api/audit-log?canonical_event_id={id}&action_type=split"
        ))
        .await;
    let new_id = audit["items"][0]["details"]["new_canonical_id"]
        .as_i64()
        .expect("a new canonical was created");
    let single = ui.api(&format!("/api/canonical-events/{new_id}")).await;
    assert_eq!(
        single["sources"][0]["id"],
        moved.as_str(),
        "the source moved"
    );
    ui.browser
        .wait_js(
            "split in the detail's audit trail",
            "document.querySelector(\".audit-list li[data-action='split']\")",
        )
        .await;
    let entry = ui
        .browser
        .find(".audit-list li[data-action='split']")
        .await
        .text()
        .await
        .expect("entry");
    assert!(
        entry.contains(&format!("Detached source {moved}")) && entry.contains("Jörg"),
        "{entry}"
    );
    ui.browser.screenshot("detail-after-split").await;

    // Merge the new single-source canonical back into the original.
    ui.goto(&format!("/events/{new_id}")).await;
    click(&ui, "#merge-button").await;
    ui.browser.find("#merge-dialog[open]").await;
    let title = after["title"].as_str().expect("title");
    let needle: String = title.chars().take(12).collect();
    type_into(&ui, "#merge-target", &needle).await;
    click(&ui, &format!("#merge-dialog .result[data-id='{id}']")).await;
    let warning = ui
        .browser
        .find("#merge-dialog .warning-box")
        .await
        .text()
        .await
        .expect("warning");
    assert!(warning.contains("INTO"), "direction warning: {warning}");
    ui.browser.screenshot("merge-dialog").await;
    click(&ui, "#merge-dialog button[type='submit']").await;
    ui.browser
        .wait_js(
            "navigated to the survivor",
            &format!("location.pathname === '/events/{id}'"),
        )
        .await;
    ui.browser
        .wait_js(
            "the group is whole again",
            &format!("document.querySelector(\"[data-testid='source-count']\")?.textContent === '{n} source(s)'"),
        )
        .await;
    assert_eq!(
        ui.count(&format!(".source-card[data-source-id='{moved}']"))
            .await,
        1
    );
    let gone = ui
        .http
        .get(ui.url(&format!("/api/canonical-events/{new_id}")))
        .send()
        .await
        .expect("request");
    assert_eq!(
        gone.status().as_u16(),
        404,
        "the merged-away canonical is deleted"
    );

    // The audit trail page lists both actions.
    ui.goto("/audit").await;
    ui.browser
        .wait_js(
            "audit rows",
            "document.querySelectorAll('.audit-table tbody tr').length >= 2",
        )
        .await;
    let actions = ui
        .browser
        .js("return [...document.querySelectorAll('.audit-table tbody tr')].map(tr => tr.dataset.action);")
        .await;
    assert_eq!(
        actions,
        serde_json::json!(["merge", "split"]),
        "newest first"
    );
    let text = ui
        .browser
        .find(".audit-table")
        .await
        .text()
        .await
        .expect("text");
    assert!(
        text.contains(&format!("Merged from canonical #{new_id}")),
        "{text}"
    );
    ui.browser.screenshot("audit").await;

    // Filtered by action via the URL.
    ui.goto("/audit?action_type=split").await;
    ui.browser
        .wait_js(
            "only splits",
            "(() => { const r = [...document.querySelectorAll('.audit-table tbody tr')]; return r.length === 1 && r[0].dataset.action === 'split'; })()",
        )
        .await;
    ui.stop().await;
}

#[actix_rt::test]
async fn config_shows_form_and_server_validation_next_to_the_fields() {
    let ui = Ui::start().await;
    ui.goto("/config").await;
    ui.browser.find("#cfg-scoring-title").await;
    ui.browser.screenshot("config").await;

    // Client-side: out of range, empty and unparsable numbers are rejected, not 0.
    type_into(&ui, "#cfg-scoring-title", "1.5").await;
    let msg = ui
        .browser
        .find("#cfg-scoring-title-error")
        .await
        .text()
        .await
        .expect("msg");
    assert_eq!(msg, "Must be at most 1");
    type_into(&ui, "#cfg-scoring-geo", "").await;
    // Clearing fires no input event in every driver: type and delete one character.
    ui.browser
        .find("#cfg-scoring-geo")
        .await
        .send_keys("x\u{E003}")
        .await
        .expect("keys");
    click(&ui, "#cfg-scoring-save").await;
    ui.browser
        .wait_js(
            "empty rejected",
            "document.getElementById('cfg-scoring-geo-error').textContent.startsWith('Required')",
        )
        .await;
    let section = ui
        .browser
        .find("#cfg-scoring-error")
        .await
        .text()
        .await
        .expect("section");
    assert!(section.contains("nothing was saved"), "{section}");
    let cfg = ui.api("/api/config").await;
    assert!(cfg["updated_at"].is_null(), "nothing was sent: {cfg}");
    ui.browser.screenshot("config-client-validation").await;

    // Server-side: low above high passes the form but the service refuses it; the
    // problem appears next to the field it names.
    type_into(&ui, "#cfg-thresholds-low", "0.9").await;
    type_into(&ui, "#cfg-thresholds-high", "0.5").await;
    click(&ui, "#cfg-thresholds-save").await;
    ui.browser
        .wait_js(
            "server problem at the field",
            "document.getElementById('cfg-thresholds-low-error').textContent.includes('must be below thresholds.high')",
        )
        .await;
    let cfg = ui.api("/api/config").await;
    assert_eq!(
        cfg["thresholds"]["low"], 0.35,
        "rejected values are not stored"
    );
    ui.browser.screenshot("config-server-validation").await;

    // A valid save of the title veto: toast, stored, re-match triggered.
    ui.goto("/config").await;
    type_into(&ui, "#cfg-thresholds-title_veto", "0.4").await;
    let runs = ui.env.runs().await;
    click(&ui, "#cfg-thresholds-save").await;
    ui.browser
        .wait_js(
            "toast",
            "document.getElementById('toasts').textContent.includes('re-match was triggered')",
        )
        .await;
    let cfg = ui.api("/api/config").await;
    assert_eq!(cfg["thresholds"]["title_veto"], 0.4);
    assert_eq!(
        cfg["thresholds"]["low"], 0.35,
        "only the saved section changed"
    );
    wait_until("the re-match ran", TIMEOUT, || async {
        ui.env.runs().await > runs
    })
    .await;
    ui.stop().await;
}

#[actix_rt::test]
async fn dismissing_from_the_review_queue_removes_the_row_and_is_audited() {
    let ui = Ui::start().await;
    // The learned model leaves no group of the seed in doubt; flag two, so the queue
    // has rows whatever the matcher decided (the dismissal is under test).
    review_day::flag_for_review(&ui, 2).await;
    ui.goto("/review").await;
    ui.browser
        .wait_js(
            "queue rows",
            "document.querySelectorAll('.queue-table tbody tr').length > 0",
        )
        .await;
    let before = ui.api("/api/review/queue?size=100").await;
    let total = before["total"].as_i64().expect("total");
    let first = before["items"][0]["id"].as_i64().expect("id");
    let badge = ui
        .browser
        .find("#queue-total")
        .await
        .text()
        .await
        .expect("badge");
    assert_eq!(badge, total.to_string());
    ui.browser.screenshot("review").await;

    click(&ui, &format!("button[data-dismiss='{first}']")).await;
    ui.browser.find("#dismiss-dialog[open]").await;
    type_into(&ui, "#dismiss-reason", "Same parade, checked by hand").await;
    type_into(&ui, "#dismiss-operator", "Anna Müller").await;
    ui.browser.screenshot("dismiss-dialog").await;
    click(&ui, "#dismiss-dialog button[type='submit']").await;
    ui.browser
        .wait_js(
            "row gone",
            &format!("!document.querySelector(\".queue-table tr[data-id='{first}']\") && document.getElementById('queue-total').textContent === '{}'", total - 1),
        )
        .await;
    let audit = ui.api("/api/audit-log?action_type=review_dismiss").await;
    assert_eq!(audit["items"][0]["canonical_event_id"], first);
    assert_eq!(
        audit["items"][0]["details"]["reason"],
        "Same parade, checked by hand"
    );
    assert_eq!(audit["items"][0]["operator"], "Anna Müller");
    ui.stop().await;
}

#[actix_rt::test]
async fn the_dashboard_draws_the_processing_chart() {
    let ui = Ui::start().await;
    ui.goto("/dashboard").await;
    ui.browser.find("svg.chart rect.col").await;
    let bars = ui.count("svg.chart rect.col.s-events").await;
    assert!(bars >= 1, "a bar for today's ingestion");
    assert!(ui.count("svg.chart text.tick").await >= 4, "axis labels");
    let cards = ui
        .browser
        .find(".stat-grid")
        .await
        .text()
        .await
        .expect("cards");
    let expected: usize = SEED.iter().map(|r| events_in(&fixture(r))).sum();
    assert!(
        cards.contains("Files Processed") && cards.contains(&expected.to_string()),
        "{cards}"
    );
    assert!(
        ui.count(".dist .score-row").await == 3,
        "match distribution bars"
    );
    // The tie-breaker is off here: its usage section says so instead of showing zeros.
    let ai = ui
        .browser
        .find("#ai-usage")
        .await
        .text()
        .await
        .expect("ai usage");
    assert!(ai.contains("No model requests in this period"), "{ai}");
    ui.browser.screenshot("dashboard").await;
    click(&ui, ".range button:nth-child(1)").await;
    ui.browser
        .wait_js(
            "7 days",
            "document.querySelector('#history h2')?.textContent.includes('last 7 days')",
        )
        .await;
    assert_eq!(
        ui.count(".charts figure:first-child rect.col.s-events")
            .await,
        1
    );
    ui.stop().await;
}

#[actix_rt::test]
async fn export_downloads_and_unknown_paths_serve_the_app() {
    let ui = Ui::start().await;
    ui.goto("/export").await;
    click(&ui, "#export-button").await;
    ui.browser
        .wait_js("download started", "document.querySelector('.success-box')?.textContent.startsWith('Download started: export')")
        .await;
    ui.browser.screenshot("export").await;

    // Unknown paths are the app (client-side routing), with its security headers.
    let page = ui
        .http
        .get(ui.url("/no/such/page"))
        .send()
        .await
        .expect("request");
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(page.text().await.expect("body").contains("/assets/app.js"));
    ui.goto("/no/such/page").await;
    ui.browser
        .wait_js(
            "not found page",
            "document.querySelector('main h1')?.textContent === 'Page not found'",
        )
        .await;
    ui.browser.screenshot("not-found").await;

    // The API keeps its JSON 404, and assets have their types.
    let api = ui
        .http
        .get(ui.url("/api/unknown"))
        .send()
        .await
        .expect("request");
    assert_eq!(api.status().as_u16(), 404);
    let body: Value = api.json().await.expect("JSON 404");
    assert_eq!(body["detail"], "Not found");
    let js = ui
        .http
        .get(ui.url("/assets/app.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(js.status().as_u16(), 200);
    assert!(js.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("text/javascript"));
    let etag = js.headers()["etag"].to_str().expect("etag").to_string();
    let again = ui
        .http
        .get(ui.url("/assets/app.js"))
        .header("If-None-Match", etag)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status().as_u16(), 304, "revalidation is cheap");
    let missing = ui
        .http
        .get(ui.url("/assets/nope.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status().as_u16(), 404);
    let post = ui
        .http
        .post(ui.url("/review"))
        .send()
        .await
        .expect("request");
    assert_eq!(post.status().as_u16(), 404, "only GET/HEAD get the app");
    ui.stop().await;
}
mod review_day;

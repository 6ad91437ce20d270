//! Browser tests of a reviewer's day (issue #14): the missed-duplicate queue, folded
//! search and German sort, the merge dialog's field diff and pair scores of merged
//! groups, the keyboard flow with bulk dismiss, the phone layout, layout stability and
//! the virtualised ALL view, and the small fixes (config sum, geo re-weighting note,
//! dates without seconds, synonym categories, `lang="de"`).

use serde_json::Value;

use super::browser::Browser;
use super::{click, type_into, Ui};

/// `document.activeElement` described as `TAG[data-id]` (or `TAG.class`).
const ACTIVE: &str = "(() => { const a = document.activeElement; return a ? `${a.tagName}:${a.dataset.id || a.dataset.pair || ''}` : 'none'; })()";

async fn text(ui: &Ui, css: &str) -> String {
    ui.browser
        .find(css)
        .await
        .text()
        .await
        .expect("element text")
}

/// Types `keys` into whatever has focus (WebDriver's element `send_keys` would move
/// the focus to that element first).
async fn press(ui: &Ui, keys: &str) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut seq = KeyActions::new("keyboard".into());
    for c in keys.chars() {
        seq = seq
            .then(KeyAction::Down { value: c })
            .then(KeyAction::Up { value: c });
    }
    ui.browser.client.perform_actions(seq).await.expect("keys");
}

#[actix_rt::test]
async fn missed_duplicates_sit_side_by_side_and_merge_or_dismiss_with_one_key() {
    let ui = Ui::start().await;
    let api = ui.api("/api/review/missed?size=100").await;
    let total = api["total"].as_i64().expect("total");
    assert!(
        total >= 2,
        "the seed has ambiguous pairs across groups: {api}"
    );
    ui.goto("/review?tab=missed").await;
    ui.browser
        .wait_js(
            "pairs",
            "document.querySelectorAll('.missed-item').length > 0",
        )
        .await;
    assert_eq!(text(&ui, "#missed-total").await, total.to_string());
    // Side by side, with the decision's explanation.
    let first = &api["items"][0];
    let shown = ui
        .browser
        .js("const i = document.querySelector('.missed-item'); return [i.querySelectorAll('.pair-side').length, i.querySelectorAll('.decision-card .score-row').length, i.querySelector('.decision-card .rule').textContent, [...i.querySelectorAll('.pair-side')].map(s => s.dataset.sourceId)];")
        .await;
    assert_eq!(shown[0], 2);
    assert_eq!(
        shown[1], 11,
        "four signals, the match probability and six feature contributions"
    );
    let rule = first["decision"]["rule"].as_str().expect("rule");
    assert!(shown[2].as_str().unwrap_or("").ends_with(rule), "{shown}");
    assert_eq!(
        shown[3],
        serde_json::json!([first["a"]["id"], first["b"]["id"]])
    );
    ui.browser.screenshot("review-missed").await;
    ui.browser.viewport_screenshot("review-missed-top").await;

    // j focuses the first pair; d says "not duplicates"; the next pair gets focus.
    type_into(&ui, "#review-operator", "Kim").await;
    ui.browser
        .js("document.getElementById('review-operator').blur(); return true;")
        .await;
    press(&ui, "j").await;
    let pair = |e: &Value| {
        format!(
            "{}-{}",
            e["a"]["canonical"]["id"], e["b"]["canonical"]["id"]
        )
    };
    ui.browser
        .wait_js(
            "first pair focused",
            &format!("{ACTIVE} === 'ARTICLE:{}'", pair(first)),
        )
        .await;
    press(&ui, "d").await;
    ui.browser
        .wait_js(
            "pair gone, next focused",
            &format!("document.getElementById('missed-total').textContent === '{}' && !document.querySelector(\".missed-item[data-pair='{}']\") && document.activeElement?.matches('.missed-item')", total - 1, pair(first)),
        )
        .await;
    let log = ui.api("/api/audit-log?action_type=pair_dismiss").await;
    assert_eq!(log["items"][0]["operator"], "Kim");
    assert_eq!(
        log["items"][0]["canonical_event_id"],
        first["a"]["canonical"]["id"]
    );

    // m merges the focused pair's groups with one key press.
    let now = ui.api("/api/review/missed?size=100").await;
    let next = &now["items"][0];
    let focused = ui
        .browser
        .js("return document.activeElement.dataset.pair;")
        .await;
    assert_eq!(focused, pair(next), "the next pair has focus");
    press(&ui, "m").await;
    ui.browser
        .wait_js(
            "merged",
            &format!(
                "!document.querySelector(\".missed-item[data-pair='{}']\")",
                pair(next)
            ),
        )
        .await;
    let a = next["a"]["id"].as_str().expect("id");
    let b = next["b"]["id"].as_str().expect("id");
    let together = ui
        .env
        .count(&format!(
            "SELECT count(DISTINCT canonical_event_id) FROM canonical_event_sources WHERE source_event_id IN ('{a}', '{b}')"
        ))
        .await;
    assert_eq!(together, 1, "both events in one group");
    ui.stop().await;
}

#[actix_rt::test]
async fn search_folds_like_the_matcher_in_the_list_and_the_merge_target_search() {
    let ui = Ui::start().await;
    // "Willstaett" finds "Willstätt" (city and title).
    ui.goto("/?q=Willstaett").await;
    ui.browser
        .wait_js(
            "Willstätt rows",
            "document.querySelectorAll('.events-table tbody tr[data-id]').length > 0 && !document.querySelector('.events-table.loading')",
        )
        .await;
    let rows = ui
        .browser
        .js("return [...document.querySelectorAll('.events-table tbody tr[data-id]')].map(tr => tr.textContent);")
        .await;
    let rows: Vec<String> = serde_json::from_value(rows).expect("rows");
    // The typed spelling is nowhere in the data: every hit is a folded one. A row may
    // show another city when a member of its group is in Willstätt.
    assert!(rows.iter().any(|r| r.contains("Willstätt")), "{rows:?}");
    let api = ui.api("/api/canonical-events?q=Willstaett").await;
    let want: Vec<String> = api["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].to_string())
        .collect();
    let shown = ui
        .browser
        .js("return [...document.querySelectorAll('.events-table tbody tr[data-id]')].map(tr => tr.dataset.id);")
        .await;
    assert_eq!(
        shown,
        serde_json::json!(want),
        "the page shows the API's hits"
    );
    ui.browser.screenshot("events-search-folded").await;

    // "Fastnacht" finds the "Fasent" spelling.
    ui.goto("/?q=Fastnacht").await;
    ui.browser
        .wait_js(
            "a Fasent title",
            "[...document.querySelectorAll('.events-table tbody .title-cell')].some(td => td.textContent.includes('Fasent'))",
        )
        .await;

    // German collation: the page's titles are in de order (Intl.Collator is ICU too).
    ui.goto("/?size=200").await;
    ui.browser
        .wait_js(
            "titles in German order",
            "(() => { const t = [...document.querySelectorAll('.events-table tbody .title-cell')].map(td => td.textContent.trim()); const c = new Intl.Collator('de'); return t.length > 20 && t.every((x, i) => i === 0 || c.compare(t[i - 1], x) <= 0); })()",
        )
        .await;

    // The merge dialog's target search folds the same way, words in any order.
    let c = ui.canonical_with_sources(1).await;
    ui.goto(&format!("/events/{}", c["id"])).await;
    click(&ui, "#merge-button").await;
    ui.browser.find("#merge-dialog[open]").await;
    type_into(&ui, "#merge-target", "umzug fasent").await;
    ui.browser
        .wait_js(
            "folded target results",
            "[...document.querySelectorAll('#merge-dialog .result-title')].some(t => /Fasent|Fasnet|Fastnacht|Fasching/i.test(t.textContent))",
        )
        .await;
    ui.browser.screenshot("merge-search-folded").await;
    ui.stop().await;
}

#[actix_rt::test]
async fn merge_dialog_diffs_fields_merged_groups_show_scores_and_split_refreshes_confidence() {
    let ui = Ui::start().await;
    let c = ui.canonical_with_sources(2).await;
    let id = c["id"].as_i64().expect("id");
    let n = c["sources"].as_array().expect("sources").len();
    let moved = c["sources"][n - 1]["id"].as_str().expect("id").to_string();
    let runs_before = ui.api("/api/runs?limit=1").await[0]["id"]
        .as_i64()
        .unwrap_or(0);
    ui.goto(&format!("/events/{id}")).await;
    click(&ui, &format!("button[data-split='{moved}']")).await;
    ui.browser.find("#split-dialog[open]").await;
    click(&ui, "#split-dialog button[type='submit']").await;
    // The page redraws by itself once the re-match finished, with its confidence.
    let run_after = crate::helpers::wait_until(
        "the re-match after the split",
        crate::helpers::TIMEOUT,
        || async {
            let runs = ui.api("/api/runs?limit=1").await;
            runs[0]["id"].as_i64().unwrap_or(0) > runs_before && runs[0]["status"] != "running"
        },
    );
    run_after.await;
    let fresh = ui.api(&format!("/api/canonical-events/{id}")).await;
    let want = match fresh["match_confidence"].as_f64() {
        Some(v) => format!("Confidence: {}%", (v * 100.0).round() as i64),
        None => "Confidence: -".to_string(),
    };
    ui.browser
        .wait_js(
            "confidence of the re-matched group",
            &format!("[...document.querySelectorAll('.header-chips .badge')].some(b => b.textContent === {want:?}) && document.querySelector(\"[data-testid='source-count']\").textContent === '{} source(s)'", n - 1),
        )
        .await;

    // Merge the detached source back: the dialog compares field by field.
    let audit = ui
        .api(&format!(
            "/api/audit-log?canonical_event_id={id}&action_type=split"
        ))
        .await;
    let single = audit["items"][0]["details"]["new_canonical_id"]
        .as_i64()
        .expect("new id");
    ui.goto(&format!("/events/{single}")).await;
    click(&ui, "#merge-button").await;
    ui.browser.find("#merge-dialog[open]").await;
    let needle: String = fresh["title"]
        .as_str()
        .expect("title")
        .chars()
        .take(12)
        .collect();
    type_into(&ui, "#merge-target", &needle).await;
    click(&ui, &format!("#merge-dialog .result[data-id='{id}']")).await;
    ui.browser
        .wait_js(
            "the field diff",
            "document.querySelectorAll('#merge-dialog .diff-table tbody tr').length >= 8",
        )
        .await;
    let sources_row = text(&ui, "#merge-dialog .diff-table tr[data-field='sources']").await;
    assert!(
        sources_row.contains('≠'),
        "1 vs {} sources differ: {sources_row}",
        n - 1
    );
    assert!(ui.count("#merge-dialog .diff-table tr.differs").await >= 1);
    assert!(
        ui.count("#merge-dialog .diff-table tr.same").await >= 1,
        "equal fields are not marked"
    );
    ui.browser.screenshot("merge-dialog-diff").await;
    click(&ui, "#merge-dialog button[type='submit']").await;
    ui.browser
        .wait_js("survivor", &format!("location.pathname === '/events/{id}'"))
        .await;
    // Every pair of the merged group has scores (stored or scored now).
    let pairs = n * (n - 1) / 2;
    ui.browser
        .wait_js(
            "a score card per pair",
            &format!("document.querySelectorAll('.decision-card').length === {pairs}"),
        )
        .await;
    let with_moved = ui
        .browser
        .js(&format!("return [...document.querySelectorAll('.decision-card .decision-head .mono')].filter(m => m.title.includes('{moved}')).length;"))
        .await;
    assert_eq!(
        with_moved,
        (n - 1) as i64,
        "the moved source is scored against each member"
    );
    ui.stop().await;
}

/// Flags `n` more groups for review, so the queue has rows whatever the matcher
/// decided about the seed (the keyboard flow, not the matcher, is under test).
pub(crate) async fn flag_for_review(ui: &Ui, n: i64) {
    let client = ui.env.pool.get().await.expect("connection");
    let flagged = client
        .execute(
            "UPDATE canonical_events SET needs_review = true, review_reason = 'flagged by the test'
             WHERE id IN (SELECT id FROM canonical_events WHERE NOT needs_review
                          ORDER BY source_count DESC, id LIMIT $1)",
            &[&n],
        )
        .await
        .expect("flag");
    assert_eq!(flagged as i64, n);
}

#[actix_rt::test]
async fn keyboard_flow_returns_focus_moves_on_and_bulk_dismisses() {
    let ui = Ui::start().await;
    flag_for_review(&ui, 5).await;
    let queue = ui.api("/api/review/queue?size=20").await;
    let total = queue["total"].as_i64().expect("total");
    assert!(total >= 4, "{queue}");
    let ids: Vec<i64> = queue["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect();
    ui.goto("/review").await;
    ui.browser
        .wait_js(
            "queue rows",
            "document.querySelectorAll('.queue-table tbody tr').length > 0",
        )
        .await;
    press(&ui, "jjk").await;
    ui.browser
        .wait_js(
            "first row focused",
            &format!("{ACTIVE} === 'TR:{}'", ids[0]),
        )
        .await;
    // d opens the dismiss dialog; Escape returns focus to the row, not to BODY.
    press(&ui, "d").await;
    ui.browser.find("#dismiss-dialog[open]").await;
    press(&ui, "\u{E00C}").await;
    ui.browser
        .wait_js(
            "focus back on the row, its dismiss button enabled again",
            // The browser restores focus when the dialog closes; the page re-enables
            // the button on the dialog's `close` event, a task later.
            &format!(
                "!document.querySelector('dialog[open]') && {ACTIVE} === 'TR:{0}' \
                 && !document.querySelector(\"[data-dismiss='{0}']\").disabled",
                ids[0]
            ),
        )
        .await;
    // d again and confirm: the row goes, the next one has focus.
    press(&ui, "d").await;
    ui.browser.find("#dismiss-dialog[open]").await;
    click(&ui, "#dismiss-dialog button[type='submit']").await;
    ui.browser
        .wait_js(
            "next row focused",
            &format!("!document.querySelector(\".queue-table tr[data-id='{}']\") && {ACTIVE} === 'TR:{}'", ids[0], ids[1]),
        )
        .await;
    // x selects; bulk dismiss takes both in one dialog.
    press(&ui, "xjx").await;
    assert_eq!(text(&ui, "#bulk-dismiss").await, "Dismiss selected (2)");
    click(&ui, "#bulk-dismiss").await;
    ui.browser.find("#bulk-dismiss-dialog[open]").await;
    type_into(&ui, "#bulk-dismiss-reason", "Checked in bulk").await;
    ui.browser.screenshot("bulk-dismiss-dialog").await;
    click(&ui, "#bulk-dismiss-dialog button[type='submit']").await;
    ui.browser
        .wait_js(
            "three dismissed",
            &format!(
                "document.getElementById('queue-total').textContent === '{}'",
                total - 3
            ),
        )
        .await;
    let log = ui
        .api("/api/audit-log?action_type=review_dismiss&size=10")
        .await;
    let bulk: Vec<i64> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["details"]["reason"] == "Checked in bulk")
        .map(|i| i["canonical_event_id"].as_i64().expect("id"))
        .collect();
    let mut bulk_sorted = bulk.clone();
    bulk_sorted.sort();
    let mut want = vec![ids[1], ids[2]];
    want.sort();
    assert_eq!(bulk_sorted, want);
    ui.stop().await;
}

/// Installs a layout-shift observer; `return window.cls` reads the sum of shifts
/// without recent input (the CLS definition's numerator over the whole visit).
const OBSERVE_CLS: &str = "window.cls = 0; window.shifts = []; new PerformanceObserver(l => { for (const e of l.getEntries()) { if (!e.hadRecentInput) { window.cls += e.value; window.shifts.push([e.value, e.startTime, e.sources.map(s => [s.node && (s.node.className || s.node.nodeName), JSON.stringify(s.previousRect), JSON.stringify(s.currentRect)])]); } } }).observe({ type: 'layout-shift', buffered: true }); return true;";

#[actix_rt::test]
async fn phone_layout_stacks_cards_and_the_desktop_list_neither_shifts_nor_draws_every_row() {
    let ui = Ui::start().await;
    // Desktop: load, page, sort; the layout-shift score stays below "good" (0.1).
    ui.goto("/").await;
    ui.browser.js(OBSERVE_CLS).await;
    ui.browser
        .wait_js(
            "rows",
            "document.querySelectorAll('.events-table tbody tr[data-id]').length === 25",
        )
        .await;
    for step in [
        "button.btn:nth-last-child(1)",
        "button.sort[data-sort='city']",
        "button.sort[data-sort='date']",
    ] {
        let before = ui
            .browser
            .js("return document.querySelector('.events-table tbody tr[data-id]')?.dataset.id;")
            .await;
        click(&ui, &format!(".pager {step}, thead {step}")).await;
        ui.browser
            .wait_js(
                "redrawn",
                &format!("!document.querySelector('.events-table.loading') && document.querySelector('.events-table tbody tr[data-id]')?.dataset.id !== {before}"),
            )
            .await;
    }
    let cls = ui.browser.js("return [window.cls, window.shifts];").await;
    println!(
        "CLS of the event list (load, next page, two sorts): {}",
        cls[0]
    );
    assert!(cls[0].as_f64().expect("cls") < 0.1, "layout shift: {cls}");

    // ALL: only rows near the viewport exist; scrolling draws the end of the list.
    let total = ui.api("/api/canonical-events?size=1").await["total"]
        .as_i64()
        .expect("total");
    assert!(
        total > 100,
        "the seed exceeds the virtualisation threshold: {total}"
    );
    ui.goto("/?size=0&sort_by=title&sort_dir=desc").await;
    ui.browser
        .wait_js(
            "virtual body",
            "document.querySelector('.events-table tbody.virtual tr[data-id]')",
        )
        .await;
    let drawn = ui.count(".events-table tbody tr[data-id]").await as i64;
    assert!(drawn < total, "{drawn} of {total} rows drawn");
    let all = ui
        .api("/api/canonical-events?size=10000&sort_by=title&sort_dir=desc")
        .await;
    let last_id = all["items"][total as usize - 1]["id"].as_i64().expect("id");
    ui.browser
        .js("window.scrollTo(0, document.documentElement.scrollHeight); return true;")
        .await;
    ui.browser
        .wait_js(
            "the last row drawn",
            &format!("document.querySelector(\".events-table tr[data-id='{last_id}']\")"),
        )
        .await;
    ui.browser.screenshot("events-all-virtual").await;
    flag_for_review(&ui, 3).await;

    // Phone: stacked cards, compact header, nothing wider than the screen.
    let phone = Browser::start_phone().await;
    phone.goto(&ui.url("/")).await;
    phone
        .wait_js(
            "rows",
            "document.querySelectorAll('.events-table tbody tr[data-id]').length > 0",
        )
        .await;
    let layout = phone
        .js("const tr = document.querySelector('.events-table tbody tr[data-id]'); return [getComputedStyle(tr).display, document.documentElement.scrollWidth, window.innerWidth, document.querySelector('.topbar').getBoundingClientRect().height, getComputedStyle(document.querySelector('.events-table thead')).display];")
        .await;
    assert_eq!(layout[2], 390, "a phone's viewport: {layout}");
    assert_eq!(layout[0], "block", "rows are cards: {layout}");
    assert_eq!(layout[4], "none", "no table header on a phone: {layout}");
    assert!(
        layout[1].as_i64() <= layout[2].as_i64(),
        "no horizontal scroll: {layout}"
    );
    assert!(
        layout[3].as_f64().expect("height") <= 90.0,
        "compact header: {layout}"
    );
    phone.viewport_screenshot("events-390").await;
    phone.js("window.scrollTo(0, 700); return true;").await;
    phone.viewport_screenshot("events-390-scrolled").await;
    phone.goto(&ui.url("/review")).await;
    phone
        .wait_js(
            "queue cards",
            "document.querySelectorAll('.queue-table tbody tr').length > 0",
        )
        .await;
    let reachable = phone
        .js("return [...document.querySelectorAll('.queue-table tbody tr:first-child .row-actions .btn')].map(b => { const r = b.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; });")
        .await;
    assert_eq!(
        reachable,
        serde_json::json!([true, true, true]),
        "Dismiss, Merge, Split on screen"
    );
    assert_eq!(
        phone
            .js("return document.documentElement.scrollWidth <= window.innerWidth;")
            .await,
        true
    );
    phone.viewport_screenshot("review-390").await;
    phone.goto(&ui.url("/review?tab=missed")).await;
    phone
        .wait_js(
            "pairs",
            "document.querySelectorAll('.missed-item').length > 0",
        )
        .await;
    let pair = phone
        .js("const i = document.querySelector('.missed-item'); const [a, b] = i.querySelectorAll('.pair-side'); const m = i.querySelector('[data-merge-pair]').getBoundingClientRect(); return [b.getBoundingClientRect().top >= a.getBoundingClientRect().bottom, m.right <= window.innerWidth, document.documentElement.scrollWidth <= window.innerWidth];")
        .await;
    assert_eq!(
        pair,
        serde_json::json!([true, true, true]),
        "pair sides stacked, actions on screen"
    );
    phone.viewport_screenshot("review-missed-390").await;
    // The merge dialog fits the screen, its Merge button too.
    let c = ui.canonical_with_sources(2).await;
    phone.goto(&ui.url(&format!("/events/{}", c["id"]))).await;
    phone
        .find("#merge-button")
        .await
        .click()
        .await
        .expect("click");
    phone.find("#merge-dialog[open]").await;
    let needle: String = c["title"]
        .as_str()
        .expect("title")
        .chars()
        .take(6)
        .collect();
    phone
        .find("#merge-target")
        .await
        .send_keys(&needle)
        .await
        .expect("type");
    phone
        .wait_js("results", "document.querySelector('#merge-dialog .result')")
        .await;
    phone
        .find("#merge-dialog .result")
        .await
        .click()
        .await
        .expect("pick");
    phone
        .wait_js(
            "the diff",
            "document.querySelector('#merge-dialog .diff-table')",
        )
        .await;
    let fits = phone
        .js("const d = document.getElementById('merge-dialog').getBoundingClientRect(); return d.left >= 0 && d.right <= window.innerWidth;")
        .await;
    assert_eq!(fits, true);
    phone.viewport_screenshot("merge-dialog-390").await;
    assert_eq!(
        phone.js("return window.uiErrors;").await,
        serde_json::json!([])
    );
    drop(phone);
    ui.stop().await;
}

#[actix_rt::test]
async fn small_fixes_sum_on_clear_geo_reweighting_dates_categories_and_language() {
    let ui = Ui::start().await;
    // Config: clearing a weight (no input event) updates the sum at once.
    ui.goto("/config").await;
    let before = text(&ui, "#cfg-scoring-sum").await;
    assert_eq!(before, "Sum: 1.00");
    ui.browser
        .find("#cfg-scoring-geo")
        .await
        .clear()
        .await
        .expect("clear");
    ui.browser
        .wait_js(
            "sum updated",
            "document.getElementById('cfg-scoring-sum').textContent !== 'Sum: 1.00'",
        )
        .await;

    // A decision whose geo signal was untrusted explains the re-weighting.
    let list = ui
        .api("/api/canonical-events?size=10000&min_sources=2")
        .await;
    let mut target = None;
    for c in list["items"].as_array().expect("items") {
        let d = ui.api(&format!("/api/canonical-events/{}", c["id"])).await;
        if d["match_decisions"]
            .as_array()
            .expect("decisions")
            .iter()
            .any(|x| x["weights"]["geo"] == 0.0)
        {
            target = Some(d);
            break;
        }
    }
    let d = target.expect("the seed has a pair without trusted coordinates");
    ui.goto(&format!("/events/{}", d["id"])).await;
    // Under the learned model (the default) the distance is unknown, not re-weighted.
    let note = text(&ui, "[data-testid='geo-untrusted']").await;
    assert!(note.contains("unknown"), "{note}");

    // Dates once, without seconds; German content marked as such.
    let dates = ui
        .browser
        .js("const dd = [...document.querySelectorAll('dl.fields dt')].find(dt => dt.textContent === 'Dates').nextElementSibling; const lines = [...dd.querySelectorAll(':scope > div')].map(x => x.textContent); return [lines, document.body.innerText];")
        .await;
    let lines: Vec<String> = serde_json::from_value(dates[0].clone()).expect("lines");
    let unique: std::collections::BTreeSet<&String> = lines.iter().collect();
    assert_eq!(unique.len(), lines.len(), "each date once: {lines:?}");
    let body = dates[1].as_str().expect("text");
    let seconds = regex_like_seconds(body);
    assert!(seconds.is_none(), "a time with seconds: {seconds:?}");
    // A day a range with the same times covers is not listed again.
    let collapsed = ui
        .browser
        .client
        .execute_async(
            "const done = arguments[0]; import('/assets/format.js').then(m => done(m.dateLines([\
               {date: '2026-01-23', end_date: '2026-01-25', start_time: '19:30:00', end_time: '22:00:00'},\
               {date: '2026-01-24', end_date: null, start_time: '19:30:00', end_time: '22:00:00'},\
               {date: '2026-01-24', end_date: null, start_time: '10:00:00', end_time: null},\
               {date: '2026-01-23', end_date: '2026-01-25', start_time: '19:30', end_time: '22:00'}])));",
            vec![],
        )
        .await
        .expect("dateLines");
    assert_eq!(
        collapsed,
        serde_json::json!(["23.01.2026 19:30 - 22:00 to 25.01.2026", "24.01.2026 10:00"])
    );
    let lang = ui
        .browser
        .js("return [document.documentElement.lang, document.querySelector('.event-title [lang=de]') !== null, document.querySelectorAll('.source-card[lang=de]').length];")
        .await;
    assert_eq!(lang[0], "en");
    assert_eq!(lang[1], true);
    assert!(lang[2].as_i64() >= Some(2));
    ui.browser.screenshot("detail-geo-reweighted").await;

    // Synonym categories filter together: "fasching" finds "fasnacht" events.
    ui.goto("/?category=fasching").await;
    ui.browser
        .wait_js(
            "a fasnacht row",
            "!document.querySelector('.events-table.loading') && [...document.querySelectorAll('.events-table tbody tr[data-id]')].some(tr => tr.textContent.includes('fasnacht'))",
        )
        .await;
    let fasnacht = ui
        .api("/api/canonical-events?category=fasnacht&size=1")
        .await;
    let fasching = ui
        .api("/api/canonical-events?category=fasching&size=1")
        .await;
    assert_eq!(fasching["total"], fasnacht["total"]);
    ui.stop().await;
}

/// The first `HH:MM:SS` in `text`, if any.
fn regex_like_seconds(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(8).find_map(|w| {
        let d = |i: usize| w[i].is_ascii_digit();
        (d(0) && d(1) && w[2] == ':' && d(3) && d(4) && w[5] == ':' && d(6) && d(7))
            .then(|| w.iter().collect())
    })
}

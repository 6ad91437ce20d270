//! The one-file fixture the PostgreSQL-level tests store: a WZO issue whose first
//! listing is the carnival parade, and the bundled word lists the ingest derives
//! with.

use event_dedup::ingest::{parse_event_file, ParsedFile};
use event_dedup::preprocess::WordLists;

pub const FIXTURE_NAME: &str = "wzo_14.02.2026_2026-02-14T07-12-05-331Z.json";
pub const FIXTURE: &str =
    include_str!("../fixtures/ingest/wzo_14.02.2026_2026-02-14T07-12-05-331Z.json");
/// First event of the fixture: the carnival parade.
pub const PARADE: &str = "pdf-3fa91c02-1-0";

/// The bundled word lists, loaded once per test process.
pub fn lists() -> &'static WordLists {
    static LISTS: std::sync::OnceLock<WordLists> = std::sync::OnceLock::new();
    LISTS.get_or_init(WordLists::bundled)
}

pub fn fixture() -> ParsedFile {
    parse_event_file(FIXTURE_NAME, FIXTURE.as_bytes()).expect("fixture parses")
}

//! The browser tests' seed, also used by the API tests of the missed-duplicate queue
//! (`#[path]` include): one file list, so both test the same data.

/// The seed: the spec's worked example (umlauts, a multi-source group) and one week
/// of five dev-set sources (more cities, categories and uncertain groups).
pub const SEED: [&str; 7] = [
    "worked_example/wzo_14.02.2026_2026-02-14T07-12-05-331Z.json",
    "worked_example/bzk_15.02.2026_2026-02-15T06-40-11-002Z.json",
    "dev/events/bwb_11.02.2026_2026-02-10T21-52-07-332Z.json",
    "dev/events/kzt_13.02.2026_2026-02-12T22-53-06-030Z.json",
    "dev/events/lzr_12.02.2026_2026-02-11T18-28-02-526Z.json",
    "dev/events/otb_10.02.2026_2026-02-09T18-56-06-697Z.json",
    "dev/events/swk_11.02.2026_2026-02-10T22-40-59-360Z.json",
];

//! event-dedup: turns event listings from many regional sources into one clean,
//! de-duplicated catalogue of real-world events.
//!
//! The crate is organised like the pipeline it implements:
//!
//! * [`ingest`] - read and validate event files (all-or-nothing per file).
//! * [`preprocess`] - normalization (umlauts, prefixes, dialect synonyms, city aliases)
//!   and blocking keys, driven by the word lists under `config/`.
//! * [`matching`] - candidate pairs, the four signal scorers, decisions, clustering and
//!   canonical synthesis: a pure function of events + config + review constraints.
//! * [`tiebreak`] - the optional LLM tie-breaker for ambiguous pairs (client, prompt,
//!   cache, usage and cost, secrets).
//! * [`evaluation`] - precision / recall / F1 against labelled ground truth.
//! * [`generate`] - realistic synthetic event files with ground truth, for demos and
//!   benchmarks.
//! * [`store`] - PostgreSQL schema, pool and repositories; an embedded cluster for
//!   demos and tests.
//! * [`settings`] - the `EVENT_DEDUP_*` environment, validated once; [`redact`]
//!   masks the secrets of URLs and connection strings before they are logged.
//! * [`actors`] - the running service's stages (watcher, ingest, matcher, stats).
//! * [`api`] - the REST API and the HTTP server (actix-web handlers over the store).
//! * [`web`] - the review UI: embedded single-page app, served next to the API.
//! * [`startup`] - `App::build` / `run_until_stopped`: the whole service in-process.
//! * [`cli`] - the command-line surfaces (`run`, `api`, `migrate`, `dedup`,
//!   `evaluate`, `generate`, `bench`).

pub mod actors;
pub mod api;
pub mod cli;
pub mod evaluation;
pub mod generate;
pub mod ingest;
pub mod matching;
pub mod metrics;
pub mod model;
pub mod preprocess;
pub mod redact;
pub mod settings;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tiebreak;
pub mod web;

//! REST API tests (issue #4): every endpoint against a real PostgreSQL database and a
//! real HTTP server, including review decisions surviving a pipeline re-run, config
//! validation, export round trips, auth refusals and a fuzz test for 5xx. One module
//! per resource, like the handlers in `src/api`.

mod audit;
mod auth;
mod config;
mod contract;
mod dashboard;
mod events;
mod explain;
mod export;
mod hardening;
mod helpers;
mod missed;
mod openapi;
mod operations;
mod review;
#[path = "../ui/seed.rs"]
mod seed;

//! The HTTP server: the REST API (and later the review UI) on one listener, built like
//! zero-to-production's `run`: it takes a bound listener, so tests can bind port 0 and
//! ask for the port.
//!
//! Invariants: the server never installs its own signal handlers (the owner decides
//! the shutdown order and stops the server last).

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};

use super::{configure, cors, ApiState};

/// Worker threads: the API is I/O-bound and shares two cores with the pipeline.
pub const HTTP_WORKERS: usize = 2;

/// Builds the HTTP server on `listener` (not yet polled: spawn or await it).
pub fn run(listener: TcpListener, state: ApiState) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(cors())
            .app_data(state.clone())
            .configure(configure)
    })
    .workers(HTTP_WORKERS)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

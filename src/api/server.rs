//! The HTTP server: the REST API (and later the review UI) on one listener, built like
//! zero-to-production's `run`: it takes a bound listener, so tests can bind port 0 and
//! ask for the port.
//!
//! Invariants: the server never installs its own signal handlers (the owner decides
//! the shutdown order and stops the server last). No connection is held by a stalled
//! client: a request head must arrive within [`HEAD_READ_TIMEOUT`], its body within
//! [`super::body_guard::BODY_READ_TIMEOUT`] (408 and close otherwise).

use std::net::TcpListener;

use actix_http::{HttpService, KeepAlive, Protocol};
use actix_server::Server;
use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::AppConfig;
use actix_web::middleware::from_fn;
use actix_web::{web, App};

use super::body_guard::body_guard;
use super::connection::JsonErrorIo;
use super::{configure, cors, ApiState};

/// Worker threads: the API is I/O-bound and shares two cores with the pipeline.
pub const HTTP_WORKERS: usize = 2;
/// How long a request head may take (actix's default, stated here because the body
/// deadline builds on it).
pub const HEAD_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a connection that is being closed may linger (actix-web's default).
pub const DISCONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Builds the HTTP server on `listener` (not yet polled: spawn or await it).
pub fn run(listener: TcpListener, state: ApiState) -> std::io::Result<Server> {
    run_with_workers(listener, state, HTTP_WORKERS)
}

/// [`run`] with `workers` threads (tests use one per server).
///
/// Assembled like actix-web's `HttpServer::listen` (same actix-http service, same
/// timeouts), except that each connection is wrapped in [`JsonErrorIo`] first.
pub fn run_with_workers(
    listener: TcpListener,
    state: ApiState,
    workers: usize,
) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let addr = listener.local_addr()?;
    let server = actix_server::Server::build()
        .workers(workers)
        .disable_signals()
        .listen("event-dedup-http", listener, move || {
            let state = state.clone();
            let app = move || {
                App::new()
                    .wrap(cors())
                    .wrap(from_fn(body_guard))
                    .app_data(state.clone())
                    .configure(configure)
            };
            let http = HttpService::build()
                .keep_alive(KeepAlive::default())
                .client_request_timeout(HEAD_READ_TIMEOUT)
                .client_disconnect_timeout(DISCONNECT_TIMEOUT)
                .local_addr(addr)
                .finish(map_config(
                    app().into_factory().map_err(|e| e.error_response()),
                    |_| AppConfig::default(),
                ));
            fn_service(|io: actix_rt::net::TcpStream| async move {
                let _ = io.set_nodelay(true);
                let peer = io.peer_addr().ok();
                Ok::<_, actix_http::error::DispatchError>((
                    JsonErrorIo::new(io),
                    Protocol::Http1,
                    peer,
                ))
            })
            .and_then(http)
        })?
        .run();
    Ok(server)
}

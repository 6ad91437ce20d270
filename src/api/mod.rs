//! HTTP surface. For now only `GET /health` (the REST API and the review UI come
//! with their own issue); the server is built like zero-to-production's `run`: it
//! takes a bound listener, so tests can bind port 0 and ask for the port.
//!
//! Invariants: the server never installs its own signal handlers (the `App` owns
//! shutdown and stops the server last, after the pipeline drained); a handler never
//! waits on the database longer than [`HEALTH_DB_TIMEOUT`].

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App as HttpApp, HttpResponse, HttpServer};
use deadpool_postgres::Pool;
use serde::Serialize;

/// A load balancer's health probe typically times out after a few seconds; answer
/// well before that, reporting the database as down rather than hanging.
pub const HEALTH_DB_TIMEOUT: Duration = Duration::from_secs(2);
/// One worker thread: `/health` is the only route and the machine is shared with
/// the matching pipeline.
pub const HTTP_WORKERS: usize = 1;

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    database: &'static str,
}

/// `200 {"status":"ok","database":"up"}` when a query round-trips, else `503` with
/// `"database":"down"` (the process is alive; its dependency is not).
async fn health(pool: web::Data<Pool>) -> HttpResponse {
    let probe = async {
        let client = pool.get().await.ok()?;
        client.simple_query("SELECT 1").await.ok()
    };
    match tokio::time::timeout(HEALTH_DB_TIMEOUT, probe).await {
        Ok(Some(_)) => HttpResponse::Ok().json(Health {
            status: "ok",
            database: "up",
        }),
        _ => HttpResponse::ServiceUnavailable().json(Health {
            status: "degraded",
            database: "down",
        }),
    }
}

/// Builds the HTTP server on `listener` (not yet polled: spawn it).
pub fn run(listener: TcpListener, pool: Pool) -> std::io::Result<Server> {
    let pool = web::Data::new(pool);
    let server = HttpServer::new(move || {
        HttpApp::new()
            .app_data(pool.clone())
            .route("/health", web::get().to(health))
    })
    .workers(HTTP_WORKERS)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

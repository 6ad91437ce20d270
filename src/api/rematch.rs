//! Re-match requests across processes. In the compose deployment the API runs in its
//! own process (`event-dedup api`), so a review cannot message the matcher actor
//! directly: it sends a PostgreSQL `NOTIFY` on [`CHANNEL`], and the worker `LISTEN`s
//! and forwards each notification to its matcher as `RematchRequested`.
//!
//! Invariants: losing a notification (worker down or reconnecting) loses no review:
//! constraints are stored, and every later run applies them; the listener reconnects
//! with backoff until shutdown.

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::actors::matcher::{MatcherActor, RematchRequested};
use crate::actors::Shutdown;

/// The notification channel shared by the API and the worker.
pub const CHANNEL: &str = "event_dedup_rematch";
/// Wait before reconnecting a lost listener connection.
const RECONNECT_DELAY: Duration = Duration::from_secs(5);

/// A re-match trigger for a process without a matcher: notify the worker.
pub fn via_notify(pool: deadpool_postgres::Pool) -> Arc<dyn Fn() + Send + Sync> {
    Arc::new(move || {
        let pool = pool.clone();
        actix_rt::spawn(async move {
            let result = async {
                let client = pool.get().await.map_err(|e| e.to_string())?;
                crate::store::pool::notify(&**client, CHANNEL)
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "re-match notification not sent; the next run applies the review");
            }
        });
    })
}

/// Listens for notifications and forwards them to `matcher` until shutdown.
pub fn listen(database_url: String, matcher: Addr<MatcherActor>, shutdown: Shutdown) {
    actix_rt::spawn(async move {
        while !shutdown.is_triggered() {
            if let Err(e) = listen_once(&database_url, &matcher, &shutdown).await {
                tracing::warn!(error = %e, "re-match listener disconnected; reconnecting");
            }
            tokio::select! {
                _ = tokio::time::sleep(RECONNECT_DELAY) => {}
                _ = shutdown.wait() => {}
            }
        }
    });
}

async fn listen_once(
    url: &str,
    matcher: &Addr<MatcherActor>,
    shutdown: &Shutdown,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // The connection future yields notifications; drive it on its own task.
    let driver = actix_rt::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(_)) => {
                    if tx.send(()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    crate::store::pool::listen(&client, CHANNEL).await?;
    loop {
        tokio::select! {
            got = rx.recv() => match got {
                Some(()) => {
                    let _ = matcher.try_send(RematchRequested);
                }
                None => break,
            },
            _ = shutdown.wait() => break,
        }
    }
    driver.abort();
    Ok(())
}

//! Wake-ups across replicas: a dedicated connection LISTENs for the heads other replicas
//! announce at commit, and a poll of `change_head` covers a lost connection or notification.
//!
//! The feed only ever wakes engines early; they re-read the change log from their own cursor,
//! so a missed or duplicated wake-up loses nothing.

use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::db::{Conn, Db, CHANGES_CHANNEL};

/// How often the head is polled whatever LISTEN says, and how soon a lost listener reconnects.
pub(crate) const POLL_EVERY: Duration = Duration::from_secs(2);

/// Runs until the store is dropped: listens, and polls every `POLL_EVERY`.
pub(crate) async fn run(db: Weak<Db>, config: tokio_postgres::Config) {
    loop {
        if db.strong_count() == 0 {
            return;
        }
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (notes, mut heads) = tokio::sync::mpsc::unbounded_channel::<i64>();
                // The connection yields notifications only when polled as a stream of messages.
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(n)) => {
                                if let Ok(head) = n.payload().parse::<i64>() {
                                    if notes.send(head).is_err() {
                                        return;
                                    }
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "change listener connection failed");
                                return;
                            }
                        }
                    }
                });
                if let Err(e) = client
                    .batch_execute(&format!("LISTEN {CHANGES_CHANNEL}"))
                    .await
                {
                    tracing::warn!(error = %e, "LISTEN failed; polling only");
                }
                listen(&db, &mut heads).await;
                driver.abort();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot connect the change listener; polling");
                if !poll_once(&db).await {
                    return;
                }
                tokio::time::sleep(POLL_EVERY).await;
            }
        }
    }
}

/// Publishes notified heads, and polls when none came for `POLL_EVERY`; returns when the
/// listener connection ends or the store is dropped.
async fn listen(db: &Weak<Db>, heads: &mut tokio::sync::mpsc::UnboundedReceiver<i64>) {
    loop {
        match tokio::time::timeout(POLL_EVERY, heads.recv()).await {
            Ok(Some(head)) => match db.upgrade() {
                Some(db) => db.published(head),
                None => return,
            },
            Ok(None) => return,
            Err(_) => {
                if !poll_once(db).await {
                    return;
                }
            }
        }
    }
}

/// Reads the head and publishes it; `false` once the store is gone.
async fn poll_once(db: &Weak<Db>) -> bool {
    let Some(db) = db.upgrade() else {
        return false;
    };
    let head = match db.client().await {
        Ok(client) => crate::changes::head_seq(&Conn::from(&client)).await,
        Err(e) => Err(e),
    };
    match head {
        Ok(head) => db.published(head),
        Err(e) => tracing::warn!(error = %e, "polling the change head failed"),
    }
    true
}

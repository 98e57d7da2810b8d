//! The writer thread: owns the only writing connection and commits writes in groups.
//!
//! Callers send a job; the thread runs every job that is waiting (up to `MAX_BATCH`) inside one
//! `BEGIN IMMEDIATE … COMMIT`, each job in its own savepoint, and answers each caller only after
//! the commit. Under load this turns N commits (and N rounds of WAL page writes) into one, which
//! is where SQLite's write throughput goes; with one caller it is one transaction per write.
//!
//! After each commit the thread publishes the change log's head on the change feed (a `watch`
//! channel), so that engines in this process wake up instead of polling.
//!
//! Invariant: no caller learns the outcome of a write before it is committed.
//! Invariant: the change feed never shows a sequence number before its change is committed.

use std::sync::Arc;
use std::thread::JoinHandle;

use domain::{Error, Result};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot, watch};

use crate::changes;
use crate::readers::Readers;

/// The most writes committed together; bounds the latency a batch adds to its first write.
const MAX_BATCH: usize = 256;

/// A write to run: it returns what to do once the outcome of the commit is known.
type Job = Box<dyn FnOnce(&mut Connection) -> Completion + Send>;
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;

pub(crate) struct Writer {
    jobs: Option<mpsc::UnboundedSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread; it publishes the change log's head on `feed` after each commit.
    pub(crate) fn start(
        conn: Connection,
        readers: Arc<Readers>,
        feed: watch::Sender<i64>,
    ) -> Result<Writer> {
        let (jobs, receiver) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, receiver, &readers, &feed))
            .map_err(|e| Error::Internal(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the writer connection, inside a transaction the thread commits.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (reply, outcome) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            Box::new(move |committed: Result<(), String>| {
                let result = match committed {
                    Ok(()) => result,
                    Err(e) => Err(Error::Internal(format!("sqlite commit failed: {e}"))),
                };
                // The caller may have gone away (request cancelled); the write stands anyway.
                let _ = reply.send(result);
            })
        });
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::Internal("the SQLite writer thread has stopped".into())
}

impl Drop for Writer {
    /// Lets the thread finish the queued writes, then waits for it.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the SQLite writer thread panicked");
            }
        }
    }
}

fn run(
    mut conn: Connection,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    readers: &Readers,
    feed: &watch::Sender<i64>,
) {
    let mut done: Vec<Completion> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.blocking_recv() {
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "cannot begin a SQLite write transaction");
            first(&mut conn)(Err(e.to_string()));
            continue;
        }
        done.push(first(&mut conn));
        while done.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => done.push(job(&mut conn)),
                Err(_) => break,
            }
        }
        // Read inside the transaction: no read transaction of its own, and exactly what commits.
        let head = changes::head_seq(&conn);
        let committed = conn.execute_batch("COMMIT").map_err(|e| {
            tracing::error!(error = %e, writes = done.len(), "SQLite commit failed");
            let _ = conn.execute_batch("ROLLBACK");
            e.to_string()
        });
        // Before anyone learns of the commit, so that their next read sees it.
        readers.committed();
        if committed.is_ok() {
            publish(feed, head);
        }
        for completion in done.drain(..) {
            completion(committed.clone());
        }
    }
}

/// Tells the change feed's receivers about a new head, only if it moved forward (most batches in
/// a quiet moment append nothing, and receivers should not wake for them).
fn publish(feed: &watch::Sender<i64>, head: Result<i64>) {
    match head {
        Ok(head) => {
            feed.send_if_modified(|current| {
                let grew = head > *current;
                if grew {
                    *current = head;
                }
                grew
            });
        }
        Err(e) => tracing::error!(error = %e, "cannot read the change log's head"),
    }
}

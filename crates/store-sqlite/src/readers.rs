//! Reader connections that keep one read transaction across reads while nothing is written.
//!
//! In WAL mode every statement outside a transaction opens and closes a read transaction of its
//! own, with file-lock system calls each time; on the hottest path (GET by id) that is a large
//! share of the work. So a reader opens a transaction and reuses its snapshot until either the
//! writer thread commits (the generation moves on) or the snapshot is `MAX_AGE` old (writes by
//! other processes, such as the CLI).
//!
//! Invariant: a read that starts after a write was acknowledged sees that write: the writer
//! bumps the generation before it answers any caller, and a reader compares generations under
//! its lock before every read.
//! Invariant: an idle reader does not pin an old snapshot (which would keep the WAL from being
//! checkpointed): after each commit the writer ends the snapshots of the readers nobody holds.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use domain::{Error, Result};
use rusqlite::Connection;

use crate::convert::SqlResult;

/// How stale a snapshot may get when only other processes write.
const MAX_AGE: Duration = Duration::from_millis(10);

pub(crate) struct Readers {
    slots: Vec<Mutex<Reader>>,
    generation: AtomicU64,
    next: AtomicUsize,
}

struct Reader {
    conn: Connection,
    /// The generation and start of the open snapshot, if one is open.
    open: Option<(u64, Instant)>,
}

impl Reader {
    fn close(&mut self) {
        if self.open.take().is_some() {
            if let Err(e) = self.conn.execute_batch("COMMIT") {
                tracing::warn!(error = %e, "cannot end a SQLite read snapshot");
            }
        }
    }
}

/// A reader connection inside a fresh-enough snapshot.
pub(crate) struct ReadConn<'a>(MutexGuard<'a, Reader>);

impl Deref for ReadConn<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.0.conn
    }
}

impl Readers {
    pub(crate) fn new(conns: Vec<Connection>) -> Readers {
        Readers {
            slots: conns
                .into_iter()
                .map(|conn| Mutex::new(Reader { conn, open: None }))
                .collect(),
            generation: AtomicU64::new(0),
            next: AtomicUsize::new(0),
        }
    }

    /// A reader nobody holds right now, if any.
    pub(crate) fn free(&self) -> Result<Option<ReadConn<'_>>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.slots.len();
        let guard = (0..n).find_map(|i| {
            self.slots
                .get((start + i) % n)
                .and_then(|m| m.try_lock().ok())
        });
        guard.map(|g| self.fresh(g)).transpose()
    }

    /// A free reader if there is one, else the next in turn (waiting for it).
    pub(crate) fn any(&self) -> Result<ReadConn<'_>> {
        if let Some(conn) = self.free()? {
            return Ok(conn);
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let guard = self
            .slots
            .get(start % self.slots.len().max(1))
            .ok_or_else(|| Error::Internal("no SQLite reader connections".into()))?
            .lock()
            .map_err(|_| Error::Internal("a SQLite reader lock is poisoned".into()))?;
        self.fresh(guard)
    }

    fn fresh<'a>(&self, mut reader: MutexGuard<'a, Reader>) -> Result<ReadConn<'a>> {
        let generation = self.generation.load(Ordering::SeqCst);
        let current = reader
            .open
            .is_some_and(|(g, at)| g == generation && at.elapsed() < MAX_AGE);
        if !current {
            reader.close();
            reader.conn.execute_batch("BEGIN DEFERRED").sql()?;
            reader.open = Some((generation, Instant::now()));
        }
        Ok(ReadConn(reader))
    }

    /// Called by the writer after each commit, before it answers the writers' callers.
    pub(crate) fn committed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        for slot in &self.slots {
            if let Ok(mut reader) = slot.try_lock() {
                reader.close();
            }
        }
    }
}

//! What the stores with a writer thread share (SQLite, PostgreSQL): the queue
//! a handle hands its work to, the grouping of queued appends into one
//! commit, the answers and the head published after it, and what the writer
//! knows of the log between commits ([`Known`]).
//!
//! A store's handles submit work when a method is **called** ([`Writer::ask`]),
//! so calls through one store are taken in call order. The thread takes
//! every append already queued, up to [`MAX_GROUP`], as one group
//! ([`Queue::next_turn`]); other work (a key change, a load's beginning or
//! end) is a turn of its own, taken after the group queued before it.
//!
//! It must not: know a database (each store runs its own transactions),
//! answer a group before its store says it is committed, or publish a head
//! that no commit reached.

use foldhash::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use futures::future::BoxFuture;
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use super::{AppendRequest, Appended, KeyOp, KeyOpDone, StoreError};

/// The most requests the writer commits in one transaction.
pub const MAX_GROUP: usize = 1024;

/// The most stream versions [`Known`] keeps; past it, it starts again.
const KNOWN_STREAMS: usize = 100_000;

/// How many groups and requests the writer has committed since the store was
/// opened: `requests / groups` is the mean group size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed (or attempted).
    pub groups: u64,
    /// Append requests in them.
    pub requests: u64,
}

impl CommitStats {
    /// Requests per transaction (0 before the first).
    pub fn mean_group(&self) -> f64 {
        if self.groups == 0 {
            0.0
        } else {
            self.requests as f64 / self.groups as f64
        }
    }
}

/// What the writer thread shares with the handles.
pub(crate) struct Shared {
    head: watch::Sender<u64>,
    groups: AtomicU64,
    requests: AtomicU64,
}

impl Shared {
    /// Starts at a log whose head is `head`.
    pub(crate) fn new(head: u64) -> Self {
        Self {
            head: watch::channel(head).0,
            groups: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// Counts a group of `requests` taken by the writer.
    pub(crate) fn count_group(&self, requests: usize) {
        self.groups.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(requests as u64, Ordering::Relaxed);
    }

    /// Tells the handles' watchers that the log reaches `head` (committed).
    /// The published head never moves back.
    pub(crate) fn publish_head(&self, head: u64) {
        self.head.send_if_modified(|h| {
            let moved = head > *h;
            *h = (*h).max(head);
            moved
        });
    }

    /// A watcher of the published head.
    pub(crate) fn head_changes(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    /// The groups and requests counted so far.
    pub(crate) fn stats(&self) -> CommitStats {
        CommitStats {
            groups: self.groups.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }
}

/// One append waiting for the writer.
pub(crate) struct Job {
    pub(crate) request: AppendRequest,
    pub(crate) reply: oneshot::Sender<Result<Vec<Appended>, StoreError>>,
}

/// What the writer thread is asked to do.
pub(crate) enum Work {
    /// An append, committed in a group with the appends queued beside it.
    Append(Job),
    /// Anything else, in a turn of its own.
    Alone(Alone),
}

/// Work the writer does alone, in a turn of its own.
pub(crate) enum Alone {
    /// A key-table change, in a transaction of its own.
    Keys {
        op: KeyOp,
        reply: oneshot::Sender<Result<KeyOpDone, StoreError>>,
    },
    /// Begins (`true`) or ends a load ([`super::EventLog::begin_load`]).
    Load {
        begin: bool,
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
}

/// One turn of the writer.
pub(crate) enum Turn {
    /// Appends queued together, in call order, at most [`MAX_GROUP`].
    Group(Vec<Job>),
    /// One piece of other work.
    Alone(Alone),
}

/// The writer thread's end of the queue.
pub(crate) struct Queue {
    jobs: mpsc::Receiver<Work>,
    /// Work taken off the queue while a group was gathered, kept for the
    /// next turn (call order).
    next: Option<Work>,
}

impl Queue {
    /// Waits for the next turn; `None` once every handle is gone and the
    /// queue is empty: what was queued before the last handle went is still
    /// taken.
    pub(crate) fn next_turn(&mut self) -> Option<Turn> {
        let first = match self.next.take().or_else(|| self.jobs.recv().ok())? {
            Work::Append(job) => job,
            Work::Alone(alone) => return Some(Turn::Alone(alone)),
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match self.jobs.try_recv() {
                Ok(Work::Append(job)) => group.push(job),
                Ok(other) => {
                    // Kept in call order: after this group.
                    self.next = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        Some(Turn::Group(group))
    }
}

/// The handles' end of a writer thread. Dropping it lets the thread answer
/// what is queued, then waits for it to stop.
pub(crate) struct Writer {
    queue: Option<mpsc::Sender<Work>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread `name`, which runs `run` on its end of the queue.
    pub(crate) fn spawn(
        name: &str,
        run: impl FnOnce(Queue) + Send + 'static,
    ) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(Queue { jobs, next: None }))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Queues the work `make` builds around its reply channel, now, at call
    /// time (so that calls are taken in call order), and answers the
    /// writer's reply.
    pub(crate) fn ask<T: Send + 'static>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Work,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let (reply, answer) = oneshot::channel();
        let queued = match &self.queue {
            Some(queue) => queue.send(make(reply)).is_ok(),
            None => false,
        };
        Box::pin(async move {
            if !queued {
                return Err(StoreError::Closed);
            }
            answer.await.unwrap_or(Err(StoreError::Closed))
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue lets the writer answer what is queued, then stop.
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Drops a store's `inner` if this was its last handle, on a blocking
/// thread (dropping it waits for the writer thread to stop), and waits for
/// that.
pub(crate) async fn release<T: Send + Sync + 'static>(inner: std::sync::Arc<T>) {
    if let Ok(inner) = std::sync::Arc::try_unwrap(inner) {
        let _ = tokio::task::spawn_blocking(move || drop(inner)).await;
    }
}

/// Whether a request of `group` that was committed destroyed a key: the
/// store then purges what it can of the key's bytes before anyone is told.
pub(crate) fn erased_any(group: &[Job], outcomes: &[Result<Vec<Appended>, StoreError>]) -> bool {
    group
        .iter()
        .zip(outcomes)
        .any(|(job, o)| !job.request.erase.is_empty() && o.is_ok())
}

/// Answers every caller of a group (committed, or lost with one error for
/// all), counts it, and publishes the highest position it created.
pub(crate) fn answer_group(
    group: Vec<Job>,
    outcomes: Vec<Result<Vec<Appended>, StoreError>>,
    shared: &Shared,
) {
    shared.count_group(group.len());
    let head = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .flatten()
        .filter(|a| a.created)
        .map(|a| a.event.position)
        .max();
    for (job, outcome) in group.into_iter().zip(outcomes) {
        let _ = job.reply.send(outcome);
    }
    if let Some(head) = head {
        shared.publish_head(head);
    }
}

/// Whether `request` writes one row at most (one event, no key made or
/// destroyed), so that a refusal leaves nothing of it to roll back and it
/// needs no savepoint of its own.
pub(crate) fn writes_one_row(request: &AppendRequest) -> bool {
    request.events.len() == 1 && request.make_keys.is_none() && request.erase.is_empty()
}

/// What the writer knows of the log without reading it back, as of its last
/// commit: the head and the versions of the streams it read or wrote. It
/// holds while no other connection commits; each store says when one did
/// ([`Known::check`] for SQLite's `PRAGMA data_version`,
/// [`Known::check_head`] for PostgreSQL's locked log head), and it is then
/// forgotten.
#[derive(Default)]
pub(crate) struct Known {
    /// The backend's mark of other connections' commits it was learnt under
    /// (SQLite's `data_version`); unused where the head itself is compared.
    mark: Option<i64>,
    /// Position, hash and id of the last event.
    pub(crate) head: Option<(u64, [u8; 32], Uuid)>,
    pub(crate) streams: HashMap<String, u64>,
    /// `streams` holds every stream of the log: the writer read the table
    /// empty and has learnt every commit since, so a stream it does not
    /// hold has no event (an import into a new store reads no version back).
    pub(crate) complete: bool,
    /// `streams` is kept whole past [`KNOWN_STREAMS`]: during a load, where
    /// the table has no index to read a version back from.
    pub(crate) unbounded: bool,
}

impl Known {
    /// Forgets everything unless `mark` is the one it was learnt under: the
    /// backend's count of other connections' commits, read inside the write
    /// transaction, which no other connection can commit beside.
    pub(crate) fn check(&mut self, mark: i64) {
        if self.mark != Some(mark) {
            self.forget();
            self.mark = Some(mark);
        }
    }

    /// Forgets everything unless the head it knows is `head`, read (and
    /// locked) inside the write transaction; then knows `head`. Every commit
    /// that appends moves the head, so a head that did not move means that
    /// nothing this writer knows changed. An empty log has no stream.
    pub(crate) fn check_head(&mut self, head: (u64, [u8; 32], Uuid)) {
        if self.head != Some(head) {
            self.forget();
            self.head = Some(head);
            self.complete = head.0 == 0;
        }
    }

    pub(crate) fn forget(&mut self) {
        self.mark = None;
        self.head = None;
        self.streams.clear();
        self.complete = false;
        self.unbounded = false;
    }

    /// The version of `stream` when every stream is known.
    pub(crate) fn version(&self, stream: &str) -> Option<u64> {
        match self.streams.get(stream) {
            Some(&v) => Some(v),
            None => self.complete.then_some(0),
        }
    }

    /// Learns what a request appended (once its savepoint is released).
    pub(crate) fn learn(&mut self, appended: &[Appended]) {
        for a in appended.iter().filter(|a| a.created) {
            let e = &a.event;
            self.head = Some((e.position, e.hash, e.record.id));
            self.remember(&e.stream, e.version);
        }
    }

    pub(crate) fn remember(&mut self, stream: &str, version: u64) {
        if !self.unbounded
            && self.streams.len() >= KNOWN_STREAMS
            && !self.streams.contains_key(stream)
        {
            self.streams.clear();
            self.complete = false;
        }
        match self.streams.get_mut(stream) {
            Some(known) => *known = version,
            None => {
                self.streams.insert(stream.to_owned(), version);
            }
        }
    }
}

//! Turns at writing among the processes that share one database.
//!
//! A batch is validated against the log as of a head and appended with that
//! head as its guard ([`super::AppendRequest::log_head`]); the store refuses
//! it as stale when another writer appended in between. In one process the
//! ledger orders its own batches, so that happens only when another process
//! writes. With several server instances on one PostgreSQL database it is
//! the rule: each instance's batches were validated before the other's last
//! commit, and two busy instances would keep refusing each other's batches.
//!
//! A **turn** is held while batches are validated and appended: the ledger
//! takes one before it validates ([`super::EventLog::turn`]) and keeps it
//! until the store has answered. The appends of one process share one turn,
//! so they still commit in groups; another process waits for it. The turn is
//! a PostgreSQL session advisory lock on a connection of its own, taken when
//! the first batch needs it and released when the process has nothing in
//! flight for [`LINGER`], or, when it is busy, after [`MAX_HOLD`] (no new
//! batch joins a turn that old; the next one waits for the other processes'
//! turns, which the lock's queue orders). A connection lost releases the
//! lock with it.
//!
//! Turns only make the log's guard succeed; they guard nothing themselves.
//! A batch appended without a turn (a process whose turn connection failed,
//! a store without turns) is still checked against the log's head by the
//! store, and a stale one is refused and validated again.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::tls::Tls;
use super::StoreError;
use tokio::sync::Notify;

/// A process keeps its turn this long after its last batch was answered,
/// for the next one.
pub const LINGER: Duration = Duration::from_millis(2);

/// No batch joins a turn held this long: it is given up once the batches
/// in it are answered, and the other processes waiting get theirs.
pub const MAX_HOLD: Duration = Duration::from_millis(20);

/// The turn's lock: the store's schema's own (the two-key form, apart from
/// other advisory locks of one key).
const LOCK: &str =
    "SELECT pg_advisory_lock(hashtext('passerelle turn'), hashtext(current_schema()))";
const UNLOCK: &str =
    "SELECT pg_advisory_unlock(hashtext('passerelle turn'), hashtext(current_schema()))";

/// A turn at writing, held until dropped. From a store without turns, it
/// holds nothing.
#[must_use = "a turn is held until it is dropped"]
pub struct WriteTurn {
    turns: Option<Arc<Turns>>,
    head: Option<u64>,
}

impl WriteTurn {
    /// A turn of a store that is not shared with other processes.
    pub fn solo() -> Self {
        Self {
            turns: None,
            head: None,
        }
    }

    /// The log's head read when this process took the turn, if it did just
    /// now (`None` when it joined the turn its other batches hold, or the
    /// store has no turns): another process may have appended up to it
    /// since this process last wrote.
    pub fn head(&self) -> Option<u64> {
        self.head
    }
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        if let Some(turns) = self.turns.take() {
            turns.leave();
        }
    }
}

/// Where the process's turn stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not held.
    Free,
    /// Being taken, or given up: wait.
    Moving,
    /// Held since `since`.
    Held,
}

struct State {
    phase: Phase,
    /// Batches in the turn.
    holders: usize,
    since: Instant,
    /// Counts the times the turn was taken: a release planned for an
    /// earlier turn does nothing.
    taken: u64,
    /// The head read when the turn was taken, for the first batch to join it.
    head: Option<u64>,
    /// Counts the failed attempts to take the turn, and the last one's error.
    failures: u64,
    failed: String,
}

/// The turns of one process on one store.
pub(crate) struct Turns {
    config: tokio_postgres::Config,
    /// The connector of the store's connections.
    tls: Tls,
    /// The store's URL as messages show it.
    display_url: String,
    state: Mutex<State>,
    changed: Notify,
    /// The connection that holds the lock.
    client: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
    /// Where releases run (a turn may be dropped outside the runtime).
    runtime: tokio::runtime::Handle,
    /// Reads the head once the lock is held.
    read_head: &'static str,
}

impl Turns {
    /// Turns on the store of `config` (its connection's current schema);
    /// `read_head` reads the log's head.
    pub(crate) fn new(
        config: tokio_postgres::Config,
        tls: Tls,
        display_url: String,
        read_head: &'static str,
    ) -> Arc<Self> {
        Arc::new(Self {
            config,
            tls,
            display_url,
            state: Mutex::new(State {
                phase: Phase::Free,
                holders: 0,
                since: Instant::now(),
                taken: 0,
                head: None,
                failures: 0,
                failed: String::new(),
            }),
            changed: Notify::new(),
            client: tokio::sync::Mutex::new(None),
            runtime: tokio::runtime::Handle::current(),
            read_head,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Joins the process's turn, or waits for it and takes it. Taking and
    /// giving up run as tasks of their own, so a caller that stops waiting
    /// (a client gone) leaves the turn in a state others can go on from.
    pub(crate) async fn take(self: &Arc<Self>) -> Result<WriteTurn, StoreError> {
        /// What the state says to do.
        enum Next {
            Joined(Option<u64>),
            Take,
            Release,
            Wait,
            Failed(String),
        }
        let failures = self.lock().failures;
        loop {
            let changed = self.changed.notified();
            let next = {
                let mut s = self.lock();
                match s.phase {
                    _ if s.failures > failures => Next::Failed(s.failed.clone()),
                    Phase::Held if s.since.elapsed() < MAX_HOLD => {
                        s.holders += 1;
                        Next::Joined(s.head.take())
                    }
                    Phase::Held if s.holders == 0 => {
                        // Old and idle: give it up, then queue for the next.
                        s.phase = Phase::Moving;
                        Next::Release
                    }
                    Phase::Free => {
                        s.phase = Phase::Moving;
                        Next::Take
                    }
                    // Being taken or given up, or old with batches in it.
                    _ => Next::Wait,
                }
            };
            match next {
                Next::Joined(head) => {
                    return Ok(WriteTurn {
                        turns: Some(self.clone()),
                        head,
                    })
                }
                Next::Failed(e) => return Err(StoreError::Backend(e)),
                Next::Take => {
                    let turns = self.clone();
                    self.runtime.spawn(async move { turns.acquire().await });
                }
                Next::Release => self.release(),
                Next::Wait => {}
            }
            changed.await;
        }
    }

    /// Takes the lock (the phase is `Moving`, set by [`Turns::take`]): the
    /// turn is then held, with no batch in it yet, and given up after
    /// [`LINGER`] if none joins.
    async fn acquire(self: Arc<Self>) {
        let taken = async {
            let mut client = self.client.lock().await;
            if client.as_ref().is_none_or(|c| c.is_closed()) {
                let (c, connection) = self.config.connect(self.tls.clone()).await?;
                self.runtime.spawn(async move {
                    let _ = connection.await;
                });
                *client = Some(c);
            }
            let c = client.as_ref().expect("connected above");
            c.execute(LOCK, &[]).await?;
            let head: i64 = c.query_one(self.read_head, &[]).await?.try_get(0)?;
            Ok::<_, tokio_postgres::Error>(head.max(0) as u64)
        }
        .await;
        match taken {
            Ok(head) => {
                let taken = {
                    let mut s = self.lock();
                    s.phase = Phase::Held;
                    s.holders = 0;
                    s.since = Instant::now();
                    s.taken += 1;
                    s.head = Some(head);
                    s.taken
                };
                self.changed.notify_waiters();
                self.linger(taken);
            }
            Err(e) => {
                // A broken connection releases whatever it held.
                self.client.lock().await.take();
                {
                    let mut s = self.lock();
                    s.phase = Phase::Free;
                    s.failures += 1;
                    s.failed = format!("{}: cannot take a turn at writing: {e}", self.display_url);
                }
                self.changed.notify_waiters();
            }
        }
    }

    /// Gives the turn taken `taken`-th up after [`LINGER`] if no batch is in
    /// it then.
    fn linger(self: &Arc<Self>, taken: u64) {
        let turns = self.clone();
        self.runtime.spawn(async move {
            tokio::time::sleep(LINGER).await;
            {
                let mut s = turns.lock();
                if s.phase != Phase::Held || s.holders > 0 || s.taken != taken {
                    return;
                }
                s.phase = Phase::Moving;
            }
            turns.release();
        });
    }

    /// A batch of the turn was answered.
    fn leave(self: &Arc<Self>) {
        let mut s = self.lock();
        s.holders = s.holders.saturating_sub(1);
        if s.holders > 0 || s.phase != Phase::Held {
            return;
        }
        if s.since.elapsed() >= MAX_HOLD {
            s.phase = Phase::Moving;
            drop(s);
            self.release();
            return;
        }
        let taken = s.taken;
        drop(s);
        // Kept a moment for the next batch, then given up if none came.
        self.linger(taken);
    }

    /// Gives the lock up (the phase is `Moving`), then frees the turn.
    fn release(self: &Arc<Self>) {
        let turns = self.clone();
        self.runtime.spawn(async move {
            let mut client = turns.client.lock().await;
            let unlocked = match client.as_ref() {
                Some(c) => c.execute(UNLOCK, &[]).await.is_ok(),
                None => true,
            };
            if !unlocked {
                // Dropping the connection releases the lock.
                client.take();
            }
            drop(client);
            let mut s = turns.lock();
            s.phase = Phase::Free;
            turns.changed.notify_waiters();
        });
    }
}

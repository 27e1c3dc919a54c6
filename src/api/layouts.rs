//! The map's layouts, computed in the background (decision 024): after the
//! log is loaded and whenever events have been appended, once appends have
//! paused for [`QUIET`] (or [`LONGEST_WAIT`] after the first of them), each
//! programme's layout chain is brought up to its last event one month at a
//! time ([`LayoutCache::advance`]), under the engine's read lock for that
//! month only, so that appends are projected between two months. A map read
//! then finds its month kept, and never computes more than the one layout it
//! asks for ([`LayoutCache::frame_within`]). Before each month, the
//! background lets the reads being rendered finish first ([`Readers`]): on a
//! machine of two cores, a month laid out beside a read's rendering would
//! take half of its time. A read that starts while a month is being laid
//! out stops that month, which is laid out again once the read is done;
//! for [`READERS_FIRST`] after the month was first begun, so that reads
//! that never pause delay the layouts and never stop them.

use std::sync::{Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use passerelle_projections::cancel::{Cancel, Stopped};
use tokio::sync::watch;

use super::state::{App, Inner};

/// How long appends must pause before the layouts are brought up to date.
const QUIET: Duration = Duration::from_millis(300);

/// The longest the layouts wait behind appends that never pause.
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// The longest pause before a month that ran out of time is tried again
/// (the pause doubles from [`LONGEST_WAIT`] up to it).
const LONGEST_RETRY: Duration = Duration::from_secs(300);

/// The longest the background waits for the reads being rendered before a
/// month, and the longest a month gives way to the reads that start while
/// it is laid out: reads that never pause delay the layouts, never stop
/// them.
const READERS_FIRST: Duration = Duration::from_secs(1);

/// The reads being rendered, which the background lets finish before it
/// lays out a month, and the month that gives way to the next one.
#[derive(Default)]
pub(crate) struct Readers {
    state: Mutex<ReadersState>,
    idle: Condvar,
}

#[derive(Default)]
struct ReadersState {
    rendering: usize,
    /// The month being laid out that the next read to start stops.
    yielding: Option<Cancel>,
}

/// A read being rendered, from [`Readers::enter`] until dropped.
pub(crate) struct Reading<'a>(&'a Readers);

/// A month that gives way to the next read, from [`Readers::yielding`]
/// until dropped.
pub(crate) struct Yielding<'a>(&'a Readers);

impl Readers {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReadersState> {
        self.state.lock().expect("readers lock")
    }

    /// A read starts rendering: a month being laid out that gives way to
    /// reads is stopped.
    pub(crate) fn enter(&self) -> Reading<'_> {
        let mut state = self.lock();
        state.rendering += 1;
        if let Some(month) = state.yielding.take() {
            month.stop();
        }
        Reading(self)
    }

    /// Lets the next read that starts stop `month` ([`Stopped::Abandoned`]).
    pub(crate) fn yielding(&self, month: &Cancel) -> Yielding<'_> {
        self.lock().yielding = Some(month.clone());
        Yielding(self)
    }

    /// Waits until no read is being rendered, at most `longest`; whether
    /// none is.
    pub(crate) fn wait_idle(&self, longest: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .idle
            .wait_timeout_while(state, longest, |s| s.rendering > 0)
            .expect("readers lock");
        state.rendering == 0
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.rendering -= 1;
        if state.rendering == 0 {
            self.0.idle.notify_all();
        }
    }
}

impl Drop for Yielding<'_> {
    fn drop(&mut self) {
        self.0.lock().yielding = None;
    }
}

/// Keeps every programme's layout chain settled up to its last event, until
/// shutdown or until the app is dropped. `settled` is sent the projected
/// position each time every chain has been brought up to it.
pub(crate) async fn keep_settled(app: Weak<Inner>, settled: watch::Sender<u64>) {
    let Some(inner) = app.upgrade() else { return };
    let mut projected = inner.projected.subscribe();
    let mut shutdown = inner.shutdown.subscribe();
    drop(inner);
    let mut retry = LONGEST_WAIT;
    loop {
        let at = *projected.borrow_and_update();
        let Some(inner) = app.upgrade() else { return };
        let started = Instant::now();
        let done = tokio::task::spawn_blocking(move || settle(&App { inner })).await;
        // `None`: shutdown, or a panic in a layout (its chain starts again
        // on the next call): wait for the next events either way.
        let mut stopped = false;
        if let Ok(Some((frames, out_of_time))) = done {
            stopped = out_of_time;
            if frames > 0 {
                tracing::info!(
                    position = at,
                    frames,
                    ms = started.elapsed().as_millis() as u64,
                    "map layouts settled"
                );
            }
            settled.send_replace(at);
        }
        // The next events, then a pause in them. A month stopped at the
        // render deadline (a loaded machine) is tried again after a pause
        // that doubles each time, without waiting for events.
        tokio::select! {
            _ = tokio::time::sleep(retry), if stopped => {
                retry = (retry * 2).min(LONGEST_RETRY);
                continue;
            }
            changed = projected.changed() => if changed.is_err() { return },
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        retry = LONGEST_WAIT;
        let longest = tokio::time::Instant::now() + LONGEST_WAIT;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(QUIET) => break,
                _ = tokio::time::sleep_until(longest) => break,
                changed = projected.changed() => if changed.is_err() { return },
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }
}

/// Brings every programme's chain up to its last event, one frame per hold
/// of the engine's read lock: how many frames it computed and whether a
/// frame was stopped at the render deadline, or `None` when shutdown
/// stopped it first. A programme whose frames it computed counts
/// one more relaying, so that its map renderings made before, which may
/// hold layouts that were not settled, are rendered again.
fn settle(app: &App) -> Option<(usize, bool)> {
    let inner = &app.inner;
    let settings = &inner.config.settings;
    let programmes: Vec<String> = {
        let engine = inner.engine.read().expect("engine lock");
        engine.model().programmes.keys().cloned().collect()
    };
    let mut frames = 0;
    let mut stopped = false;
    for programme in programmes {
        let before = frames;
        // When the month being laid out was first begun.
        let mut begun: Option<Instant> = None;
        loop {
            inner.readers.wait_idle(READERS_FIRST);
            if *inner.shutdown.borrow() {
                return None;
            }
            // One frame may take no longer than a read's rendering: the
            // engine is not held longer than a read holds it.
            let cancel = Cancel::until(Instant::now() + inner.config.render_deadline);
            // A read that starts meanwhile stops the month, for a while.
            let gives_way = begun.get_or_insert_with(Instant::now).elapsed() < READERS_FIRST;
            let yielding = gives_way.then(|| inner.readers.yielding(&cancel));
            let engine = inner.engine.read().expect("engine lock");
            let advanced = inner
                .layouts
                .advance(&engine, &programme, settings, &cancel);
            drop(engine);
            drop(yielding);
            if !matches!(advanced, Ok(false)) {
                // A month's layout folds the programme up to that month and
                // frees it again: hundreds of megabytes on a large
                // programme, which the heap would keep (`crate::memory`).
                crate::memory::release_freed();
            }
            match advanced {
                Ok(true) => {
                    frames += 1;
                    begun = None;
                }
                Ok(false) => break,
                // Laid out again once the read is rendered.
                Err(Stopped::Abandoned) if gives_way => {}
                Err(_) => {
                    stopped = true;
                    break;
                }
            }
        }
        if frames > before {
            *inner
                .relaid
                .lock()
                .expect("relaid lock")
                .entry(programme)
                .or_default() += 1;
        }
    }
    Some((frames, stopped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_background_waits_for_the_reads_being_rendered() {
        let readers = Readers::default();
        assert!(readers.wait_idle(Duration::ZERO), "no read: no wait");
        let first = readers.enter();
        let second = readers.enter();
        assert!(!readers.wait_idle(Duration::ZERO), "two reads render");
        drop(first);
        assert!(!readers.wait_idle(Duration::ZERO), "one read renders");
        std::thread::scope(|s| {
            let waiting = s.spawn(|| readers.wait_idle(Duration::from_secs(600)));
            drop(second);
            assert!(waiting.join().unwrap(), "woken once the last read ends");
        });
    }

    #[test]
    fn a_read_that_starts_stops_the_month_that_gives_way_and_no_other() {
        let readers = Readers::default();
        let later = || Cancel::until(Instant::now() + Duration::from_secs(600));
        let month = later();
        let yielding = readers.yielding(&month);
        assert_eq!(month.check(), Ok(()));
        let first = readers.enter();
        assert_eq!(month.check(), Err(Stopped::Abandoned));
        drop((first, yielding));
        // Begun again, it gives way to the next read as well.
        let again = later();
        let yielding = readers.yielding(&again);
        let _second = readers.enter();
        assert_eq!(again.check(), Err(Stopped::Abandoned));
        drop(yielding);
        // A month that no longer gives way is not stopped.
        let last = later();
        drop(readers.yielding(&last));
        let _third = readers.enter();
        assert_eq!(last.check(), Ok(()));
    }
}

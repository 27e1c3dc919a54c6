//! The map's layouts, computed in the background (decision 024): after the
//! log is loaded and whenever events have been appended, once appends have
//! paused for [`QUIET`] (or [`LONGEST_WAIT`] after the first of them), each
//! programme's layout chain is brought up to its last event one month at a
//! time ([`LayoutCache::advance`]), under the engine's read lock for that
//! month only, so that appends are projected between two months. A map read
//! then finds its month kept, and never computes more than the one layout it
//! asks for ([`LayoutCache::frame_within`]).

use std::sync::Weak;
use std::time::{Duration, Instant};

use passerelle_projections::cancel::Cancel;
use tokio::sync::watch;

use super::state::{App, Inner};

/// How long appends must pause before the layouts are brought up to date.
const QUIET: Duration = Duration::from_millis(300);

/// The longest the layouts wait behind appends that never pause.
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// Keeps every programme's layout chain settled up to its last event, until
/// shutdown or until the app is dropped. `settled` is sent the projected
/// position each time every chain has been brought up to it.
pub(crate) async fn keep_settled(app: Weak<Inner>, settled: watch::Sender<u64>) {
    let Some(inner) = app.upgrade() else { return };
    let mut projected = inner.projected.subscribe();
    let mut shutdown = inner.shutdown.subscribe();
    drop(inner);
    loop {
        let at = *projected.borrow_and_update();
        let Some(inner) = app.upgrade() else { return };
        let started = Instant::now();
        let done = tokio::task::spawn_blocking(move || settle(&App { inner })).await;
        // `None`: shutdown, or a panic in a layout (its chain starts again
        // on the next call): wait for the next events either way.
        if let Ok(Some(frames)) = done {
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
        // The next events, then a pause in them.
        tokio::select! {
            changed = projected.changed() => if changed.is_err() { return },
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
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
/// of the engine's read lock: how many frames it computed, or `None` when
/// shutdown stopped it first. A programme whose frames it computed counts
/// one more relaying, so that its map renderings made before, which may
/// hold layouts that were not settled, are rendered again.
fn settle(app: &App) -> Option<usize> {
    let inner = &app.inner;
    let settings = &inner.config.settings;
    let programmes: Vec<String> = {
        let engine = inner.engine.read().expect("engine lock");
        engine.model().programmes.keys().cloned().collect()
    };
    let mut frames = 0;
    for programme in programmes {
        let before = frames;
        loop {
            if *inner.shutdown.borrow() {
                return None;
            }
            // One frame may take no longer than a read's rendering: the
            // engine is not held longer than a read holds it.
            let cancel = Cancel::until(Instant::now() + inner.config.render_deadline);
            let engine = inner.engine.read().expect("engine lock");
            match inner
                .layouts
                .advance(&engine, &programme, settings, &cancel)
            {
                Ok(true) => frames += 1,
                Ok(false) | Err(_) => break,
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
    Some(frames)
}

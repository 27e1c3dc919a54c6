//! Cooperative cancellation of long computations. A [`Cancel`] is handed to
//! the views' long loops (a snapshot's replay, each month of a layout chain,
//! each iteration of a layout), which check it between steps and give up
//! with [`Stopped`] once it is stopped or its deadline has passed. A
//! computation that cannot be cancelled takes [`Cancel::never`].
//!
//! This module knows no thread, task or client: whoever starts a
//! computation decides when to stop it (the HTTP API, when no request waits
//! for a rendering any more, or at its deadline).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Why a computation gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Stopped {
    /// [`Cancel::stop`] was called: nobody wants the result any more.
    #[error("the computation was abandoned: nobody waits for its result")]
    Abandoned,
    /// The deadline passed before the computation ended.
    #[error("the computation did not end before its deadline")]
    OutOfTime,
}

#[derive(Debug)]
struct Flag {
    stopped: AtomicBool,
    deadline: Option<Instant>,
    /// Checks left before the flag raises itself (tests only).
    #[cfg(test)]
    checks_left: std::sync::atomic::AtomicUsize,
}

/// A computation's permission to go on: stopped by [`Cancel::stop`] (from
/// any clone) or by the passing of its deadline. Clones share one flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    flag: Option<Arc<Flag>>,
}

impl Cancel {
    /// A computation that always runs to its end.
    pub fn never() -> Self {
        Self::default()
    }

    /// A computation that may be stopped, and gives up at `deadline`.
    pub fn until(deadline: Instant) -> Self {
        Self {
            flag: Some(Arc::new(Flag {
                stopped: AtomicBool::new(false),
                deadline: Some(deadline),
                #[cfg(test)]
                checks_left: std::sync::atomic::AtomicUsize::new(usize::MAX),
            })),
        }
    }

    /// Asks the computation to give up at its next check.
    pub fn stop(&self) {
        if let Some(flag) = &self.flag {
            flag.stopped.store(true, Ordering::Release);
        }
    }

    /// Lets `checks` more checks pass, then stops the computation from
    /// inside its next one: a test stops a loop in its middle without a
    /// clock.
    #[cfg(test)]
    pub(crate) fn stop_after_checks(&self, checks: usize) {
        if let Some(flag) = &self.flag {
            flag.checks_left.store(checks, Ordering::Release);
        }
    }

    /// `Ok` while the computation may go on; why it must give up otherwise.
    /// A deadline passed wins over a stop: whoever gave up waiting at the
    /// deadline and stopped the computation gave up because of it.
    pub fn check(&self) -> Result<(), Stopped> {
        let Some(flag) = &self.flag else {
            return Ok(());
        };
        if flag.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Stopped::OutOfTime);
        }
        #[cfg(test)]
        if flag
            .checks_left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_err()
        {
            flag.stopped.store(true, Ordering::Release);
        }
        if flag.stopped.load(Ordering::Acquire) {
            return Err(Stopped::Abandoned);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn never_always_goes_on_even_when_stopped() {
        let c = Cancel::never();
        c.stop();
        assert_eq!(c.check(), Ok(()));
    }

    #[test]
    fn a_stop_reaches_every_clone_and_a_passed_deadline_wins_over_it() {
        let c = Cancel::until(Instant::now() + Duration::from_secs(3600));
        let other = c.clone();
        assert_eq!(other.check(), Ok(()));
        c.stop();
        assert_eq!(other.check(), Err(Stopped::Abandoned));
        let late = Cancel::until(Instant::now());
        late.stop();
        assert_eq!(late.check(), Err(Stopped::OutOfTime));
    }

    #[test]
    fn a_deadline_in_the_past_is_out_of_time() {
        let c = Cancel::until(Instant::now());
        assert_eq!(c.check(), Err(Stopped::OutOfTime));
    }
}

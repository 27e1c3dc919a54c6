//! Read models folded from the event log. Every read model is a fold over
//! stored events and can be rebuilt from position 1; projections never write
//! to the log.

pub mod cancel;
pub mod diff;
pub mod engine;
pub mod gaps;
pub mod layout;
pub mod messages;
pub mod metrics;
pub mod model;
pub mod network;
pub mod participation;
pub mod summary;
#[cfg(test)]
mod testkit;
pub mod views;

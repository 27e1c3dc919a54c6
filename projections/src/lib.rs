//! Read models folded from the event log. Every read model is a fold over
//! stored events and can be rebuilt from position 1; projections never write
//! to the log.

pub mod summary;

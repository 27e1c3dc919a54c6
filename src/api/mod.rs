//! The HTTP JSON API under `/api/v1`: reads of every projection as of a
//! time or position, appends with idempotent retries, the event log as pages
//! and as Server-Sent Events, health, Prometheus metrics and the OpenAPI 3.1
//! document. Only `src/` knows HTTP.
//!
//! Layout: `state.rs` (shared state, projection follower, read cache),
//! `routes.rs` (the handlers, and [`handle`]: authentication and the query
//! of each operation), `rights.rs` (erasure and subject access, for admins),
//! `tokens.rs` (the token list and revocation, for admins),
//! `stream.rs` (the event stream's fan-out), `telemetry.rs` (request and
//! connection log lines, metrics), `openapi.rs` (the document, generated
//! from the route table and the body types). What it shares with the pages
//! is in [`crate::http`]; the server is assembled in [`crate::server`].

pub mod body;
mod layouts;
pub mod openapi;
mod rights;
pub mod routes;
pub mod state;
mod stream;
pub mod telemetry;
mod tokens;

pub use routes::handle;
pub use state::{ApiConfig, App};

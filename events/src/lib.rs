//! Passerelle's event layer: the event model of PRODUCT.md §3, the rules that
//! validate it against the log, and the append-only stores behind the
//! `eventually` 0.4 traits.
//!
//! Nothing here knows HTTP, graphs or the command line.

#![warn(missing_docs)]

pub mod aggregate;
pub mod clock;
pub mod envelope;
pub mod error;
pub mod event;
pub mod json;
pub mod keyring;
pub mod ledger;
pub mod personal;
pub mod registry;
pub mod rights;
pub mod schema;
pub mod store;
pub mod values;
pub mod verify;

pub use aggregate::{Log, LogId, Record, RecordError};
pub use envelope::{NewEvent, Provenance, StoredEvent, Submission};
pub use error::{FieldError, ValidationError};
pub use event::{Event, SCHEMA_VERSION};
pub use keyring::{Keyring, MasterKey};
pub use ledger::{InFlight, Ledger, Recorded};
pub use registry::Registry;
pub use store::{EventLog, MemoryStore, PostgresStore, SqliteStore, StoreError};

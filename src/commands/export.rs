//! `passerelle export`: write the log as JSON Lines, in log order.
//!
//! Three forms:
//! - **plain** (no flag): the stored envelopes, personal fields sealed as
//!   stored. Needs no master key, so it works on a copy of the database
//!   alone, and on a store of schema 1 (read-only, personal data in clear).
//! - **`--with-keys`**: a first line ([`KeysLine`]) carrying the data keys
//!   the exported events are sealed under — wrapped by this store's master
//!   key, as the key table holds them — and the ids of destroyed keys; then
//!   the stored envelopes. `import` reads it back.
//! - **`--decrypt`** (only with `--yes-include-personal-data`): personal
//!   fields opened, in clear, for a migration. Fields of erased subjects stay
//!   sealed; a first line then lists their destroyed keys' ids (and no key),
//!   so that an import accepts them as erased.
//!
//! The last two need the master key, and a file they write is created
//! readable by its owner only. This module owns the header line's shape; it
//! does no cryptography.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use passerelle_events::keyring::{CarriedKey, KeyBundle, Opened};
use passerelle_events::ledger::decode;
use passerelle_events::personal::{KeyId, SlotState};
use passerelle_events::store::PAGE;
use passerelle_events::{EventLog, Keyring, StoredEvent};
use serde::{Deserialize, Serialize};

use crate::cli::ExportArgs;
use crate::store::Store;

/// The version of the header line's shape.
pub const KEYS_VERSION: u32 = 1;

/// The optional first line of an export: `{"passerelle_keys": {…}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysLine {
    /// The keys.
    pub passerelle_keys: KeysHeader,
}

/// Data keys carried by an export.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysHeader {
    /// [`KEYS_VERSION`].
    pub version: u32,
    /// The fingerprint of the master key that wraps `keys` (absent when
    /// there are none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The live data keys (absent in a `--decrypt` export).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<KeyWire>>,
    /// Ids of destroyed data keys: values sealed under them read as erased.
    #[serde(default)]
    pub erased: Vec<String>,
}

/// One carried data key on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyWire {
    /// `k_…`.
    pub id: String,
    /// The data key wrapped by the exporting store's master key, base64url.
    pub wrapped: String,
    /// The subject id sealed under the data key, base64url.
    pub subject: String,
}

impl KeysLine {
    /// Whether a JSON value is a header line (and not an event).
    pub fn is_header(v: &serde_json::Value) -> bool {
        v.as_object()
            .is_some_and(|o| o.contains_key("passerelle_keys"))
    }

    /// The bundle the header carries; `own` is the fingerprint used when it
    /// carries no key (only erased ids, which no master key wraps). The error
    /// names the bad part.
    pub fn bundle(&self, own: &str) -> Result<KeyBundle, String> {
        let h = &self.passerelle_keys;
        if h.version != KEYS_VERSION {
            return Err(format!(
                "passerelle_keys.version is {}; this build reads version {KEYS_VERSION}",
                h.version
            ));
        }
        let keys = h
            .keys
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, k)| {
                let field = |f: &str| format!("passerelle_keys.keys[{i}].{f}");
                let bytes = |f: &str, s: &str| {
                    URL_SAFE_NO_PAD
                        .decode(s)
                        .map_err(|_| format!("{}: is not base64url without padding", field(f)))
                };
                Ok(CarriedKey {
                    id: KeyId::parse(&k.id).map_err(|m| format!("{}: {m}", field("id")))?,
                    wrapped: bytes("wrapped", &k.wrapped)?,
                    subject: bytes("subject", &k.subject)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let erased = h
            .erased
            .iter()
            .enumerate()
            .map(|(i, id)| {
                KeyId::parse(id).map_err(|m| format!("passerelle_keys.erased[{i}]: {m}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let fingerprint = match (&h.fingerprint, keys.is_empty()) {
            (Some(f), _) => f.clone(),
            (None, true) => own.to_owned(),
            (None, false) => {
                return Err("passerelle_keys.fingerprint: is required with keys".into());
            }
        };
        Ok(KeyBundle {
            fingerprint,
            keys,
            erased,
        })
    }
}

/// What an export writes.
enum Form {
    Plain,
    WithKeys(Keyring<Store>),
    Decrypt(Option<Keyring<Store>>),
}

/// Exports the store at `--db`.
pub async fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    if args.decrypt && !args.yes_include_personal_data {
        anyhow::bail!(
            "--decrypt writes every readable personal field (contact persons, e-mails, phones, \
             participant codes) in clear; add --yes-include-personal-data to confirm. Nothing \
             was written"
        );
    }
    let db = &args.db.db;
    if args.with_keys || args.decrypt {
        // Before the store is opened: a wrong key leaves its files as they were.
        crate::master_key::check(db).await?;
    }
    let store = super::open_store(db).await?;
    // The key is checked before any file is made.
    let form = if args.with_keys {
        anyhow::ensure!(
            !store.is_legacy(),
            "{db} was made by an earlier version and has no keys (its personal data is in clear): \
             a plain export carries everything"
        );
        Form::WithKeys(crate::master_key::open_keyring(store.clone(), db).await?)
    } else if args.decrypt {
        if store.is_legacy() {
            // Nothing is sealed in a store of schema 1.
            Form::Decrypt(None)
        } else {
            Form::Decrypt(Some(
                crate::master_key::open_keyring(store.clone(), db).await?,
            ))
        }
    } else {
        Form::Plain
    };
    let private = !matches!(form, Form::Plain);
    let out: Box<dyn Write> = match &args.output {
        Some(path) if private => Box::new(super::create_private_file(path)?),
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    let programme = args.programme.as_deref();
    let summary = match &form {
        Form::Plain => {
            let n = export(&store, programme, &mut out).await?;
            format!("{n} events")
        }
        Form::WithKeys(keyring) => {
            let (n, keys, erased) = export_with_keys(keyring, programme, &mut out).await?;
            format!(
                "{n} events and {keys} data keys ({erased} destroyed key ids), the keys wrapped \
                 by master key {}",
                keyring.fingerprint()
            )
        }
        Form::Decrypt(keyring) => {
            let d = export_decrypted(&store, keyring.as_ref(), programme, &mut out).await?;
            format!(
                "{} events, {} personal fields in clear ({} fields of erased subjects left \
                 sealed{})",
                d.events,
                d.opened,
                d.erased,
                if d.unreadable > 0 {
                    format!(
                        ", {} that no key of this store opens left sealed",
                        d.unreadable
                    )
                } else {
                    String::new()
                }
            )
        }
    };
    out.flush()?;
    drop(out);
    if let Some(path) = &args.output {
        eprintln!(
            "exported {summary} to {}{}",
            path.display(),
            if private {
                " (readable by you only)"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes every stored event (of `programme`, if given) as one JSON line;
/// returns how many.
pub async fn export<S: EventLog>(
    store: &S,
    programme: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    let head = store.head().await?;
    write_events(store, programme, head, out).await
}

/// Writes every stored event up to `head` (of `programme`, if given) as one
/// JSON line; answers how many.
async fn write_events<S: EventLog>(
    store: &S,
    programme: Option<&str>,
    head: u64,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    let mut n = 0;
    each_event(store, programme, head, |e| {
        write_line(out, &e.to_json())?;
        n += 1;
        Ok(())
    })
    .await?;
    Ok(n)
}

/// The ids of `bundle`'s destroyed keys that the exported events use.
fn erased_used(bundle: &KeyBundle, used: &BTreeSet<String>) -> Vec<String> {
    bundle
        .erased
        .iter()
        .filter(|k| used.contains(k.as_str()))
        .map(|k| k.as_str().to_owned())
        .collect()
}

/// Writes the keys line, then the stored events (of `programme`, if given);
/// answers how many events, live keys and destroyed key ids were written.
/// Only the keys the written events are sealed under are carried.
pub async fn export_with_keys<S: EventLog>(
    keyring: &Keyring<S>,
    programme: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<(u64, usize, usize)> {
    let store = keyring.store();
    // The head first: every key an event up to it is sealed under is in the
    // key table by then (a key is made with its first event).
    let head = store.head().await?;
    let bundle = keyring.bundle().await?;
    let used = keys_used(store, programme, head).await?;
    let keys: Vec<KeyWire> = bundle
        .keys
        .iter()
        .filter(|k| used.contains(k.id.as_str()))
        .map(|k| KeyWire {
            id: k.id.as_str().to_owned(),
            wrapped: URL_SAFE_NO_PAD.encode(&k.wrapped),
            subject: URL_SAFE_NO_PAD.encode(&k.subject),
        })
        .collect();
    let erased = erased_used(&bundle, &used);
    let counts = (keys.len(), erased.len());
    let line = KeysLine {
        passerelle_keys: KeysHeader {
            version: KEYS_VERSION,
            fingerprint: Some(bundle.fingerprint.clone()),
            keys: Some(keys),
            erased,
        },
    };
    write_line(out, &serde_json::to_value(&line)?)?;
    let n = write_events(store, programme, head, out).await?;
    Ok((n, counts.0, counts.1))
}

/// What a decrypted export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Decrypted {
    /// Events written.
    pub events: u64,
    /// Personal fields written in clear.
    pub opened: u64,
    /// Fields left sealed because their key was destroyed.
    pub erased: u64,
    /// Fields left sealed because no key of the store opens them.
    pub unreadable: u64,
}

/// Writes the stored events (of `programme`, if given) with their personal
/// fields opened by `keyring` (`None`: a store of schema 1, nothing sealed).
/// Fields whose key was destroyed stay sealed, and a first line then lists
/// those keys' ids.
pub async fn export_decrypted<S: EventLog>(
    store: &S,
    keyring: Option<&Keyring<S>>,
    programme: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<Decrypted> {
    let head = store.head().await?;
    if let Some(keyring) = keyring {
        let bundle = keyring.bundle().await?;
        let erased = erased_used(&bundle, &keys_used(store, programme, head).await?);
        if !erased.is_empty() {
            let line = KeysLine {
                passerelle_keys: KeysHeader {
                    version: KEYS_VERSION,
                    fingerprint: None,
                    keys: None,
                    erased,
                },
            };
            write_line(out, &serde_json::to_value(&line)?)?;
        }
    }
    let mut d = Decrypted::default();
    each_event(store, programme, head, |mut e| {
        if let Some(keyring) = keyring {
            let id = e.event.id;
            for field in e.event.event.personal_fields() {
                let sealed = match field.value.state() {
                    SlotState::Sealed(s) => s.clone(),
                    _ => continue,
                };
                match keyring.open_sealed(id, field.path, &sealed) {
                    Opened::Clear(text) => {
                        field.value.set_clear(&text).map_err(|m| {
                            anyhow::anyhow!(
                                "position {}: {}: the opened value does not parse: {m}",
                                e.position,
                                field.path
                            )
                        })?;
                        d.opened += 1;
                    }
                    Opened::Erased => d.erased += 1,
                    Opened::Unreadable => d.unreadable += 1,
                }
            }
        }
        write_line(out, &e.to_json())?;
        d.events += 1;
        Ok(())
    })
    .await?;
    Ok(d)
}

/// Ids of the data keys the events up to `head` (of `programme`, if given)
/// are sealed under.
async fn keys_used<S: EventLog>(
    store: &S,
    programme: Option<&str>,
    head: u64,
) -> anyhow::Result<BTreeSet<String>> {
    let mut used = BTreeSet::new();
    each_event(store, programme, head, |mut e| {
        for field in e.event.event.personal_fields() {
            if let SlotState::Sealed(s) = field.value.state() {
                used.insert(s.key().as_str().to_owned());
            }
        }
        Ok(())
    })
    .await?;
    Ok(used)
}

/// Calls `f` with every stored event up to `head` (of `programme`, if
/// given), in log order.
async fn each_event<S: EventLog>(
    store: &S,
    programme: Option<&str>,
    head: u64,
    mut f: impl FnMut(StoredEvent) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut after = 0;
    while after < head {
        let page = store.read(after, PAGE).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.position;
        for raw in page.iter().filter(|r| r.position <= head) {
            if programme.is_some_and(|p| p != raw.record.programme) {
                continue;
            }
            f(decode(raw)?)?;
        }
    }
    Ok(())
}

fn write_line(out: &mut impl Write, v: &serde_json::Value) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    out.write_all(b"\n")?;
    Ok(())
}

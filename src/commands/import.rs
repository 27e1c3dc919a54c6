//! `passerelle import`: load a JSON Lines log, all or nothing per batch of
//! 10,000 events, with a progress bar on a terminal for large files.
//!
//! The log may start with the keys line of `export --with-keys` or
//! `--decrypt` ([`KeysLine`]): its data keys are imported first, with
//! [`passerelle_events::Keyring::import`] — as they are when they are wrapped
//! by this store's own master key, else unwrapped with the exporting store's
//! key (`--source-key-file`), which must be given and be the right one before
//! anything is imported. Personal fields in clear (a log of an earlier
//! version, or `--decrypt`) are sealed by the ledger on the way in, so their
//! events are stored otherwise than in the source log: the import counts them
//! and says that its chain is a new one.
//!
//! Each line is read by the strict JSON parser (a key given twice is refused,
//! naming the line). A line with its provenance (`recorded_at` and
//! `recorded_by`, as `export` writes them) was recorded before: it is read
//! with the rules of stored events. A line without is a new event, held to
//! the rules of new events and the clock's (decision 011).
//!
//! `PersonalDataErased` events are taken only from an exported log (lines
//! with `recorded_at` and `recorded_by`), as the record of an erasure done
//! in the source store; they destroy no key here — the keys line lists the
//! keys the source destroyed, and fields sealed under them read as erased.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use passerelle_events::personal::SlotState;
use passerelle_events::{
    json, EventLog, FieldError, Keyring, Ledger, MasterKey, Record, RecordError, Submission,
};

use super::export::KeysLine;
use crate::cli::{default_actor, ImportArgs};
use crate::master_key::{self, KeySource};

/// Events per atomic batch.
pub const BATCH: usize = 10_000;

/// Files larger than this get a progress bar when standard error is a terminal.
const PROGRESS_BYTES: u64 = 1 << 20;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Imported {
    /// Events appended.
    pub created: u64,
    /// Events already in the log (same id and content), left as they were.
    pub present: u64,
    /// Events appended whose personal fields were given in clear and sealed
    /// here: their stored form is not the source's.
    pub sealed: u64,
    /// The line of the first of them.
    pub first_sealed_line: Option<usize>,
}

/// Imports `FILE.jsonl` into the store at `--db`.
pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let file =
        File::open(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let source = match &args.source_key_file {
        Some(path) => Some(
            master_key::read(&KeySource::File(path.clone()))
                .context("--source-key-file: nothing was imported")?,
        ),
        None => None,
    };
    let mut reader = BufReader::new(file);
    let mut first = String::new();
    reader
        .read_line(&mut first)
        .with_context(|| format!("cannot read line 1 of {}", args.file.display()))?;
    // A first line that is not strict JSON is no keys line: it is refused
    // as an event line, naming what is wrong.
    let header = json::parse(first.as_bytes())
        .ok()
        .filter(KeysLine::is_header);
    let db = &args.db.db;
    let stopped = || format!("import of {} stopped", args.file.display());
    let keyring = super::open_keyring(db).await?;
    let keys = match &header {
        Some(line) => Some(
            import_keys(&keyring, line, source.as_ref())
                .await
                .with_context(stopped)?,
        ),
        None => None,
    };
    let ledger = Ledger::open(keyring).await?;
    let progress = (size > PROGRESS_BYTES && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}")
                .expect("valid template"),
        );
        bar
    });
    let actor = args.actor.unwrap_or_else(default_actor);
    let result = match header {
        // The events start on line 2.
        Some(_) => {
            if let Some(bar) = &progress {
                bar.inc(first.len() as u64);
            }
            import_lines(&ledger, reader, &actor, progress.as_ref(), 2).await
        }
        None => {
            let whole = BufReader::new(std::io::Cursor::new(first).chain(reader));
            import_lines(&ledger, whole, &actor, progress.as_ref(), 1).await
        }
    };
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let done = result.with_context(stopped)?;
    let head = ledger.store().head().await?;
    if let Some((keys, erased)) = keys {
        println!(
            "the keys line carried {keys} data keys and {erased} ids of destroyed keys: this \
             store holds them now (the data keys wrapped by its master key {}; values sealed \
             under a destroyed key read as erased)",
            ledger.keyring().fingerprint()
        );
    } else if args.source_key_file.is_some() {
        eprintln!(
            "note: {} carries no data keys; --source-key-file was not needed",
            args.file.display()
        );
    }
    println!(
        "imported {} events ({} already present) from {}; the log now holds {} events",
        done.created,
        done.present,
        args.file.display(),
        head
    );
    if done.sealed > 0 {
        println!(
            "{} of the imported events carried personal fields in clear (the first on line {}): \
             they are stored sealed, so their stored form, and with it the hash chain from the \
             first of them on, differs from the source log's — this store's log is a new chain",
            done.sealed,
            done.first_sealed_line.unwrap_or(0)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Imports JSON Lines (wire events or exported envelopes; blank lines are
/// skipped) in atomic batches of [`BATCH`]. On an error, the batches before
/// it are kept and the error names the line; nothing of its batch is kept.
/// A keys line is refused: `passerelle import` ([`run`]) reads it.
pub async fn import<S: EventLog>(
    ledger: &Ledger<S>,
    reader: impl BufRead,
    actor: &str,
    progress: Option<&ProgressBar>,
) -> anyhow::Result<Imported> {
    import_lines(ledger, reader, actor, progress, 1).await
}

/// [`import`] of lines numbered from `first_line`.
async fn import_lines<S: EventLog>(
    ledger: &Ledger<S>,
    reader: impl BufRead,
    actor: &str,
    progress: Option<&ProgressBar>,
    first_line: usize,
) -> anyhow::Result<Imported> {
    let mut done = Imported::default();
    let mut batch = Batch::default();
    for (i, line) in reader.lines().enumerate() {
        let n = i + first_line;
        let line = line.with_context(|| format!("cannot read line {n}"))?;
        if let Some(bar) = progress {
            bar.inc(line.len() as u64 + 1);
        }
        if line.trim().is_empty() {
            continue;
        }
        let value = json::parse(line.as_bytes())
            .map_err(|e| match e.duplicate() {
                Some(f) => anyhow::anyhow!("line {n}: {f}"),
                None => anyhow::anyhow!("line {n}: not valid JSON: {e}"),
            })
            .map_err(|e| kept(e, &done))?;
        if KeysLine::is_header(&value) {
            return Err(kept(
                anyhow::anyhow!(
                    "line {n}: a passerelle_keys line is read only as the first line of a file \
                     given to passerelle import"
                ),
                &done,
            ));
        }
        let mut sub = Submission::from_export(&value)
            .map_err(|e| anyhow::anyhow!("{}", describe(&e.errors, |_| n)))
            .map_err(|e| kept(e, &done))?;
        let clear = has_clear(&mut sub);
        batch.push(sub, n, clear);
        if batch.subs.len() == BATCH {
            flush(ledger, &mut batch, actor, &mut done).await?;
        }
    }
    flush(ledger, &mut batch, actor, &mut done).await?;
    Ok(done)
}

/// Events waiting to be recorded together, with their lines and whether
/// they carry a personal field in clear.
#[derive(Default)]
struct Batch {
    subs: Vec<Submission>,
    lines: Vec<usize>,
    clear: Vec<bool>,
}

impl Batch {
    fn push(&mut self, sub: Submission, line: usize, clear: bool) {
        self.subs.push(sub);
        self.lines.push(line);
        self.clear.push(clear);
    }
}

/// Imports the data keys of the keys line (line 1). Refuses, before
/// anything is imported, keys wrapped by another master key than this
/// store's when `source` is not given or is not that key. Answers how many
/// keys and destroyed keys' ids the line carried.
pub async fn import_keys<S: EventLog>(
    keyring: &Keyring<S>,
    value: &serde_json::Value,
    source: Option<&MasterKey>,
) -> anyhow::Result<(usize, usize)> {
    let n = 1;
    let nothing = "nothing was imported";
    let line: KeysLine = serde_json::from_value(value.clone()).map_err(|e| {
        anyhow::anyhow!("line {n}: not a valid passerelle_keys line: {e}; {nothing}")
    })?;
    let own = keyring.fingerprint().to_owned();
    let mut bundle = line
        .bundle(&own)
        .map_err(|m| anyhow::anyhow!("line {n}: {m}; {nothing}"))?;
    if bundle.keys.is_empty() {
        // Destroyed keys' ids only: no master key wraps them.
        bundle.fingerprint = own.clone();
    }
    let source = if bundle.fingerprint == own {
        None
    } else {
        match source {
            None => anyhow::bail!(
                "line {n}: the data keys in this file are wrapped by master key {} (the \
                 exporting store's), not by this store's ({own}): give the exporting store's \
                 key file with --source-key-file PATH; {nothing}",
                bundle.fingerprint
            ),
            Some(k) if k.fingerprint() != bundle.fingerprint => anyhow::bail!(
                "line {n}: --source-key-file holds master key {}, but the data keys in this file \
                 are wrapped by master key {}: give the exporting store's key file; {nothing}",
                k.fingerprint(),
                bundle.fingerprint
            ),
            Some(k) => Some(k),
        }
    };
    keyring.import(&bundle, source).await.map_err(|e| {
        anyhow::anyhow!("line {n}: the data keys could not be imported: {e}; {nothing}")
    })
}

/// Whether `sub` carries a personal field in clear (which the ledger seals:
/// its stored form is not the source's). A sealed field under a key this
/// store does not hold is refused by the ledger, naming its line and field.
fn has_clear(sub: &mut Submission) -> bool {
    sub.event
        .event
        .personal_fields()
        .iter()
        .any(|f| matches!(f.value.state(), SlotState::Clear(_)))
}

async fn flush<S: EventLog>(
    ledger: &Ledger<S>,
    batch: &mut Batch,
    actor: &str,
    done: &mut Imported,
) -> anyhow::Result<()> {
    if batch.subs.is_empty() {
        return Ok(());
    }
    let Batch { subs, lines, clear } = std::mem::take(batch);
    let first = lines[0];
    let last = lines[lines.len() - 1];
    // An exported log's erasures (with their provenance) are carried as
    // records of what was done; they destroy nothing here (the keys line
    // carries the destroyed keys).
    let cmd = Record::new(subs);
    match ledger.submit(cmd, actor).await {
        Ok(recorded) => {
            for (i, r) in recorded.iter().enumerate() {
                if r.created {
                    done.created += 1;
                    if clear.get(i).copied().unwrap_or(false) {
                        done.sealed += 1;
                        done.first_sealed_line.get_or_insert(lines[i]);
                    }
                } else {
                    done.present += 1;
                }
            }
            Ok(())
        }
        Err(RecordError::Invalid(v)) => {
            let msg = describe(&v.errors, |i| lines.get(i).copied().unwrap_or(first));
            Err(kept(
                anyhow::anyhow!("{msg}\nnothing of lines {first}–{last} was imported"),
                done,
            ))
        }
        Err(e) => Err(kept(
            anyhow::anyhow!("lines {first}–{last}: {e}; nothing of them was imported"),
            done,
        )),
    }
}

/// `line N: field: message` for each error; a batch index `[i]` in the field
/// becomes the line it came from.
fn describe(errors: &[FieldError], line_of: impl Fn(usize) -> usize) -> String {
    errors
        .iter()
        .map(|e| {
            let (index, field) = match e.field.strip_prefix('[').and_then(|r| r.split_once(']')) {
                Some((i, rest)) => (
                    i.parse().unwrap_or(0),
                    rest.trim_start_matches('.').to_owned(),
                ),
                None => (0, e.field.clone()),
            };
            format!("line {}: {}: {}", line_of(index), field, e.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn kept(e: anyhow::Error, done: &Imported) -> anyhow::Error {
    if done.created + done.present > 0 {
        e.context(format!(
            "{} events imported before this error are kept",
            done.created + done.present
        ))
    } else {
        e
    }
}

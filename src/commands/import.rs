//! `passerelle import`: load a JSON Lines log, all or nothing per batch of
//! 10,000 events (`--batch`), with a progress bar on a terminal for large
//! files, and say how many events per second it recorded.
//!
//! The lines are read and parsed on a thread of their own; each batch is
//! decided and sealed by [`Ledger::import_batch`] while the store commits the
//! batches before it, those queued together in one transaction (decision
//! 020), sealing a subject under the key a batch still in flight made for
//! it. Every rule is checked as it was, once.
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

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use passerelle_events::personal::SlotState;
use passerelle_events::{
    json, EventLog, FieldError, InFlight, Keyring, Ledger, MasterKey, Record, RecordError,
    Submission,
};

use super::export::KeysLine;
use crate::cli::{default_actor, ImportArgs};
use crate::master_key::{self, KeySource};

/// Events per atomic batch, unless `--batch` says otherwise.
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
    let started = Instant::now();
    // Into an empty store, the whole import is one transaction, its unique
    // indexes built after the rows; the batches stay all or nothing each.
    let loading = ledger.store().begin_load().await.with_context(stopped)?;
    let result = match header {
        // The events start on line 2.
        Some(_) => {
            if let Some(bar) = &progress {
                bar.inc(first.len() as u64);
            }
            import_lines(&ledger, reader, &actor, progress.as_ref(), 2, args.batch).await
        }
        None => {
            let whole = BufReader::new(std::io::Cursor::new(first).chain(reader));
            import_lines(&ledger, whole, &actor, progress.as_ref(), 1, args.batch).await
        }
    };
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    if loading {
        // The batches before an error are kept, as they would have been.
        if let Err(e) = ledger.store().end_load().await {
            let stopped = match &result {
                Err(first) => format!(" (it had stopped: {first:#})"),
                Ok(_) => String::new(),
            };
            anyhow::bail!(
                "the import of {} could not be committed: {e}; nothing was imported{stopped}",
                args.file.display()
            );
        }
    }
    let done = result.with_context(stopped)?;
    let seconds = started.elapsed().as_secs_f64();
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
    let events = done.created + done.present;
    println!(
        "{events} events in {seconds:.2} s: {:.0} events/s",
        events as f64 / seconds.max(1e-9)
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
///
/// The lines are parsed on the calling task, between batches; [`run`] parses
/// them on a thread of their own instead, beside the validation and the
/// store's writer.
pub async fn import<S: EventLog>(
    ledger: &Ledger<S>,
    reader: impl BufRead,
    actor: &str,
    progress: Option<&ProgressBar>,
) -> anyhow::Result<Imported> {
    let mut batches = Batches::new(reader, 1, BATCH, progress.cloned());
    record_batches(ledger, actor, &mut batches).await
}

/// [`import`] of lines numbered from `first_line`, parsed on a thread of
/// their own: batch `k + 1` is read and parsed while batch `k` is validated,
/// and batch `k` is validated while the batches before it are written.
async fn import_lines<S: EventLog>(
    ledger: &Ledger<S>,
    reader: impl BufRead + Send + 'static,
    actor: &str,
    progress: Option<&ProgressBar>,
    first_line: usize,
    size: usize,
) -> anyhow::Result<Imported> {
    let (parsed, mut batches) = tokio::sync::mpsc::channel(PARSED_AHEAD);
    let progress = progress.cloned();
    let parser = std::thread::Builder::new()
        .name("passerelle-import-parse".into())
        .spawn(move || {
            for batch in Batches::new(reader, first_line, size, progress) {
                // Closed: the import stopped, nothing more is read.
                if parsed.blocking_send(batch).is_err() {
                    break;
                }
            }
        })
        .context("cannot start the parsing thread")?;
    let result = record_batches(ledger, actor, &mut batches).await;
    drop(batches);
    // It stops at its next batch once the channel is closed.
    let _ = tokio::task::spawn_blocking(move || parser.join()).await;
    result
}

/// Parsed batches waiting for the ledger (beside the one being parsed).
const PARSED_AHEAD: usize = 2;

/// Where parsed batches come from: the parser itself, or the channel from
/// its thread.
trait Source {
    /// The next batch; `None` after the last one or an error.
    async fn next_batch(&mut self) -> Option<anyhow::Result<Batch>>;
}

impl<R: BufRead> Source for Batches<R> {
    async fn next_batch(&mut self) -> Option<anyhow::Result<Batch>> {
        self.next()
    }
}

impl Source for tokio::sync::mpsc::Receiver<anyhow::Result<Batch>> {
    async fn next_batch(&mut self) -> Option<anyhow::Result<Batch>> {
        self.recv().await
    }
}

/// Batches in the store's hands at once: the writer commits those queued
/// together in one transaction (each batch in its own savepoint, so each
/// stays all or nothing), which writes the pages they share once.
const IN_FLIGHT: usize = 3;

/// Records the batches of `source`, in order, until it gives none or an
/// error. Up to [`IN_FLIGHT`] batches are in the store's hands while the
/// next is validated and sealed; batches are settled in order, so an error
/// is always the first in the file.
async fn record_batches<S: EventLog>(
    ledger: &Ledger<S>,
    actor: &str,
    source: &mut impl Source,
) -> anyhow::Result<Imported> {
    let mut done = Imported::default();
    let mut in_flight: VecDeque<(InFlight<S>, Placed)> = VecDeque::new();
    loop {
        let batch = match source.next_batch().await {
            None => break,
            Some(Ok(batch)) => batch,
            Some(Err(e)) => {
                settle_all(&mut in_flight, &mut done).await?;
                return Err(kept(e, &done));
            }
        };
        let Batch { subs, placed } = batch;
        if placed.clear.contains(&true)
            && in_flight
                .iter()
                .any(|(f, _)| f.makes_keys() && !f.lends_keys())
        {
            // Their keys are known once they are committed: this batch seals with them.
            settle_all(&mut in_flight, &mut done).await?;
        }
        while in_flight.len() >= IN_FLIGHT {
            let (earlier, earlier_placed) = in_flight.pop_front().expect("checked");
            if let Err(e) = settle(earlier, earlier_placed, &mut done).await {
                abandon_all(in_flight).await;
                return Err(e);
            }
        }
        // An exported log's erasures (with their provenance) are carried as
        // records of what was done; they destroy nothing here (the keys line
        // carries the destroyed keys).
        let ahead: Vec<_> = in_flight.iter().map(|(f, _)| f).collect();
        match ledger.import_batch(Record::new(subs), actor, &ahead).await {
            Ok(queued) => in_flight.push_back((queued, placed)),
            Err(e) => {
                // The batches before it come first: their error is earlier in the file.
                settle_all(&mut in_flight, &mut done).await?;
                return Err(refused(e, &placed, &done));
            }
        }
    }
    settle_all(&mut in_flight, &mut done).await?;
    Ok(done)
}

/// Settles the batches in flight, in order; after the first that fails,
/// the later ones (refused by the store as stale) are abandoned.
async fn settle_all<S: EventLog>(
    in_flight: &mut VecDeque<(InFlight<S>, Placed)>,
    done: &mut Imported,
) -> anyhow::Result<()> {
    while let Some((queued, placed)) = in_flight.pop_front() {
        if let Err(e) = settle(queued, placed, done).await {
            abandon_all(std::mem::take(in_flight)).await;
            return Err(e);
        }
    }
    Ok(())
}

async fn abandon_all<S: EventLog>(in_flight: VecDeque<(InFlight<S>, Placed)>) {
    for (later, _) in in_flight {
        later.abandon().await;
    }
}

/// Waits for a batch in the store's hands and counts what it did.
async fn settle<S: EventLog>(
    queued: InFlight<S>,
    placed: Placed,
    done: &mut Imported,
) -> anyhow::Result<()> {
    let created = queued
        .finish()
        .await
        .map_err(|e| refused(e, &placed, done))?;
    for (i, created) in created.into_iter().enumerate() {
        if created {
            done.created += 1;
            if placed.clear.get(i).copied().unwrap_or(false) {
                done.sealed += 1;
                done.first_sealed_line.get_or_insert(placed.lines[i]);
            }
        } else {
            done.present += 1;
        }
    }
    Ok(())
}

/// The error of a refused batch, naming its lines.
fn refused(e: RecordError, placed: &Placed, done: &Imported) -> anyhow::Error {
    let first = placed.lines[0];
    let last = placed.lines[placed.lines.len() - 1];
    match e {
        RecordError::Invalid(v) => {
            let msg = describe(&v.errors, |i| placed.lines.get(i).copied().unwrap_or(first));
            kept(
                anyhow::anyhow!("{msg}\nnothing of lines {first}–{last} was imported"),
                done,
            )
        }
        e => kept(
            anyhow::anyhow!("lines {first}–{last}: {e}; nothing of them was imported"),
            done,
        ),
    }
}

/// Events waiting to be recorded together.
struct Batch {
    subs: Vec<Submission>,
    placed: Placed,
}

/// Where a batch's events came from: their lines, and whether each carries
/// a personal field in clear.
#[derive(Default)]
struct Placed {
    lines: Vec<usize>,
    clear: Vec<bool>,
}

/// The batches of a JSON Lines file, each line read by the strict parser and
/// as a [`Submission`]; the first line that does not read ends them with
/// its error (nothing of its batch is given).
struct Batches<R> {
    lines: std::io::Lines<R>,
    size: usize,
    next_line: usize,
    progress: Option<ProgressBar>,
    ended: bool,
}

impl<R: BufRead> Batches<R> {
    fn new(reader: R, first_line: usize, size: usize, progress: Option<ProgressBar>) -> Self {
        Self {
            lines: reader.lines(),
            size: size.max(1),
            next_line: first_line,
            progress,
            ended: false,
        }
    }

    /// The submission of line `n`; `None` for a blank line.
    fn parse(n: usize, line: &str) -> anyhow::Result<Option<(Submission, bool)>> {
        if line.trim().is_empty() {
            return Ok(None);
        }
        let value = json::parse(line.as_bytes()).map_err(|e| match e.duplicate() {
            Some(f) => anyhow::anyhow!("line {n}: {f}"),
            None => anyhow::anyhow!("line {n}: not valid JSON: {e}"),
        })?;
        if KeysLine::is_header(&value) {
            anyhow::bail!(
                "line {n}: a passerelle_keys line is read only as the first line of a file \
                 given to passerelle import"
            );
        }
        let mut sub = Submission::from_export(&value)
            .map_err(|e| anyhow::anyhow!("{}", describe(&e.errors, |_| n)))?;
        let clear = has_clear(&mut sub);
        Ok(Some((sub, clear)))
    }
}

impl<R: BufRead> Iterator for Batches<R> {
    type Item = anyhow::Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        let mut subs = Vec::with_capacity(self.size.min(BATCH));
        let mut placed = Placed::default();
        while subs.len() < self.size {
            let Some(line) = self.lines.next() else {
                self.ended = true;
                break;
            };
            let n = self.next_line;
            self.next_line += 1;
            let parsed = line
                .with_context(|| format!("cannot read line {n}"))
                .and_then(|line| {
                    if let Some(bar) = &self.progress {
                        bar.inc(line.len() as u64 + 1);
                    }
                    Self::parse(n, &line)
                });
            match parsed {
                Ok(Some((sub, clear))) => {
                    subs.push(sub);
                    placed.lines.push(n);
                    placed.clear.push(clear);
                }
                Ok(None) => {}
                Err(e) => {
                    self.ended = true;
                    return Some(Err(e));
                }
            }
        }
        (!subs.is_empty()).then_some(Ok(Batch { subs, placed }))
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

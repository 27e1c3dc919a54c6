//! `passerelle import`: load a JSON Lines log, all or nothing per batch of
//! 10,000 events, with a progress bar on a terminal for large files.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use passerelle_events::{EventLog, FieldError, Ledger, RecordError, Submission};

use crate::cli::{default_actor, ImportArgs};

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
}

/// Imports `FILE.jsonl` into the store at `--db`.
pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let file =
        File::open(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let ledger = super::open_ledger(&args.db.db).await?;
    let progress = (size > PROGRESS_BYTES && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}")
                .expect("valid template"),
        );
        bar
    });
    let actor = args.actor.unwrap_or_else(default_actor);
    let result = import(&ledger, BufReader::new(file), &actor, progress.as_ref()).await;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let done = result.with_context(|| format!("import of {} stopped", args.file.display()))?;
    let head = ledger.store().head().await?;
    println!(
        "imported {} events ({} already present) from {}; the log now holds {} events",
        done.created,
        done.present,
        args.file.display(),
        head
    );
    Ok(ExitCode::SUCCESS)
}

/// Imports JSON Lines (wire events or exported envelopes; blank lines are
/// skipped) in atomic batches of [`BATCH`]. On an error, the batches before
/// it are kept and the error names the line; nothing of its batch is kept.
pub async fn import<S: EventLog>(
    ledger: &Ledger<S>,
    reader: impl BufRead,
    actor: &str,
    progress: Option<&ProgressBar>,
) -> anyhow::Result<Imported> {
    let mut done = Imported::default();
    let mut batch: Vec<Submission> = Vec::with_capacity(BATCH);
    let mut lines: Vec<usize> = Vec::with_capacity(BATCH);
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("cannot read line {n}"))?;
        if let Some(bar) = progress {
            bar.inc(line.len() as u64 + 1);
        }
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("line {n}: not valid JSON: {e}"))
            .map_err(|e| kept(e, &done))?;
        let sub = Submission::from_export(&value)
            .map_err(|e| anyhow::anyhow!("{}", describe(&e.errors, |_| n)))
            .map_err(|e| kept(e, &done))?;
        batch.push(sub);
        lines.push(n);
        if batch.len() == BATCH {
            flush(ledger, &mut batch, &mut lines, actor, &mut done).await?;
        }
    }
    flush(ledger, &mut batch, &mut lines, actor, &mut done).await?;
    Ok(done)
}

async fn flush<S: EventLog>(
    ledger: &Ledger<S>,
    batch: &mut Vec<Submission>,
    lines: &mut Vec<usize>,
    actor: &str,
    done: &mut Imported,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let first = lines[0];
    let last = lines[lines.len() - 1];
    match ledger.record(std::mem::take(batch), actor).await {
        Ok(recorded) => {
            for r in &recorded {
                if r.created {
                    done.created += 1;
                } else {
                    done.present += 1;
                }
            }
            lines.clear();
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

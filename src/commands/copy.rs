//! `passerelle copy`: a whole store into an empty one, between any two
//! backends (a SQLite file, a PostgreSQL database).
//!
//! Everything goes through [`EventLog`], so any pair of stores works the
//! same way. The events are appended as they are stored in the source: the
//! same ids, streams and versions, the same `occurred_at`, `recorded_at` and
//! `recorded_by`, the same data bytes. The destination computes each hash
//! itself, and the copy checks that it gets the source's position, version
//! and hash for every event; it stops at the first one that differs.
//!
//! The data keys are copied as stored: wrapped by the source's master key,
//! with the destroyed keys' ids. The copy never needs the master key, and
//! opens with the source's key.
//!
//! Into a store with a load mode (SQLite), the whole copy is one transaction
//! ([`EventLog::begin_load`]): stopped before its end, it keeps nothing.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use passerelle_events::store::{AppendRequest, KeyOp, KeyOpDone, KeysSince, Pending, RawEvent};
use passerelle_events::EventLog;
use uuid::Uuid;

use crate::cli::CopyArgs;
use crate::store::{Location, Store};

/// Events read from the source and appended to the destination at a time.
pub const COPY_BATCH: usize = 10_000;

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    /// Events copied.
    pub events: u64,
    /// Live data keys copied.
    pub keys: usize,
    /// Ids of destroyed data keys copied.
    pub erased: usize,
    /// The fingerprint of the master key the keys are wrapped by (`None`
    /// for a source without a keyring).
    pub fingerprint: Option<String>,
    /// The hash of the last event (`None` for an empty log).
    pub head_hash: Option<[u8; 32]>,
}

/// Copies the store at `--from` into the store at `--to`.
pub async fn run(args: CopyArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.from != args.to,
        "--from and --to name the same store ({}); nothing was copied",
        args.from
    );
    let source = super::open_store(&args.from).await?;
    anyhow::ensure!(
        !source.is_legacy(),
        "{} was made by an earlier version of Passerelle and keeps personal data in clear: \
         export it and import the export into the new store, which seals that data. Nothing \
         was copied",
        args.from
    );
    let target = Store::create(&args.to)
        .await
        .with_context(|| format!("cannot open or create the store at {}", args.to))?;
    let total = source.head().await?;
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
                .expect("valid template"),
        );
        bar
    });
    let started = Instant::now();
    let copied = copy(&source, &target, &args.to, progress.as_ref()).await;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    source.close().await;
    target.close().await;
    let copied = copied?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "copied {} events, {} data keys and {} ids of destroyed keys from {} to {}",
        copied.events, copied.keys, copied.erased, args.from, args.to
    );
    println!(
        "{} events in {seconds:.2} s: {:.0} events/s",
        copied.events,
        copied.events as f64 / seconds.max(1e-9)
    );
    if let Some(hash) = copied.head_hash {
        println!(
            "head hash {} on both (every event's hash checked)",
            hex::encode(hash)
        );
    }
    if let Some(fingerprint) = &copied.fingerprint {
        println!(
            "the data keys are wrapped by master key {fingerprint}: open {} with the source's key \
             ({} or {})",
            args.to,
            crate::master_key::KEY_FILE_ENV,
            crate::master_key::KEY_ENV
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Copies `source` into `target` (at `to`, for messages), which must hold no
/// event. An error says what was kept.
pub async fn copy<S: EventLog, T: EventLog>(
    source: &S,
    target: &T,
    to: &Location,
    progress: Option<&ProgressBar>,
) -> anyhow::Result<Copied> {
    let held = target.head().await?;
    anyhow::ensure!(
        held == 0,
        "{to} holds {held} events: copy writes only into an empty store. Nothing was copied"
    );
    let loading = target.begin_load().await?;
    let result = copy_into(source, target, to, progress).await;
    match (&result, loading) {
        (Ok(_), true) => target.end_load().await.with_context(|| {
            format!("the copy into {to} could not be committed; nothing was kept")
        })?,
        // A load never ended keeps nothing: the target rolls it back when it
        // closes.
        (Err(_), true) => return result.context("nothing was kept"),
        (Err(_), false) => {
            let kept = target.head().await.unwrap_or(0);
            return result.with_context(|| {
                format!(
                    "{to} now holds the first {kept} events only: it is not a copy of the \
                     source; drop it before copying again"
                )
            });
        }
        (Ok(_), false) => {}
    }
    result
}

/// The keys, then the events, batch by batch: the next batch is read while
/// one is appended.
async fn copy_into<S: EventLog, T: EventLog>(
    source: &S,
    target: &T,
    to: &Location,
    progress: Option<&ProgressBar>,
) -> anyhow::Result<Copied> {
    let mut copied = copy_keys(source, target, to).await?;
    let (pages, mut batches) = tokio::sync::mpsc::channel(2);
    let reader = {
        let source = source.clone();
        tokio::spawn(async move {
            let mut after = 0;
            loop {
                let page = source.read(after, COPY_BATCH).await;
                let last = match &page {
                    Ok(p) => p.last().map(|e| e.position),
                    Err(_) => None,
                };
                let end = page.as_ref().map_or(true, |p| p.is_empty());
                if end && page.is_ok() {
                    return;
                }
                if pages.send(page).await.is_err() {
                    return;
                }
                match last {
                    Some(p) => after = p,
                    None => return,
                }
            }
        })
    };
    let result = async {
        let mut head_id: Option<Uuid> = None;
        while let Some(page) = batches.recv().await {
            let page = page.context("cannot read the source")?;
            let n = page.len() as u64;
            let (id, hash) = append_page(target, page, copied.events, head_id).await?;
            head_id = Some(id);
            copied.head_hash = Some(hash);
            copied.events += n;
            if let Some(bar) = progress {
                bar.set_position(copied.events);
            }
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    drop(batches);
    let _ = reader.await;
    result.map(|()| copied)
}

/// Appends one page of the source's events after position `head` (whose
/// event is `head_id`), each to the same stream at the same version; checks
/// that each gets the source's position and hash. Answers the id and hash
/// of the page's last event.
async fn append_page<T: EventLog>(
    target: &T,
    page: Vec<RawEvent>,
    head: u64,
    head_id: Option<Uuid>,
) -> anyhow::Result<(Uuid, [u8; 32])> {
    let mut expected = Vec::with_capacity(page.len());
    let mut events = Vec::with_capacity(page.len());
    for (i, raw) in page.into_iter().enumerate() {
        anyhow::ensure!(
            raw.position == head + 1 + i as u64,
            "the source's log has a gap before position {}",
            raw.position
        );
        expected.push((raw.position, raw.record.id, raw.version, raw.hash));
        events.push(Pending {
            stream: raw.stream,
            expected: Some(raw.version - 1),
            record: raw.record,
        });
    }
    let appended = target
        .append(AppendRequest {
            events,
            log_head: Some(head),
            head_id,
            make_keys: None,
            erase: Vec::new(),
        })
        .await
        .with_context(|| format!("cannot append the events after position {head}"))?;
    anyhow::ensure!(
        appended.len() == expected.len(),
        "the copy answered {} events for {} sent after position {head}",
        appended.len(),
        expected.len()
    );
    for (a, (position, id, version, hash)) in appended.iter().zip(&expected) {
        let e = &a.event;
        anyhow::ensure!(
            a.created && e.position == *position && e.version == *version && e.hash == *hash,
            "the copy differs from the source at position {position} (event {id}): the source \
             has hash {}, the copy {} at position {}",
            hex::encode(hash),
            hex::encode(e.hash),
            e.position
        );
    }
    let &(_, id, _, hash) = expected.last().context("an empty page")?;
    Ok((id, hash))
}

/// Copies the keyring record, the live data keys and the destroyed keys'
/// ids. A target with a keyring of another master key is refused.
async fn copy_keys<S: EventLog, T: EventLog>(
    source: &S,
    target: &T,
    to: &Location,
) -> anyhow::Result<Copied> {
    let keys = source.read_keys(KeysSince::default()).await?;
    let Some(record) = keys.keyring else {
        return Ok(Copied::default());
    };
    let fingerprint = record.fingerprint.clone();
    match target.write_keys(KeyOp::InitKeyring(record)).await? {
        KeyOpDone::Keyring(theirs) if theirs.fingerprint == fingerprint => {}
        KeyOpDone::Keyring(theirs) => anyhow::bail!(
            "{to} has a keyring of master key {}, the source of master key {fingerprint}: copy \
             into a new store (or one made with the source's key). Nothing was copied",
            theirs.fingerprint
        ),
        KeyOpDone::Done => anyhow::bail!("{to} did not answer its keyring"),
    }
    let copied = Copied {
        keys: keys.entries.len(),
        erased: keys.erased.len(),
        fingerprint: Some(fingerprint.clone()),
        ..Copied::default()
    };
    if copied.keys > 0 || copied.erased > 0 {
        target
            .write_keys(KeyOp::Import {
                fingerprint,
                keys: keys.entries.into_iter().map(|e| e.key).collect(),
                erased: keys.erased,
            })
            .await
            .context("cannot copy the data keys")?;
    }
    Ok(copied)
}

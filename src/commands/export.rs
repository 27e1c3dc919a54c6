//! `passerelle export`: write the log as JSON Lines, in log order.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use passerelle_events::ledger::decode;
use passerelle_events::store::PAGE;
use passerelle_events::EventLog;

use crate::cli::ExportArgs;

/// Exports the store at `--db`.
pub async fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&args.db.db)?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    let n = export(&store, args.programme.as_deref(), &mut out).await?;
    out.flush()?;
    if let Some(path) = &args.output {
        eprintln!("exported {n} events to {}", path.display());
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
    let mut after = 0;
    let mut n = 0;
    loop {
        let page = store.read(after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(n);
        };
        after = last.position;
        for raw in &page {
            if programme.is_some_and(|p| p != raw.record.programme) {
                continue;
            }
            serde_json::to_writer(&mut *out, &decode(raw)?.to_json())?;
            out.write_all(b"\n")?;
            n += 1;
        }
    }
}

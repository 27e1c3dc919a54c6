//! `passerelle diff`: what changed between two times or around a milestone.

use std::process::ExitCode;

use passerelle_projections::engine::AsOf;
use passerelle_projections::views::{around, diff_views, view};

use crate::cli::{DiffArgs, ReportFormat};
use crate::render::{diff_json, diff_text};

/// Prints the diff.
pub async fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let engine = super::load_engine(&args.db.db).await?;
    let programme = super::pick_programme(&engine, args.programme.as_deref())?;
    let settings = super::settings(args.half_life)?;
    let (before, after) = match (&args.milestone, &args.from, &args.to) {
        (Some(m), _, _) => around(&engine, &programme, m, &settings)?,
        (None, Some(from), Some(to)) => {
            let (t1, t2) = (
                super::parse_time("--from", from)?,
                super::parse_time("--to", to)?,
            );
            anyhow::ensure!(
                t1 <= t2,
                "--from ({from}) must not be later than --to ({to})"
            );
            (
                view(&engine, &programme, AsOf::Time(t1), &settings)?,
                view(&engine, &programme, AsOf::Time(t2), &settings)?,
            )
        }
        _ => anyhow::bail!("give --from and --to, or --milestone"),
    };
    let d = diff_views(&before, &after);
    match args.format {
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&diff_json(&before, &after, &d, None))?
        ),
        ReportFormat::Text => print!("{}", diff_text(&before, &after, &d, args.lang)),
    }
    Ok(ExitCode::SUCCESS)
}

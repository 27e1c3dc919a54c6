//! `passerelle gaps`: the gap report as text or JSON.

use std::process::ExitCode;

use crate::cli::{GapsArgs, ReportFormat};
use crate::render::{gaps_json, gaps_text};

/// Prints the gap report.
pub async fn run(args: GapsArgs) -> anyhow::Result<ExitCode> {
    let request = super::load_view(&args.view).await?;
    let view = request.view()?;
    match args.format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&gaps_json(&view.gaps))?),
        ReportFormat::Text => {
            let name = if view.programme.name.is_empty() {
                view.programme.id.clone()
            } else {
                view.programme.name.clone()
            };
            print!("{}", gaps_text(&view.gaps, &name, args.lang));
        }
    }
    Ok(ExitCode::SUCCESS)
}

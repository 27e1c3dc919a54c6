//! `passerelle generate`: a deterministic synthetic log for benchmarks.

use std::fs::File;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::GenerateArgs;
use crate::generate::{generate, GenerateConfig};

/// Writes the log and prints a summary on standard error.
pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    passerelle_events::values::ProgrammeId::parse(&args.programme)
        .map_err(|m| anyhow::anyhow!("--programme: {m}"))?;
    let cfg = GenerateConfig {
        stakeholders: args.stakeholders,
        events: args.events,
        seed: args.seed,
        programme: args.programme,
        ..GenerateConfig::default()
    };
    // `generate` buffers its own writes.
    let summary = match &args.output {
        Some(path) => {
            let mut file =
                File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
            generate(&cfg, &mut file)?
        }
        None => generate(&cfg, &mut std::io::stdout().lock())?,
    };
    eprintln!("{summary}");
    Ok(ExitCode::SUCCESS)
}

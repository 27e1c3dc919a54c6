//! `passerelle verify`: check the whole log.

use std::process::ExitCode;

use passerelle_events::verify::verify;

use crate::cli::VerifyArgs;

/// Verifies the store at `--db`; exits 1 naming the first bad position.
pub async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&args.db.db).await?;
    match verify(&store).await? {
        Ok(v) => {
            println!(
                "ok: {} events verified (positions gap-free, every event decodes and validates, hash chain holds); head hash {}",
                v.events, v.head_hash
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            eprintln!(
                "verify failed at position {}: {}",
                broken.position, broken.reason
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

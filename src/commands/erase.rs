//! `passerelle erase`: erase a data subject's personal data (GDPR art. 17)
//! with [`passerelle_events::rights::erase`] — its data key destroyed and
//! `PersonalDataErased` appended in one transaction.
//!
//! It prints what was done and never a participant's code.

use std::process::ExitCode;

use passerelle_events::rights::{self, RightsError};
use passerelle_events::values::Reason;

use crate::cli::{default_actor, EraseArgs};

/// Erases `--subject`; exits 1 with the reason when there is nothing to
/// erase or it was erased already (nothing is appended then).
pub async fn run(args: EraseArgs) -> anyhow::Result<ExitCode> {
    let subject = super::parse_subject(&args.subject, args.programme.as_deref())?;
    let reason = Reason::parse(&args.reason).map_err(|m| anyhow::anyhow!("--reason: {m}"))?;
    let actor = args.actor.unwrap_or_else(default_actor);
    let ledger = super::open_ledger(&args.db.db).await?;
    let shown = super::shown_subject(&subject);
    match rights::erase(&ledger, &subject, reason, &actor).await {
        Ok(done) => {
            println!(
                "erased {shown}: data key {} destroyed (its bytes overwritten in the database \
                 file and the write-ahead log truncated, unless a warning above says readers \
                 held it); PersonalDataErased recorded at log position {} by {}",
                done.key, done.event.position, done.event.recorded_by
            );
            println!(
                "every personal field sealed under that key now reads as erased; the events, \
                 the hash chain, ties and counts are kept. Database backups made before now \
                 still hold the key until they expire"
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (RightsError::NotFound(_) | RightsError::AlreadyErased { .. })) => {
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(anyhow::Error::from(e).context("nothing was erased")),
    }
}

//! `passerelle subject-access`: everything the store holds about one data
//! subject, decrypted, as JSON — what a city hands over on an access request
//! (GDPR art. 15), from [`passerelle_events::rights::subject_access`].
//!
//! The answer holds personal data: a file it is written to is readable by its
//! owner only.

use std::io::Write;
use std::process::ExitCode;

use passerelle_events::rights::{self, Access, RightsError};
use serde::Serialize;

use crate::cli::SubjectAccessArgs;

/// The answer as written.
#[derive(Debug, Serialize)]
struct Answer {
    /// The subject's id.
    subject: String,
    /// Its data key's id.
    key: String,
    /// The log position the answer reflects.
    position: u64,
    /// When the answer was made (RFC 3339, UTC).
    generated_at: String,
    /// The stored envelopes with their personal fields opened.
    events: Vec<serde_json::Value>,
}

impl Answer {
    fn new(access: &Access) -> Self {
        Self {
            subject: access.subject.id(),
            key: access.key.as_str().to_owned(),
            position: access.position,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            events: access.events.iter().map(|e| e.to_json()).collect(),
        }
    }
}

/// Prints (or writes to `-o`) what the store holds of `--subject`; exits 1
/// when it holds nothing.
pub async fn run(args: SubjectAccessArgs) -> anyhow::Result<ExitCode> {
    let subject = super::parse_subject(&args.subject, args.programme.as_deref())?;
    let keyring = super::open_keyring(&args.db.db).await?;
    let access = match rights::subject_access(&keyring, &subject).await {
        Ok(a) => a,
        Err(e @ RightsError::NotFound(_)) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    let mut text = serde_json::to_string_pretty(&Answer::new(&access))?;
    text.push('\n');
    match &args.output {
        Some(path) => {
            let mut file = super::create_private_file(path)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            eprintln!(
                "wrote {} events about {} (log position {}) to {}, readable by you only",
                access.events.len(),
                super::shown_subject(&subject),
                access.position,
                path.display()
            );
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

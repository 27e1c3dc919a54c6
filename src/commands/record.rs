//! `passerelle record`: append one event or a JSON array of events,
//! atomically, and print the stored envelopes.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use passerelle_events::{json, FieldError, Submission, ValidationError};
use serde_json::Value;

use crate::cli::{default_actor, RecordArgs};

/// Reads the input, records it, prints the stored envelopes as JSON (an
/// object for one event, an array for an array).
pub async fn run(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let text = match &args.file {
        Some(f) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read standard input")?;
            s
        }
    };
    let (submissions, single) = parse_input(&text).map_err(nothing_recorded)?;
    let actor = args.actor.unwrap_or_else(default_actor);
    let ledger = super::open_ledger(&args.db.db).await?;
    let recorded = ledger
        .record(submissions, &actor)
        .await
        .map_err(|e| nothing_recorded(e.into()))?;
    // Shown as sent: the personal fields opened again.
    let out: Vec<Value> = recorded
        .into_iter()
        .map(|r| {
            let mut e = r.event;
            ledger.keyring().open_event(e.event.id, &mut e.event.event);
            e.to_json()
        })
        .collect();
    let out = if single {
        out.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(out)
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

/// Parses one event object or an array of them, refusing a key given twice
/// ([`json::parse`]). Errors in an array are prefixed with the event's index
/// (`[2].data.to`).
pub fn parse_input(text: &str) -> Result<(Vec<Submission>, bool), anyhow::Error> {
    let value = json::parse(text.as_bytes()).map_err(|e| {
        anyhow::Error::from(match e.duplicate() {
            Some(field) => ValidationError::from(field),
            None => ValidationError::one("", format!("the input is not valid JSON: {e}")),
        })
    })?;
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(ValidationError::one("", "the array holds no event").into());
            }
            let mut subs = Vec::with_capacity(items.len());
            let mut errors: Vec<FieldError> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match Submission::from_wire(item) {
                    Ok(s) => subs.push(s),
                    Err(e) => errors.extend(e.errors.into_iter().map(|f| {
                        let field = if f.field.is_empty() {
                            format!("[{i}]")
                        } else {
                            format!("[{i}].{}", f.field)
                        };
                        FieldError::new(field, f.message)
                    })),
                }
            }
            if errors.is_empty() {
                Ok((subs, false))
            } else {
                Err(ValidationError { errors }.into())
            }
        }
        other => Ok((vec![Submission::from_wire(&other)?], true)),
    }
}

fn nothing_recorded(e: anyhow::Error) -> anyhow::Error {
    e.context("nothing was recorded")
}

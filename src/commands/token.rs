//! `passerelle token`: create, list and revoke API tokens. The secret is
//! printed once, by `create`; nothing else ever prints a secret or a hash.

use std::process::ExitCode;

use chrono::SecondsFormat;

use crate::auth::{TokenInfo, TokenStore};
use crate::cli::{TokenArgs, TokenCommand};

/// Runs a `token` subcommand.
pub fn run(args: TokenArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TokenCommand::Create(a) => {
            let store = TokenStore::open(&a.db.db)?;
            let (info, secret) = store.create(&a.name, a.role, a.programme.as_deref())?;
            eprintln!(
                "created token {} ({}, {}{})",
                info.id,
                info.name,
                info.role,
                info.programme
                    .as_deref()
                    .map(|p| format!(", programme {p}"))
                    .unwrap_or_default()
            );
            eprintln!("store it now: it is shown only once");
            println!("{secret}");
        }
        TokenCommand::List(a) => {
            let store = TokenStore::open(&a.db.db)?;
            print!("{}", table(&store.list()?));
        }
        TokenCommand::Revoke(a) => {
            let store = TokenStore::open(&a.db.db)?;
            let info = store.revoke(&a.token)?;
            println!("revoked token {} ({})", info.id, info.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The tokens as an aligned text table, one line each under a header.
fn table(tokens: &[TokenInfo]) -> String {
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut rows = vec![[
        "ID".to_owned(),
        "NAME".to_owned(),
        "ROLE".to_owned(),
        "PROGRAMME".to_owned(),
        "CREATED".to_owned(),
        "REVOKED".to_owned(),
    ]];
    rows.extend(tokens.iter().map(|t| {
        [
            t.id.clone(),
            t.name.clone(),
            t.role.to_string(),
            t.programme.clone().unwrap_or_else(|| "-".to_owned()),
            time(t.created_at),
            t.revoked_at.map(time).unwrap_or_else(|| "-".to_owned()),
        ]
    }));
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

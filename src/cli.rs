//! Command-line arguments (clap). Only parsing lives here.

use std::path::PathBuf;

use crate::store::{Location, LocationParser};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::http::guard::PublicUrl;

/// Passerelle: an event-sourced tracker of the stakeholder and partnership
/// network a city builds with and for its migrant residents.
#[derive(Debug, Parser)]
#[command(name = "passerelle", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the event store.
    Init(InitArgs),
    /// Append one event, or a JSON array of events (atomically), read from
    /// standard input or --file; print the stored envelopes as JSON.
    Record(RecordArgs),
    /// Import a JSON Lines log (one event per line), all or nothing per batch
    /// of 10,000 events; into an empty store, the whole import is committed
    /// at its end (stopped before, it keeps nothing). Personal fields given
    /// in clear are sealed on the way in; the data keys an export carries
    /// (--with-keys) are imported first.
    Import(ImportArgs),
    /// Copy a whole store into an empty one, between any two backends
    /// (SQLite file or PostgreSQL): every event with its id, position,
    /// times, actor and hash, and the data keys as they are wrapped (the copy
    /// opens with the source's master key). Checked event by event: the copy
    /// stops at the first event whose hash differs. Into an empty store it
    /// is committed at its end (stopped before, it keeps nothing)
    Copy(CopyArgs),
    /// Export the log as JSON Lines, in log order: the stored envelopes, their
    /// personal fields sealed as stored (no master key needed). --with-keys
    /// and --decrypt need the master key, and their output file is created
    /// readable by you only.
    Export(ExportArgs),
    /// Check the whole log: positions gap-free, every event decodes and
    /// validates, the hash chain holds. Exits non-zero naming the first bad
    /// position.
    Verify(VerifyArgs),
    /// Seed the demo database with the Saint-Jean-de-la-Ruelle / Brussels
    /// mentoring programme if it is absent, and print a summary.
    Demo(DemoArgs),
    /// The gap report: what the network lacks, with evidence and next steps.
    Gaps(GapsArgs),
    /// The network: nodes with their metrics and map positions, ties with
    /// their strength and component.
    Network(NetworkArgs),
    /// What changed between two times, or around a milestone.
    Diff(DiffArgs),
    /// Write a deterministic, realistic synthetic log (JSON Lines) for
    /// benchmarks and tests.
    Generate(GenerateArgs),
    /// Create, list and revoke API tokens.
    Token(TokenArgs),
    /// Serve the JSON API (and, later, the web pages) until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Erase a data subject's personal data (GDPR art. 17): destroy its data
    /// key and record PersonalDataErased. The events, their hash chain and
    /// every tie and count stay; the fields read as erased everywhere.
    Erase(EraseArgs),
    /// Everything the store holds about one data subject, decrypted, as JSON
    /// (an access request, GDPR art. 15).
    SubjectAccess(SubjectAccessArgs),
    /// The master key: its status, and rotation to a new one.
    Keys(KeysArgs),
}

/// Where the store is.
#[derive(Debug, Clone, Args)]
pub struct DbArg {
    /// The event store: the path of a SQLite file, or a PostgreSQL URL
    /// (postgres://user@host:port/database)
    #[arg(
        long,
        value_name = "PATH|URL",
        value_parser = LocationParser,
        env = "PASSERELLE_DB",
        default_value = "./passerelle.db"
    )]
    pub db: Location,
}

/// `passerelle init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
}

/// `passerelle record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// Read the event(s) from this file instead of standard input.
    #[arg(long, short, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Who records (`recorded_by`); default: the operating-system user.
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
}

/// `passerelle copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The store to copy: the path of a SQLite file or a PostgreSQL URL
    #[arg(long, value_name = "PATH|URL",
        value_parser = LocationParser)]
    pub from: Location,
    /// The store to copy into, created if it does not exist; it must hold
    /// no event
    #[arg(long, value_name = "PATH|URL",
        value_parser = LocationParser)]
    pub to: Location,
}

/// `passerelle import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// The JSON Lines file: wire events, or the lines of `passerelle export`.
    #[arg(value_name = "FILE.jsonl")]
    pub file: PathBuf,
    /// Who records events that carry no `recorded_by` of their own; default:
    /// the operating-system user.
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
    /// The key file of the exporting store's master key, when the file
    /// carries data keys (export --with-keys) from a store with another
    /// master key than this one's.
    #[arg(long, value_name = "PATH")]
    pub source_key_file: Option<PathBuf>,
    /// Events per atomic batch: an error keeps the batches before its line
    /// and nothing of its own batch.
    #[arg(long, value_name = "N", default_value_t = crate::commands::import::BATCH,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub batch: usize,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One stored envelope per line.
    Jsonl,
}

/// `passerelle export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ExportFormat,
    /// Only this programme's events.
    #[arg(long, value_name = "P")]
    pub programme: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also carry the data keys the exported events are sealed under, in a
    /// first line that `import` reads. They stay wrapped by this store's
    /// master key: the export alone reveals no personal data, and importing it into a
    /// store with another master key needs this store's key
    /// (import --source-key-file).
    #[arg(long, conflicts_with = "decrypt")]
    pub with_keys: bool,
    /// Write personal fields decrypted, in clear (for a migration). Fields of
    /// erased subjects stay sealed. Refused without
    /// --yes-include-personal-data.
    #[arg(long)]
    pub decrypt: bool,
    /// Confirms that --decrypt may write personal data in clear.
    #[arg(long)]
    pub yes_include_personal_data: bool,
}

/// `passerelle verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
}

/// `passerelle demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo store, seeded only if absent: the path of a SQLite file, or
    /// a PostgreSQL URL (postgres://user@host:port/database)
    #[arg(
        long,
        value_name = "PATH|URL",
        value_parser = LocationParser,
        env = "PASSERELLE_DEMO_DB",
        default_value = "./passerelle-demo.db"
    )]
    pub db: Location,
    /// Address to serve on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// Seed and summarise only; do not serve.
    #[arg(long)]
    pub no_serve: bool,
    /// The address people open the pages at when a proxy serves them, e.g.
    /// https://passerelle.example.org (scheme, host and port only); without
    /// it, the server's origin is http:// and the request's Host header.
    /// Writes made with the browser session cookie must come from this
    /// origin; with https the cookie is marked Secure.
    #[arg(long, value_name = "URL", env = "PASSERELLE_PUBLIC_URL", value_parser = PublicUrl::parse)]
    pub public_url: Option<PublicUrl>,
}

/// `passerelle serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// Address to serve on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// Largest accepted request body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub body_limit: u64,
    /// The address people open the pages at when a proxy serves them, e.g.
    /// https://passerelle.example.org (scheme, host and port only); without
    /// it, the server's origin is http:// and the request's Host header.
    /// Writes made with the browser session cookie must come from this
    /// origin; with https the cookie is marked Secure.
    #[arg(long, value_name = "URL", env = "PASSERELLE_PUBLIC_URL", value_parser = PublicUrl::parse)]
    pub public_url: Option<PublicUrl>,
    /// Most connections held at once; lowered to fit the open-file limit,
    /// which is first raised, within its hard limit, as far as they need. Beyond it, the oldest
    /// connection that has not sent a complete request is closed, or a new
    /// one is answered 503.
    #[arg(long, value_name = "N", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Seconds a client has to send a request's headers, from when it
    /// connected or its previous answer ended; an idle connection is closed
    /// after as long.
    #[arg(long, value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
}

/// `passerelle erase`.
#[derive(Debug, Args)]
pub struct EraseArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// The programme (or name it in --subject: contact:P/STAKEHOLDER).
    #[arg(long, value_name = "P")]
    pub programme: Option<String>,
    /// Whose data: contact:STAKEHOLDER (the stakeholder's contact person) or
    /// participant:CODE (a participant's pseudonymous code).
    #[arg(long, value_name = "SUBJECT")]
    pub subject: String,
    /// Why (1–1,000 characters), recorded in clear in the PersonalDataErased
    /// event: the request's date and channel, never personal data.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Who erases (`recorded_by`); default: the operating-system user.
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
}

/// `passerelle subject-access`.
#[derive(Debug, Args)]
pub struct SubjectAccessArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// Whose data: contact:STAKEHOLDER or participant:CODE (with --programme),
    /// or contact:P/STAKEHOLDER, participant:P/CODE.
    #[arg(long, value_name = "SUBJECT")]
    pub subject: String,
    /// The programme, unless the subject names it.
    #[arg(long, value_name = "P")]
    pub programme: Option<String>,
    /// Write to this file (created readable by you only) instead of standard
    /// output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `passerelle keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// What to do with the keys.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// The `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// The store's master key (fingerprint, where it was read from) and how
    /// many data keys are live and destroyed.
    Status(KeysStatusArgs),
    /// Wrap every data key again under a new random master key, without
    /// touching the log. With a key file, the new key replaces it (written
    /// first to KEYFILE.new); with PASSERELLE_MASTER_KEY, --new-key-file is
    /// required. Database backups made before still need the old key.
    Rotate(KeysRotateArgs),
}

/// `passerelle keys status`.
#[derive(Debug, Args)]
pub struct KeysStatusArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
}

/// `passerelle keys rotate`.
#[derive(Debug, Args)]
pub struct KeysRotateArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// Write the new master key to this file (it must not exist; created
    /// readable by you only) instead of replacing the current key file.
    /// Required when the key comes from PASSERELLE_MASTER_KEY.
    #[arg(long, value_name = "PATH")]
    pub new_key_file: Option<PathBuf>,
}

/// The operating-system user, for `recorded_by` on the command line.
pub fn default_actor() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Which programme, and as of when.
#[derive(Debug, Clone, Args)]
pub struct ViewArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// The programme (required when the log holds several).
    #[arg(long, value_name = "P")]
    pub programme: Option<String>,
    /// As of this occurred time: a date (2021-05-01) or an RFC 3339 time
    /// (the output's `as_of` says it). Default: the programme's latest
    /// recorded occurrence.
    #[arg(long, value_name = "T", conflicts_with = "position")]
    pub as_of: Option<String>,
    /// As of this log position: what was known once events 1..=N were recorded.
    #[arg(long, value_name = "N")]
    pub position: Option<u64>,
    /// Days for a tie's strength to halve without interaction.
    #[arg(long, value_name = "DAYS", default_value_t = 180.0)]
    pub half_life: f64,
}

/// Output formats of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Text for people.
    Text,
    /// JSON for programs.
    Json,
}

/// `passerelle gaps`.
#[derive(Debug, Args)]
pub struct GapsArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub view: ViewArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Language of the text output.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: crate::render::Lang,
}

/// Network output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetworkFormat {
    /// JSON: nodes, edges, metrics.
    Json,
}

/// `passerelle network`.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub view: ViewArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: NetworkFormat,
}

/// `passerelle diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// The programme (required when the log holds several).
    #[arg(long, value_name = "P")]
    pub programme: Option<String>,
    /// The earlier time (a date or an RFC 3339 time).
    #[arg(long, value_name = "T1", requires = "to", conflicts_with = "milestone")]
    pub from: Option<String>,
    /// The later time (read as the programme's last event time when after it).
    #[arg(long, value_name = "T2", requires = "from")]
    pub to: Option<String>,
    /// Compare just before this milestone with just before the next one.
    #[arg(long, value_name = "ID", required_unless_present = "from")]
    pub milestone: Option<String>,
    /// Days for a tie's strength to halve without interaction.
    #[arg(long, value_name = "DAYS", default_value_t = 180.0)]
    pub half_life: f64,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Language of the text output.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: crate::render::Lang,
}

/// `passerelle generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many stakeholders.
    #[arg(long, value_name = "N")]
    pub stakeholders: usize,
    /// How many events in all.
    #[arg(long, value_name = "M")]
    pub events: usize,
    /// Random seed: the same seed gives the same log, byte for byte.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Programme id of the generated events.
    #[arg(long, value_name = "P", default_value = "gen")]
    pub programme: String,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `passerelle token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// What to do with tokens.
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// The `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once on standard output.
    Create(TokenCreateArgs),
    /// List the tokens (never their secrets).
    List(TokenListArgs),
    /// Revoke a token by id or name; it stops working at once, also for a
    /// server that is running.
    Revoke(TokenRevokeArgs),
}

/// `passerelle token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// What the token may do.
    #[arg(long, value_enum)]
    pub role: crate::auth::Role,
    /// A unique name; what the token appends is recorded by this name.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Scope the token to this programme: it sees and writes only that one.
    #[arg(long, value_name = "P")]
    pub programme: Option<String>,
}

/// `passerelle token list`.
#[derive(Debug, Args)]
pub struct TokenListArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
}

/// `passerelle token revoke`.
#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// The token's id (tok_…) or name.
    #[arg(value_name = "ID|NAME")]
    pub token: String,
}

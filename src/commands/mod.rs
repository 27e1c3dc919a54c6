//! One module per command. Each `run` returns the process exit code.

pub mod copy;
pub mod demo;
pub mod diff;
pub mod erase;
pub mod export;
pub mod gaps;
pub mod generate;
pub mod import;
pub mod init;
pub mod keys;
pub mod network;
pub mod record;
pub mod serve;
pub mod subject_access;
pub mod token;
pub mod verify;

use std::path::Path;

use anyhow::Context;
use passerelle_events::{Keyring, Ledger};

use crate::store::{Location, Store};

/// Opens an existing store (never creates one).
pub(crate) async fn open_store(db: &Location) -> anyhow::Result<Store> {
    Store::open(db)
        .await
        .with_context(|| format!("cannot open the store at {db}"))
}

/// Opens an existing store with its keyring; the master key must open it
/// (see [`crate::master_key`]), and is checked before the store is opened for
/// writing: a missing or wrong key leaves its files as they were.
pub(crate) async fn open_keyring(db: &Location) -> anyhow::Result<Keyring<Store>> {
    crate::master_key::check(db).await?;
    let store = open_store(db).await?;
    crate::master_key::open_keyring(store, db).await
}

/// Opens an existing store with its ledger folded from the log; the master
/// key must open the store's keyring ([`open_keyring`]).
pub(crate) async fn open_ledger(db: &Location) -> anyhow::Result<Ledger<Store>> {
    let keyring = open_keyring(db).await?;
    Ok(Ledger::open(keyring).await?)
}

/// Creates (or truncates) `path` for output that holds personal data or
/// keys: readable and writable by its owner only, also when it existed.
pub(crate) fn create_private_file(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // An existing file keeps its mode on open: set it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    Ok(file)
}

/// Parses `--subject` with `--programme`: a mismatch or a bad subject is
/// refused with what is expected.
pub(crate) fn parse_subject(
    subject: &str,
    programme: Option<&str>,
) -> anyhow::Result<passerelle_events::personal::Subject> {
    passerelle_events::personal::Subject::parse(subject, programme)
        .map_err(|m| anyhow::anyhow!("--subject: {m}"))
}

/// How a subject is named in output: a participant's code is never printed
/// back (it is personal data).
pub(crate) fn shown_subject(subject: &passerelle_events::personal::Subject) -> String {
    use passerelle_events::personal::SubjectKind;
    match subject.kind() {
        SubjectKind::Contact => format!(
            "the contact person of stakeholder {} ({})",
            subject.stakeholder().unwrap_or_default(),
            subject.id()
        ),
        SubjectKind::Participant => {
            format!("the participant (of programme {})", subject.programme())
        }
    }
}

/// Loads the whole log of the store at `path` into a projection engine.
pub(crate) async fn load_engine(
    db: &Location,
) -> anyhow::Result<passerelle_projections::engine::Engine> {
    let store = open_store(db).await?;
    Ok(passerelle_projections::engine::Engine::load(&store).await?)
}

/// The programme to report on: the one asked for, or the only one.
pub(crate) fn pick_programme(
    engine: &passerelle_projections::engine::Engine,
    asked: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(p) = asked {
        return Ok(p.to_owned());
    }
    let ids: Vec<&String> = engine.model().programmes.keys().collect();
    match ids.as_slice() {
        [only] => Ok((*only).clone()),
        [] => anyhow::bail!("the log holds no programme yet"),
        _ => anyhow::bail!(
            "the log holds several programmes ({}); choose one with --programme",
            passerelle_projections::views::known_programmes(engine)
        ),
    }
}

/// Parses `--as-of`/`--from`/`--to`: a date or an RFC 3339 time.
pub(crate) fn parse_time(flag: &str, s: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    passerelle_events::values::OccurredAt::parse(s)
        .map(|t| t.datetime())
        .map_err(|m| anyhow::anyhow!("{flag}: {m}"))
}

/// The view settings for a half-life.
pub(crate) fn settings(half_life: f64) -> anyhow::Result<passerelle_projections::views::Settings> {
    anyhow::ensure!(
        half_life.is_finite() && half_life > 0.0,
        "--half-life must be a positive number of days (got {half_life})"
    );
    let mut s = passerelle_projections::views::Settings::default();
    s.network.half_life_days = half_life;
    Ok(s)
}

/// The engine and what `--programme`, `--as-of`/`--position` and
/// `--half-life` ask for; [`ViewRequest::view`] builds the view, borrowing
/// the engine.
pub(crate) struct ViewRequest {
    pub engine: passerelle_projections::engine::Engine,
    pub programme: String,
    pub as_of: passerelle_projections::engine::AsOf,
    pub settings: passerelle_projections::views::Settings,
}

impl ViewRequest {
    /// The requested view.
    pub fn view(&self) -> anyhow::Result<passerelle_projections::views::View<'_>> {
        Ok(passerelle_projections::views::view(
            &self.engine,
            &self.programme,
            self.as_of,
            &self.settings,
        )?)
    }
}

/// Loads the log and reads the view arguments.
pub(crate) async fn load_view(args: &crate::cli::ViewArgs) -> anyhow::Result<ViewRequest> {
    use passerelle_projections::engine::AsOf;
    let engine = load_engine(&args.db.db).await?;
    let programme = pick_programme(&engine, args.programme.as_deref())?;
    let as_of = match (&args.as_of, args.position) {
        (Some(t), _) => AsOf::Time(parse_time("--as-of", t)?),
        (None, Some(p)) => AsOf::Position(p),
        (None, None) => AsOf::Latest,
    };
    let settings = settings(args.half_life)?;
    Ok(ViewRequest {
        engine,
        programme,
        as_of,
        settings,
    })
}

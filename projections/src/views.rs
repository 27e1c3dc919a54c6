//! Views of one programme as of a time or position: the network with its
//! metrics and layout, the gap report, participation, and diffs — what the
//! CLI (and later the API) serialise. Plain Rust; serialisation belongs to
//! the callers.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

use crate::diff::{around_milestone, diff, Diff};
use crate::engine::{AsOf, Engine};
use crate::gaps::{complete, network_findings, GapConfig, GapReport};
use crate::layout::{layout, LayoutConfig};
use crate::metrics::MetricsConfig;
use crate::model::Programme;
use crate::network::{Analysis, Network, NetworkConfig};

/// Every setting of the views, with documented defaults.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Tie presence and strength.
    pub network: NetworkConfig,
    /// Metric computation (exact limit, pivots, seed).
    pub metrics: MetricsConfig,
    /// Gap report thresholds.
    pub gaps: GapConfig,
    /// Force-directed layout.
    pub layout: LayoutConfig,
}

/// Why a view cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// No such programme in the log (as of the requested point).
    #[error("no programme {0:?} in the log; known programmes: {1}")]
    UnknownProgramme(String, String),
    /// No such milestone.
    #[error("no milestone {0:?} in programme {1:?}")]
    UnknownMilestone(String, String),
}

/// A programme's network, metrics and gaps as of one point. The programme
/// is borrowed from the engine when the view is of the latest state, so a
/// view of a large log does not copy it.
#[derive(Debug, Clone)]
pub struct View<'a> {
    /// The programme's model at that point.
    pub programme: Cow<'a, Programme>,
    /// Its network.
    pub network: Network,
    /// The network's metrics.
    pub analysis: Analysis,
    /// The gap report.
    pub gaps: GapReport,
}

/// The programme ids of the current model, comma-separated (for messages).
pub fn known_programmes(engine: &Engine) -> String {
    let ids: Vec<&str> = engine
        .model()
        .programmes
        .keys()
        .map(String::as_str)
        .collect();
    if ids.is_empty() {
        "none".to_owned()
    } else {
        ids.join(", ")
    }
}

/// Builds the view of `programme` as of `as_of`.
pub fn view<'a>(
    engine: &'a Engine,
    programme: &str,
    as_of: AsOf,
    settings: &Settings,
) -> Result<View<'a>, ViewError> {
    let snap = engine.snapshot(as_of);
    let time = snap.reference_time(programme);
    let position = snap.position();
    let found = match snap.model {
        Cow::Borrowed(m) => m.programmes.get(programme).map(Cow::Borrowed),
        Cow::Owned(mut m) => m.programmes.remove(programme).map(Cow::Owned),
    };
    let p = match found {
        Some(p) => p,
        None if engine.model().programmes.contains_key(programme) => Cow::Owned(Programme {
            id: programme.to_owned(),
            ..Programme::default()
        }),
        None => {
            return Err(ViewError::UnknownProgramme(
                programme.to_owned(),
                known_programmes(engine),
            ))
        }
    };
    let network = Network::build(&p, time, position, &settings.network);
    // The findings that need no metrics are computed while the metrics are.
    let (analysis, first) = std::thread::scope(|scope| {
        let analysis = scope.spawn(|| network.analyse(&settings.metrics));
        let first = network_findings(&p, &network, &settings.gaps);
        (
            analysis.join().expect("the metrics thread does not panic"),
            first,
        )
    });
    let gaps = complete(&p, &network, &analysis, &settings.gaps, first);
    Ok(View {
        programme: p,
        network,
        analysis,
        gaps,
    })
}

/// Positions keyed by stakeholder id.
pub type Positions = HashMap<String, (f64, f64)>;

fn month_end(year: i32, month: u32) -> DateTime<Utc> {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let first = NaiveDate::from_ymd_opt(y, m, 1).expect("valid month");
    Utc.from_utc_datetime(&first.and_hms_opt(0, 0, 0).expect("midnight"))
        - chrono::Duration::seconds(1)
}

/// The ends of every month from the programme's first event to `until`.
pub fn month_ends(first: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let (mut y, mut m) = (first.year(), first.month());
    loop {
        let end = month_end(y, m);
        if end >= until {
            break;
        }
        out.push(end);
        if m == 12 {
            y += 1;
            m = 1;
        } else {
            m += 1;
        }
    }
    out
}

fn first_event(engine: &Engine, programme: &str) -> Option<DateTime<Utc>> {
    engine
        .events()
        .iter()
        .filter(|e| e.event.programme.as_str() == programme)
        .map(|e| e.event.occurred_at.datetime())
        .min()
}

fn layout_of(network: &Network, previous: Option<&Positions>, cfg: &LayoutConfig) -> Positions {
    let edges: Vec<(usize, usize, f64)> = network
        .present_ties()
        .filter_map(|t| {
            let (a, b) = (network.index_of(&t.a)?, network.index_of(&t.b)?);
            Some((a, b, t.strength.max(0.05)))
        })
        .collect();
    let pos = layout(&network.nodes, &edges, previous, cfg);
    network.nodes.iter().cloned().zip(pos).collect()
}

/// Layouts at each month end from the programme's start, then at `time`,
/// each seeded from the one before, so that nodes keep their places as the
/// time slider moves. Returns (time, positions) in order, `time` last.
pub fn layout_chain(
    engine: &Engine,
    programme: &str,
    time: DateTime<Utc>,
    settings: &Settings,
) -> Vec<(DateTime<Utc>, Positions)> {
    let Some(first) = first_event(engine, programme) else {
        return Vec::new();
    };
    let mut times = month_ends(first, time);
    times.push(time);
    let mut out: Vec<(DateTime<Utc>, Positions)> = Vec::with_capacity(times.len());
    for t in times {
        let snap = engine.snapshot(AsOf::Time(t));
        let Some(p) = snap.model.programmes.get(programme) else {
            continue;
        };
        let network = Network::build(p, t, snap.position(), &settings.network);
        let previous = out.last().map(|(_, pos)| pos);
        let pos = layout_of(&network, previous, &settings.layout);
        out.push((t, pos));
    }
    out
}

/// The layout of a view: the end of its layout chain.
pub fn positions(engine: &Engine, v: &View, settings: &Settings) -> Positions {
    layout_chain(engine, &v.programme.id, v.network.as_of, settings)
        .pop()
        .map(|(_, p)| p)
        .unwrap_or_default()
}

/// The diff between two views.
pub fn diff_views(before: &View, after: &View) -> Diff {
    diff(
        (&before.network, &before.gaps),
        (&after.network, &after.gaps),
    )
}

/// The views just before a milestone and just before the next one (or as of
/// the programme's latest event).
pub fn around<'a>(
    engine: &'a Engine,
    programme: &str,
    milestone: &str,
    settings: &Settings,
) -> Result<(View<'a>, View<'a>), ViewError> {
    let model = engine.model();
    let p = model.programmes.get(programme).ok_or_else(|| {
        ViewError::UnknownProgramme(programme.to_owned(), known_programmes(engine))
    })?;
    let ordered = p.milestones_in_order();
    let i = ordered
        .iter()
        .position(|m| m.id == milestone)
        .ok_or_else(|| ViewError::UnknownMilestone(milestone.to_owned(), programme.to_owned()))?;
    let at = ordered[i].occurred_at;
    let next = ordered[i + 1..]
        .iter()
        .map(|m| m.occurred_at)
        .find(|t| *t > at);
    let latest = p.latest.unwrap_or(at);
    let (t0, t1) = around_milestone(at, next, latest);
    Ok((
        view(engine, programme, AsOf::Time(t0), settings)?,
        view(engine, programme, AsOf::Time(t1), settings)?,
    ))
}

//! Views of one programme as of a time or position: the network with its
//! metrics and layout, the gap report, participation, and diffs — what the
//! CLI (and later the API) serialise. Plain Rust; serialisation belongs to
//! the callers.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

use crate::cancel::{Cancel, Stopped};
use crate::diff::{around_milestone, diff, Diff};
use crate::engine::{AsOf, Engine};
use crate::gaps::{complete, mentor_practice, mentors, network_findings, GapConfig, GapReport};
use crate::layout::{layout_within, LayoutConfig};
use crate::metrics::{communities, MetricsConfig};
use crate::model::{Audience, Model, Programme};
use crate::network::{Analysis, Network, NetworkConfig};
use passerelle_events::event::StakeholderKind;

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
    /// The computation was stopped before it ended ([`Cancel`]).
    #[error(transparent)]
    Stopped(#[from] Stopped),
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

/// Builds the view of `programme` as of `as_of`. Its cost does not grow with
/// how late a time is: a layout chain stops at the programme's last event
/// ([`layout_chain`]), and the rest is one replay and one measurement.
pub fn view<'a>(
    engine: &'a Engine,
    programme: &str,
    as_of: AsOf,
    settings: &Settings,
) -> Result<View<'a>, ViewError> {
    view_within(engine, programme, as_of, settings, &Cancel::never())
}

/// [`view`], checked against `cancel` during the replay and between the
/// steps (network, metrics and findings): [`ViewError::Stopped`] when it
/// stops the view first.
pub fn view_within<'a>(
    engine: &'a Engine,
    programme: &str,
    as_of: AsOf,
    settings: &Settings,
    cancel: &Cancel,
) -> Result<View<'a>, ViewError> {
    build_view(engine, programme, as_of, settings, true, cancel)
}

/// [`view_within`] without the gap report (its `gaps` is empty): the
/// network and its metrics only, for a read that shows no finding.
pub fn network_view_within<'a>(
    engine: &'a Engine,
    programme: &str,
    as_of: AsOf,
    settings: &Settings,
    cancel: &Cancel,
) -> Result<View<'a>, ViewError> {
    build_view(engine, programme, as_of, settings, false, cancel)
}

fn build_view<'a>(
    engine: &'a Engine,
    programme: &str,
    as_of: AsOf,
    settings: &Settings,
    findings: bool,
    cancel: &Cancel,
) -> Result<View<'a>, ViewError> {
    let snap = engine.snapshot_within(as_of, cancel)?;
    let time = snap.reference_time(programme);
    let position = snap.position();
    // The mentor programmes, as of the same point, for their practice
    // beside the findings.
    let (found, mentor_models): (Option<Cow<Programme>>, Vec<Cow<Programme>>) = match snap.model {
        Cow::Borrowed(m) => (
            m.programmes.get(programme).map(Cow::Borrowed),
            mentors(m.programmes.values(), programme)
                .into_iter()
                .map(Cow::Borrowed)
                .collect(),
        ),
        Cow::Owned(mut m) => {
            let ids: Vec<String> = mentors(m.programmes.values(), programme)
                .into_iter()
                .map(|p| p.id.clone())
                .collect();
            let others = ids
                .iter()
                .filter_map(|id| m.programmes.remove(id))
                .map(Cow::Owned)
                .collect();
            (m.programmes.remove(programme).map(Cow::Owned), others)
        }
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
    cancel.check()?;
    let network = Network::build(&p, time, position, &settings.network);
    cancel.check()?;
    // The findings that need no metrics are computed while the metrics are.
    if !findings {
        let analysis = network.analyse_within(&settings.metrics, cancel)?;
        return Ok(View {
            gaps: GapReport {
                programme: p.id.clone(),
                as_of: time,
                position,
                findings: Vec::new(),
                public_shares: Vec::new(),
                practice: Vec::new(),
            },
            programme: p,
            network,
            analysis,
        });
    }
    let (analysis, first) = std::thread::scope(|scope| {
        let analysis = scope.spawn(|| network.analyse_within(&settings.metrics, cancel));
        let first = network_findings(&p, &network, &settings.gaps);
        (
            analysis.join().expect("the metrics thread does not panic"),
            first,
        )
    });
    let analysis = analysis?;
    cancel.check()?;
    let mut gaps = complete(&p, &network, &analysis, &settings.gaps, first);
    cancel.check()?;
    let mentor_refs: Vec<&Programme> = mentor_models.iter().map(|m| m.as_ref()).collect();
    gaps.practice = mentor_practice(&gaps.findings, &mentor_refs);
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

/// Whether an event can change what a layout is computed from: the active
/// stakeholders and the present ties with their strengths. [`Network::build`]
/// reads only the stakeholders, partnerships, contacts, sessions (id,
/// attendees, time, first event), needs (theme, addressing) and milestones
/// (stakeholders, time, event) of a programme, and only these event types
/// change them in [`crate::model::Model::apply`]; need withdrawals, notes,
/// attendance, the programme's definition and erasures do not. Folding only
/// these events, in log order, gives those fields exactly as the whole fold
/// does. (Checked against the replay of whole snapshots in
/// `tests/layout_chain.rs`.)
fn shapes_network(event_type: &str) -> bool {
    SHAPING_TYPES.contains(&event_type)
}

/// The types ([`passerelle_events::Event::type_name`]) of the events that shape a network.
const SHAPING_TYPES: [&str; 11] = [
    "StakeholderRegistered",
    "StakeholderProfileChanged",
    "StakeholderArchived",
    "OutreachContactLogged",
    "PartnershipFormed",
    "PartnershipRevised",
    "PartnershipEnded",
    "CoCreationSessionHeld",
    "NeedDeclared",
    "NeedAddressed",
    "MilestoneMarked",
];

/// A programme's map at one time: its active stakeholders with their
/// positions and communities, and its present ties, strongest first. What
/// the map draws; [`LayoutCache`] keeps one per month of a programme.
///
/// Kept for every month of every programme, a frame holds per node a shared
/// [`Shown`] (the frames of a chain share one per stakeholder, name and
/// kind), its position and its community, in arrays of their own:
/// [`Frame::nodes`] puts them together. Its ties take 8 bytes each (two
/// 16-bit node indexes when the frame has at most 65,536 nodes, and a
/// single-precision strength), [`Frame::ties`] gives them: at a
/// 20,000-stakeholder programme's half a million present ties and three
/// years of months, ties are most of what the frames hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The time it shows.
    pub time: DateTime<Utc>,
    /// The active stakeholders, in the network's node order.
    pub shown: Vec<Arc<Shown>>,
    /// Each node's position in the frame [-1, 1]², in node order.
    pub xy: Vec<(f64, f64)>,
    /// Each node's community (Louvain on the present ties, numbered as
    /// [`Network::analyse`] numbers them), in node order.
    pub communities: Vec<u32>,
    /// The present ties' node indexes, in [`Frame::ties`] order.
    pairs: Pairs,
    /// The present ties' strengths, in [`Frame::ties`] order.
    strengths: Vec<f32>,
    /// Whether the layout is the chain's: warm-started from the month
    /// before, itself settled, back to the programme's first month. A frame
    /// that is not settled was laid out while the months before it were
    /// still being computed, from the latest month computed by then; a later
    /// read gives the settled layout, which may place nodes otherwise.
    pub settled: bool,
}

/// A stakeholder as a [`Frame`] shows it: id, name at the frame's time and
/// kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Stakeholder id.
    pub id: String,
    /// Its name at the frame's time.
    pub name: String,
    /// Its kind.
    pub kind: StakeholderKind,
}

/// A node of a [`Frame`], as [`Frame::nodes`] gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameNode<'a> {
    /// Stakeholder id.
    pub id: &'a str,
    /// Its name at the frame's time.
    pub name: &'a str,
    /// Its kind.
    pub kind: StakeholderKind,
    /// Position in the frame [-1, 1]².
    pub x: f64,
    /// Position in the frame [-1, 1]².
    pub y: f64,
    /// Its community (Louvain on the present ties, numbered as
    /// [`Network::analyse`] numbers them).
    pub community: usize,
}

impl Frame {
    /// The nodes, in the network's node order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = FrameNode<'_>> + '_ {
        self.shown
            .iter()
            .zip(&self.xy)
            .zip(&self.communities)
            .map(|((s, &(x, y)), &community)| FrameNode {
                id: &s.id,
                name: &s.name,
                kind: s.kind,
                x,
                y,
                community: community as usize,
            })
    }

    /// The present ties: node indexes (smaller first) and strength,
    /// strongest first (equal strengths by indexes). The strength is the
    /// network's ([`crate::network::Tie::strength`]) rounded to single
    /// precision: the order is that of the exact strengths.
    pub fn ties(&self) -> impl ExactSizeIterator<Item = (u32, u32, f32)> + '_ {
        self.strengths.iter().enumerate().map(|(i, &w)| {
            let (a, b) = self.pairs.get(i);
            (a, b, w)
        })
    }

    /// The positions by stakeholder id.
    pub fn positions(&self) -> Positions {
        self.shown
            .iter()
            .zip(&self.xy)
            .map(|(s, &xy)| (s.id.clone(), xy))
            .collect()
    }
}

/// The node indexes of a frame's ties: two 16-bit indexes in one word when
/// every node index fits, else two words.
#[derive(Debug, Clone, PartialEq)]
enum Pairs {
    Narrow(Vec<u32>),
    Wide(Vec<(u32, u32)>),
}

impl Pairs {
    /// `ties`' node indexes, for a frame of `nodes` nodes.
    fn of(nodes: usize, ties: &[(u32, u32, f64)]) -> Self {
        if nodes <= 1 << 16 {
            Self::Narrow(ties.iter().map(|&(a, b, _)| (a << 16) | b).collect())
        } else {
            Self::Wide(ties.iter().map(|&(a, b, _)| (a, b)).collect())
        }
    }

    fn get(&self, i: usize) -> (u32, u32) {
        match self {
            Self::Narrow(v) => (v[i] >> 16, v[i] & 0xffff),
            Self::Wide(v) => v[i],
        }
    }
}

/// The [`Shown`] stakeholders of a chain's frames, one per id: a frame
/// reuses the one kept when its name and kind are unchanged.
#[derive(Debug, Default)]
struct Roster {
    shown: HashMap<String, Arc<Shown>>,
}

impl Roster {
    /// The stakeholder `id` shown with `name` and `kind`.
    fn get(&mut self, id: &str, name: &str, kind: StakeholderKind) -> Arc<Shown> {
        if let Some(s) = self.shown.get(id) {
            if s.name == name && s.kind == kind {
                return s.clone();
            }
        }
        let s = Arc::new(Shown {
            id: id.to_owned(),
            name: name.to_owned(),
            kind,
        });
        self.shown.insert(id.to_owned(), s.clone());
        s
    }
}

/// The frame of `network` (of programme `p`): its layout warm-started from
/// `previous`, its communities and present ties.
fn frame_of(
    p: &Programme,
    network: &Network,
    previous: Option<&Positions>,
    settings: &Settings,
    settled: bool,
    roster: &mut Roster,
    cancel: &Cancel,
) -> Result<Frame, Stopped> {
    let edges: Vec<(usize, usize, f64)> = network
        .present_ties()
        .map(|t| (t.a, t.b, t.strength.max(0.05)))
        .collect();
    let xy = layout_within(&network.nodes, &edges, previous, &settings.layout, cancel)?;
    drop(edges);
    cancel.check()?;
    let community = communities(&network.topology, settings.metrics.seed);
    let n = network.nodes.len();
    let communities = (0..n)
        .map(|i| community.get(i).copied().unwrap_or(i) as u32)
        .collect();
    let shown = network
        .nodes
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let name = p.stakeholders.get(id).map_or(id.as_str(), |s| &s.name);
            roster.get(id, name, network.kinds[i])
        })
        .collect();
    let mut ties: Vec<(u32, u32, f64)> = network
        .present_ties()
        .map(|t| (t.a as u32, t.b as u32, t.strength))
        .collect();
    ties.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
    Ok(Frame {
        time: network.as_of,
        shown,
        xy,
        communities,
        pairs: Pairs::of(n, &ties),
        strengths: ties.iter().map(|t| t.2 as f32).collect(),
        settled,
    })
}

/// Tail layouts (at a time that is not a month end) kept per programme.
const TAILS: usize = 8;

/// What one programme's layout chain is computed from, and the frames
/// computed so far. Indexes the engine's events incrementally: only events
/// after `seen` are looked at on the next call.
#[derive(Debug, Default)]
struct Chain {
    /// Engine events indexed so far, and the id of the last one (to notice
    /// a different engine).
    seen: usize,
    seen_id: Option<uuid::Uuid>,
    /// The programme's earliest occurred time, hidden events left out (as
    /// for `last`): where the month ends start.
    first: Option<DateTime<Utc>>,
    /// The programme's last event time, hidden events left out
    /// ([`Programme::latest`]): no month end of the chain comes after it,
    /// whatever time a chain is asked to reach.
    last: Option<DateTime<Utc>>,
    /// Indexes into the engine's events of the programme's events that
    /// shape the network, in position order.
    shaping: Vec<usize>,
    /// Frames at the first month ends, each warm-started from the one
    /// before: a prefix of `month_ends(first, …)`.
    months: Vec<Arc<Frame>>,
    /// Settled frames at other times (the end of a chain), each valid while
    /// `shaping`, `first` and `last` are unchanged.
    tails: Vec<Arc<Frame>>,
    /// The settings the layouts were computed with.
    settings: Option<(NetworkConfig, LayoutConfig, u64)>,
    /// The stakeholders its frames show.
    roster: Roster,
}

impl Chain {
    /// Indexes the events appended since the last call and drops the
    /// layouts they can change: an event that shapes the network invalidates
    /// the month ends at or after its occurred time (and every tail); one
    /// that moves the programme's start to an earlier month, all of them;
    /// one that moves its last event later, the tails (a tail after the last
    /// event follows the month ends before it).
    fn sync(&mut self, engine: &Engine, programme: &str, settings: &Settings) {
        let len = engine.len();
        let same_engine = self.seen <= len
            && (self.seen == 0 || Some(engine.event(self.seen - 1).event.id) == self.seen_id);
        if !same_engine {
            *self = Self::default();
        }
        let wanted = (
            settings.network,
            settings.layout.clone(),
            settings.metrics.seed,
        );
        if self.settings.as_ref() != Some(&wanted) {
            self.months.clear();
            self.tails.clear();
            self.settings = Some(wanted);
        }
        for i in self.seen..len {
            let e = engine.entry(i);
            if e.programme != programme {
                continue;
            }
            let at = e.occurred_at;
            // Where the months start, as the programme's last event, is told
            // to mentors and viewers (the slider's steps): hidden events
            // (an attendance) do not move it.
            match self.first {
                _ if e.hidden => {}
                Some(f) if f <= at => {}
                Some(f) => {
                    if (f.year(), f.month()) != (at.year(), at.month()) {
                        self.months.clear();
                    }
                    self.tails.clear();
                    self.first = Some(at);
                }
                None => self.first = Some(at),
            }
            if shapes_network(e.event_type) {
                self.shaping.push(i);
                let keep = self.months.partition_point(|f| f.time < at);
                self.months.truncate(keep);
                self.tails.clear();
            }
        }
        self.seen = len;
        self.seen_id = len.checked_sub(1).map(|i| engine.event(i).event.id);
        let last = engine
            .model()
            .programmes
            .get(programme)
            .and_then(|p| p.latest);
        if last != self.last {
            self.tails.clear();
            self.last = last;
        }
    }

    /// The month ends a chain up to `time` holds (none after the
    /// programme's last event), or `None` before the programme's first
    /// event (no layout: as the replay of a snapshot without the programme
    /// gives).
    fn ends(&self, time: DateTime<Utc>) -> Option<Vec<DateTime<Utc>>> {
        let first = self.first?;
        (time >= first).then(|| month_ends(first, time.min(self.last.unwrap_or(first))))
    }

    /// The month frames kept so far that a chain up to `ends` reuses.
    fn kept(&self, ends: &[DateTime<Utc>]) -> usize {
        let kept = self.months.len().min(ends.len());
        debug_assert!(self.months[..kept]
            .iter()
            .zip(ends)
            .all(|(f, e)| f.time == *e));
        kept
    }

    /// The settled tail frame at `time`, if one is kept.
    fn tail(&self, time: DateTime<Utc>) -> Option<&Arc<Frame>> {
        self.tails.iter().find(|f| f.time == time)
    }

    fn keep_tail(&mut self, frame: Arc<Frame>) {
        if self.tails.len() >= TAILS {
            self.tails.remove(0);
        }
        self.tails.push(frame);
    }

    /// The layout of the last of the first `kept` month frames: where the
    /// next layout starts from (none before the first month).
    fn previous(&self, kept: usize) -> Option<Positions> {
        self.months[..kept].last().map(|f| f.positions())
    }

    /// The frame at `time` alone, warm-started from the last of the first
    /// `kept` month frames ([`Chain::lay_out`] for one time).
    #[allow(clippy::too_many_arguments)]
    fn lay_out_one(
        &mut self,
        engine: &Engine,
        programme: &str,
        time: DateTime<Utc>,
        kept: usize,
        settled: bool,
        settings: &Settings,
        cancel: &Cancel,
    ) -> Result<Option<Arc<Frame>>, Stopped> {
        let mut out = None;
        self.lay_out(
            engine,
            programme,
            &[time],
            self.previous(kept),
            settled,
            settings,
            cancel,
            |f| out = Some(f),
        )?;
        Ok(out)
    }

    /// Lays out the programme at each of `times` (ascending), the first
    /// warm-started from `previous` and each next one from the one before:
    /// `each` sees the frames in order. The model at each time folds the
    /// shaping events that occurred by then, in log order. `cancel` is
    /// checked before each layout and during it.
    #[allow(clippy::too_many_arguments)]
    fn lay_out(
        &mut self,
        engine: &Engine,
        programme: &str,
        times: &[DateTime<Utc>],
        previous: Option<Positions>,
        settled: bool,
        settings: &Settings,
        cancel: &Cancel,
        mut each: impl FnMut(Arc<Frame>),
    ) -> Result<(), Stopped> {
        // Each of the programme's shaping events goes to the first of the
        // times at or after its occurred time.
        let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); times.len()];
        for &i in &self.shaping {
            let at = engine.entry(i).occurred_at;
            let b = times.partition_point(|t| *t < at);
            if let Some(bucket) = buckets.get_mut(b) {
                bucket.push(i);
            }
        }
        // Going from one time to the next appends the events of the next
        // bucket — exactly the fold in log order as long as they all come
        // after the events folded so far; an event recorded late (a later
        // position for an earlier occurred time) makes that time fold its
        // events again from the start.
        let mut model = Model::default();
        let mut folded = 0u64;
        let mut previous = previous;
        for (j, t) in times.iter().enumerate() {
            cancel.check()?;
            let position = |i: usize| engine.entry(i).position;
            let in_order = buckets[j].first().is_none_or(|&i| position(i) > folded);
            if in_order {
                engine.fold(&mut model, buckets[j].iter().copied());
            } else {
                // Indexes are in position order.
                let mut upto: Vec<usize> = buckets[..=j].iter().flatten().copied().collect();
                upto.sort_unstable();
                model = Model::default();
                engine.fold(&mut model, upto);
            }
            folded = folded.max(buckets[j].last().map_or(0, |&i| position(i)));
            let empty;
            let p = match model.programmes.get(programme) {
                Some(p) => p,
                None => {
                    empty = Programme {
                        id: programme.to_owned(),
                        ..Programme::default()
                    };
                    &empty
                }
            };
            let network = Network::build(p, *t, engine.position(), &settings.network);
            let frame = Arc::new(frame_of(
                p,
                &network,
                previous.as_ref(),
                settings,
                settled,
                &mut self.roster,
                cancel,
            )?);
            if j + 1 < times.len() {
                previous = Some(frame.positions());
            }
            each(frame);
        }
        Ok(())
    }

    /// The chain's frames at the month ends before `time` and before the
    /// programme's last event, then at `time`: `visit` sees each in order.
    /// Frames kept from earlier calls are reused; the others are computed
    /// and kept. The month ends computed before a stop are kept (they are
    /// exact), the rest is not computed.
    fn run(
        &mut self,
        engine: &Engine,
        programme: &str,
        time: DateTime<Utc>,
        settings: &Settings,
        cancel: &Cancel,
        mut visit: impl FnMut(&Arc<Frame>),
    ) -> Result<(), Stopped> {
        let Some(ends) = self.ends(time) else {
            return Ok(());
        };
        let kept = self.kept(&ends);
        for f in &self.months[..kept] {
            visit(f);
        }
        if kept == ends.len() {
            if let Some(f) = self.tail(time) {
                visit(f);
                return Ok(());
            }
        }
        let times: Vec<DateTime<Utc>> = ends[kept..].iter().copied().chain([time]).collect();
        let previous = self.previous(kept);
        let mut frames = Vec::with_capacity(times.len());
        let laid = self.lay_out(
            engine,
            programme,
            &times,
            previous,
            true,
            settings,
            cancel,
            |f| {
                visit(&f);
                frames.push(f);
            },
        );
        let tail = (frames.len() == times.len())
            .then(|| frames.pop())
            .flatten();
        self.months.extend(frames);
        if let Some(tail) = tail {
            self.keep_tail(tail);
        }
        laid
    }

    /// The frame at `time`, computing at most one layout: the settled one
    /// when every month end before `time` is kept (the tail, kept too);
    /// otherwise one laid out from the latest month kept before it, not
    /// settled and not kept. `None` before the programme's first event.
    fn frame(
        &mut self,
        engine: &Engine,
        programme: &str,
        time: DateTime<Utc>,
        settings: &Settings,
        cancel: &Cancel,
    ) -> Result<Option<Arc<Frame>>, Stopped> {
        let Some(ends) = self.ends(time) else {
            return Ok(None);
        };
        let kept = self.kept(&ends);
        let settled = kept == ends.len();
        if settled {
            // A month end kept is the chain's frame there: the tail at that
            // time would be laid out from the same month before, the same
            // bits.
            let kept_month = self.months.get(kept).filter(|f| f.time == time);
            if let Some(f) = kept_month.or_else(|| self.tail(time)) {
                return Ok(Some(f.clone()));
            }
        }
        let out = self.lay_out_one(engine, programme, time, kept, settled, settings, cancel)?;
        if let (true, Some(f)) = (settled, &out) {
            self.keep_tail(f.clone());
        }
        Ok(out)
    }

    /// Computes the next frame the chain lacks up to the programme's last
    /// event — the next month end, else the tail at the last event — and
    /// says whether one was computed.
    fn advance(
        &mut self,
        engine: &Engine,
        programme: &str,
        settings: &Settings,
        cancel: &Cancel,
    ) -> Result<bool, Stopped> {
        let Some(last) = self.last else {
            return Ok(false);
        };
        let Some(ends) = self.ends(last) else {
            return Ok(false);
        };
        let kept = self.kept(&ends);
        if kept < ends.len() {
            let out =
                self.lay_out_one(engine, programme, ends[kept], kept, true, settings, cancel)?;
            self.months.extend(out);
            return Ok(true);
        }
        if self.tail(last).is_some() {
            return Ok(false);
        }
        Ok(self
            .frame(engine, programme, last, settings, cancel)?
            .is_some())
    }
}

/// Layouts at each month end from the programme's start up to `time` or its
/// last event (hidden events left out: [`Programme::latest`]), whichever
/// comes first, then at `time`, each seeded from the one before, so that
/// nodes keep their places as the time slider moves. Returns (time,
/// positions) in order, `time` last. A chain never has more layouts than
/// the programme has months, plus one, whatever `time` is: after its last
/// event, only strengths decay.
///
/// The layout at time `t` is that of the network of the programme folded
/// from the events that occurred by `t` (as [`Engine::snapshot`] with
/// [`AsOf::Time`] gives), computed in one pass over the programme's events
/// rather than one replay of the log per month. [`LayoutCache`] keeps the
/// chains between calls.
pub fn layout_chain(
    engine: &Engine,
    programme: &str,
    time: DateTime<Utc>,
    settings: &Settings,
) -> Vec<(DateTime<Utc>, Positions)> {
    LayoutCache::new().layout_chain(engine, programme, time, settings)
}

/// The layout of a view: the end of its layout chain.
pub fn positions(engine: &Engine, v: &View, settings: &Settings) -> Positions {
    LayoutCache::default().positions(engine, v, settings)
}

/// Layout chains kept between calls, per programme, for one engine (as it
/// grows): a call computes only the layouts that the events appended since
/// the last call can change — from the month of the earliest occurred time
/// among them that shapes the network, and the chain's end — and gives the
/// same positions, bit for bit, as [`layout_chain`] from scratch. Calls for
/// one programme are serialised; calls for different programmes run in
/// parallel.
///
/// A server fills the chains in the background, one month at a time
/// ([`LayoutCache::advance`]), and answers a map read with
/// [`LayoutCache::frame_within`], which computes at most the one layout it
/// asks for.
#[derive(Debug, Default)]
pub struct LayoutCache {
    chains: Mutex<HashMap<String, Arc<Held>>>,
}

/// A programme's chain, and how many reads wait for it: the background
/// ([`LayoutCache::advance`]) lets them in before it takes the chain for its
/// next month, so that a read waits for one month of the background at
/// most, not for the whole chain.
#[derive(Debug, Default)]
struct Held {
    chain: Mutex<Chain>,
    readers: std::sync::atomic::AtomicUsize,
}

impl Held {
    /// The chain, for a read.
    fn read(&self) -> std::sync::MutexGuard<'_, Chain> {
        use std::sync::atomic::Ordering;
        self.readers.fetch_add(1, Ordering::AcqRel);
        let chain = lock(&self.chain);
        self.readers.fetch_sub(1, Ordering::AcqRel);
        chain
    }

    /// The chain, for the background: once no read waits for it.
    fn background(&self) -> std::sync::MutexGuard<'_, Chain> {
        use std::sync::atomic::Ordering;
        while self.readers.load(Ordering::Acquire) > 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        lock(&self.chain)
    }
}

/// Locks a programme's chain; one that a panic left half-updated starts again.
fn lock(chain: &Mutex<Chain>) -> std::sync::MutexGuard<'_, Chain> {
    chain.lock().unwrap_or_else(|poisoned| {
        chain.clear_poison();
        let mut chain = poisoned.into_inner();
        *chain = Chain::default();
        chain
    })
}

impl LayoutCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn chain(&self, programme: &str) -> Arc<Held> {
        let mut chains = self.chains.lock().unwrap_or_else(PoisonError::into_inner);
        chains.entry(programme.to_owned()).or_default().clone()
    }

    /// As [`layout_chain`], reusing and keeping layouts.
    pub fn layout_chain(
        &self,
        engine: &Engine,
        programme: &str,
        time: DateTime<Utc>,
        settings: &Settings,
    ) -> Vec<(DateTime<Utc>, Positions)> {
        let held = self.chain(programme);
        let mut chain = held.read();
        chain.sync(engine, programme, settings);
        let mut out = Vec::new();
        let never = chain.run(engine, programme, time, settings, &Cancel::never(), |f| {
            out.push((f.time, f.positions()))
        });
        if let Err(stopped) = never {
            unreachable!("a chain that cannot be cancelled was: {stopped}");
        }
        out
    }

    /// The layout of a view (as [`positions`]), reusing and keeping layouts.
    pub fn positions(&self, engine: &Engine, v: &View, settings: &Settings) -> Positions {
        match self.positions_within(engine, v, settings, &Cancel::never()) {
            Ok(positions) => positions,
            Err(stopped) => unreachable!("a chain that cannot be cancelled was: {stopped}"),
        }
    }

    /// [`LayoutCache::positions`], checked against `cancel` before and
    /// during each layout of the chain: [`Stopped`] when it stops the chain
    /// first (the month ends computed by then are kept).
    pub fn positions_within(
        &self,
        engine: &Engine,
        v: &View,
        settings: &Settings,
        cancel: &Cancel,
    ) -> Result<Positions, Stopped> {
        let programme = v.programme.id.as_str();
        let held = self.chain(programme);
        let mut chain = held.read();
        chain.sync(engine, programme, settings);
        let mut last = None;
        chain.run(engine, programme, v.network.as_of, settings, cancel, |f| {
            if f.time == v.network.as_of {
                last = Some(f.positions());
            }
        })?;
        Ok(last.unwrap_or_default())
    }

    /// The frame of `programme` at `time`, computing at most one layout:
    /// settled (the chain's, kept) when the chain holds every month end
    /// before `time`, else laid out from the latest month it holds before
    /// `time` and not settled ([`Frame::settled`]). `None` before the
    /// programme's first event.
    pub fn frame_within(
        &self,
        engine: &Engine,
        programme: &str,
        time: DateTime<Utc>,
        settings: &Settings,
        cancel: &Cancel,
    ) -> Result<Option<Arc<Frame>>, Stopped> {
        let held = self.chain(programme);
        let mut chain = held.read();
        chain.sync(engine, programme, settings);
        chain.frame(engine, programme, time, settings, cancel)
    }

    /// The time slider's steps for `programme`: the end of every month from
    /// its first event to its last ([`Programme::latest`]), then its last
    /// event's time; the frames [`LayoutCache::advance`] settles.
    pub fn steps(
        &self,
        engine: &Engine,
        programme: &str,
        settings: &Settings,
    ) -> Vec<DateTime<Utc>> {
        let held = self.chain(programme);
        let mut chain = held.read();
        chain.sync(engine, programme, settings);
        match chain.last {
            Some(last) => {
                let mut steps = chain.ends(last).unwrap_or_default();
                steps.push(last);
                steps
            }
            None => Vec::new(),
        }
    }

    /// Computes the next frame `programme`'s chain lacks up to its last
    /// event (the next month end, else the frame at the last event) and
    /// says whether there was one: called until it says `false`, it leaves
    /// every frame a map read up to the last event needs settled and kept.
    pub fn advance(
        &self,
        engine: &Engine,
        programme: &str,
        settings: &Settings,
        cancel: &Cancel,
    ) -> Result<bool, Stopped> {
        let held = self.chain(programme);
        let mut chain = held.background();
        chain.sync(engine, programme, settings);
        chain.advance(engine, programme, settings, cancel)
    }
}

/// The diff between two views.
pub fn diff_views(before: &View, after: &View) -> Diff {
    diff_views_for(before, after, Audience::Full)
}

/// The diff between two views as `audience` sees them: findings opened and
/// closed among the findings of [`GapReport::for_audience`].
pub fn diff_views_for(before: &View, after: &View, audience: Audience) -> Diff {
    diff(
        (&before.network, &before.gaps.for_audience(audience)),
        (&after.network, &after.gaps.for_audience(audience)),
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
    around_within(engine, programme, milestone, settings, &Cancel::never())
}

/// [`around`], both views checked against `cancel` ([`view_within`]).
pub fn around_within<'a>(
    engine: &'a Engine,
    programme: &str,
    milestone: &str,
    settings: &Settings,
    cancel: &Cancel,
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
        view_within(engine, programme, AsOf::Time(t0), settings, cancel)?,
        view_within(engine, programme, AsOf::Time(t1), settings, cancel)?,
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::{json, Value};

    use super::*;
    use crate::testkit::{ev, stored};
    use passerelle_events::event::Event;

    #[test]
    fn the_shaping_types_are_event_types() {
        for t in SHAPING_TYPES {
            assert!(Event::TYPES.contains(&t), "{t} is not an event type");
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        passerelle_events::values::OccurredAt::parse(s)
            .expect("a time")
            .datetime()
    }

    /// Programme `p` from January to June 2021, its last visible event a
    /// contact on 2021-06-20; an attendance (hidden) on 2021-09-01; and
    /// programme `q` with an event in 2024.
    fn engine() -> Engine {
        let mut wire: Vec<Value> = vec![
            ev(
                "ProgrammeDefined",
                "2021-01-10",
                json!({"programme": "p", "name": "P"}),
            ),
            ev(
                "StakeholderRegistered",
                "2021-01-15",
                json!({"stakeholder": "a", "name": "A", "kind": "association", "themes": ["housing"]}),
            ),
            ev(
                "StakeholderRegistered",
                "2021-02-01",
                json!({"stakeholder": "b", "name": "B", "kind": "association", "themes": ["housing"]}),
            ),
            ev(
                "CoCreationSessionHeld",
                "2021-03-01",
                json!({
                    "session": "s1", "title": "S", "themes": ["housing"], "level": "consult",
                    "stakeholders": ["a", "b"],
                    "beneficiaries": {"total": 0, "women": 0, "men": 0, "undisclosed": 0, "first_time": 0, "returning": 0},
                }),
            ),
            ev(
                "OutreachContactLogged",
                "2021-06-20",
                json!({"from": "a", "to": "b", "channel": "phone", "outcome": "interested"}),
            ),
            ev(
                "ParticipantAttended",
                "2021-09-01",
                json!({"session": "s1", "participant": "P-0001"}),
            ),
        ];
        let mut q = ev(
            "ProgrammeDefined",
            "2024-05-01",
            json!({"programme": "q", "name": "Q"}),
        );
        q["programme"] = json!("q");
        wire.push(q);
        let mut engine = Engine::new();
        for e in stored(&wire) {
            engine.apply(e);
        }
        engine
    }

    fn quick() -> Settings {
        Settings {
            layout: LayoutConfig {
                iterations: 10,
                ..LayoutConfig::default()
            },
            ..Settings::default()
        }
    }

    #[test]
    fn a_time_far_after_the_programmes_last_event_is_measured_then_at_a_bounded_cost() {
        let engine = engine();
        let last = at("2021-06-20");
        let far = AsOf::Time(at("9999-12-31"));
        let v = view(&engine, "p", far, &quick()).expect("a view");
        assert_eq!(v.network.as_of, at("9999-12-31"), "the time asked for");
        let then = view(&engine, "p", AsOf::Time(last), &quick()).expect("a view");
        assert_eq!(v.network.ties.len(), then.network.ties.len());
        // Strengths decay up to the time asked for, as they would on any
        // later date: the answer depends only on the events by then.
        assert!(v
            .network
            .ties
            .iter()
            .zip(&then.network.ties)
            .all(|(far, then)| far.strength <= then.strength));
        let chain = layout_chain(&engine, "p", at("9999-12-31"), &quick());
        let months = month_ends(at("2021-01-10"), last).len();
        assert_eq!(chain.len(), months + 1, "month ends stop at the last event");
    }

    #[test]
    fn a_chains_frames_share_each_stakeholder_they_show_alike() {
        let engine = engine();
        let s = quick();
        let cache = LayoutCache::new();
        while cache
            .advance(&engine, "p", &s, &Cancel::never())
            .expect("not cancelled")
        {}
        let frame = |t: &str| {
            cache
                .frame_within(&engine, "p", at(t), &s, &Cancel::never())
                .expect("not cancelled")
                .expect("a frame")
        };
        let (march, may) = (frame("2021-03-31T23:59:59Z"), frame("2021-05-31T23:59:59Z"));
        assert!(march.settled && may.settled);
        let mut shared = 0;
        for m in &march.shown {
            let later = may
                .shown
                .iter()
                .find(|s| s.id == m.id)
                .expect("still active");
            assert!(Arc::ptr_eq(m, later), "{} is kept once", m.id);
            shared += 1;
        }
        assert!(shared > 0);
        assert_eq!(march.xy.len(), march.shown.len());
        assert_eq!(march.communities.len(), march.shown.len());

        // A stakeholder renamed or of another kind is shown anew.
        let mut roster = Roster::default();
        let a = roster.get("x", "Old name", StakeholderKind::Association);
        assert!(Arc::ptr_eq(
            &a,
            &roster.get("x", "Old name", StakeholderKind::Association)
        ));
        let b = roster.get("x", "New name", StakeholderKind::Association);
        assert_eq!((a.name.as_str(), b.name.as_str()), ("Old name", "New name"));
        let c = roster.get("x", "New name", StakeholderKind::CityService);
        assert!(!Arc::ptr_eq(&b, &c));
        assert_eq!(c.kind, StakeholderKind::CityService);
    }

    #[test]
    fn a_chain_has_at_most_a_layout_per_month_of_the_programme_and_one() {
        let engine = engine();
        // January to May 2021 end before the last event (June 20th).
        let months = month_ends(at("2021-01-10"), at("2021-06-20")).len();
        assert_eq!(months, 5);
        for time in ["2021-06-20", "2021-12-31", "2024-05-01", "9999-12-31"] {
            let chain = layout_chain(&engine, "p", at(time), &quick());
            assert_eq!(chain.len(), months + 1, "as of {time}");
            assert_eq!(chain.last().map(|(t, _)| *t), Some(at(time)));
        }
        let early = layout_chain(&engine, "p", at("2021-03-15"), &quick());
        assert_eq!(early.len(), 3, "January, February, then March 15th");
    }

    #[test]
    fn a_stopped_view_or_chain_gives_up_and_keeps_only_exact_month_ends() {
        let engine = engine();
        let s = quick();
        let stopped = Cancel::until(Instant::now() + std::time::Duration::from_secs(3600));
        stopped.stop();
        let far = AsOf::Time(at("9999-12-31"));
        assert!(matches!(
            view_within(&engine, "p", far, &s, &stopped),
            Err(ViewError::Stopped(Stopped::Abandoned))
        ));
        let v = view(&engine, "p", far, &s).expect("a view");
        let cache = LayoutCache::new();
        assert_eq!(
            cache.positions_within(&engine, &v, &s, &Cancel::until(Instant::now())),
            Err(Stopped::OutOfTime)
        );
        assert_eq!(
            cache.positions_within(&engine, &v, &s, &Cancel::never()),
            Ok(positions(&engine, &v, &s)),
            "a chain stopped once is computed in full, and the same, the next time"
        );
    }
}

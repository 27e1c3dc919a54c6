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
use crate::metrics::MetricsConfig;
use crate::model::{Audience, Model, Programme};
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
    let (analysis, first) = std::thread::scope(|scope| {
        let analysis = scope.spawn(|| network.analyse(&settings.metrics));
        let first = network_findings(&p, &network, &settings.gaps);
        (
            analysis.join().expect("the metrics thread does not panic"),
            first,
        )
    });
    cancel.check()?;
    let mut gaps = complete(&p, &network, &analysis, &settings.gaps, first);
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

fn layout_of(
    network: &Network,
    previous: Option<&Positions>,
    cfg: &LayoutConfig,
    cancel: &Cancel,
) -> Result<Positions, Stopped> {
    let edges: Vec<(usize, usize, f64)> = network
        .present_ties()
        .map(|t| (t.a, t.b, t.strength.max(0.05)))
        .collect();
    let pos = layout_within(&network.nodes, &edges, previous, cfg, cancel)?;
    Ok(network.nodes.iter().cloned().zip(pos).collect())
}

/// Tail layouts (at a time that is not a month end) kept per programme.
const TAILS: usize = 8;

/// What one programme's layout chain is computed from, and the layouts
/// computed so far. Indexes the engine's events incrementally: only events
/// after `seen` are looked at on the next call.
#[derive(Debug, Default)]
struct Chain {
    /// Engine events indexed so far, and the id of the last one (to notice
    /// a different engine).
    seen: usize,
    seen_id: Option<uuid::Uuid>,
    /// The programme's earliest occurred time (any event type): where the
    /// month ends start.
    first: Option<DateTime<Utc>>,
    /// The programme's last event time, hidden events left out
    /// ([`Programme::latest`]): no month end of the chain comes after it,
    /// whatever time a chain is asked to reach.
    last: Option<DateTime<Utc>>,
    /// Indexes into the engine's events of the programme's events that
    /// shape the network, in position order.
    shaping: Vec<usize>,
    /// Layouts at the first month ends, each warm-started from the one
    /// before: a prefix of `month_ends(first, …)`.
    months: Vec<(DateTime<Utc>, Positions)>,
    /// Layouts at other times (the end of a chain), each valid while
    /// `shaping`, `first` and `last` are unchanged: (time, positions).
    tails: Vec<(DateTime<Utc>, Positions)>,
    /// The settings the layouts were computed with.
    settings: Option<(NetworkConfig, LayoutConfig)>,
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
        let wanted = (settings.network, settings.layout.clone());
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
            match self.first {
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
                let keep = self.months.partition_point(|(t, _)| *t < at);
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

    /// The chain's layouts at the month ends before `time` and before the
    /// programme's last event, then at `time`: `visit` sees each (time,
    /// positions) in order. Layouts kept from earlier calls are reused; the
    /// others are computed and kept. `cancel` is checked before each layout
    /// and during it; the month ends computed before a stop are kept (they
    /// are exact), the rest is not computed.
    fn run(
        &mut self,
        engine: &Engine,
        programme: &str,
        time: DateTime<Utc>,
        settings: &Settings,
        cancel: &Cancel,
        mut visit: impl FnMut(DateTime<Utc>, &Positions),
    ) -> Result<(), Stopped> {
        let Some(first) = self.first else {
            return Ok(());
        };
        if time < first {
            // The programme had no event yet: no layout (as the replay of
            // a snapshot without the programme gives).
            return Ok(());
        }
        let ends = month_ends(first, time.min(self.last.unwrap_or(first)));
        let kept = self.months.len().min(ends.len());
        debug_assert!(self.months[..kept]
            .iter()
            .zip(&ends)
            .all(|((t, _), e)| t == e));
        for (t, p) in &self.months[..kept] {
            visit(*t, p);
        }
        if kept == ends.len() {
            if let Some((_, p)) = self.tails.iter().find(|(t, _)| *t == time) {
                visit(time, p);
                return Ok(());
            }
        }
        // Layouts still to compute: the month ends from `kept` on, then
        // `time`. Each of the programme's shaping events goes to the first
        // of these times at or after its occurred time.
        let times: Vec<DateTime<Utc>> = ends[kept..].iter().copied().chain([time]).collect();
        let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); times.len()];
        for &i in &self.shaping {
            let at = engine.entry(i).occurred_at;
            let b = times.partition_point(|t| *t < at);
            if let Some(bucket) = buckets.get_mut(b) {
                bucket.push(i);
            }
        }
        // The model as of each time folds the shaping events that occurred
        // by then, in log order. Going from one time to the next appends
        // the events of the next bucket — exactly the fold in log order as
        // long as they all come after the events folded so far; an event
        // recorded late (a later position for an earlier occurred time)
        // makes that time fold its events again from the start.
        let mut model = Model::default();
        let mut folded = 0u64;
        let mut previous: Option<Positions> = kept.checked_sub(1).map(|i| self.months[i].1.clone());
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
            let pos = layout_of(&network, previous.as_ref(), &settings.layout, cancel)?;
            visit(*t, &pos);
            if j + 1 < times.len() {
                self.months.push((*t, pos.clone()));
            } else {
                if self.tails.len() >= TAILS {
                    self.tails.remove(0);
                }
                self.tails.push((*t, pos.clone()));
            }
            previous = Some(pos);
        }
        Ok(())
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
#[derive(Debug, Default)]
pub struct LayoutCache {
    chains: Mutex<HashMap<String, Arc<Mutex<Chain>>>>,
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

    fn chain(&self, programme: &str) -> Arc<Mutex<Chain>> {
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
        let chain = self.chain(programme);
        let mut chain = lock(&chain);
        chain.sync(engine, programme, settings);
        let mut out = Vec::new();
        let never = chain.run(
            engine,
            programme,
            time,
            settings,
            &Cancel::never(),
            |t, p| out.push((t, p.clone())),
        );
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
        let chain = self.chain(programme);
        let mut chain = lock(&chain);
        chain.sync(engine, programme, settings);
        let mut last = None;
        chain.run(
            engine,
            programme,
            v.network.as_of,
            settings,
            cancel,
            |t, p| {
                if t == v.network.as_of {
                    last = Some(p.clone());
                }
            },
        )?;
        Ok(last.unwrap_or_default())
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

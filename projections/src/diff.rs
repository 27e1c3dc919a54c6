//! Diff: what changed in a programme's network between two times —
//! stakeholders and ties added and removed, findings opened and closed — and
//! the same around a milestone.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::gaps::GapReport;
use crate::network::Network;

/// What changed from one network (and gap report) to another.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diff {
    /// Stakeholders in the later network only.
    pub stakeholders_added: Vec<String>,
    /// Stakeholders in the earlier network only.
    pub stakeholders_removed: Vec<String>,
    /// Present ties (a, b) in the later network only.
    pub ties_added: Vec<(String, String)>,
    /// Present ties in the earlier network only.
    pub ties_removed: Vec<(String, String)>,
    /// Finding ids in the later report only.
    pub findings_opened: Vec<String>,
    /// Finding ids in the earlier report only.
    pub findings_closed: Vec<String>,
}

fn minus<T: Ord + Clone>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> Vec<T> {
    a.difference(b).cloned().collect()
}

/// Compares two networks and their gap reports.
pub fn diff(before: (&Network, &GapReport), after: (&Network, &GapReport)) -> Diff {
    let nodes = |n: &Network| -> BTreeSet<String> { n.nodes.iter().cloned().collect() };
    let ties = |n: &Network| -> BTreeSet<(String, String)> {
        n.present_ties()
            .map(|t| (n.nodes[t.a].clone(), n.nodes[t.b].clone()))
            .collect()
    };
    let findings =
        |r: &GapReport| -> BTreeSet<String> { r.findings.iter().map(|f| f.id.clone()).collect() };
    let (n0, n1) = (nodes(before.0), nodes(after.0));
    let (t0, t1) = (ties(before.0), ties(after.0));
    let (f0, f1) = (findings(before.1), findings(after.1));
    Diff {
        stakeholders_added: minus(&n1, &n0),
        stakeholders_removed: minus(&n0, &n1),
        ties_added: minus(&t1, &t0),
        ties_removed: minus(&t0, &t1),
        findings_opened: minus(&f1, &f0),
        findings_closed: minus(&f0, &f1),
    }
}

/// The two times a milestone is compared at: just before it, and just before
/// the programme's next milestone (or `latest` when it is the last one).
pub fn around_milestone(
    at: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
    latest: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let before = at - chrono::Duration::seconds(1);
    let after = next
        .map(|n| n - chrono::Duration::seconds(1))
        .unwrap_or(latest)
        .max(at);
    (before, after)
}

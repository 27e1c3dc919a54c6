//! One finding per problem. Several rules can see the same problem: a
//! provider nobody reached is an uncovered need, stalled outreach, an
//! isolated stakeholder and an untied sector at once. Findings that share a
//! focus ([`Finding::focus`]: the stakeholder the problem is centred on) are
//! told as one: the most urgent of them, with every other one's explanation
//! after its own, every subject and every piece of evidence. Review notes
//! about any of them then appear in the one finding.

use super::*;

/// Union–find over finding indexes.
struct Sets(Vec<usize>);

impl Sets {
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }

    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b)] = a.min(b);
        }
    }
}

/// Which finding of a group tells it: the most severe, then the first to
/// act on, then the widest, then by id.
fn lead_key(f: &Finding) -> (Severity, u8, std::cmp::Reverse<usize>, &str) {
    (f.severity, f.kind.rank(), std::cmp::Reverse(f.reach), &f.id)
}

/// Merges the findings that share a focus. The union of the evidence (and
/// of the subjects) is the same before and after.
pub(super) fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    let mut sets = Sets((0..findings.len()).collect());
    let mut first_with: HashMap<&str, usize> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        for key in &f.focus {
            match first_with.get(key.as_str()) {
                Some(&j) => sets.join(i, j),
                None => {
                    first_with.insert(key, i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..findings.len() {
        let root = sets.find(i);
        groups.entry(root).or_default().push(i);
    }
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(groups.len());
    for (_, mut members) in groups {
        members.sort_by(|&a, &b| {
            let (fa, fb) = (slots[a].as_ref(), slots[b].as_ref());
            lead_key(fa.expect("unmoved")).cmp(&lead_key(fb.expect("unmoved")))
        });
        let mut lead = slots[members[0]]
            .take()
            .expect("each finding is taken once");
        for &m in &members[1..] {
            let f = slots[m].take().expect("each finding is taken once");
            absorb(&mut lead, f);
        }
        out.push(lead);
    }
    out
}

/// Appends the items of `more` that `list` does not hold yet, in order.
fn extend_unique<T: PartialEq>(list: &mut Vec<T>, more: Vec<T>) {
    for x in more {
        if !list.contains(&x) {
            list.push(x);
        }
    }
}

/// Tells `other` inside `lead`.
fn absorb(lead: &mut Finding, other: Finding) {
    lead.severity = lead.severity.min(other.severity);
    // That a stakeholder has no tie, or that its sector has none, is said
    // by whichever finding it is merged into; the evidence stays.
    if !matches!(
        other.kind,
        FindingKind::IsolatedStakeholder | FindingKind::MissingSector
    ) {
        append(&mut lead.explanation, other.explanation);
    }
    extend_unique(&mut lead.subjects, other.subjects);
    lead.evidence.extend(other.evidence);
    lead.evidence.sort();
    lead.evidence.dedup();
    lead.merged.push(other.id);
    lead.merged.extend(other.merged);
    extend_unique(&mut lead.themes, other.themes);
    extend_unique(&mut lead.sectors, other.sectors);
    extend_unique(&mut lead.introduces, other.introduces);
    extend_unique(&mut lead.focus, other.focus);
    lead.reach = lead.reach.max(other.reach);
}

/// Puts each review note inside the findings it is about: a note about a
/// finding (its id, or the id of one merged into it), about a need or a
/// partnership the finding names, or about the stakeholder it is centred on.
pub(super) fn attach_notes(p: &Programme, findings: &mut [Finding]) {
    if p.notes.is_empty() {
        return;
    }
    // The notes by what they are about, in log order, so that each finding
    // looks its ids up rather than reading every note.
    let mut about_gap: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut about_thing: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut about_stakeholder: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, n) in p.notes.iter().enumerate() {
        let (map, key) = match &n.about {
            About::Gap(id) => (&mut about_gap, id.as_str()),
            About::Need(x) | About::Partnership(x) => (&mut about_thing, x.as_str()),
            About::Stakeholder(s) => (&mut about_stakeholder, s.as_str()),
        };
        map.entry(key).or_default().push(k);
    }
    for f in findings.iter_mut() {
        let mut mine: BTreeSet<usize> = BTreeSet::new();
        for id in std::iter::once(&f.id).chain(&f.merged) {
            mine.extend(about_gap.get(id.as_str()).into_iter().flatten());
        }
        for s in &f.subjects {
            mine.extend(about_thing.get(s.as_str()).into_iter().flatten());
        }
        let centred = f.focus.iter().chain(if f.subjects.len() == 1 {
            f.subjects.first()
        } else {
            None
        });
        for s in centred {
            mine.extend(about_stakeholder.get(s.as_str()).into_iter().flatten());
        }
        f.notes = mine.into_iter().map(|k| p.notes[k].clone()).collect();
    }
}

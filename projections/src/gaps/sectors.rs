//! Missing sectors: a reference sector with no stakeholder, or none tied.

use super::*;

pub(super) fn missing_sectors(cx: &mut Ctx) {
    for kind in REFERENCE_SECTORS {
        let members: Vec<usize> = (0..cx.net.nodes.len())
            .filter(|&i| cx.kind(i) == kind)
            .collect();
        let k = kind_name(kind);
        let sector = [("sector", Arg::from(kind_label(kind)))];
        if members.is_empty() {
            let severity = if is_group(kind) {
                Severity::High
            } else {
                Severity::Medium
            };
            let f = cx.push(
                FindingKind::MissingSector,
                severity,
                vec![k.clone()],
                bilingual("finding.missing_sector.explanation", &sector),
                Vec::new(),
                bilingual("finding.missing_sector.suggestion", &sector),
            );
            f.sectors = vec![kind];
            continue;
        }
        let tied = members
            .iter()
            .any(|&i| !cx.net.topology.neighbours(i).is_empty());
        if !tied {
            let ids: Vec<String> = members.iter().map(|&i| cx.net.nodes[i].clone()).collect();
            let names = cx.nouns(&ids);
            let evidence: Vec<Uuid> = ids
                .iter()
                .filter_map(|id| cx.p.stakeholders.get(id))
                .flat_map(|s| s.events.iter().copied())
                .collect();
            let mut subjects = vec![k.clone()];
            subjects.extend(ids.iter().cloned());
            let f = cx.push(
                FindingKind::MissingSector,
                if is_group(kind) {
                    Severity::High
                } else {
                    Severity::Low
                },
                subjects,
                bilingual(
                    "finding.missing_sector.untied.explanation",
                    &[sector[0].clone(), ("names", and(&names))],
                ),
                evidence,
                bilingual(
                    "finding.missing_sector.untied.suggestion",
                    &[("names", or(&names))],
                ),
            );
            f.focus = ids;
            f.sectors = vec![kind];
        }
    }
}

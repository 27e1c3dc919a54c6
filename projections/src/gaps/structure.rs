//! The network's structure: single points of failure, brokers the
//! network leans on, siloed sectors and components.

use super::*;

/// Per node of a DFS forest: discovery order, low-link, subtree counts.
pub(super) struct Separations {
    /// Articulation points with the node sets (as DFS subtrees) they cut off.
    cuts: Vec<(usize, Vec<usize>)>,
    /// Bridges as (parent, child): removing it cuts off the child's subtree.
    bridges: Vec<(usize, usize)>,
    /// Nodes of each DFS subtree root's subtree, by discovery order range.
    order: Vec<usize>,
    tin: Vec<usize>,
    size: Vec<usize>,
    comp: Vec<usize>,
}

impl Separations {
    fn subtree(&self, v: usize) -> &[usize] {
        &self.order[self.tin[v]..self.tin[v] + self.size[v]]
    }
}

/// Tarjan's articulation points and bridges, iteratively, keeping for each
/// cut the child subtrees it separates (so "what does it cut off" is known
/// in linear time).
pub(super) fn separations(net: &Network) -> Separations {
    let t = &net.topology;
    let n = t.node_count();
    let unseen = usize::MAX;
    let mut tin = vec![unseen; n];
    let mut low = vec![0; n];
    let mut size = vec![1; n];
    let mut comp = vec![0; n];
    let mut order = Vec::with_capacity(n);
    let mut cut_children: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut bridges = Vec::new();
    let mut root_children = vec![0usize; n];
    for root in 0..n {
        if tin[root] != unseen {
            continue;
        }
        let c = root;
        let mut stack: Vec<(usize, usize, usize)> = vec![(root, usize::MAX, 0)];
        tin[root] = order.len();
        low[root] = tin[root];
        comp[root] = c;
        order.push(root);
        while let Some(&mut (v, parent, ref mut next)) = stack.last_mut() {
            let nb = t.neighbours(v);
            if *next < nb.len() {
                let w = nb[*next];
                *next += 1;
                if w == parent {
                    continue;
                }
                if tin[w] == unseen {
                    tin[w] = order.len();
                    low[w] = tin[w];
                    comp[w] = c;
                    order.push(w);
                    stack.push((w, v, 0));
                } else {
                    low[v] = low[v].min(tin[w]);
                }
            } else {
                stack.pop();
                if let Some(&(u, _, _)) = stack.last() {
                    low[u] = low[u].min(low[v]);
                    size[u] += size[v];
                    if low[v] > tin[u] {
                        bridges.push((u, v));
                    }
                    if u == root {
                        root_children[root] += 1;
                    }
                    if low[v] >= tin[u] {
                        cut_children.entry(u).or_default().push(v);
                    }
                }
            }
        }
    }
    let mut cuts: Vec<(usize, Vec<usize>)> = cut_children
        .into_iter()
        .filter(|(v, children)| {
            // A root is a cut only with two or more DFS children.
            comp[*v] != *v || children.len() >= 2 || root_children[*v] >= 2
        })
        .map(|(v, children)| {
            if comp[v] == v {
                // For a root, every child subtree is cut off from the others;
                // keep all but the largest as "cut off".
                let mut ch = children;
                ch.sort_by_key(|&c| std::cmp::Reverse(size[c]));
                ch.remove(0);
                (v, ch)
            } else {
                (v, children)
            }
        })
        .collect();
    cuts.sort();
    Separations {
        cuts,
        bridges,
        order,
        tin,
        size,
        comp,
    }
}

pub(super) fn single_points_of_failure(cx: &mut Ctx) {
    let sep = separations(cx.net);
    let n = cx.net.nodes.len();
    // Services per connected component.
    let mut comp_services: HashMap<usize, usize> = HashMap::new();
    for i in 0..n {
        if is_service(cx.kind(i)) {
            *comp_services.entry(sep.comp[i]).or_default() += 1;
        }
    }
    // The subjects (sorted) of the findings on stranded groups.
    let mut told: BTreeSet<Vec<String>> = BTreeSet::new();
    let sorted = |subjects: &[String]| {
        let mut s = subjects.to_vec();
        s.sort();
        s
    };
    for (v, children) in &sep.cuts {
        let v = *v;
        let cut_off: Vec<usize> = children
            .iter()
            .flat_map(|&c| sep.subtree(c).iter().copied())
            .collect();
        // Groups left without any service once v is gone: in a cut-off part
        // with no service, or in the rest when every service is cut off.
        let mut stranded: BTreeSet<usize> = BTreeSet::new();
        let comp_total = comp_services.get(&sep.comp[v]).copied().unwrap_or(0)
            - usize::from(is_service(cx.kind(v)));
        let mut cut_services = 0;
        for &c in children {
            let part = sep.subtree(c);
            let services = part.iter().filter(|&&i| is_service(cx.kind(i))).count();
            cut_services += services;
            if services == 0 && comp_total > 0 {
                stranded.extend(part.iter().copied().filter(|&i| is_group(cx.kind(i))));
            }
        }
        if cut_services == comp_total && comp_total > 0 {
            let cut: BTreeSet<usize> = cut_off.iter().copied().collect();
            let rest = sep
                .subtree(sep.comp[v])
                .iter()
                .copied()
                .filter(|i| *i != v && !cut.contains(i));
            stranded.extend(rest.filter(|&i| is_group(cx.kind(i))));
        }
        let vid = cx.net.nodes[v].clone();
        let vname = Arg::from(cx.noun(&vid));
        let evidence: Vec<Uuid> = cx
            .net
            .neighbours(&vid)
            .into_iter()
            .flat_map(|(_, t)| t.evidence.iter().copied())
            .collect();
        if !stranded.is_empty() {
            let ids: Vec<String> = stranded.iter().map(|&i| cx.net.nodes[i].clone()).collect();
            let names = cx.nouns(&ids);
            let distrust = distrusted_by(cx, &stranded);
            let distrusted: BTreeSet<usize> = distrust.keys().copied().collect();
            // The second path goes around `v`: never through it.
            let mut around = stranded.clone();
            around.insert(v);
            let best = best_service(cx, &around, &distrusted);
            let service = best.map_or_else(
                || bilingual("finding.single_point_of_failure.any_service", &[]).into(),
                |i| Arg::from(cx.node_noun(i)),
            );
            let mut subjects = vec![vid.clone()];
            subjects.extend(ids.iter().cloned());
            told.insert(sorted(&subjects));
            let mut explanation = bilingual(
                "finding.single_point_of_failure.stranded.explanation",
                &[("broker", vname.clone()), ("names", and(&names))],
            );
            for (&service, who) in &distrust {
                let who: Vec<Noun> = who.iter().map(|&g| cx.node_noun(g)).collect();
                explanation = then(
                    explanation,
                    bilingual(
                        "finding.single_point_of_failure.distrusted",
                        &[
                            ("names", and(&who)),
                            ("services", cx.node_noun(service).into()),
                        ],
                    ),
                );
            }
            let introduces: Vec<[String; 2]> = best
                .map(|b| {
                    let service = cx.net.nodes[b].clone();
                    stranded
                        .iter()
                        .filter(|&&g| cx.net.tie_between(g, b).is_none_or(|t| !t.present))
                        .map(|&g| pair(cx.net.nodes[g].clone(), service.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let f = cx.push(
                FindingKind::SinglePointOfFailure,
                Severity::High,
                subjects,
                explanation,
                evidence,
                bilingual(
                    "finding.single_point_of_failure.stranded.suggestion",
                    &[("names", and(&names)), ("service", service)],
                ),
            );
            f.introduces = introduces;
            f.focus = vec![format!("lean:{vid}")];
        } else if cut_off.len() >= 2 {
            let severity = if cut_off.len() >= 5 {
                Severity::Medium
            } else {
                Severity::Low
            };
            let f = cx.push(
                FindingKind::SinglePointOfFailure,
                severity,
                vec![vid.clone()],
                bilingual(
                    "finding.single_point_of_failure.explanation",
                    &[
                        ("broker", vname.clone()),
                        ("n", messages::count(cut_off.len())),
                    ],
                ),
                evidence,
                bilingual(
                    "finding.single_point_of_failure.suggestion",
                    &[("broker", vname.clone())],
                ),
            );
            f.focus = vec![format!("lean:{vid}")];
            f.reach = cut_off.len() + 1;
        }
    }
    for &(u, v) in &sep.bridges {
        // Leaves hanging on one tie are reported as isolated stakeholders.
        if cx.net.topology.neighbours(u).len() < 2 || cx.net.topology.neighbours(v).len() < 2 {
            continue;
        }
        let (a, b) = (cx.net.nodes[u].clone(), cx.net.nodes[v].clone());
        let tie = cx.net.tie(&a, &b).cloned();
        let (an, bn) = (Arg::from(cx.noun(&a)), Arg::from(cx.noun(&b)));
        let side = sep.size[v];
        let mut subjects = vec![a.clone(), b.clone()];
        subjects.sort();
        // A group that reaches the services through `a` alone is told
        // above, as the same finding (the same id): not twice.
        if told.contains(&subjects) {
            continue;
        }
        let f = cx.push(
            FindingKind::SinglePointOfFailure,
            Severity::Medium,
            subjects,
            bilingual(
                "finding.single_point_of_failure.bridge.explanation",
                &[
                    ("a", an.clone()),
                    ("b", bn.clone()),
                    ("n", messages::count(side)),
                ],
            ),
            tie.map(|t| t.evidence).unwrap_or_default(),
            bilingual(
                "finding.single_point_of_failure.bridge.suggestion",
                &[("a", an.clone()), ("b", bn.clone())],
            ),
        );
        // `a`, and `b` with everyone on its side.
        f.reach = side + 1;
    }
}

/// The services that any of `groups` (node indexes) said they do not
/// trust or use, by node index.
/// The services that any of `groups` (node indexes) said they do not
/// trust or use, each with the groups that said so (all of `groups` when
/// the distrust names none).
pub(super) fn distrusted_by(
    cx: &Ctx,
    groups: &BTreeSet<usize>,
) -> BTreeMap<usize, BTreeSet<usize>> {
    let mut out: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for d in &cx.p.distrust {
        let Some(service) = cx.net.index_of(&d.service) else {
            continue;
        };
        let who: BTreeSet<usize> = if d.groups.is_empty() {
            groups.clone()
        } else {
            d.groups
                .iter()
                .filter_map(|g| cx.net.index_of(g))
                .filter(|i| groups.contains(i))
                .collect()
        };
        if !who.is_empty() {
            out.entry(service).or_default().extend(who);
        }
    }
    out
}

/// The service most tied in the network, outside `exclude` and never one
/// that `groups` said they do not trust: its node index, if there is one.
pub(super) fn best_service(
    cx: &Ctx,
    exclude: &BTreeSet<usize>,
    distrusted: &BTreeSet<usize>,
) -> Option<usize> {
    (0..cx.net.nodes.len())
        .filter(|i| !exclude.contains(i) && !distrusted.contains(i) && is_service(cx.kind(*i)))
        .max_by(|&a, &b| {
            cx.an().weighted_degree[a]
                .partial_cmp(&cx.an().weighted_degree[b])
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(b.cmp(&a))
        })
}

pub(super) fn brokers(cx: &mut Ctx) {
    for i in 0..cx.net.nodes.len() {
        let m = &cx.an().nodes[i];
        let constrained = m.constraint.is_none_or(|c| c > cx.cfg.broker_constraint);
        if m.betweenness < cx.cfg.broker_betweenness || constrained {
            continue;
        }
        let id = cx.net.nodes[i].clone();
        let name = Arg::from(cx.noun(&id));
        let share = m.betweenness;
        let severity = if m.betweenness >= 0.5 {
            Severity::High
        } else {
            Severity::Medium
        };
        // Two partners of the broker in different communities that share
        // no tie yet, if any.
        let nb = cx.net.topology.neighbours(i);
        let untied = nb.iter().enumerate().find_map(|(k, &x)| {
            nb[k + 1..]
                .iter()
                .find(|&&y| {
                    cx.an().nodes[x].community != cx.an().nodes[y].community
                        && cx.net.topology.neighbours(x).binary_search(&y).is_err()
                })
                .map(|&y| (x, y))
        });
        let suggestion = match untied {
            Some((x, y)) => bilingual(
                "finding.broker_dependency.pair.suggestion",
                &[
                    ("name", name.clone()),
                    ("a", cx.node_noun(x).into()),
                    ("b", cx.node_noun(y).into()),
                ],
            ),
            None => bilingual(
                "finding.broker_dependency.suggestion",
                &[("name", name.clone())],
            ),
        };
        let evidence: Vec<Uuid> = cx
            .net
            .neighbours(&id)
            .into_iter()
            .flat_map(|(_, t)| t.evidence.iter().copied())
            .collect();
        let introduces: Vec<[String; 2]> = untied
            .map(|(x, y)| pair(cx.net.nodes[x].clone(), cx.net.nodes[y].clone()))
            .into_iter()
            .collect();
        let f = cx.push(
            FindingKind::BrokerDependency,
            severity,
            vec![id.clone()],
            bilingual(
                "finding.broker_dependency.explanation",
                &[("name", name.clone()), ("share", messages::percent(share))],
            ),
            evidence,
            suggestion,
        );
        f.introduces = introduces;
        f.focus = vec![format!("lean:{id}")];
    }
}

pub(super) fn silos(cx: &mut Ctx) {
    for (&kind, &ei) in &cx.an().ei_per_kind {
        let members: Vec<usize> = (0..cx.net.nodes.len())
            .filter(|&i| cx.kind(i) == kind)
            .collect();
        if members.len() < 2 || ei > cx.cfg.silo_ei {
            continue;
        }
        let k = kind_name(kind);
        let evidence: Vec<Uuid> = cx
            .net
            .present_ties()
            .filter(|t| cx.kind(t.a) == kind && cx.kind(t.b) == kind)
            .flat_map(|t| t.evidence.iter().copied())
            .collect();
        cx.push(
            FindingKind::SiloedSector,
            Severity::Medium,
            vec![k.clone()],
            bilingual(
                "finding.siloed_sector.explanation",
                &[
                    ("sector", kind_label(kind).into()),
                    ("ei", messages::decimal(ei, 2)),
                ],
            ),
            evidence,
            bilingual(
                "finding.siloed_sector.suggestion",
                &[("sector", kind_label(kind).into())],
            ),
        );
    }
    // Components cut off from the main one: groups with no tie across (E-I = −1).
    let comps = &cx.an().network.component_of;
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &c) in comps.iter().enumerate() {
        members.entry(c).or_default().push(i);
    }
    let Some(main) = members
        .iter()
        .max_by_key(|(c, m)| (m.len(), std::cmp::Reverse(**c)))
        .map(|(c, _)| *c)
    else {
        return;
    };
    for (c, m) in &members {
        if *c == main || m.len() < 2 {
            continue;
        }
        let ids: Vec<String> = m.iter().map(|&i| cx.net.nodes[i].clone()).collect();
        let names = cx.nouns(&ids);
        let evidence: Vec<Uuid> = cx
            .net
            .present_ties()
            .filter(|t| m.contains(&t.a))
            .flat_map(|t| t.evidence.iter().copied())
            .collect();
        let first = names[0].clone();
        cx.push(
            FindingKind::SiloedSector,
            Severity::Medium,
            ids.clone(),
            bilingual(
                "finding.siloed_sector.component.explanation",
                &[("names", and(&names))],
            ),
            evidence,
            bilingual(
                "finding.siloed_sector.component.suggestion",
                &[("first", first.into())],
            ),
        );
    }
}

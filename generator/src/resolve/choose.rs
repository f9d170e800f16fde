//! Choices and checks: key values pick one alternative of every
//! `mirage_match` and `select()`, giving the graph of devices actually
//! used; arity, types and acyclicity are checked on it.

use std::collections::{BTreeMap, HashMap};

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use super::KeyValue;
use crate::error::{Error, Loc, Result};
use crate::graph::{Graph, Node};
use crate::label::Label;
use crate::model::device::{Condition, Device, Match};

/// Follows choices with the configured key values.
pub(super) struct Chooser<'g> {
    pub(super) graph: &'g Graph,
    pub(super) values: &'g BTreeMap<String, KeyValue>,
}

impl Chooser<'_> {
    fn value(&self, key: &Label) -> &str {
        &self.values[&key.name].value
    }

    /// The case of a `mirage_match` for the key's value, else its default.
    fn matched(&self, m: &Match) -> Result<NodeIndex> {
        let value = self.value(&m.key);
        let chosen = m
            .cases
            .iter()
            .find(|(v, _)| v == value)
            .map(|(_, l)| l)
            .or(m.default.as_ref());
        match chosen {
            Some(label) => Ok(self.graph.index[label]),
            None => Err(Error::at(
                &m.loc,
                format!(
                    "{} has no case for --{}={value} and no default",
                    m.label, m.key.name
                ),
            )),
        }
    }

    /// `select()` as Bazel defines it: exactly one `config_setting` whose
    /// flag values all hold, else `//conditions:default`; several matches
    /// or none without a default are errors. `None` chooses no device.
    fn selected<'c>(
        &self,
        cases: &'c [(Condition, Option<Label>)],
        loc: &Loc,
        owner: &Label,
        param: &str,
    ) -> Result<&'c Option<Label>> {
        let holds = |cond: &Condition| match cond {
            Condition::Setting(s) => self.graph.settings[s]
                .flag_values
                .iter()
                .all(|(key, v)| self.value(key) == v),
            Condition::Default => false,
        };
        let matching: Vec<&Option<Label>> = cases
            .iter()
            .filter(|(c, _)| holds(c))
            .map(|(_, d)| d)
            .collect();
        match matching.as_slice() {
            [one] => Ok(one),
            [] => cases
                .iter()
                .find(|(c, _)| *c == Condition::Default)
                .map(|(_, d)| d)
                .ok_or_else(|| {
                    Error::at(
                        loc,
                        format!("select() for argument `{param}` of {owner} matches no condition and has no //conditions:default"),
                    )
                }),
            _ => Err(Error::at(
                loc,
                format!("select() for argument `{param}` of {owner} matches several conditions"),
            )),
        }
    }

    /// Follows choices from `n` to a device node; `None` when a select
    /// chooses no device.
    fn choose(&self, mut n: NodeIndex) -> Result<Option<NodeIndex>> {
        let mut seen = Vec::new();
        loop {
            if seen.contains(&n) {
                return Err(cycle_error(self.graph, &seen));
            }
            seen.push(n);
            n = match &self.graph.graph[n] {
                Node::Device(_) | Node::Unikernel(_) => return Ok(Some(n)),
                Node::Match(m) => self.matched(m)?,
                Node::Select {
                    cases,
                    loc,
                    owner,
                    param,
                } => match self.selected(cases, loc, owner, param)? {
                    Some(label) => self.graph.index[label],
                    None => return Ok(None),
                },
            };
        }
    }

    /// The devices reachable from the root once choices are made, with
    /// edges from consumer to argument in parameter order (reporter first).
    pub(super) fn device_graph(&self) -> Result<(DiGraph<NodeIndex, String>, NodeIndex)> {
        let g = &self.graph.graph;
        let mut dag = DiGraph::new();
        let mut map: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let root = dag.add_node(self.graph.root);
        map.insert(self.graph.root, root);
        let mut stack = vec![self.graph.root];
        while let Some(n) = stack.pop() {
            let device = device_of(&g[n]);
            let edges: HashMap<&str, NodeIndex> = g
                .edges_directed(n, petgraph::Direction::Outgoing)
                .map(|e| (e.weight().as_str(), petgraph::visit::EdgeRef::target(&e)))
                .collect();
            check_arity(device)?;
            // Petgraph lists a node's edges newest first, and the DFS stack
            // reverses that again: post-order then visits parameters in
            // declaration order.
            for (param, typ) in &device.params {
                let optional = device.connect_only.contains(param);
                let Some(&target) = edges.get(param.as_str()) else {
                    continue;
                };
                let Some(chosen) = self.choose(target)? else {
                    if !optional {
                        return Err(Error::at(
                            &device.loc,
                            format!("argument `{param}` of {} chooses no device", device.label),
                        ));
                    }
                    continue;
                };
                let provider = device_of(&g[chosen]);
                if provider.typ != *typ {
                    return Err(Error::at(
                        &device.loc,
                        format!(
                            "type mismatch: argument `{param}` of {} expects `{typ}`, but {} is `{}`",
                            device.label, provider.label, provider.typ
                        ),
                    ));
                }
                let d = *map.entry(chosen).or_insert_with(|| {
                    stack.push(chosen);
                    dag.add_node(chosen)
                });
                dag.add_edge(map[&n], d, param.clone());
            }
        }
        Ok((dag, root))
    }
}

/// The device of a node that choices have been followed to.
pub(super) fn device_of(node: &Node) -> &Device {
    match node {
        Node::Device(d) => d,
        Node::Unikernel(u) => &u.device,
        Node::Match(_) | Node::Select { .. } => unreachable!("choices are followed before use"),
    }
}

/// Every parameter has an argument (connect-only ones may have none) and
/// every argument a parameter.
fn check_arity(device: &Device) -> Result<()> {
    for (param, typ) in &device.params {
        let given = device.args.iter().any(|(a, _)| a == param);
        if !given && !device.connect_only.contains(param) {
            return Err(Error::at(
                &device.loc,
                format!(
                    "missing argument `{param}` (a `{typ}`) for {}",
                    device.label
                ),
            ));
        }
    }
    for (arg, _) in &device.args {
        if !device.params.iter().any(|(p, _)| p == arg) {
            let params: Vec<&str> = device.params.iter().map(|(p, _)| p.as_str()).collect();
            return Err(Error::at(
                &device.loc,
                format!(
                    "unknown argument `{arg}` for {}: its parameters are {}",
                    device.label,
                    if params.is_empty() {
                        "none".to_owned()
                    } else {
                        params.join(", ")
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// Rejects cycles, naming every member in edge order.
pub(super) fn check_acyclic(graph: &Graph, dag: &DiGraph<NodeIndex, String>) -> Result<()> {
    let Err(cycle) = toposort(dag, None) else {
        return Ok(());
    };
    let start = cycle.node_id();
    let scc = tarjan_scc(dag)
        .into_iter()
        .find(|c| c.contains(&start))
        .unwrap_or_else(|| vec![start]);
    // Walk the cycle inside the component, from the node toposort reported.
    let mut order = vec![start];
    let mut at = start;
    loop {
        let next = dag
            .neighbors(at)
            .filter(|n| scc.contains(n))
            .find(|n| !order.contains(n) || *n == start);
        match next {
            Some(n) if n == start => break,
            Some(n) => {
                order.push(n);
                at = n;
            }
            None => break,
        }
    }
    let members: Vec<NodeIndex> = order.iter().map(|&n| dag[n]).collect();
    Err(cycle_error(graph, &members))
}

/// The error naming every member of a cycle of graph nodes, in order,
/// at the first member's declaration.
fn cycle_error(graph: &Graph, members: &[NodeIndex]) -> Error {
    let names: Vec<String> = members.iter().map(|&n| graph.graph[n].name()).collect();
    Error::at(
        graph.graph[members[0]].loc(),
        format!("dependency cycle: {} -> {}", names.join(" -> "), names[0]),
    )
}

//! Resolution: one target and one set of key values turn the declared graph
//! into the list of device instances to connect.
//!
//! Invariants of a [`Resolved`]:
//! - every choice is evaluated; only devices remain;
//! - every parameter has exactly one argument, of the parameter's type;
//! - the graph is acyclic (a cycle is an error naming every member);
//! - instances are in connection order: each after all its arguments, the
//!   reporter first, parameters in declaration order;
//! - devices with the same implementation, connect code, arguments and
//!   runtime arguments are one instance, connected once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::DfsPostOrder;

use crate::error::{Error, Loc, Result};
use crate::graph::{Graph, Node, REPORTER_SLOT};
use crate::label::Label;
use crate::model::device::{Condition, Device, Solo5Device};
use crate::model::key::Key;
use crate::model::krate::Crate;
use crate::model::runtime_arg::RuntimeArg;
use crate::model::target::Target;

/// The value of one configure key in this configuration.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyValue {
    /// Flag name.
    pub name: String,
    /// Chosen value.
    pub value: String,
    /// Whether the value is the key's default.
    pub is_default: bool,
}

/// A device connected once in the generated `main`.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Rust variable name, unique in the generated code.
    pub var: String,
    /// Every declared device this instance stands for (shared nodes).
    pub labels: Vec<Label>,
    /// Where the first of them is declared.
    pub loc: Loc,
    /// Device type provided.
    pub typ: String,
    /// Rust implementation path for this target.
    pub impl_path: String,
    /// Connect template, if not the default.
    pub connect: Option<String>,
    /// Parameter name and the instance (index) applied to it.
    pub args: Vec<(String, usize)>,
    /// Indices into [`Resolved::runtime_args`].
    pub runtime_args: Vec<usize>,
    /// Keys its connect code reads.
    pub keys: Vec<KeyValue>,
    /// Solo5 devices it needs.
    pub solo5_devices: Vec<Solo5Device>,
    /// For `crunch`: the directory it embeds, relative to the workspace root.
    pub crunch: Option<String>,
    /// Description.
    pub doc: String,
}

/// The unikernel after resolution.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The unikernel's label.
    pub label: Label,
    /// Where it is declared.
    pub loc: Loc,
    /// The target.
    pub target: Target,
    /// Every configure key of the graph, sorted by name.
    pub keys: Vec<KeyValue>,
    /// Devices in connection order.
    pub instances: Vec<Instance>,
    /// The unikernel's `start` call (its `impl_path` is `main`).
    pub main: Instance,
    /// The reporter instance, connected first.
    pub reporter: Option<usize>,
    /// Runtime arguments of all instances and the unikernel.
    pub runtime_args: Vec<RuntimeArg>,
    /// Crates to depend on, sorted by package name; the unikernel's first.
    pub crates: Vec<Crate>,
}

impl Resolved {
    /// The Solo5 devices of every instance, each name once, sorted.
    pub fn solo5_devices(&self) -> Result<Vec<Solo5Device>> {
        let mut all: Vec<Solo5Device> = Vec::new();
        for d in self.instances.iter().flat_map(|i| &i.solo5_devices) {
            match all.iter().find(|a| a.name == d.name) {
                Some(a) if a == d => {}
                Some(a) => {
                    return Err(Error::at(
                        &d.loc,
                        format!(
                            "Solo5 device `{}` is also declared, differently, at {}",
                            d.name, a.loc
                        ),
                    ))
                }
                None => all.push(d.clone()),
            }
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }
}

/// Resolves `graph` for `target` with key values from the command line;
/// `platform` holds the crates every image of the target links.
pub fn resolve(
    graph: &Graph,
    target: Target,
    given: &BTreeMap<String, String>,
    platform: Vec<Crate>,
) -> Result<Resolved> {
    let unikernel = graph.unikernel();
    let uloc = &unikernel.device.loc;
    if !unikernel.targets.is_empty() && !unikernel.targets.contains(&target) {
        let names: Vec<_> = unikernel.targets.iter().map(|t| t.name()).collect();
        return Err(Error::at(
            uloc,
            format!(
                "{} is not built for target `{target}`: its targets are {}",
                unikernel.device.label,
                names.join(", ")
            ),
        ));
    }
    let values = key_values(graph, target, given, uloc)?;
    let r = Resolver {
        graph,
        values: &values,
    };
    let (dag, root) = r.device_graph()?;
    check_acyclic(graph, &dag)?;
    r.instances(&dag, root, target, values.clone(), platform)
}

/// Key values: the target's defaults overridden by the command line, checked.
fn key_values(
    graph: &Graph,
    target: Target,
    given: &BTreeMap<String, String>,
    uloc: &Loc,
) -> Result<BTreeMap<String, (String, bool)>> {
    let mut by_name: BTreeMap<&str, &Key> = BTreeMap::new();
    for key in graph.keys.values() {
        if let Some(other) = by_name.insert(key.name(), key) {
            return Err(Error::at(
                &key.loc,
                format!(
                    "key --{} is declared twice: also at {}",
                    key.name(),
                    other.loc
                ),
            ));
        }
    }
    for (name, value) in given {
        match by_name.get(name.as_str()) {
            Some(key) => key.check(value)?,
            None => {
                let known: Vec<String> = by_name.keys().map(|k| format!("--{k}")).collect();
                let known = if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                };
                return Err(Error::at(
                    uloc,
                    format!(
                        "unknown configure key --{name} for {}: known keys are {known}",
                        graph.unikernel().device.label
                    ),
                ));
            }
        }
    }
    Ok(by_name
        .into_iter()
        .map(|(name, key)| {
            let default = key.default_for(target);
            let value = given.get(name).map_or(default, String::as_str).to_owned();
            let is_default = value == default;
            (name.to_owned(), (value, is_default))
        })
        .collect())
}

struct Resolver<'g> {
    graph: &'g Graph,
    values: &'g BTreeMap<String, (String, bool)>,
}

impl Resolver<'_> {
    fn value(&self, key: &Label) -> &str {
        &self.values[&key.name].0
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
            let node = &self.graph.graph[n];
            let next = match node {
                Node::Device(_) | Node::Unikernel(_) => return Ok(Some(n)),
                Node::Match(m) => {
                    let value = self.value(&m.key);
                    let chosen = m
                        .cases
                        .iter()
                        .find(|(v, _)| v == value)
                        .map(|(_, l)| l)
                        .or(m.default.as_ref());
                    let Some(label) = chosen else {
                        return Err(Error::at(
                            &m.loc,
                            format!(
                                "{} has no case for --{}={value} and no default",
                                m.label, m.key.name
                            ),
                        ));
                    };
                    self.graph.index[label]
                }
                Node::Select {
                    cases,
                    loc,
                    owner,
                    param,
                } => {
                    let matching: Vec<&Option<Label>> = cases
                        .iter()
                        .filter(|(cond, _)| match cond {
                            Condition::Setting(s) => self.graph.settings[s]
                                .flag_values
                                .iter()
                                .all(|(key, v)| self.value(key) == v),
                            Condition::Default => false,
                        })
                        .map(|(_, d)| d)
                        .collect();
                    let chosen = match matching.as_slice() {
                        [one] => *one,
                        [] => match cases.iter().find(|(c, _)| *c == Condition::Default) {
                            Some((_, d)) => d,
                            None => {
                                return Err(Error::at(
                                    loc,
                                    format!("select() for argument `{param}` of {owner} matches no condition and has no //conditions:default"),
                                ))
                            }
                        },
                        _ => {
                            return Err(Error::at(
                                loc,
                                format!("select() for argument `{param}` of {owner} matches several conditions"),
                            ))
                        }
                    };
                    match chosen {
                        Some(label) => self.graph.index[label],
                        None => return Ok(None),
                    }
                }
            };
            n = next;
        }
    }

    /// The devices reachable from the root once choices are made, with
    /// edges from consumer to argument in parameter order (reporter first).
    fn device_graph(&self) -> Result<(DiGraph<NodeIndex, String>, NodeIndex)> {
        let g = &self.graph.graph;
        let mut dag = DiGraph::new();
        let mut map: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let root = dag.add_node(self.graph.root);
        map.insert(self.graph.root, root);
        let mut stack = vec![self.graph.root];
        while let Some(n) = stack.pop() {
            let device = device_of(&g[n]);
            let slot_of = |param: &str| {
                g.edges_directed(n, petgraph::Direction::Outgoing)
                    .find(|e| e.weight() == param)
                    .map(|e| petgraph::visit::EdgeRef::target(&e))
            };
            let mut slots: Vec<(String, Option<String>, Option<NodeIndex>)> = Vec::new();
            if matches!(g[n], Node::Unikernel(_)) {
                slots.push((REPORTER_SLOT.to_owned(), None, slot_of(REPORTER_SLOT)));
            }
            check_arity(device)?;
            for (param, typ) in &device.params {
                slots.push((param.clone(), Some(typ.clone()), slot_of(param)));
            }
            // Petgraph lists a node's edges newest first, and the DFS stack
            // reverses that again: post-order then visits parameters in
            // declaration order.
            for (param, typ, target) in slots {
                let Some(target) = target else { continue };
                let Some(chosen) = self.choose(target)? else {
                    if typ.is_some() {
                        return Err(Error::at(
                            &device.loc,
                            format!("argument `{param}` of {} chooses no device", device.label),
                        ));
                    }
                    continue;
                };
                let provider = device_of(&g[chosen]);
                let expected = typ.as_deref().unwrap_or(REPORTER_SLOT);
                if provider.typ != expected {
                    return Err(Error::at(
                        &device.loc,
                        format!(
                            "type mismatch: argument `{param}` of {} expects `{expected}`, but {} is `{}`",
                            device.label, provider.label, provider.typ
                        ),
                    ));
                }
                let d = *map.entry(chosen).or_insert_with(|| {
                    stack.push(chosen);
                    dag.add_node(chosen)
                });
                dag.add_edge(map[&n], d, param);
            }
        }
        Ok((dag, root))
    }

    /// Connection order, sharing and implementation choice.
    fn instances(
        &self,
        dag: &DiGraph<NodeIndex, String>,
        root: NodeIndex,
        target: Target,
        values: BTreeMap<String, (String, bool)>,
        platform: Vec<Crate>,
    ) -> Result<Resolved> {
        let g = &self.graph.graph;
        let mut instances: Vec<Instance> = Vec::new();
        let mut of_node: HashMap<NodeIndex, usize> = HashMap::new();
        let mut by_signature: HashMap<String, usize> = HashMap::new();
        let mut names = Names::default();
        let mut runtime_args: Vec<RuntimeArg> = Vec::new();
        let mut crate_labels: BTreeSet<Label> = BTreeSet::new();
        let mut main = None;
        let mut reporter = None;
        let mut dfs = DfsPostOrder::new(dag, root);
        while let Some(d) = dfs.next(dag) {
            let device = device_of(&g[dag[d]]);
            let args: Vec<(String, usize)> = dag
                .edges(d)
                .map(|e| {
                    (
                        e.weight().clone(),
                        of_node[&petgraph::visit::EdgeRef::target(&e)],
                    )
                })
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let impl_path = device.impl_for(target)?.ok_or_else(|| {
                let have: Vec<&str> = device.impls.iter().map(|(t, _)| t.as_str()).collect();
                Error::at(
                    &device.loc,
                    format!(
                        "{} has no implementation for target `{target}` (it has: {})",
                        device.label,
                        have.join(", ")
                    ),
                )
            })?;
            let mut arg_indices = Vec::new();
            for label in &device.runtime_args {
                arg_indices.push(add_runtime_arg(
                    &mut runtime_args,
                    &self.graph.runtime_args[label],
                )?);
            }
            let keys: Vec<KeyValue> = device
                .keys
                .iter()
                .map(|k| {
                    let (value, is_default) = values[&k.name].clone();
                    KeyValue {
                        name: k.name.clone(),
                        value,
                        is_default,
                    }
                })
                .collect();
            let signature = format!(
                "{impl_path}|{:?}|{args:?}|{arg_indices:?}|{:?}|{:?}",
                device.connect,
                keys.iter().map(|k| &k.value).collect::<Vec<_>>(),
                (&device.solo5_devices, &device.crunch)
            );
            let is_root = d == root;
            if !is_root {
                if let Some(&i) = by_signature.get(&signature) {
                    instances[i].labels.push(device.label.clone());
                    of_node.insert(d, i);
                    continue;
                }
                crate_labels.insert(self.crate_of(device, impl_path)?);
            }
            let instance = Instance {
                var: names.fresh(&device.label.name),
                labels: vec![device.label.clone()],
                loc: device.loc.clone(),
                typ: device.typ.clone(),
                impl_path: impl_path.to_owned(),
                connect: device.connect.clone(),
                args: args
                    .into_iter()
                    .filter(|(p, _)| p != REPORTER_SLOT || !is_root)
                    .collect(),
                runtime_args: arg_indices,
                keys,
                solo5_devices: device.solo5_devices.clone(),
                crunch: device.crunch.clone(),
                doc: device.doc.clone(),
            };
            if is_root {
                reporter = dag
                    .edges(d)
                    .find(|e| e.weight() == REPORTER_SLOT)
                    .map(|e| of_node[&petgraph::visit::EdgeRef::target(&e)]);
                main = Some(instance);
            } else {
                by_signature.insert(signature, instances.len());
                of_node.insert(d, instances.len());
                instances.push(instance);
            }
        }
        let unikernel = self.graph.unikernel();
        let mut crates: Vec<Crate> = crate_labels
            .iter()
            .map(|l| self.graph.crates[l].clone())
            .chain(platform)
            .collect();
        let own = self.graph.crates[&unikernel.device.label].clone();
        crates.retain(|c| c.dir != own.dir);
        crates.sort_by(|a, b| a.package_name.cmp(&b.package_name));
        crates.dedup_by(|a, b| a.dir == b.dir);
        crates.insert(0, own);
        Ok(Resolved {
            label: unikernel.device.label.clone(),
            loc: unikernel.device.loc.clone(),
            target,
            keys: values
                .into_iter()
                .map(|(name, (value, is_default))| KeyValue {
                    name,
                    value,
                    is_default,
                })
                .collect(),
            instances,
            main: main.expect("the root is visited last"),
            reporter,
            runtime_args,
            crates,
        })
    }

    /// The crate providing `impl_path`, among those the device lists.
    fn crate_of(&self, device: &Device, impl_path: &str) -> Result<Label> {
        let lib = impl_path.split("::").next().unwrap_or_default();
        device
            .crates
            .iter()
            .find(|l| self.graph.crates[*l].lib_name == lib)
            .cloned()
            .ok_or_else(|| {
                Error::at(
                    &device.loc,
                    format!("{}: implementation `{impl_path}` needs crate `{lib}`, which `crates` does not list", device.label),
                )
            })
    }
}

fn device_of(node: &Node) -> &Device {
    match node {
        Node::Device(d) => d,
        Node::Unikernel(u) => &u.device,
        Node::Match(_) | Node::Select { .. } => unreachable!("choices are followed before use"),
    }
}

/// Every parameter has an argument and every argument a parameter.
fn check_arity(device: &Device) -> Result<()> {
    for (param, typ) in &device.params {
        if !device.args.iter().any(|(a, _)| a == param) {
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
fn check_acyclic(graph: &Graph, dag: &DiGraph<NodeIndex, String>) -> Result<()> {
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

fn add_runtime_arg(args: &mut Vec<RuntimeArg>, arg: &RuntimeArg) -> Result<usize> {
    if let Some(i) = args.iter().position(|a| a.label == arg.label) {
        return Ok(i);
    }
    if let Some(other) = args
        .iter()
        .find(|a| a.name == arg.name || (a.short.is_some() && a.short == arg.short))
    {
        return Err(Error::at(
            &arg.loc,
            format!(
                "runtime arg --{} clashes with --{} declared at {}",
                arg.name, other.name, other.loc
            ),
        ));
    }
    args.push(arg.clone());
    Ok(args.len() - 1)
}

/// Fresh, readable Rust identifiers.
#[derive(Default)]
struct Names(BTreeSet<String>);

const RESERVED: &[&str] = &[
    "args",
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "main",
    "match",
    "mod",
    "move",
    "mut",
    "platform",
    "pub",
    "ref",
    "return",
    "self",
    "start",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "yield",
    "INFO",
    "RUNTIME_ARGS",
];

impl Names {
    fn fresh(&mut self, name: &str) -> String {
        let mut base: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            base.insert(0, '_');
        }
        if RESERVED.contains(&base.as_str()) {
            base.push('_');
        }
        let mut candidate = base.clone();
        let mut n = 2;
        while !self.0.insert(candidate.clone()) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        candidate
    }
}

//! The device graph before resolution, as the user declared it.
//!
//! Nodes are the unikernel, devices, `mirage_match` choices and anonymous
//! `select()` choices; an edge goes from a consumer to what its parameter is
//! applied to (for choices: to every alternative). Each label is one node,
//! so a device used twice is one node with two incoming edges. Building the
//! graph loads every package it reaches, iteratively (no recursion), so
//! unknown labels fail here with the referencing BUILD file:line.

use std::collections::{BTreeMap, HashMap, VecDeque};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::{Error, Loc, Result};
use crate::label::Label;
use crate::model::device::{ArgRef, Condition, ConfigSetting, Device, Match, Unikernel};
use crate::model::key::Key;
use crate::model::krate::Crate;
use crate::model::rule::RuleKind;
use crate::model::runtime_arg::RuntimeArg;
use crate::starlark::Loader;
use crate::target::Target;

/// A node of the unresolved graph.
#[derive(Clone, Debug)]
pub enum Node {
    /// The root.
    Unikernel(Unikernel),
    /// A device.
    Device(Device),
    /// A `mirage_match` on a key.
    Match(Match),
    /// A `select()` written in an argument.
    Select {
        /// The consumer whose argument it is.
        owner: Label,
        /// The parameter it fills.
        param: String,
        /// The consumer's location.
        loc: Loc,
        /// Conditions and the devices they choose.
        cases: Vec<(Condition, Option<Label>)>,
    },
}

impl Node {
    /// The label shown for this node in messages and `describe`.
    pub fn name(&self) -> String {
        match self {
            Node::Unikernel(u) => u.device.label.to_string(),
            Node::Device(d) => d.label.to_string(),
            Node::Match(m) => m.label.to_string(),
            Node::Select { owner, param, .. } => format!("{owner}[{param}]"),
        }
    }

    /// Where the node is declared.
    pub fn loc(&self) -> &Loc {
        match self {
            Node::Unikernel(u) => &u.device.loc,
            Node::Device(d) => &d.loc,
            Node::Match(m) => &m.loc,
            Node::Select { loc, .. } => loc,
        }
    }
}

/// The unresolved graph and every declaration it references.
pub struct Graph {
    /// Nodes and application edges, weighted by parameter name or case.
    pub graph: DiGraph<Node, String>,
    /// The unikernel node.
    pub root: NodeIndex,
    /// Configure keys referenced anywhere in the graph.
    pub keys: BTreeMap<Label, Key>,
    /// `config_setting`s referenced by `select()`.
    pub settings: HashMap<Label, ConfigSetting>,
    /// Runtime arguments referenced by any node.
    pub runtime_args: HashMap<Label, RuntimeArg>,
    /// Crates referenced by any device, and the unikernel's own.
    pub crates: HashMap<Label, Crate>,
    /// Node of each label.
    pub index: HashMap<Label, NodeIndex>,
}

struct Builder<'l, 'w> {
    loader: &'l Loader<'w>,
    g: Graph,
    queue: VecDeque<NodeIndex>,
}

impl Graph {
    /// Loads the graph rooted at the unikernel `label`.
    pub fn load(loader: &Loader, label: &Label) -> Result<Graph> {
        let rule = loader.rule(label, None, "unikernel")?;
        if rule.kind != RuleKind::Unikernel {
            return Err(Error::at(
                &rule.loc,
                format!(
                    "`{label}` is a {}, not a mirage_unikernel",
                    rule.kind.function()
                ),
            ));
        }
        let ws = loader.workspace();
        let reporter = ws.canonical(Label {
            repo: Some(crate::label::RULES_MIRAGE.into()),
            package: "rules_mirage/devices".into(),
            name: "default_reporter".into(),
        });
        let mut unikernel = Unikernel::from_rule(&rule, reporter)?;
        unikernel.map_labels(&|l| ws.canonical(l));
        let own_crate = Crate::from_rule(&rule, ws)?;
        let mut graph = DiGraph::new();
        let root = graph.add_node(Node::Unikernel(unikernel));
        let mut b = Builder {
            loader,
            g: Graph {
                graph,
                root,
                keys: BTreeMap::new(),
                settings: HashMap::new(),
                runtime_args: HashMap::new(),
                crates: HashMap::new(),
                index: HashMap::from([(label.clone(), root)]),
            },
            queue: VecDeque::from([root]),
        };
        b.g.crates.insert(label.clone(), own_crate);
        while let Some(n) = b.queue.pop_front() {
            b.expand(n)?;
        }
        Ok(b.g)
    }

    /// The node of the unikernel.
    pub fn unikernel(&self) -> &Unikernel {
        match &self.graph[self.root] {
            Node::Unikernel(u) => u,
            _ => unreachable!("the root is always the unikernel"),
        }
    }
}

/// The crates every image for `target` links (see
/// [`crate::target::Backend::platform_packages`]), each declared as `:crate`.
pub fn platform_crates(loader: &Loader, target: Target) -> Result<Vec<Crate>> {
    let ws = loader.workspace();
    target
        .backend()
        .platform_packages()
        .iter()
        .map(|p| {
            let package = ws.home_package(p);
            let label = Label {
                repo: package.repo,
                package: package.path,
                name: "crate".into(),
            };
            let rule = loader.rule(&label, None, "crate")?;
            Crate::from_rule(&rule, ws)
        })
        .collect()
}

impl Builder<'_, '_> {
    /// Adds the edges of node `n`, loading what they point at.
    fn expand(&mut self, n: NodeIndex) -> Result<()> {
        let node = self.g.graph[n].clone();
        let loc = node.loc().clone();
        match node {
            Node::Unikernel(u) => self.device(n, &u.device)?,
            Node::Device(d) => self.device(n, &d)?,
            Node::Match(m) => {
                self.key(&m.key, &loc)?;
                for (value, target) in &m.cases {
                    let t = self.node(target, &loc)?;
                    self.g
                        .graph
                        .add_edge(n, t, format!("{}={value}", m.key.name));
                }
                if let Some(d) = &m.default {
                    let t = self.node(d, &loc)?;
                    self.g.graph.add_edge(n, t, "default".into());
                }
            }
            Node::Select { cases, .. } => {
                for (cond, target) in &cases {
                    let edge = match cond {
                        Condition::Default => "//conditions:default".to_owned(),
                        Condition::Setting(setting) => {
                            self.setting(setting, &loc)?;
                            setting.to_string()
                        }
                    };
                    if let Some(target) = target {
                        let t = self.node(target, &loc)?;
                        self.g.graph.add_edge(n, t, edge);
                    }
                }
            }
        }
        Ok(())
    }

    fn device(&mut self, n: NodeIndex, d: &Device) -> Result<()> {
        for (param, arg) in &d.args {
            self.slot(n, param, arg, d)?;
        }
        for key in &d.keys {
            self.key(key, &d.loc)?;
        }
        for arg in &d.runtime_args {
            if !self.g.runtime_args.contains_key(arg) {
                let rule = self.expect(arg, &d.loc, RuleKind::RuntimeArg)?;
                self.g
                    .runtime_args
                    .insert(arg.clone(), RuntimeArg::from_rule(&rule)?);
            }
        }
        for c in &d.crates {
            if !self.g.crates.contains_key(c) {
                let rule = self.expect(c, &d.loc, RuleKind::Crate)?;
                let krate = Crate::from_rule(&rule, self.loader.workspace())?;
                self.g.crates.insert(c.clone(), krate);
            }
        }
        Ok(())
    }

    /// Adds the edge for one argument of `d`.
    fn slot(&mut self, n: NodeIndex, param: &str, arg: &ArgRef, d: &Device) -> Result<()> {
        match arg {
            ArgRef::Nothing => {}
            ArgRef::Device(label) => {
                let t = self.node(label, &d.loc)?;
                self.g.graph.add_edge(n, t, param.to_owned());
            }
            ArgRef::Select(cases) => {
                let s = self.g.graph.add_node(Node::Select {
                    owner: d.label.clone(),
                    param: param.to_owned(),
                    loc: d.loc.clone(),
                    cases: cases.clone(),
                });
                self.g.graph.add_edge(n, s, param.to_owned());
                self.queue.push_back(s);
            }
        }
        Ok(())
    }

    /// The node for a device or match label, loading it on first use.
    fn node(&mut self, label: &Label, from: &Loc) -> Result<NodeIndex> {
        if let Some(&n) = self.g.index.get(label) {
            return Ok(n);
        }
        let rule = self.loader.rule(label, Some(from), "device")?;
        let canon = |l| self.loader.workspace().canonical(l);
        let node = match rule.kind {
            RuleKind::Device => {
                let mut d = Device::from_rule(&rule)?;
                d.map_labels(&canon);
                Node::Device(d)
            }
            RuleKind::Match => {
                let mut m = Match::from_rule(&rule)?;
                m.map_labels(&canon);
                Node::Match(m)
            }
            other => {
                return Err(Error::at(
                    from,
                    format!("`{label}` is a {}, not a device", other.function()),
                ))
            }
        };
        let n = self.g.graph.add_node(node);
        self.g.index.insert(label.clone(), n);
        self.queue.push_back(n);
        Ok(n)
    }

    fn expect(
        &self,
        label: &Label,
        from: &Loc,
        kind: RuleKind,
    ) -> Result<std::rc::Rc<crate::model::rule::Rule>> {
        let what = kind
            .function()
            .trim_start_matches("mirage_")
            .replace('_', " ");
        let rule = self.loader.rule(label, Some(from), &what)?;
        if rule.kind != kind {
            return Err(Error::at(
                from,
                format!(
                    "`{label}` is a {}, not a {}",
                    rule.kind.function(),
                    kind.function()
                ),
            ));
        }
        Ok(rule)
    }

    fn key(&mut self, label: &Label, from: &Loc) -> Result<()> {
        if !self.g.keys.contains_key(label) {
            let rule = self.expect(label, from, RuleKind::Key)?;
            self.g.keys.insert(label.clone(), Key::from_rule(&rule)?);
        }
        Ok(())
    }

    fn setting(&mut self, label: &Label, from: &Loc) -> Result<()> {
        if !self.g.settings.contains_key(label) {
            let rule = self.expect(label, from, RuleKind::ConfigSetting)?;
            let mut setting = ConfigSetting::from_rule(&rule)?;
            let canon = |l| self.loader.workspace().canonical(l);
            for (key, _) in &mut setting.flag_values {
                *key = canon(key.clone());
            }
            for (key, _) in &setting.flag_values {
                self.key(key, &rule.loc)?;
            }
            self.g.settings.insert(label.clone(), setting);
        }
        Ok(())
    }
}

//! Instances: the chosen devices in connection order, each with its
//! implementation for the target, shared when identical, with the crates
//! and runtime arguments they bring.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{DfsPostOrder, EdgeRef};

use super::choose::device_of;
use super::{Instance, KeyValue, Resolved};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::label::Label;
use crate::model::device::Device;
use crate::model::krate::Crate;
use crate::model::resource::Resource;
use crate::model::runtime_arg::RuntimeArg;
use crate::target::Target;

/// What makes two devices one instance: the same implementation, connect
/// code, arguments, runtime arguments, key values and resources.
#[derive(PartialEq, Eq, Hash)]
struct Signature<'g> {
    impl_path: &'g str,
    connect: Option<&'g str>,
    args: Vec<(String, usize)>,
    runtime_args: Vec<usize>,
    keys: Vec<KeyValue>,
    resources: &'g [Resource],
}

/// Instances, runtime arguments and crates, gathered in connection order.
struct Instances<'g> {
    graph: &'g Graph,
    target: Target,
    values: &'g BTreeMap<String, KeyValue>,
    list: Vec<Instance>,
    of_node: HashMap<NodeIndex, usize>,
    by_signature: HashMap<Signature<'g>, usize>,
    names: Names,
    runtime_args: Vec<RuntimeArg>,
    runtime_arg_index: HashMap<Label, usize>,
    crates: BTreeSet<Label>,
}

/// Connection order (post-order from the root, parameters in declaration
/// order), sharing and implementation choice; `platform` holds the crates
/// every image of the target links.
pub(super) fn instantiate(
    graph: &Graph,
    dag: &DiGraph<NodeIndex, String>,
    root: NodeIndex,
    target: Target,
    values: BTreeMap<String, KeyValue>,
    platform: Vec<Crate>,
) -> Result<Resolved> {
    let mut s = Instances {
        graph,
        target,
        values: &values,
        list: Vec::new(),
        of_node: HashMap::new(),
        by_signature: HashMap::new(),
        names: Names::default(),
        runtime_args: Vec::new(),
        runtime_arg_index: HashMap::new(),
        crates: BTreeSet::new(),
    };
    let mut dfs = DfsPostOrder::new(dag, root);
    let mut main = None;
    while let Some(d) = dfs.next(dag) {
        let device = device_of(&graph.graph[dag[d]]);
        // Edges come newest first: reversed, they are in parameter order.
        let mut args: Vec<(String, usize)> = dag
            .edges(d)
            .map(|e| (e.weight().clone(), s.of_node[&e.target()]))
            .collect();
        args.reverse();
        if d == root {
            let mut instance = s.instance(device, args)?;
            instance.var = s.names.fresh(&device.label.name);
            main = Some(instance);
        } else {
            let i = s.share(device, args)?;
            s.of_node.insert(d, i);
        }
    }
    let crates = s.crates(platform);
    let unikernel = graph.unikernel();
    Ok(Resolved {
        label: unikernel.device.label.clone(),
        loc: unikernel.device.loc.clone(),
        target,
        keys: values.values().cloned().collect(),
        instances: s.list,
        main: main.expect("the root is visited last"),
        runtime_args: s.runtime_args,
        crates,
    })
}

impl<'g> Instances<'g> {
    /// The instance of `device` applied to `args`, not yet shared.
    fn instance(&mut self, device: &'g Device, args: Vec<(String, usize)>) -> Result<Instance> {
        let impl_path = device.impl_for(self.target).ok_or_else(|| {
            let have: Vec<String> = device.impls.iter().map(|(t, _)| t.to_string()).collect();
            Error::at(
                &device.loc,
                format!(
                    "{} has no implementation for target `{}` (it has: {})",
                    device.label,
                    self.target,
                    have.join(", ")
                ),
            )
        })?;
        let runtime_args = device
            .runtime_args
            .iter()
            .map(|l| self.runtime_arg(&self.graph.runtime_args[l]))
            .collect::<Result<Vec<_>>>()?;
        Ok(Instance {
            var: String::new(),
            labels: vec![device.label.clone()],
            loc: device.loc.clone(),
            typ: device.typ.clone(),
            impl_path: impl_path.to_owned(),
            connect: device.connect.clone(),
            args,
            connect_only: device.connect_only.clone(),
            runtime_args,
            keys: device
                .keys
                .iter()
                .map(|k| self.values[&k.name].clone())
                .collect(),
            resources: device.resources.clone(),
            doc: device.doc.clone(),
        })
    }

    /// The index of `device`'s instance: an identical one already made, or
    /// a new one with a fresh variable name.
    fn share(&mut self, device: &'g Device, args: Vec<(String, usize)>) -> Result<usize> {
        let mut instance = self.instance(device, args)?;
        let signature = Signature {
            impl_path: device.impl_for(self.target).unwrap_or_default(),
            connect: device.connect.as_deref(),
            args: instance.args.clone(),
            runtime_args: instance.runtime_args.clone(),
            keys: instance.keys.clone(),
            resources: &device.resources,
        };
        if let Some(&i) = self.by_signature.get(&signature) {
            self.list[i].labels.push(device.label.clone());
            return Ok(i);
        }
        self.crates
            .insert(self.crate_of(device, &instance.impl_path)?);
        instance.var = self.names.fresh(&device.label.name);
        let i = self.list.len();
        self.by_signature.insert(signature, i);
        self.list.push(instance);
        Ok(i)
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

    /// The index of runtime argument `arg`, added on first use; two
    /// arguments may not share a name or a short name.
    fn runtime_arg(&mut self, arg: &RuntimeArg) -> Result<usize> {
        if let Some(&i) = self.runtime_arg_index.get(&arg.label) {
            return Ok(i);
        }
        if let Some(other) = self
            .runtime_args
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
        self.runtime_arg_index
            .insert(arg.label.clone(), self.runtime_args.len());
        self.runtime_args.push(arg.clone());
        Ok(self.runtime_args.len() - 1)
    }

    /// The crates to depend on, sorted by package name, the unikernel's
    /// own first, each directory once.
    fn crates(&self, platform: Vec<Crate>) -> Vec<Crate> {
        let own = self.graph.crates[&self.graph.unikernel().device.label].clone();
        let mut crates: Vec<Crate> = self
            .crates
            .iter()
            .map(|l| self.graph.crates[l].clone())
            .chain(platform)
            .filter(|c| c.dir != own.dir)
            .collect();
        crates.sort_by(|a, b| a.package_name.cmp(&b.package_name));
        crates.dedup_by(|a, b| a.dir == b.dir);
        crates.insert(0, own);
        crates
    }
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

//! Resolution: one target and one set of key values turn the declared graph
//! into the list of device instances to connect.
//!
//! Invariants of a [`Resolved`]:
//! - every choice is evaluated; only devices remain;
//! - every parameter has exactly one argument, of the parameter's type;
//! - the graph is acyclic (a cycle is an error naming every member);
//! - instances are in connection order: each after all its arguments, the
//!   parameters in declaration order (the unikernel's reporter first);
//! - devices with the same implementation, connect code, arguments and
//!   runtime arguments are one instance, connected once.

mod choose;
mod instances;

use std::collections::BTreeMap;

use crate::error::{Error, Loc, Result};
use crate::graph::Graph;
use crate::label::Label;
use crate::model::key::{Key, KeyType};
use crate::model::krate::Crate;
use crate::model::resource::{Resource, Solo5Device};
use crate::model::runtime_arg::RuntimeArg;
use crate::target::Target;

/// The value of one configure key in this configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct KeyValue {
    /// Flag name.
    pub name: String,
    /// Chosen value, one of the key's choices.
    pub value: String,
    /// How generated code reads it.
    #[serde(skip)]
    pub typ: KeyType,
    /// Every value it may take.
    #[serde(skip)]
    pub choices: Vec<String>,
    /// Whether the value is the key's default.
    pub is_default: bool,
}

impl KeyValue {
    /// The value as a Rust literal of the key's type.
    pub fn rust_literal(&self) -> String {
        match self.typ {
            KeyType::Bool => self.value.clone(),
            KeyType::String => format!("{:?}", self.value),
        }
    }
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
    /// Parameters connected first but not passed (see
    /// [`crate::model::device::Device::connect_only`]).
    pub connect_only: Vec<String>,
    /// Indices into [`Resolved::runtime_args`].
    pub runtime_args: Vec<usize>,
    /// Keys its connect code reads.
    pub keys: Vec<KeyValue>,
    /// What it needs from the build besides code.
    pub resources: Vec<Resource>,
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
    /// Runtime arguments of all instances and the unikernel.
    pub runtime_args: Vec<RuntimeArg>,
    /// Crates to depend on, sorted by package name; the unikernel's first.
    pub crates: Vec<Crate>,
}

impl Instance {
    /// The arguments its connect code is passed, in order.
    pub fn passed(&self) -> impl Iterator<Item = &(String, usize)> {
        self.args
            .iter()
            .filter(|(p, _)| !self.connect_only.contains(p))
    }

    /// The directory it embeds (`crunch`), relative to the workspace root.
    pub fn embedded(&self) -> Option<&str> {
        self.resources.iter().find_map(|r| match r {
            Resource::Embedded { dir } => Some(dir.as_str()),
            _ => None,
        })
    }
}

impl Resolved {
    /// The Solo5 devices of every instance, each name once, sorted.
    pub fn solo5_devices(&self) -> Result<Vec<Solo5Device>> {
        let mut all: BTreeMap<&str, &Solo5Device> = BTreeMap::new();
        let declared = self.instances.iter().flat_map(|i| &i.resources);
        for d in declared.filter_map(|r| match r {
            Resource::Solo5Device(d) => Some(d),
            _ => None,
        }) {
            match all.get(d.name.as_str()) {
                Some(a) if *a == d => {}
                Some(a) => {
                    return Err(Error::at(
                        &d.loc,
                        format!(
                            "Solo5 device `{}` is also declared, differently, at {}",
                            d.name, a.loc
                        ),
                    ))
                }
                None => {
                    all.insert(&d.name, d);
                }
            }
        }
        Ok(all.into_values().cloned().collect())
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
    let values = key_values(graph, target, given)?;
    let chooser = choose::Chooser {
        graph,
        values: &values,
    };
    let (dag, root) = chooser.device_graph()?;
    choose::check_acyclic(graph, &dag)?;
    instances::instantiate(graph, &dag, root, target, values, platform)
}

/// Key values: the target's defaults overridden by the command line, checked.
fn key_values(
    graph: &Graph,
    target: Target,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, KeyValue>> {
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
                let hint = crate::suggest::did_you_mean(name, by_name.keys().copied());
                return Err(Error::user(format!(
                    "unknown configure key --{name}{hint} for {}: known keys are {known}",
                    graph.unikernel().device.label
                )));
            }
        }
    }
    Ok(by_name
        .into_iter()
        .map(|(name, key)| {
            let default = key.default_for(target);
            let value = given.get(name).map_or(default, String::as_str).to_owned();
            let is_default = value == default;
            let kv = KeyValue {
                name: name.to_owned(),
                value,
                typ: key.typ(),
                choices: key.choices.clone(),
                is_default,
            };
            (name.to_owned(), kv)
        })
        .collect())
}

#[cfg(test)]
mod tests;

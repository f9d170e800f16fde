//! Devices: Functoria's `impl`, applied to its arguments.
//!
//! A device provides one device *type* (`console`, `kv_ro`, ...), has typed
//! *parameters* (the functor's argument types) and *arguments* (the devices
//! applied to them, Functoria's `$`). It has one Rust implementation per
//! target or family. The unikernel is the root device: its `main` is the
//! function called once every device is connected.

use super::resource::Resource;
use super::rule::{Rule, RuleKind};
use crate::error::{Error, Loc, Result};
use crate::label::Label;
use crate::starlark::value::AttrValue;
use crate::target::{Target, TargetPattern};

/// The type of the value a unikernel's `main` produces.
pub const JOB: &str = "job";

/// A condition of `select()`: a config_setting label, or the default branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `//conditions:default`.
    Default,
    /// A `config_setting` target.
    Setting(Label),
}

/// What a parameter is applied to.
#[derive(Clone, Debug)]
pub enum ArgRef {
    /// A device, choice or match, by label.
    Device(Label),
    /// `select()` over configure keys; `None` values mean "no device".
    Select(Vec<(Condition, Option<Label>)>),
    /// Explicitly nothing (`None`), allowed only for optional slots.
    Nothing,
}

/// The implementation fields shared by devices and the unikernel.
#[derive(Clone, Debug)]
pub struct Device {
    /// Its label.
    pub label: Label,
    /// Where it is declared.
    pub loc: Loc,
    /// The device type it provides (`job` for a unikernel).
    pub typ: String,
    /// Parameter names and their device types, in order.
    pub params: Vec<(String, String)>,
    /// Arguments by parameter name, in the order written.
    pub args: Vec<(String, ArgRef)>,
    /// Parameters connected before this device but not passed to its
    /// connect code, and optional (Functoria's extra dependencies): the
    /// unikernel's `reporter` and `metrics`.
    pub connect_only: Vec<String>,
    /// Rust implementation path per target pattern, as declared.
    pub impls: Vec<(TargetPattern, String)>,
    /// Crates that may provide the implementation.
    pub crates: Vec<Label>,
    /// Connect-code template; see `render::connect`.
    pub connect: Option<String>,
    /// Configure keys its connect code reads.
    pub keys: Vec<Label>,
    /// Runtime arguments it takes, in order.
    pub runtime_args: Vec<Label>,
    /// What it needs from the build besides code.
    pub resources: Vec<Resource>,
    /// What it is.
    pub doc: String,
}

/// The unikernel: the root device and what only the root has.
#[derive(Clone, Debug)]
pub struct Unikernel {
    /// Its device fields; `impls` holds `main` for every target.
    pub device: Device,
    /// The `start` function, as a Rust path into its own crate.
    pub main: String,
    /// Targets it may be built for (all when empty).
    pub targets: Vec<Target>,
}

/// The unikernel's parameter for its log reporter, connected first.
pub const REPORTER: &str = "reporter";

/// The unikernel's parameter for its metrics device, when it has one.
pub const METRICS: &str = "metrics";

/// A `mirage_match`: Functoria's `match_impl` on one key.
#[derive(Clone, Debug)]
pub struct Match {
    /// Its label.
    pub label: Label,
    /// Where it is declared.
    pub loc: Loc,
    /// The device type every case provides.
    pub typ: String,
    /// The key it matches on.
    pub key: Label,
    /// Key value to device.
    pub cases: Vec<(String, Label)>,
    /// The device when no case matches.
    pub default: Option<Label>,
}

fn label(text: &str, rule: &Rule) -> Result<Label> {
    Label::parse(text, &rule.label.package()).map_err(|e| Error::at(&rule.loc, e))
}

fn labels(rule: &Rule, attr: &str) -> Result<Vec<Label>> {
    rule.str_list(attr)
        .into_iter()
        .map(|l| label(l, rule))
        .collect()
}

/// Converts a label-or-select attribute value.
pub fn arg_ref(value: &AttrValue, rule: &Rule) -> Result<ArgRef> {
    match value {
        AttrValue::None => Ok(ArgRef::Nothing),
        AttrValue::Str(s) => Ok(ArgRef::Device(label(s, rule)?)),
        AttrValue::Select(cases) => cases
            .iter()
            .map(|(cond, v)| {
                let cond = if cond == "//conditions:default" {
                    Condition::Default
                } else {
                    Condition::Setting(label(cond, rule)?)
                };
                let dev = match v {
                    AttrValue::Str(s) => Some(label(s, rule)?),
                    _ => None,
                };
                Ok((cond, dev))
            })
            .collect::<Result<_>>()
            .map(ArgRef::Select),
        other => Err(Error::at(
            &rule.loc,
            format!("expected a label, got {}", other.type_name()),
        )),
    }
}

impl ArgRef {
    fn map_labels(&mut self, f: &impl Fn(Label) -> Label) {
        match self {
            ArgRef::Device(l) => *l = f(l.clone()),
            ArgRef::Select(cases) => {
                for (cond, dev) in cases {
                    if let Condition::Setting(l) = cond {
                        *l = f(l.clone());
                    }
                    if let Some(l) = dev {
                        *l = f(l.clone());
                    }
                }
            }
            ArgRef::Nothing => {}
        }
    }
}

impl Device {
    /// Rewrites every label this device references through `f`, so that
    /// later stages only see canonical labels.
    pub fn map_labels(&mut self, f: &impl Fn(Label) -> Label) {
        for (_, arg) in &mut self.args {
            arg.map_labels(f);
        }
        for l in self
            .crates
            .iter_mut()
            .chain(&mut self.keys)
            .chain(&mut self.runtime_args)
        {
            *l = f(l.clone());
        }
    }

    /// Builds a device from a `mirage_device` or `mirage_unikernel` rule.
    pub fn from_rule(rule: &Rule) -> Result<Device> {
        let typ = if rule.kind == RuleKind::Unikernel {
            JOB.to_owned()
        } else {
            rule.str("type").unwrap_or_default().to_owned()
        };
        let params: Vec<(String, String)> = rule
            .dict("params")
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        let args = rule
            .dict("args")
            .into_iter()
            .map(|(k, v)| Ok((k.to_owned(), arg_ref(v, rule)?)))
            .collect::<Result<Vec<_>>>()?;
        let impls = rule
            .dict("impls")
            .into_iter()
            .map(|(k, v)| {
                let pattern = TargetPattern::parse(k).map_err(|e| Error::at(&rule.loc, e))?;
                Ok((pattern, v.as_str().unwrap_or_default().to_owned()))
            })
            .collect::<Result<_>>()?;
        Ok(Device {
            label: rule.label.clone(),
            loc: rule.loc.clone(),
            typ,
            params,
            args,
            connect_only: Vec::new(),
            impls,
            crates: labels(rule, "crates")?,
            connect: rule.str("connect").map(str::to_owned),
            keys: labels(rule, "keys")?,
            runtime_args: labels(rule, "runtime_args")?,
            resources: Resource::from_rule(rule)?,
            doc: rule.str("doc").unwrap_or_default().to_owned(),
        })
    }

    /// The Rust path implementing this device on `target`, most specific first.
    pub fn impl_for(&self, target: Target) -> Option<&str> {
        TargetPattern::most_specific(&self.impls, target).map(String::as_str)
    }
}

impl Unikernel {
    /// Builds the unikernel from its rule. The reporter is its first
    /// parameter, connect-only, and defaults to `default_reporter`, as
    /// Functoria's `register` does; its `metrics` device, if it names one,
    /// its last, connect-only too.
    pub fn from_rule(rule: &Rule, default_reporter: Label) -> Result<Unikernel> {
        let mut device = Device::from_rule(rule)?;
        if device.params.iter().any(|(p, _)| p == REPORTER) {
            return Err(Error::at(
                &rule.loc,
                format!("parameter `{REPORTER}` is the unikernel's log reporter: give it with `reporter = ...`"),
            ));
        }
        let reporter = match rule.attrs.iter().find(|(n, _)| n == REPORTER) {
            Some((_, v)) => arg_ref(v, rule)?,
            None => ArgRef::Device(default_reporter),
        };
        device
            .params
            .insert(0, (REPORTER.to_owned(), REPORTER.to_owned()));
        if !matches!(reporter, ArgRef::Nothing) {
            device.args.insert(0, (REPORTER.to_owned(), reporter));
        }
        device.connect_only.push(REPORTER.to_owned());
        if let Some((_, v)) = rule.attrs.iter().find(|(n, _)| n == METRICS) {
            if device.params.iter().any(|(p, _)| p == METRICS) {
                return Err(Error::at(
                    &rule.loc,
                    format!("parameter `{METRICS}` is also the unikernel's `metrics` attribute: rename the parameter"),
                ));
            }
            let metrics = arg_ref(v, rule)?;
            device.params.push((METRICS.to_owned(), METRICS.to_owned()));
            if !matches!(metrics, ArgRef::Nothing) {
                device.args.push((METRICS.to_owned(), metrics));
            }
            device.connect_only.push(METRICS.to_owned());
        }
        let main = rule.str("main").unwrap_or_default().to_owned();
        device.impls = vec![(TargetPattern::Any, main.clone())];
        let targets = rule
            .str_list("targets")
            .into_iter()
            .map(|t| Target::parse(t).map_err(|e| Error::at(&rule.loc, e)))
            .collect::<Result<_>>()?;
        Ok(Unikernel {
            device,
            main,
            targets,
        })
    }
}

impl Unikernel {
    /// Rewrites every label the unikernel references through `f`.
    pub fn map_labels(&mut self, f: &impl Fn(Label) -> Label) {
        self.device.map_labels(f);
    }
}

impl Match {
    /// Rewrites every label the match references through `f`.
    pub fn map_labels(&mut self, f: &impl Fn(Label) -> Label) {
        self.key = f(self.key.clone());
        for (_, l) in &mut self.cases {
            *l = f(l.clone());
        }
        if let Some(l) = &mut self.default {
            *l = f(l.clone());
        }
    }

    /// Builds a match from its rule.
    pub fn from_rule(rule: &Rule) -> Result<Match> {
        let cases = rule
            .dict("cases")
            .into_iter()
            .map(|(k, v)| Ok((k.to_owned(), label(v.as_str().unwrap_or_default(), rule)?)))
            .collect::<Result<_>>()?;
        Ok(Match {
            label: rule.label.clone(),
            loc: rule.loc.clone(),
            typ: rule.str("type").unwrap_or_default().to_owned(),
            key: label(rule.str("key").unwrap_or_default(), rule)?,
            cases,
            default: rule.str("default").map(|d| label(d, rule)).transpose()?,
        })
    }
}

/// A `config_setting`: every key must have its value.
#[derive(Clone, Debug)]
pub struct ConfigSetting {
    /// Key label and required value.
    pub flag_values: Vec<(Label, String)>,
}

impl ConfigSetting {
    /// Builds a setting from its rule.
    pub fn from_rule(rule: &Rule) -> Result<ConfigSetting> {
        let flag_values = rule
            .dict("flag_values")
            .into_iter()
            .map(|(k, v)| Ok((label(k, rule)?, v.as_str().unwrap_or_default().to_owned())))
            .collect::<Result<_>>()?;
        Ok(ConfigSetting { flag_values })
    }
}

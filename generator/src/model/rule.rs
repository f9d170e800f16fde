//! Rules as recorded from BUILD files.
//!
//! A recorded [`Rule`] has passed its kind's schema (see [`super::schema`]),
//! so the model may unwrap types it promised.

use crate::error::Loc;
use crate::label::Label;
use crate::starlark::value::AttrValue;

/// The kinds of rule a BUILD file can declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// `mirage_device`: an implementation of a device type, applied to arguments.
    Device,
    /// `mirage_match`: a configure-time choice between devices on one key.
    Match,
    /// `mirage_key`: a configure key with its choices.
    Key,
    /// `mirage_runtime_arg`: an argument parsed by the image at boot.
    RuntimeArg,
    /// `mirage_crate`: a Rust crate the generated code depends on.
    Crate,
    /// `mirage_unikernel`: the application and the targets it builds for.
    Unikernel,
    /// `mirage_release`: a unikernel's release, for `mirage release` and
    /// `bazel build`.
    Release,
    /// `config_setting`: a condition of `select()`.
    ConfigSetting,
}

impl RuleKind {
    /// The kinds users declare with rules_mirage's rules (not Bazel's own
    /// `config_setting`), in documentation order.
    pub const MIRAGE: [RuleKind; 7] = [
        RuleKind::Unikernel,
        RuleKind::Device,
        RuleKind::Match,
        RuleKind::Key,
        RuleKind::RuntimeArg,
        RuleKind::Crate,
        RuleKind::Release,
    ];

    /// The Starlark function name of this kind.
    pub fn function(self) -> &'static str {
        match self {
            RuleKind::Device => "mirage_device",
            RuleKind::Match => "mirage_match",
            RuleKind::Key => "mirage_key",
            RuleKind::RuntimeArg => "mirage_runtime_arg",
            RuleKind::Crate => "mirage_crate",
            RuleKind::Unikernel => "mirage_unikernel",
            RuleKind::Release => "mirage_release",
            RuleKind::ConfigSetting => "config_setting",
        }
    }
}

/// A rule as recorded from a BUILD file.
#[derive(Clone, Debug)]
pub struct Rule {
    /// What kind of rule.
    pub kind: RuleKind,
    /// Its label.
    pub label: Label,
    /// Attributes as given, in call order, schema-checked.
    pub attrs: Vec<(String, AttrValue)>,
    /// The BUILD file line that declared it (through any macros).
    pub loc: Loc,
}

impl Rule {
    /// An attribute's value, `None` when absent or given as `None`.
    pub fn get(&self, name: &str) -> Option<&AttrValue> {
        self.attrs
            .iter()
            .find(|(n, v)| n == name && *v != AttrValue::None)
            .map(|(_, v)| v)
    }

    /// Whether the attribute was written, even as `None`.
    pub fn has(&self, name: &str) -> bool {
        self.attrs.iter().any(|(n, _)| n == name)
    }

    /// A string attribute.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(AttrValue::as_str)
    }

    /// A list-of-strings attribute; empty when absent.
    pub fn str_list(&self, name: &str) -> Vec<&str> {
        match self.get(name) {
            Some(AttrValue::List(items)) => items.iter().filter_map(AttrValue::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// A dict attribute, keys as strings; empty when absent.
    pub fn dict(&self, name: &str) -> Vec<(&str, &AttrValue)> {
        match self.get(name) {
            Some(AttrValue::Dict(entries)) => entries
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?, v)))
                .collect(),
            _ => Vec::new(),
        }
    }
}

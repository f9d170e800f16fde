//! Rules as recorded from BUILD files, and the attribute schema of each kind.
//!
//! The schema is the one contract both engines share: the embedded engine
//! checks every call against it, and the Bazel rules in
//! `rules_mirage/private/` declare the same attributes. A recorded [`Rule`]
//! has passed its schema, so the model may unwrap types it promised.

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
    /// `config_setting`: a condition of `select()`.
    ConfigSetting,
}

/// The shape an attribute value must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    /// A string.
    Str,
    /// A label string; `select()` allowed.
    Label,
    /// A list of strings.
    StrList,
    /// A list of label strings.
    LabelList,
    /// A dict of string to string.
    StrDict,
    /// A dict of string to label; values may be `select()`.
    LabelDict,
    /// A dict of label to string.
    LabelKeyedStrDict,
}

impl AttrType {
    fn describe(self) -> &'static str {
        match self {
            AttrType::Str => "a string",
            AttrType::Label => "a label string",
            AttrType::StrList => "a list of strings",
            AttrType::LabelList => "a list of label strings",
            AttrType::StrDict => "a dict of string to string",
            AttrType::LabelDict => "a dict of string to label",
            AttrType::LabelKeyedStrDict => "a dict of label to string",
        }
    }

    fn accepts(self, v: &AttrValue) -> bool {
        let is_str = |v: &AttrValue| matches!(v, AttrValue::Str(_));
        let is_label = |v: &AttrValue| match v {
            AttrValue::Str(_) => true,
            AttrValue::Select(cases) => cases
                .iter()
                .all(|(_, v)| matches!(v, AttrValue::Str(_) | AttrValue::None)),
            _ => false,
        };
        match (self, v) {
            (AttrType::Str, v) => is_str(v),
            (AttrType::Label, v) => is_label(v),
            (AttrType::StrList | AttrType::LabelList, AttrValue::List(items)) => {
                items.iter().all(is_str)
            }
            (AttrType::StrDict | AttrType::LabelKeyedStrDict, AttrValue::Dict(entries)) => {
                entries.iter().all(|(k, v)| is_str(k) && is_str(v))
            }
            (AttrType::LabelDict, AttrValue::Dict(entries)) => {
                entries.iter().all(|(k, v)| is_str(k) && is_label(v))
            }
            _ => false,
        }
    }
}

/// The type of `v`, naming the first offending entry of a collection.
fn describe_actual(v: &AttrValue) -> String {
    let scalar = |v: &AttrValue| !matches!(v, AttrValue::Str(_) | AttrValue::Select(_));
    match v {
        AttrValue::List(items) => match items.iter().find(|i| scalar(i)) {
            Some(bad) => format!("a list containing {}", bad.type_name()),
            None => "list".to_owned(),
        },
        AttrValue::Dict(entries) => match entries.iter().find(|(k, v)| scalar(k) || scalar(v)) {
            Some((AttrValue::Str(k), bad)) => format!("a dict whose `{k}` is {}", bad.type_name()),
            Some((k, _)) => format!("a dict with a {} key", k.type_name()),
            None => "dict".to_owned(),
        },
        other => other.type_name().to_owned(),
    }
}

/// One attribute of a rule kind.
pub struct AttrSpec {
    /// Keyword name.
    pub name: &'static str,
    /// Expected shape.
    pub ty: AttrType,
    /// Whether a call must give it.
    pub required: bool,
}

const fn attr(name: &'static str, ty: AttrType, required: bool) -> AttrSpec {
    AttrSpec { name, ty, required }
}

use AttrType::*;

const DEVICE: &[AttrSpec] = &[
    attr("type", Str, true),
    attr("impls", StrDict, true),
    attr("params", StrDict, false),
    attr("args", LabelDict, false),
    attr("crates", LabelList, false),
    attr("connect", Str, false),
    attr("keys", LabelList, false),
    attr("runtime_args", LabelList, false),
    attr("solo5_devices", StrDict, false),
    attr("block_files", StrDict, false),
    attr("block_tars", StrDict, false),
    attr("crunch", Str, false),
    attr("doc", Str, false),
];
const MATCH: &[AttrSpec] = &[
    attr("type", Str, true),
    attr("key", Label, true),
    attr("cases", LabelDict, true),
    attr("default", Label, false),
    attr("doc", Str, false),
];
const KEY: &[AttrSpec] = &[
    attr("choices", StrList, true),
    attr("default", Str, true),
    attr("target_defaults", StrDict, false),
    attr("doc", Str, false),
];
const RUNTIME_ARG: &[AttrSpec] = &[
    attr("type", Str, false),
    attr("default", Str, false),
    attr("short", Str, false),
    attr("check", Str, false),
    attr("doc", Str, false),
];
const CRATE: &[AttrSpec] = &[attr("srcs", StrList, false), attr("crate_name", Str, false)];
const UNIKERNEL: &[AttrSpec] = &[
    attr("main", Str, true),
    attr("srcs", StrList, false),
    attr("params", StrDict, false),
    attr("args", LabelDict, false),
    attr("runtime_args", LabelList, false),
    attr("targets", StrList, false),
    attr("reporter", Label, false),
    attr("doc", Str, false),
];
const CONFIG_SETTING: &[AttrSpec] = &[attr("flag_values", LabelKeyedStrDict, true)];

/// Attributes every rule accepts, as in Bazel; the embedded engine ignores them.
const COMMON: &[&str] = &["name", "visibility", "tags", "testonly"];

impl RuleKind {
    /// The Starlark function name of this kind.
    pub fn function(self) -> &'static str {
        match self {
            RuleKind::Device => "mirage_device",
            RuleKind::Match => "mirage_match",
            RuleKind::Key => "mirage_key",
            RuleKind::RuntimeArg => "mirage_runtime_arg",
            RuleKind::Crate => "mirage_crate",
            RuleKind::Unikernel => "mirage_unikernel",
            RuleKind::ConfigSetting => "config_setting",
        }
    }

    /// The attributes this kind accepts, besides the common ones.
    pub fn schema(self) -> &'static [AttrSpec] {
        match self {
            RuleKind::Device => DEVICE,
            RuleKind::Match => MATCH,
            RuleKind::Key => KEY,
            RuleKind::RuntimeArg => RUNTIME_ARG,
            RuleKind::Crate => CRATE,
            RuleKind::Unikernel => UNIKERNEL,
            RuleKind::ConfigSetting => CONFIG_SETTING,
        }
    }

    /// Checks a call's attributes against the schema. The error is one line.
    pub fn check(self, attrs: &[(String, AttrValue)]) -> Result<(), String> {
        let f = self.function();
        for (name, value) in attrs {
            if COMMON.contains(&name.as_str()) {
                continue;
            }
            let Some(spec) = self.schema().iter().find(|s| s.name == name) else {
                let known: Vec<_> = self.schema().iter().map(|s| s.name).collect();
                return Err(format!(
                    "{f}() got an unknown attribute `{name}` (known: {})",
                    known.join(", ")
                ));
            };
            // `None` means "not given", as for Bazel attributes.
            if *value != AttrValue::None && !spec.ty.accepts(value) {
                return Err(format!(
                    "{f}() attribute `{name}` must be {}, got {}",
                    spec.ty.describe(),
                    describe_actual(value)
                ));
            }
        }
        if let Some(missing) = self.schema().iter().find(|s| {
            s.required
                && !attrs
                    .iter()
                    .any(|(n, v)| n == s.name && *v != AttrValue::None)
        }) {
            return Err(format!("{f}() requires attribute `{}`", missing.name));
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttrValue {
        AttrValue::Str(v.into())
    }

    #[test]
    fn unknown_attribute_is_named() {
        let err = RuleKind::Key
            .check(&[
                ("choices".into(), AttrValue::List(vec![])),
                ("colour".into(), s("red")),
            ])
            .unwrap_err();
        assert!(err.contains("unknown attribute `colour`"), "{err}");
    }

    #[test]
    fn wrong_type_names_expected_and_actual() {
        let err = RuleKind::Device
            .check(&[
                ("type".into(), AttrValue::Int(3)),
                ("impls".into(), AttrValue::Dict(vec![])),
            ])
            .unwrap_err();
        assert_eq!(
            err,
            "mirage_device() attribute `type` must be a string, got int"
        );
    }

    #[test]
    fn missing_required_attribute() {
        let err = RuleKind::Key
            .check(&[("choices".into(), AttrValue::List(vec![]))])
            .unwrap_err();
        assert_eq!(err, "mirage_key() requires attribute `default`");
    }

    #[test]
    fn select_allowed_in_label_dicts() {
        let args = AttrValue::Dict(vec![(
            s("c"),
            AttrValue::Select(vec![("//k:a".into(), s(":x"))]),
        )]);
        RuleKind::Unikernel
            .check(&[("main".into(), s("a::start")), ("args".into(), args)])
            .unwrap();
    }
}

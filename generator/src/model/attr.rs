//! Attribute shapes: what a rule's attribute value may be, and how a
//! wrong one is described in one line.

use crate::starlark::value::AttrValue;

/// The shape an attribute value must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    /// A string.
    Str,
    /// A list of strings.
    StrList,
    /// A dict of string to string.
    StrDict,
    /// A label string; `select()` allowed.
    Label,
    /// A list of label strings.
    LabelList,
    /// A dict of string to label; values may be `select()`.
    LabelDict,
    /// A dict of label to string.
    LabelKeyedStrDict,
    /// A path relative to the package (a file or directory read by the
    /// generator).
    Path,
    /// A list of such paths.
    PathList,
    /// A dict of string to such a path.
    PathDict,
    /// A dict of string to a path the image itself opens when it runs (a
    /// block file): read by the generator, and needed by `bazel run`.
    RunPathDict,
    /// A string, an integer or a boolean (a runtime arg's default).
    Scalar,
}

impl AttrType {
    pub(super) fn describe(self) -> &'static str {
        match self {
            AttrType::Str | AttrType::Path => "a string",
            AttrType::Label => "a label string",
            AttrType::StrList | AttrType::PathList => "a list of strings",
            AttrType::LabelList => "a list of label strings",
            AttrType::StrDict | AttrType::PathDict | AttrType::RunPathDict => {
                "a dict of string to string"
            }
            AttrType::LabelDict => "a dict of string to label",
            AttrType::LabelKeyedStrDict => "a dict of label to string",
            AttrType::Scalar => "a string, an int or a bool",
        }
    }

    /// The name `schema.bzl` gives this shape.
    pub(super) fn bzl_name(self) -> &'static str {
        match self {
            AttrType::Str => "string",
            AttrType::StrList => "string_list",
            AttrType::StrDict => "string_dict",
            AttrType::Label => "label",
            AttrType::LabelList => "label_list",
            AttrType::LabelDict => "label_dict",
            AttrType::LabelKeyedStrDict => "label_keyed_string_dict",
            AttrType::Path => "path",
            AttrType::PathList => "path_list",
            AttrType::PathDict => "path_dict",
            AttrType::RunPathDict => "run_path_dict",
            AttrType::Scalar => "scalar",
        }
    }

    pub(super) fn accepts(self, v: &AttrValue) -> bool {
        use AttrType::*;
        let is_str = |v: &AttrValue| matches!(v, AttrValue::Str(_));
        let is_label = |v: &AttrValue| match v {
            AttrValue::Str(_) => true,
            AttrValue::Select(cases) => cases
                .iter()
                .all(|(_, v)| matches!(v, AttrValue::Str(_) | AttrValue::None)),
            _ => false,
        };
        match (self, v) {
            (Str | Path, v) => is_str(v),
            (Scalar, v) => matches!(
                v,
                AttrValue::Str(_) | AttrValue::Int(_) | AttrValue::Bool(_)
            ),
            (Label, v) => is_label(v),
            (StrList | LabelList | PathList, AttrValue::List(items)) => items.iter().all(is_str),
            (StrDict | LabelKeyedStrDict | PathDict | RunPathDict, AttrValue::Dict(entries)) => {
                entries.iter().all(|(k, v)| is_str(k) && is_str(v))
            }
            (LabelDict, AttrValue::Dict(entries)) => {
                entries.iter().all(|(k, v)| is_str(k) && is_label(v))
            }
            _ => false,
        }
    }
}

/// The type of `v`, naming the first offending entry of a collection.
pub(super) fn describe_actual(v: &AttrValue) -> String {
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

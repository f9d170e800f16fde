//! The attribute schema of each rule kind: the one contract both engines
//! share.
//!
//! Each attribute is declared once, here, with its shape and its doc. The
//! embedded engine checks every call against it; [`bzl`] renders it as
//! `rules_mirage/private/schema.bzl`, which the Bazel rules read to check
//! the same calls and to find which attributes name labels and files. A
//! test keeps that file equal to [`bzl`]'s output.

use super::attr::describe_actual;
pub use super::attr::AttrType;
use super::rule::RuleKind;
use crate::starlark::value::AttrValue;

/// One attribute of a rule kind.
pub struct AttrSpec {
    /// Keyword name.
    pub name: &'static str,
    /// Expected shape.
    pub ty: AttrType,
    /// Whether a call must give it.
    pub required: bool,
    /// What it means, for users.
    pub doc: &'static str,
}

const fn attr(name: &'static str, ty: AttrType, required: bool, doc: &'static str) -> AttrSpec {
    AttrSpec {
        name,
        ty,
        required,
        doc,
    }
}

use AttrType::*;

const DEVICE: &[AttrSpec] = &[
    attr("type", Str, true, "The device type it provides, such as `console` or `kv_ro`."),
    attr("impls", StrDict, true, "Rust path of the implementation per target, family (`solo5`) or `*`; the most specific wins."),
    attr("params", StrDict, false, "Parameter name to device type, in the order `connect` takes them."),
    attr("args", LabelDict, false, "Parameter name to the device (a label or `select()`) applied to it."),
    attr("crates", LabelList, false, "`mirage_crate`s that provide the implementations."),
    attr("connect", Str, false, "The Rust expression that connects it; default `{impl}::connect({args})`."),
    attr("keys", LabelList, false, "Configure keys its connect code reads as `{key.NAME}`."),
    attr("runtime_args", LabelList, false, "`mirage_runtime_arg`s it takes, after its device arguments."),
    attr("solo5_devices", StrDict, false, "Solo5 device name to kind (`BLOCK_BASIC`, `NET_BASIC`) for the manifest."),
    attr("block_files", RunPathDict, false, "Solo5 block device name to the file attached to it."),
    attr("block_tars", PathDict, false, "Solo5 block device name to a directory the generator archives onto it."),
    attr("block_sizes", StrDict, false, "Solo5 block device name to the size of a zero-filled disk the build makes (`64K`, `1M`) and keeps."),
    attr("block_littlefs", PathDict, false, "Solo5 block device name to a directory whose files the disk of its `block_sizes` starts with, as a littlefs disk."),
    attr("crunch", Path, false, "A directory embedded into the image, read as `{crunch}`."),
    attr("doc", Str, false, "What it is, for generated comments and `mirage describe`."),
];
const MATCH: &[AttrSpec] = &[
    attr("type", Str, true, "The device type every case provides."),
    attr("key", Label, true, "The configure key it matches on."),
    attr("cases", LabelDict, true, "Key value to the device chosen."),
    attr("default", Label, false, "The device when no case matches."),
    attr("doc", Str, false, "What it chooses."),
];
const KEY: &[AttrSpec] = &[
    attr("choices", StrList, true, "The values the key may take."),
    attr("default", Str, true, "The value when none is given."),
    attr(
        "target_defaults",
        StrDict,
        false,
        "Defaults per target, family (`solo5`) or `*`; the most specific wins.",
    ),
    attr("doc", Str, false, "What it selects."),
];
const RUNTIME_ARG: &[AttrSpec] = &[
    attr("type", Str, false, "`string` (default), `int` or `bool`."),
    attr(
        "default",
        Scalar,
        false,
        "The value when absent (of the argument's type); without one the argument is required.",
    ),
    attr(
        "short",
        Str,
        false,
        "A one-letter alias, such as `l` for `--logs`.",
    ),
    attr(
        "check",
        Str,
        false,
        "Rust path of a `fn(&str) -> Result<(), String>` validating values.",
    ),
    attr(
        "doc",
        Str,
        false,
        "Help text, printed by `--help` inside the image.",
    ),
];
const CRATE: &[AttrSpec] = &[
    attr(
        "srcs",
        PathList,
        false,
        "The crate's files: its Cargo.toml and sources.",
    ),
    attr(
        "crate_name",
        Str,
        false,
        "The crate's Rust name, if not the package name with `_`.",
    ),
];
const UNIKERNEL: &[AttrSpec] = &[
    attr(
        "main",
        Str,
        true,
        "Rust path of the `start` function, called once every device is connected.",
    ),
    attr(
        "srcs",
        PathList,
        false,
        "The unikernel crate's files: its Cargo.toml and sources.",
    ),
    attr(
        "params",
        StrDict,
        false,
        "Parameter name to device type, in the order `start` takes them.",
    ),
    attr(
        "args",
        LabelDict,
        false,
        "Parameter name to the device (a label or `select()`) applied to it.",
    ),
    attr(
        "runtime_args",
        LabelList,
        false,
        "`mirage_runtime_arg`s `start` takes, after its devices.",
    ),
    attr(
        "targets",
        StrList,
        false,
        "The targets it builds for; every target when empty.",
    ),
    attr(
        "reporter",
        Label,
        false,
        "The log reporter connected first; `None` for none.",
    ),
    attr(
        "metrics",
        Label,
        false,
        "A `metrics` device (`//rules_mirage/devices:metrics`): the runtime records its metrics and serves them; none when absent.",
    ),
    attr("doc", Str, false, "What it does."),
];
const CONFIG_SETTING: &[AttrSpec] = &[attr(
    "flag_values",
    LabelKeyedStrDict,
    true,
    "Key to the value it must have.",
)];

const RELEASE: &[AttrSpec] = &[
    attr("unikernel", Label, true, "The `mirage_unikernel` released."),
    attr(
        "targets",
        StrList,
        true,
        "The targets whose images the release holds, in order.",
    ),
    attr(
        "args",
        StrList,
        false,
        "Runtime arguments its OCI images start the unikernel with.",
    ),
    attr("doc", Str, false, "What the release is for."),
];

/// Attributes every rule accepts, as in Bazel; the embedded engine ignores them.
pub const COMMON: &[&str] = &["name", "visibility", "tags", "testonly"];

impl RuleKind {
    /// The attributes this kind accepts, besides the common ones.
    pub fn schema(self) -> &'static [AttrSpec] {
        match self {
            RuleKind::Device => DEVICE,
            RuleKind::Match => MATCH,
            RuleKind::Key => KEY,
            RuleKind::RuntimeArg => RUNTIME_ARG,
            RuleKind::Crate => CRATE,
            RuleKind::Unikernel => UNIKERNEL,
            RuleKind::Release => RELEASE,
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

/// A Starlark string literal.
fn starlark_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `rules_mirage/private/schema.bzl`: every rule's attributes as Starlark.
pub fn bzl() -> String {
    let mut out = String::from(
        "\"\"\"The attributes of rules_mirage's rules: shape, whether required, doc.\n\n\
         Generated from generator/src/model/schema.rs; `MIRAGE_BLESS=1 cargo test\n\
         -p mirage schema` rewrites it. The embedded engine checks BUILD files\n\
         against the same schema.\n\"\"\"\n\n",
    );
    out.push_str(&format!(
        "COMMON = [{}]\n\nSCHEMA = {{\n",
        COMMON
            .iter()
            .map(|c| starlark_str(c))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for kind in RuleKind::MIRAGE {
        out.push_str(&format!("    {}: {{\n", starlark_str(kind.function())));
        for a in kind.schema() {
            out.push_str(&format!(
                "        {}: struct(type = {}, mandatory = {}, doc = {}),\n",
                starlark_str(a.name),
                starlark_str(a.ty.bzl_name()),
                if a.required { "True" } else { "False" },
                starlark_str(a.doc)
            ));
        }
        out.push_str("    },\n");
    }
    out.push_str("}\n");
    out
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

    #[test]
    fn every_attribute_has_a_doc() {
        for kind in RuleKind::MIRAGE {
            for a in kind.schema() {
                assert!(a.doc.ends_with('.'), "{}.{}", kind.function(), a.name);
            }
        }
    }

    /// The Bazel rules read the schema from this file: it must be current.
    #[test]
    fn schema_bzl_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../rules_mirage/private/schema.bzl"
        );
        if crate::golden::blessing() {
            std::fs::write(path, bzl()).unwrap();
        }
        let file = std::fs::read_to_string(path).unwrap_or_default();
        assert_eq!(file, bzl(), "{path} is stale: MIRAGE_BLESS=1 rewrites it");
    }
}

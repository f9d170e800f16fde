//! Runtime arguments: values the image reads at boot.
//!
//! Like Functoria's `Runtime_arg`, each is declared by a device or by the
//! unikernel, parsed from argv (unix) or the Solo5 command line, and listed
//! by `--help` inside the image.

use super::rule::Rule;
use crate::error::{Error, Loc, Result};
use crate::label::Label;
use crate::starlark::value::AttrValue;

/// The value type of a runtime argument: the runtime's own definition,
/// so the generator and the image agree on kinds and valid values.
pub use mirage_runtime::args::Kind as ArgKind;

/// A declared runtime argument.
#[derive(Clone, Debug)]
pub struct RuntimeArg {
    /// Its label; its name is the flag, `--NAME`.
    pub label: Label,
    /// The flag name.
    pub name: String,
    /// Value type.
    pub kind: ArgKind,
    /// The value when absent; `None` makes the argument required.
    pub default: Option<String>,
    /// A one-letter alias, such as `l` for `--logs`.
    pub short: Option<char>,
    /// Rust path of a `fn(&str) -> Result<(), String>` validating values.
    pub check: Option<String>,
    /// Help text.
    pub doc: String,
    /// Where it is declared.
    pub loc: Loc,
}

impl RuntimeArg {
    /// Builds an argument from its rule, checking kind, default and alias.
    pub fn from_rule(rule: &Rule) -> Result<RuntimeArg> {
        let name = rule.label.name.clone();
        let valid_name = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && name.starts_with(|c: char| c.is_ascii_lowercase());
        if !valid_name {
            return Err(Error::at(
                &rule.loc,
                format!("runtime arg name `{name}` must be lowercase letters, digits and `-`"),
            ));
        }
        if mirage_runtime::args::BUILTIN.contains(&name.as_str()) {
            return Err(Error::at(
                &rule.loc,
                format!("runtime arg name `{name}` is taken: every image has --{name}"),
            ));
        }
        let kind_name = rule.str("type").unwrap_or("string");
        let kind = ArgKind::ALL
            .into_iter()
            .find(|k| k.name() == kind_name)
            .ok_or_else(|| {
                let names: Vec<&str> = ArgKind::ALL.iter().map(|k| k.name()).collect();
                Error::at(
                    &rule.loc,
                    format!(
                        "unknown runtime arg type `{kind_name}`: expected one of {}",
                        names.join(", ")
                    ),
                )
            })?;
        // `default = 7` and `default = True` mean what `"7"` and `"true"` do.
        let default = match rule.get("default") {
            Some(AttrValue::Str(s)) => Some(s.clone()),
            Some(AttrValue::Int(n)) => Some(n.to_string()),
            Some(AttrValue::Bool(b)) => Some(b.to_string()),
            _ => None,
        };
        if let Some(d) = &default {
            if !kind.accepts(d) {
                return Err(Error::at(
                    &rule.loc,
                    format!(
                        "default `{d}` of runtime arg --{name} is not a valid {}",
                        kind.name()
                    ),
                ));
            }
        }
        let short = match rule.str("short") {
            None => None,
            Some(s) if s.len() == 1 && s.chars().all(|c| c.is_ascii_alphabetic()) => {
                s.chars().next()
            }
            Some(s) => {
                return Err(Error::at(
                    &rule.loc,
                    format!("short name `{s}` of --{name} must be one letter"),
                ))
            }
        };
        Ok(RuntimeArg {
            label: rule.label.clone(),
            name,
            kind,
            default,
            short,
            check: rule.str("check").map(str::to_owned),
            doc: rule.str("doc").unwrap_or_default().to_owned(),
            loc: rule.loc.clone(),
        })
    }
}

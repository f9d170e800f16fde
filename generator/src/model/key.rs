//! Configure keys: values fixed when the unikernel is configured.
//!
//! Like Functoria's configure-time `Key`s (`--net`, `--dhcp`), a key has a
//! closed set of choices and a default. Choices between devices (`mirage_match`,
//! `select()`) and connect code read them. Bazel sees them as build settings.
//! A key may default differently per target (`--net` is `socket` on unix and
//! `direct` on Solo5), matched like device `impls`: exact target, then
//! family, then the plain default.

use super::rule::Rule;
use crate::error::{Error, Loc, Result};
use crate::label::Label;
use crate::target::{Target, TargetPattern};

/// How generated code reads a key's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Choices `true` and `false`: a `bool` literal.
    Bool,
    /// Any other choices: a string literal.
    String,
}

/// A declared configure key.
#[derive(Clone, Debug)]
pub struct Key {
    /// Its label; its name is the command-line flag.
    pub label: Label,
    /// Allowed values.
    pub choices: Vec<String>,
    /// The value when none is given and no target default applies.
    pub default: String,
    /// Defaults per target pattern (`unix`, `spt`, `solo5`), as declared.
    pub target_defaults: Vec<(TargetPattern, String)>,
    /// What it selects.
    pub doc: String,
    /// Where it is declared.
    pub loc: Loc,
}

impl Key {
    /// Builds a key from its rule; the default must be one of the choices.
    pub fn from_rule(rule: &Rule) -> Result<Key> {
        let choices: Vec<String> = rule
            .str_list("choices")
            .into_iter()
            .map(str::to_owned)
            .collect();
        let default = rule.str("default").unwrap_or_default().to_owned();
        if choices.is_empty() {
            return Err(Error::at(
                &rule.loc,
                format!("key `{}` has no choices", rule.label.name),
            ));
        }
        if !choices.contains(&default) {
            return Err(Error::at(
                &rule.loc,
                format!(
                    "default `{default}` of key `{}` is not one of its choices: {}",
                    rule.label.name,
                    choices.join(", ")
                ),
            ));
        }
        let mut target_defaults = Vec::new();
        for (pattern, value) in rule.dict("target_defaults") {
            let value = value.as_str().unwrap_or_default();
            if !choices.iter().any(|c| c == value) {
                return Err(Error::at(
                    &rule.loc,
                    format!(
                        "target default `{value}` of key `{}` is not one of its choices: {}",
                        rule.label.name,
                        choices.join(", ")
                    ),
                ));
            }
            let pattern = TargetPattern::parse(pattern).map_err(|e| Error::at(&rule.loc, e))?;
            target_defaults.push((pattern, value.to_owned()));
        }
        Ok(Key {
            label: rule.label.clone(),
            choices,
            default,
            target_defaults,
            doc: rule.str("doc").unwrap_or_default().to_owned(),
            loc: rule.loc.clone(),
        })
    }

    /// The key's type, from its choices.
    pub fn typ(&self) -> KeyType {
        let mut choices: Vec<&str> = self.choices.iter().map(String::as_str).collect();
        choices.sort_unstable();
        if choices == ["false", "true"] {
            KeyType::Bool
        } else {
            KeyType::String
        }
    }

    /// The flag name, `--NAME`.
    pub fn name(&self) -> &str {
        &self.label.name
    }

    /// The value on `target` when none is given: the most specific target
    /// default, else the plain default.
    pub fn default_for(&self, target: Target) -> &str {
        TargetPattern::most_specific(&self.target_defaults, target).unwrap_or(&self.default)
    }

    /// Checks a value given on the command line.
    pub fn check(&self, value: &str) -> Result<()> {
        if self.choices.iter().any(|c| c == value) {
            Ok(())
        } else {
            Err(Error::at(
                &self.loc,
                format!(
                    "invalid value `{value}` for key --{}: expected one of {}",
                    self.name(),
                    self.choices.join(", ")
                ),
            ))
        }
    }
}

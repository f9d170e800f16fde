//! Configure keys: values fixed when the unikernel is configured.
//!
//! Like Functoria's configure-time `Key`s (`--net`, `--dhcp`), a key has a
//! closed set of choices and a default. Choices between devices (`mirage_match`,
//! `select()`) and connect code read them. Bazel sees them as build settings.

use super::rule::Rule;
use crate::error::{Error, Loc, Result};
use crate::label::Label;

/// A declared configure key.
#[derive(Clone, Debug)]
pub struct Key {
    /// Its label; its name is the command-line flag.
    pub label: Label,
    /// Allowed values.
    pub choices: Vec<String>,
    /// The value when none is given.
    pub default: String,
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
        Ok(Key {
            label: rule.label.clone(),
            choices,
            default,
            doc: rule.str("doc").unwrap_or_default().to_owned(),
            loc: rule.loc.clone(),
        })
    }

    /// The flag name, `--NAME`.
    pub fn name(&self) -> &str {
        &self.label.name
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

//! The configuration of a unikernel: target and configure-key values.
//!
//! `mirage configure` records it in the output directory's `context.json`
//! (like mirage's `mirage/context`); `build`, `run`, `query` and `describe`
//! reuse it when given no `-t` and no keys.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::target::Target;

/// A target and the keys given explicitly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configuration {
    /// The target.
    pub target: Target,
    /// Keys set on the command line (defaults are not recorded).
    pub keys: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct Recorded {
    target: String,
    keys: Vec<RecordedKey>,
}

#[derive(serde::Deserialize)]
struct RecordedKey {
    name: String,
    value: String,
}

impl Configuration {
    /// The configuration to use: the command line's if it says anything,
    /// else the one recorded in `dir` (the unikernel's directory), else
    /// unix with default keys. A bad `-t` is a command-line error.
    pub fn choose(
        target: Option<&str>,
        keys: BTreeMap<String, String>,
        dir: &Path,
    ) -> Result<Configuration> {
        if let Some(t) = target {
            return Ok(Configuration {
                target: Target::parse(t).map_err(Error::user)?,
                keys,
            });
        }
        if !keys.is_empty() {
            return Ok(Configuration {
                target: Target::Unix,
                keys,
            });
        }
        match std::fs::read_to_string(dir.join("context.json")) {
            Ok(text) => {
                let rec: Recorded = serde_json::from_str(&text).map_err(|e| {
                    Error::user(format!(
                        "{}: unreadable recorded configuration: {e}; run mirage configure",
                        dir.display()
                    ))
                })?;
                let target = Target::parse(&rec.target).map_err(|e| {
                    Error::user(format!("{}: {e}; run mirage configure", dir.display()))
                })?;
                Ok(Configuration {
                    target,
                    keys: rec.keys.into_iter().map(|k| (k.name, k.value)).collect(),
                })
            }
            Err(_) => Ok(Configuration {
                target: Target::Unix,
                keys: BTreeMap::new(),
            }),
        }
    }
}

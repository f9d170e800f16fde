//! Declarations as Bazel evaluated them (`--declarations FILE`).
//!
//! Under Bazel the generator does not evaluate BUILD files again, nor the
//! .bzl files they load, which need not be inputs of the action: every
//! declaration target hands over the embedded engine's native call it
//! stands for (`mirage_device(**{...})`, `config_setting(**{...})`), with
//! the line and column of the opening parenthesis Bazel recorded for the
//! BUILD-file call that made it. The loader evaluates those calls in place
//! of their package's BUILD file; packages without any are read as usual.
//!
//! The file is a JSON list of `{"package", "location", "call"}` objects,
//! written by `rules_mirage/private/unikernel.bzl`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use starlark::environment::Module;
use starlark::eval::Evaluator;
use starlark::syntax::AstModule;

use super::natives::PackageState;
use super::{dialect, starlark_error, Loader};
use crate::error::{Error, Loc, Result};
use crate::label::{Label, Package};
use crate::workspace::Workspace;

/// One declaration: a native call and where its BUILD file makes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The native call, as Starlark source.
    pub call: String,
    /// 1-based line of the BUILD-file call; 0 when Bazel recorded none (a
    /// `config_setting` written in the BUILD file itself).
    pub line: usize,
    /// 1-based column of that call's opening parenthesis.
    pub paren: usize,
}

/// The declarations of every package Bazel handed over.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    packages: BTreeMap<Package, Vec<Call>>,
}

impl Declared {
    /// Reads a declarations file; labels are canonicalised for `ws`.
    pub fn read(path: &Path, ws: &Workspace) -> Result<Declared> {
        let bad = |why: String| Error::system(format!("--declarations {}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let entries: Vec<Value> = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let mut packages: BTreeMap<Package, Vec<Call>> = BTreeMap::new();
        for entry in entries {
            let field = |name: &str| {
                entry[name]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(format!("an entry without a string `{name}`")))
            };
            let package = field("package")?;
            let root = Package {
                repo: None,
                path: String::new(),
            };
            let label =
                Label::parse(&format!("{package}:BUILD"), &root).map_err(|e| bad(e.to_string()))?;
            let (line, paren) = match field("location")?.split_once(':') {
                Some((l, c)) => (l.parse().unwrap_or(0), c.parse().unwrap_or(0)),
                None => (0, 0),
            };
            let call = Call {
                call: field("call")?,
                line,
                paren,
            };
            let calls = packages.entry(ws.canonical(label).package()).or_default();
            if !calls.contains(&call) {
                calls.push(call);
            }
        }
        // BUILD-file order, as the embedded engine records a package.
        for calls in packages.values_mut() {
            calls.sort_by(|a, b| (a.line, a.paren, &a.call).cmp(&(b.line, b.paren, &b.call)));
        }
        Ok(Declared { packages })
    }

    /// The calls of `package`, if Bazel handed any over.
    pub fn calls(&self, package: &Package) -> Option<&[Call]> {
        self.packages.get(package).map(Vec::as_slice)
    }
}

impl Loader<'_> {
    /// Records the calls Bazel evaluated for a package, each at the BUILD
    /// line Bazel gave (`source` is the BUILD file, for columns).
    pub(super) fn eval_declared(
        &self,
        calls: &[Call],
        source: &str,
        state: &PackageState,
    ) -> Result<()> {
        let lines: Vec<&str> = source.lines().collect();
        for call in calls {
            let loc = Loc {
                file: state.build_file.clone(),
                line: call.line.max(1),
                col: match call.line.checked_sub(1).and_then(|l| lines.get(l)) {
                    Some(line) => call_start(line, call.paren),
                    None => 1,
                },
            };
            *state.given.borrow_mut() = Some(loc.clone());
            let ast = AstModule::parse(&state.build_file, call.call.clone(), &dialect())
                .map_err(|e| relocate(starlark_error(e, ""), &loc))?;
            Module::with_temp_heap(|module| {
                let mut eval = Evaluator::new(&module);
                eval.extra = Some(state);
                eval.eval_module(ast, &self.declared_globals)
                    .map(drop)
                    .map_err(|e| relocate(starlark_error(e, ""), &loc))
            })?;
        }
        Ok(())
    }
}

/// A user error moved to `loc`: a declared call's, whose source is Bazel's.
fn relocate(e: Error, loc: &Loc) -> Error {
    match e {
        Error::User { message, .. } => Error::at(loc, message),
        other => other,
    }
}

/// The 1-based column where the call whose `(` is at column `paren` starts
/// in `line`: its callee (`name` or `module.name`), as the embedded engine
/// locates a call.
pub fn call_start(line: &str, paren: usize) -> usize {
    let before: Vec<char> = line.chars().take(paren.saturating_sub(1)).collect();
    let callee = before
        .iter()
        .rev()
        .take_while(|c| c.is_alphanumeric() || **c == '_' || **c == '.')
        .count();
    (before.len() - callee) + 1
}

#[cfg(test)]
mod tests {
    use super::call_start;

    #[test]
    fn a_call_starts_at_its_callee() {
        assert_eq!(call_start("mirage_unikernel(", 17), 1);
        assert_eq!(call_start("    native.config_setting(", 26), 5);
        assert_eq!(call_start("[mirage_device(name = n) for n in x]", 15), 2);
        assert_eq!(call_start("(", 1), 1);
    }
}

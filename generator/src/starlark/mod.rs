//! The Starlark front-end: evaluates BUILD files and the .bzl files they load.
//!
//! [`Loader`] is the one glue object: it owns the globals and the dialect,
//! resolves `load()` labels to files, caches frozen .bzl modules and
//! evaluated packages, and turns Starlark errors into [`Error`]s that point
//! at a file:line. Loads of `rules_mirage/private/rules.bzl` are served with the
//! recording natives instead of the files Bazel reads (see DESIGN.md, "One
//! defs.bzl, two engines").

pub mod declared;
pub mod glob;
pub mod natives;
pub mod value;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use starlark::codemap::FileSpan;
use starlark::environment::{FrozenModule, Globals, GlobalsBuilder, LibraryExtension, Module};
use starlark::eval::{Evaluator, ReturnFileLoader};
use starlark::syntax::{AstModule, Dialect};

use crate::error::{Error, Loc, Result};
use crate::label::{Label, Package, RULES_MIRAGE};
use crate::model::rule::Rule;
use crate::workspace::Workspace;
use natives::PackageState;

/// The package whose .bzl files the embedded engine serves natively.
const PRIVATE_PACKAGE: &str = "rules_mirage/private";
/// The one file of it the embedded engine serves natively: the rules.
const NATIVE_FILE: &str = "rules.bzl";

/// BUILD file names, in Bazel's order of preference.
const BUILD_FILES: &[&str] = &["BUILD.bazel", "BUILD"];

/// The rules of one evaluated BUILD file.
#[derive(Debug)]
pub struct PackageRules {
    /// Display path of the BUILD file.
    pub build_file: String,
    /// Rules in declaration order, shared: the model reads them, never
    /// copies them.
    pub rules: Vec<Rc<Rule>>,
    /// Index into `rules` by target name.
    by_name: HashMap<String, usize>,
}

impl PackageRules {
    /// The rule named `name`.
    pub fn get(&self, name: &str) -> Option<&Rc<Rule>> {
        self.by_name.get(name).map(|&i| &self.rules[i])
    }
}

/// Evaluates Starlark files of a workspace, once each.
pub struct Loader<'w> {
    ws: &'w Workspace,
    globals: Globals,
    /// For Bazel's declared calls: the globals and the rules' natives.
    declared_globals: Globals,
    private: FrozenModule,
    modules: RefCell<HashMap<Label, FrozenModule>>,
    loading: RefCell<Vec<Label>>,
    packages: RefCell<HashMap<Package, Rc<PackageRules>>>,
}

/// Converts a Starlark span to a [`Loc`] (1-based line and column).
pub fn span_loc(span: &FileSpan) -> Loc {
    let pos = span.resolve_span().begin;
    Loc {
        file: span.filename().to_owned(),
        line: pos.line + 1,
        col: pos.column + 1,
    }
}

pub(crate) fn dialect() -> Dialect {
    Dialect {
        enable_f_strings: false,
        ..Dialect::Extended
    }
}

impl<'w> Loader<'w> {
    /// A loader for `ws`, with nothing evaluated yet.
    pub fn new(ws: &'w Workspace) -> Result<Loader<'w>> {
        let build_globals = || {
            GlobalsBuilder::extended_by(&[
                LibraryExtension::StructType,
                LibraryExtension::Print,
                LibraryExtension::Json,
            ])
            .with(natives::build_api)
            .with(natives::native_module)
        };
        let globals = build_globals().build();
        let declared_globals = build_globals().with(natives::rule_natives).build();
        let private_globals = GlobalsBuilder::new().with(natives::rule_natives).build();
        let private = FrozenModule::from_globals(&private_globals)
            .map_err(|e| Error::system(format!("cannot build native module: {e:?}")))?;
        Ok(Loader {
            ws,
            globals,
            declared_globals,
            private,
            modules: RefCell::default(),
            loading: RefCell::default(),
            packages: RefCell::default(),
        })
    }

    /// The workspace this loader reads.
    pub fn workspace(&self) -> &Workspace {
        self.ws
    }

    /// The rules of `package`, evaluating its BUILD file on first use.
    /// `from` is where the package was referenced, for error messages.
    pub fn package(&self, package: &Package, from: Option<&Loc>) -> Result<Rc<PackageRules>> {
        if let Some(p) = self.packages.borrow().get(package) {
            return Ok(p.clone());
        }
        let fail = |msg: String| match from {
            Some(loc) => Error::at(loc, msg),
            None => Error::user(msg),
        };
        let dir = self.ws.package_dir(package).map_err(fail)?;
        let Some(file) = BUILD_FILES.iter().find(|f| dir.join(f).is_file()) else {
            return Err(fail(format!(
                "no such package `{package}`: no BUILD.bazel file in {}",
                self.ws.display_path(package, "")
            )));
        };
        let build_file = self.ws.display_path(package, file);
        let source = read(&dir.join(file), &build_file)?;
        let state = PackageState {
            package: package.clone(),
            dir,
            build_file: build_file.clone(),
            rules: RefCell::default(),
            names: RefCell::default(),
            given: RefCell::default(),
        };
        // Under Bazel, every package comes evaluated: its BUILD file's
        // loads are not inputs of the action.
        match &self.ws.declared {
            Some(declared) => {
                let calls = declared.calls(package).ok_or_else(|| {
                    fail(format!(
                        "`{package}` is not among the declarations Bazel handed over: \
                         no attribute the rules follow leads to it"
                    ))
                })?;
                self.eval_declared(calls, &source, &state)?;
            }
            None => drop(self.eval(&build_file, source, package, Some(&state))?),
        }
        let rules = Rc::new(PackageRules {
            build_file,
            rules: state.rules.into_inner().into_iter().map(Rc::new).collect(),
            by_name: state.names.into_inner(),
        });
        self.packages
            .borrow_mut()
            .insert(package.clone(), rules.clone());
        Ok(rules)
    }

    /// The rule named by `label`, referenced at `from` as a `what`
    /// ("device", "key", ...), which unknown-label errors name.
    pub fn rule(&self, label: &Label, from: Option<&Loc>, what: &str) -> Result<Rc<Rule>> {
        let package = self.package(&label.package(), from)?;
        package.get(&label.name).cloned().ok_or_else(|| {
            let names = package.rules.iter().map(|r| r.label.name.as_str());
            let msg = format!(
                "unknown {what} `{label}`: {} declares no `{}`{}",
                package.build_file,
                label.name,
                crate::suggest::did_you_mean(&label.name, names)
            );
            match from {
                Some(loc) => Error::at(loc, msg),
                None => Error::user(msg),
            }
        })
    }

    /// Evaluates the .bzl file `label` (and what it loads), as a `load()`
    /// from the command line would.
    pub fn load_bzl(&self, label: &Label) -> Result<()> {
        let from = Loc {
            file: "<command line>".into(),
            line: 1,
            col: 1,
        };
        self.bzl(label, &from).map(drop)
    }

    /// Evaluates one file. BUILD files pass `state` to collect their rules;
    /// .bzl files return their frozen module.
    fn eval(
        &self,
        display: &str,
        source: String,
        package: &Package,
        state: Option<&PackageState>,
    ) -> Result<FrozenModule> {
        let ast = AstModule::parse(display, source, &dialect())
            .map_err(|e| starlark_error(e, display))?;
        let mut deps: Vec<(String, FrozenModule)> = Vec::new();
        for load in ast.loads() {
            let loc = span_loc(&load.span);
            let label = Label::parse(load.module_id, package).map_err(|e| Error::at(&loc, e))?;
            let module = self.bzl(&self.ws.canonical(label), &loc)?;
            deps.push((load.module_id.to_owned(), module));
        }
        let map: HashMap<&str, &FrozenModule> =
            deps.iter().map(|(id, m)| (id.as_str(), m)).collect();
        let loader = ReturnFileLoader { modules: &map };
        Module::with_temp_heap(|module| {
            {
                let mut eval = Evaluator::new(&module);
                eval.set_loader(&loader);
                if let Some(state) = state {
                    eval.extra = Some(state);
                }
                eval.eval_module(ast, &self.globals)
                    .map_err(|e| starlark_error(e, state.map_or(display, |s| &s.build_file)))?;
            }
            module
                .freeze()
                .map_err(|e| Error::system(format!("{display}: cannot freeze module: {e:?}")))
        })
    }

    /// The frozen module of a .bzl file, evaluating it on first use.
    fn bzl(&self, label: &Label, from: &Loc) -> Result<FrozenModule> {
        if self.is_private(label) {
            return Ok(self.private.clone());
        }
        if let Some(m) = self.modules.borrow().get(label) {
            return Ok(m.clone());
        }
        if !label.name.ends_with(".bzl") {
            return Err(Error::at(
                from,
                format!("cannot load `{label}`: only .bzl files can be loaded"),
            ));
        }
        if let Some(start) = self.loading.borrow().iter().position(|l| l == label) {
            let cycle: Vec<String> = self.loading.borrow()[start..]
                .iter()
                .map(ToString::to_string)
                .collect();
            return Err(Error::at(
                from,
                format!("load cycle: {} -> {label}", cycle.join(" -> ")),
            ));
        }
        let package = label.package();
        let dir = self
            .ws
            .package_dir(&package)
            .map_err(|e| Error::at(from, e))?;
        let path = dir.join(&label.name);
        if !path.is_file() {
            return Err(Error::at(
                from,
                format!("cannot load `{label}`: no such file"),
            ));
        }
        let display = self.ws.display_path(&package, &label.name);
        let source = read(&path, &display)?;
        self.loading.borrow_mut().push(label.clone());
        let result = self.eval(&display, source, &package, None);
        self.loading.borrow_mut().pop();
        let module = result?;
        self.modules
            .borrow_mut()
            .insert(label.clone(), module.clone());
        Ok(module)
    }

    fn is_private(&self, label: &Label) -> bool {
        let home_repo = if self.ws.home_is_root() {
            None
        } else {
            Some(RULES_MIRAGE)
        };
        label.repo.as_deref() == home_repo
            && label.package == PRIVATE_PACKAGE
            && label.name == NATIVE_FILE
    }
}

fn read(path: &std::path::Path, display: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::system(format!("{display}: {e}")))
}

/// One line of cause, at the BUILD file frame if the error passed through one.
pub(crate) fn starlark_error(e: starlark::Error, build_file: &str) -> Error {
    let in_build = e
        .call_stack()
        .frames
        .iter()
        .filter_map(|f| f.location.as_ref())
        .find(|span| span.filename() == build_file)
        .map(span_loc);
    let loc = in_build.or_else(|| e.span().map(span_loc));
    let message = e.without_diagnostic().to_string();
    let message = message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("Starlark error")
        .trim();
    let message = message.strip_prefix("error: ").unwrap_or(message);
    Error::User {
        loc,
        message: format!("{message}{}", load_hint(message)),
    }
}

/// For `Variable X not found` where X is a rules_mirage symbol: the load
/// that provides it.
fn load_hint(message: &str) -> String {
    let Some(name) = message
        .strip_prefix("Variable `")
        .and_then(|m| m.split_once('`'))
        .filter(|(_, rest)| rest.starts_with(" not found"))
        .map(|(name, _)| name)
    else {
        return String::new();
    };
    if PUBLIC_SYMBOLS.contains(&name) {
        " (add it to `load(\"@rules_mirage//rules_mirage:defs.bzl\", ...)`)".to_owned()
    } else {
        String::new()
    }
}

/// What `rules_mirage/defs.bzl` exports (a test keeps this list equal).
pub const PUBLIC_SYMBOLS: &[&str] = &[
    "block_of_file",
    "chamelon",
    "crunch",
    "direct_kv_ro",
    "direct_kv_rw",
    "encrypted_block",
    "generic_block",
    "generic_kv_ro",
    "generic_kv_rw",
    "http_client",
    "https_server",
    "kv_rw_mem",
    "mirage_boot_test",
    "mirage_crate",
    "mirage_device",
    "mirage_if",
    "mirage_key",
    "mirage_match",
    "mirage_release",
    "mirage_runtime_arg",
    "mirage_unikernel",
    "ramdisk",
    "tar_kv_ro",
    "tls_client",
    "tls_server",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_symbols_are_what_defs_bzl_exports() {
        let defs = include_str!("../../../rules_mirage/defs.bzl");
        let exported: Vec<&str> = defs
            .lines()
            .filter_map(|l| l.split_once(" = _"))
            .map(|(name, _)| name)
            .collect();
        assert_eq!(exported, PUBLIC_SYMBOLS);
    }

    #[test]
    fn a_missing_load_names_its_file() {
        assert!(load_hint("Variable `crunch` not found").contains("defs.bzl"));
        assert_eq!(load_hint("Variable `crunchy` not found"), "");
        assert_eq!(load_hint("Parse error"), "");
    }
}

//! Native functions the embedded engine provides to Starlark.
//!
//! Two groups: [`build_api`] holds what Bazel offers every BUILD and .bzl
//! file (`glob`, `select`, `config_setting`, `native.*`); [`rule_natives`]
//! holds the rules that `rules_mirage/private/*.bzl` define under Bazel. Here
//! they record the call (kind, attributes, BUILD file:line) into the
//! [`PackageState`] of the BUILD file being evaluated.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::anyhow;
use starlark::any::ProvidesStaticType;
use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;
use starlark::values::dict::DictRef;
use starlark::values::list::UnpackList;
use starlark::values::none::NoneType;
use starlark_derive::starlark_module;

use super::span_loc;
use super::value::{AttrValue, Select};
use crate::error::Loc;
use crate::label::{Label, Package};
use crate::model::rule::{Rule, RuleKind};

/// What a BUILD file evaluation accumulates: its rules.
#[derive(ProvidesStaticType)]
pub struct PackageState {
    /// The package being evaluated.
    pub package: Package,
    /// Its directory, for `glob()`.
    pub dir: PathBuf,
    /// The BUILD file's display path, to find its frame in call stacks.
    pub build_file: String,
    /// Rules recorded so far, in call order.
    pub rules: RefCell<Vec<Rule>>,
    /// Names taken so far, with the index of their rule.
    pub names: RefCell<HashMap<String, usize>>,
    /// Where the call being evaluated is, when Bazel said so (see
    /// [`super::declared`]) rather than the call stack.
    pub given: RefCell<Option<Loc>>,
}

fn state<'a>(eval: &Evaluator<'_, 'a, '_>, what: &str) -> anyhow::Result<&'a PackageState> {
    eval.extra
        .and_then(|e| e.downcast_ref::<PackageState>())
        .ok_or_else(|| anyhow!("{what} can only be called while evaluating a BUILD file"))
}

/// The BUILD file line that (perhaps through macros) made this call.
fn build_loc(eval: &Evaluator, state: &PackageState) -> Loc {
    if let Some(loc) = state.given.borrow().clone() {
        return loc;
    }
    let stack = eval.call_stack();
    stack
        .frames
        .iter()
        .filter_map(|f| f.location.as_ref())
        .chain(eval.call_stack_top_location().as_ref())
        .find(|span| span.filename() == state.build_file)
        .map(span_loc)
        .or_else(|| eval.call_stack_top_location().as_ref().map(span_loc))
        .unwrap_or(Loc {
            file: state.build_file.clone(),
            line: 1,
            col: 1,
        })
}

fn record(kind: RuleKind, kwargs: DictRef, eval: &mut Evaluator) -> anyhow::Result<NoneType> {
    let state = state(eval, &format!("{}()", kind.function()))?;
    let attrs = kwargs
        .iter()
        .map(|(k, v)| {
            let key = k.unpack_str().unwrap_or_default().to_owned();
            let value = AttrValue::from_value(v)
                .map_err(|e| anyhow!("{}() attribute `{key}`: {e}", kind.function()))?;
            Ok((key, value))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let name = match attrs.iter().find(|(k, _)| k == "name") {
        Some((_, AttrValue::Str(n))) => n.clone(),
        Some((_, v)) => {
            return Err(anyhow!(
                "{}() attribute `name` must be a string, got {}",
                kind.function(),
                v.type_name()
            ))
        }
        None => return Err(anyhow!("{}() requires attribute `name`", kind.function())),
    };
    kind.check(&attrs).map_err(|e| anyhow!(e))?;
    let label = Label::parse(&format!(":{name}"), &state.package).map_err(|e| anyhow!(e))?;
    let loc = build_loc(eval, state);
    let mut rules = state.rules.borrow_mut();
    let mut names = state.names.borrow_mut();
    if let Some(&first) = names.get(&name) {
        return Err(anyhow!(
            "duplicate target name `{name}` (first declared at {})",
            rules[first].loc
        ));
    }
    names.insert(name, rules.len());
    rules.push(Rule {
        kind,
        label,
        attrs,
        loc,
    });
    Ok(NoneType)
}

/// The rules served to `load("//rules_mirage/private:*.bzl", ...)`.
#[starlark_module]
pub fn rule_natives(builder: &mut GlobalsBuilder) {
    /// Records a device: an implementation of `type` applied to `args`.
    fn mirage_device<'v>(
        #[starlark(kwargs)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        record(RuleKind::Device, kwargs, eval)
    }

    /// Records a configure-time choice between devices, on one key.
    fn mirage_match<'v>(
        #[starlark(kwargs)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        record(RuleKind::Match, kwargs, eval)
    }

    /// Records a configure key and its choices.
    fn mirage_key<'v>(
        #[starlark(kwargs)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        record(RuleKind::Key, kwargs, eval)
    }

    /// Records a runtime argument, parsed by the image at boot.
    fn mirage_runtime_arg<'v>(
        #[starlark(kwargs)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        record(RuleKind::RuntimeArg, kwargs, eval)
    }

    /// Records a Rust crate rooted at this package.
    fn mirage_crate<'v>(
        #[starlark(kwargs)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        record(RuleKind::Crate, kwargs, eval)
    }

    /// A Bazel test that boots an image: Bazel's to run (`bazel test`); the
    /// embedded engine accepts the declaration and has nothing to record.
    fn mirage_boot_test<'v>(#[starlark(kwargs)] kwargs: DictRef<'v>) -> anyhow::Result<NoneType> {
        let _ = kwargs;
        Ok(NoneType)
    }

    /// Records a release: a unikernel, its targets and its OCI images'
    /// runtime arguments.
    fn mirage_release<'v>(
        #[starlark(kwargs)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        record(RuleKind::Release, kwargs, eval)
    }

    /// Records a unikernel: its `main`, its arguments and its targets.
    fn mirage_unikernel<'v>(
        #[starlark(kwargs)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        record(RuleKind::Unikernel, kwargs, eval)
    }
}

/// Bazel's own functions, as far as rules_mirage's users need them.
#[starlark_module]
pub fn build_api(builder: &mut GlobalsBuilder) {
    /// `select({condition_label: value, ...})`, resolved at configure time.
    fn select<'v>(#[starlark(require = pos)] cases: DictRef<'v>) -> anyhow::Result<Select> {
        let cases = cases
            .iter()
            .map(|(k, v)| {
                let cond = k.unpack_str().ok_or_else(|| {
                    anyhow!(
                        "select() conditions must be label strings, got {}",
                        k.get_type()
                    )
                })?;
                Ok((
                    cond.to_owned(),
                    AttrValue::from_value(v).map_err(|e| anyhow!(e))?,
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Select(cases))
    }

    /// Records a condition for `select()`: `flag_values = {key_label: value}`.
    fn config_setting<'v>(
        #[starlark(kwargs)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        record(RuleKind::ConfigSetting, kwargs, eval)
    }

    /// Package-relative files matching `include` and not `exclude`, sorted.
    fn glob<'v>(
        #[starlark(require = pos)] include: UnpackList<String>,
        #[starlark(require = named, default = UnpackList::default())] exclude: UnpackList<String>,
        #[starlark(require = named, default = true)] allow_empty: bool,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<Vec<String>> {
        let state = state(eval, "glob()")?;
        let files = super::glob::glob(&state.dir, &include.items, &exclude.items)?;
        if files.is_empty() && !allow_empty {
            return Err(anyhow!("glob({:?}) matched no files", include.items));
        }
        Ok(files)
    }

    /// Sets package defaults. Visibility is Bazel's to enforce; the
    /// embedded engine accepts the call and checks its one argument.
    fn package(
        #[starlark(require = named)] default_visibility: UnpackList<String>,
    ) -> anyhow::Result<NoneType> {
        let _ = default_visibility;
        Ok(NoneType)
    }

    /// Makes files visible to other packages: Bazel's to enforce, like
    /// `package()`; the embedded engine reads any file of the workspace.
    fn exports_files(
        #[starlark(require = pos)] srcs: UnpackList<String>,
    ) -> anyhow::Result<NoneType> {
        let _ = srcs;
        Ok(NoneType)
    }

    /// The path of the package being evaluated.
    fn package_name(eval: &mut Evaluator) -> anyhow::Result<String> {
        Ok(state(eval, "package_name()")?.package.path.clone())
    }

    /// `@` for the main repository, else `@name`.
    fn repository_name(eval: &mut Evaluator) -> anyhow::Result<String> {
        Ok(format!(
            "@{}",
            state(eval, "repository_name()")?
                .package
                .repo
                .clone()
                .unwrap_or_default()
        ))
    }
}

/// The `native` module of .bzl files: Bazel's functions under one name.
pub fn native_module(builder: &mut GlobalsBuilder) {
    builder.namespace("native", build_api);
}

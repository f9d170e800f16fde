//! `mirage describe`: the graph as declared, or as resolved (`--eval`),
//! as text or Graphviz dot.

use std::collections::BTreeMap;
use std::path::Path;

use super::{configure::parse_label, Selection};
use crate::config::Configuration;
use crate::error::Result;
use crate::graph::{platform_crates, Graph};
use crate::paths::unikernel_dir;
use crate::resolve::resolve;
use crate::starlark::Loader;
use crate::workspace::Workspace;

/// Prints the description.
pub fn main(
    ws: &Workspace,
    cwd: &Path,
    sel: &Selection,
    keys: BTreeMap<String, String>,
    dot: bool,
    eval: bool,
) -> Result<i32> {
    let label = parse_label(ws, cwd, &sel.label)?;
    let loader = Loader::new(ws)?;
    let graph = Graph::load(&loader, &label)?;
    let text = if eval {
        let config =
            Configuration::choose(sel.target.as_deref(), keys, &unikernel_dir(ws, &label))?;
        let platform = platform_crates(&loader, config.target)?;
        let r = resolve(&graph, config.target, &config.keys, platform)?;
        if dot {
            crate::describe::dot_resolved(&r)
        } else {
            crate::describe::text_resolved(&r)
        }
    } else if dot {
        crate::describe::dot(&graph)
    } else {
        crate::describe::text(&graph)
    };
    print!("{text}");
    Ok(0)
}

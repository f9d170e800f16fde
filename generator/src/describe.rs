//! `mirage describe`: the graph as text or Graphviz dot, before or after
//! resolution.

use std::fmt::Write;

use petgraph::visit::EdgeRef;

use crate::graph::{Graph, Node};
use crate::model::resource::Resource;
use crate::resolve::Resolved;

/// The declared graph, choices and all, one node per paragraph.
pub fn text(g: &Graph) -> String {
    let mut out = String::new();
    for n in g.graph.node_indices() {
        let node = &g.graph[n];
        let _ = match node {
            Node::Unikernel(u) => writeln!(
                out,
                "unikernel {} (main {}) at {}",
                u.device.label, u.main, u.device.loc
            ),
            Node::Device(d) => writeln!(out, "device {} : {} at {}", d.label, d.typ, d.loc),
            Node::Match(m) => writeln!(
                out,
                "match {} : {} on --{} at {}",
                m.label, m.typ, m.key.name, m.loc
            ),
            Node::Select { .. } => writeln!(out, "select {} at {}", node.name(), node.loc()),
        };
        let mut edges: Vec<_> = g.graph.edges(n).collect();
        edges.reverse();
        for e in edges {
            let _ = writeln!(out, "  {} -> {}", e.weight(), g.graph[e.target()].name());
        }
    }
    if !g.keys.is_empty() {
        let _ = writeln!(out, "keys:");
        for k in g.keys.values() {
            let _ = writeln!(
                out,
                "  --{} = {}{} (choices: {}) at {}",
                k.name(),
                k.default,
                k.target_defaults
                    .iter()
                    .map(|(t, v)| format!(", {v} on {t}"))
                    .collect::<String>(),
                k.choices.join(", "),
                k.loc
            );
        }
    }
    out
}

/// The resolved graph: instances in connection order.
pub fn text_resolved(r: &Resolved) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "unikernel {} for target {}", r.label, r.target);
    for k in &r.keys {
        let _ = writeln!(
            out,
            "key --{}={}{}",
            k.name,
            k.value,
            if k.is_default { " (default)" } else { "" }
        );
    }
    for d in r.instances.iter().chain([&r.main]) {
        let args: Vec<String> = d
            .args
            .iter()
            .map(|(p, i)| format!("{p} = {}", r.instances[*i].var))
            .chain(
                d.runtime_args
                    .iter()
                    .map(|&i| format!("--{}", r.runtime_args[i].name)),
            )
            .collect();
        let _ = writeln!(
            out,
            "{} : {} = {}({})",
            d.var,
            d.typ,
            d.impl_path,
            args.join(", ")
        );
        for l in &d.labels {
            let _ = writeln!(out, "  {l}");
        }
    }
    out
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The declared graph as dot: choices are diamonds, their edges dashed.
pub fn dot(g: &Graph) -> String {
    let mut out = String::from(
        "digraph mirage {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for n in g.graph.node_indices() {
        let node = &g.graph[n];
        let (label, shape) = match node {
            Node::Unikernel(u) => (format!("{}\\njob", u.device.label), "doubleoctagon"),
            Node::Device(d) => (format!("{}\\n{}", d.label, d.typ), "box"),
            Node::Match(m) => (format!("{}\\nmatch --{}", m.label, m.key.name), "diamond"),
            Node::Select { .. } => (format!("{}\\nselect", node.name()), "diamond"),
        };
        let _ = writeln!(
            out,
            "  n{} [label={}, shape={shape}];",
            n.index(),
            quote(&label).replace("\\\\n", "\\n")
        );
        let dashed = matches!(node, Node::Match(_) | Node::Select { .. });
        for e in g.graph.edges(n) {
            let style = if dashed { ", style=dashed" } else { "" };
            let _ = writeln!(
                out,
                "  n{} -> n{} [label={}{style}];",
                n.index(),
                e.target().index(),
                quote(e.weight())
            );
        }
    }
    out.push_str("}\n");
    out
}

/// The resolved graph as dot: each instance with its runtime args and
/// Solo5 devices; the graph's label gives the target and key values.
pub fn dot_resolved(r: &Resolved) -> String {
    let keys: Vec<String> = r
        .keys
        .iter()
        .map(|k| format!("--{}={}", k.name, k.value))
        .collect();
    let title = format!("{} for {}\\n{}", r.label, r.target, keys.join(" "));
    let mut out = format!(
        "digraph mirage {{\n  rankdir=LR;\n  label={};\n  node [shape=box, fontname=\"monospace\"];\n",
        quote(&title).replace("\\\\n", "\\n")
    );
    let main = r.instances.len();
    for (i, d) in r.instances.iter().chain([&r.main]).enumerate() {
        let mut label = format!("{}\\n{} = {}", d.var, d.typ, d.impl_path);
        for &a in &d.runtime_args {
            label.push_str(&format!("\\n--{}", r.runtime_args[a].name));
        }
        for res in &d.resources {
            if let Resource::Solo5Device(dev) = res {
                label.push_str(&format!("\\nSolo5 {} {}", dev.kind.word(), dev.name));
            }
        }
        let shape = if i == main { "doubleoctagon" } else { "box" };
        let _ = writeln!(
            out,
            "  n{i} [label={}, shape={shape}];",
            quote(&label).replace("\\\\n", "\\n")
        );
        for (p, a) in &d.args {
            // Connect-only arguments (the reporter) are dotted.
            let style = if d.connect_only.contains(p) {
                ", style=dotted"
            } else {
                ""
            };
            let _ = writeln!(out, "  n{i} -> n{a} [label={}{style}];", quote(p));
        }
    }
    out.push_str("}\n");
    out
}

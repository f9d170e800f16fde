//! Connect templates: the Rust expression that connects one device.
//!
//! A template is parsed once into [`Piece`]s, then expanded against the
//! resolved unikernel. Placeholders: `{impl}`, `{args}` (devices then
//! runtime args, in order), `{arg.NAME}`, `{rt.NAME}`, `{key.NAME}` (a
//! typed literal: `true`/`false` for boolean keys, a string otherwise),
//! `{application}` (the unikernel crate's name), `{crunch}` (the embedded
//! files of a `crunch` device) and `{file.NAME}` (the file attached to
//! block device NAME, relative to the workspace root). `{{` and `}}` are
//! literal braces, as in Rust's `format!`. The default is
//! `{impl}::connect({args})`, and `{impl}({args})` for the unikernel.
//!
//! A device variable is moved at its last use and cloned before it.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::resolve::{Instance, Resolved};

/// A parsed piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text copied as is (braces already unescaped).
    Text(String),
    /// `{impl}`.
    Impl,
    /// `{args}`.
    Args,
    /// `{application}`.
    Application,
    /// `{crunch}`.
    Crunch,
    /// `{file.NAME}`.
    File(String),
    /// `{arg.NAME}`.
    Arg(String),
    /// `{rt.NAME}`.
    Rt(String),
    /// `{key.NAME}`.
    Key(String),
}

/// Why a template does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// A `{` with no `}` after it.
    Unclosed,
    /// `{NAME}` that is no placeholder.
    Unknown(String),
}

/// Parses a connect template.
pub fn parse(template: &str) -> std::result::Result<Vec<Piece>, ParseError> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(start) = rest.find(['{', '}']) {
        text.push_str(&rest[..start]);
        let tail = &rest[start..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            text.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(after) = tail.strip_prefix('}') {
            text.push('}');
            rest = after;
            continue;
        }
        let end = tail.find('}').ok_or(ParseError::Unclosed)?;
        let name = &tail[1..end];
        let piece = match name.split_once('.') {
            None if name == "impl" => Piece::Impl,
            None if name == "args" => Piece::Args,
            None if name == "application" => Piece::Application,
            None if name == "crunch" => Piece::Crunch,
            Some(("file", n)) => Piece::File(n.to_owned()),
            Some(("arg", n)) => Piece::Arg(n.to_owned()),
            Some(("rt", n)) => Piece::Rt(n.to_owned()),
            Some(("key", n)) => Piece::Key(n.to_owned()),
            _ => return Err(ParseError::Unknown(name.to_owned())),
        };
        if !text.is_empty() {
            out.push(Piece::Text(std::mem::take(&mut text)));
        }
        out.push(piece);
        rest = &tail[end + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// The parsed template of `d`, or its error at `d`'s declaration.
pub fn template(r: &Resolved, d: &Instance) -> Result<Vec<Piece>> {
    let is_main = std::ptr::eq(d, &r.main);
    let text = d.connect.as_deref().unwrap_or(if is_main {
        "{impl}({args})"
    } else {
        "{impl}::connect({args})"
    });
    parse(text).map_err(|e| {
        let what = match e {
            ParseError::Unclosed => "unclosed `{`".to_owned(),
            ParseError::Unknown(n) => format!("unknown placeholder `{{{n}}}`"),
        };
        Error::at(&d.loc, format!("{what} in connect code of {}", d.labels[0]))
    })
}

/// The instances `pieces` read, in order, once per reference.
fn references<'a>(d: &'a Instance, pieces: &'a [Piece]) -> impl Iterator<Item = usize> + 'a {
    pieces.iter().flat_map(move |p| match p {
        Piece::Args => d.passed().map(|(_, i)| *i).collect::<Vec<_>>(),
        Piece::Arg(n) => d
            .args
            .iter()
            .filter(|(p, _)| p == n)
            .map(|(_, i)| *i)
            .collect(),
        _ => Vec::new(),
    })
}

/// Expands every device's template, in connection order, then the main
/// call's. `files` maps block device names to their attached files.
pub struct Expander<'r> {
    r: &'r Resolved,
    files: &'r BTreeMap<String, String>,
    /// References left to each instance; at zero the variable moves.
    left: Vec<usize>,
}

impl<'r> Expander<'r> {
    /// Counts every reference of every template.
    pub fn new(
        r: &'r Resolved,
        files: &'r BTreeMap<String, String>,
        templates: &[(&Instance, &[Piece])],
    ) -> Expander<'r> {
        let mut left = vec![0; r.instances.len()];
        for (d, pieces) in templates {
            for i in references(d, pieces) {
                left[i] += 1;
            }
        }
        Expander { r, files, left }
    }

    /// How often instance `i` is read, by every template.
    pub fn uses(&self, i: usize) -> usize {
        self.left[i]
    }

    fn device(&mut self, i: usize) -> String {
        self.left[i] -= 1;
        let var = &self.r.instances[i].var;
        if self.left[i] == 0 {
            var.clone()
        } else {
            format!("{var}.clone()")
        }
    }

    fn runtime_arg(&self, i: usize) -> String {
        let a = &self.r.runtime_args[i];
        // `Values` has one getter per kind, named like the kind.
        format!("args.{}(\"{}\")", a.kind.name(), a.name)
    }

    /// The Rust expression connecting `d`. Call in connection order.
    pub fn expand(&mut self, d: &Instance, pieces: &[Piece]) -> Result<String> {
        let r = self.r;
        let unknown = |what: &str, name: &str| {
            Error::at(
                &d.loc,
                format!("connect code of {} {what} `{name}`", d.labels[0]),
            )
        };
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Impl => out.push_str(&d.impl_path),
                Piece::Args => {
                    let mut all: Vec<String> = Vec::new();
                    for &(_, i) in d.passed() {
                        all.push(self.device(i));
                    }
                    all.extend(d.runtime_args.iter().map(|&i| self.runtime_arg(i)));
                    out.push_str(&all.join(", "));
                }
                Piece::Application => out.push_str(&format!("{:?}", r.crates[0].lib_name)),
                Piece::Crunch => match d.embedded() {
                    Some(_) => out.push_str(&crunch_static(d)),
                    None => return Err(unknown("names no embedded directory for", "{crunch}")),
                },
                Piece::File(f) => match self.files.get(f) {
                    Some(p) => out.push_str(&format!("{p:?}")),
                    None => return Err(unknown("names unknown block device", f)),
                },
                Piece::Arg(p) => match d.args.iter().find(|(n, _)| n == p) {
                    Some(&(_, i)) => {
                        let s = self.device(i);
                        out.push_str(&s);
                    }
                    None => return Err(unknown("names unknown parameter", p)),
                },
                Piece::Rt(p) => match d
                    .runtime_args
                    .iter()
                    .find(|&&i| r.runtime_args[i].name == *p)
                {
                    Some(&i) => out.push_str(&self.runtime_arg(i)),
                    None => return Err(unknown("names unknown runtime arg", p)),
                },
                Piece::Key(k) => match d.keys.iter().find(|kv| kv.name == *k) {
                    Some(kv) => out.push_str(&kv.rust_literal()),
                    None => {
                        return Err(Error::at(
                            &d.loc,
                            format!(
                            "connect code of {} reads key `{k}`, which its `keys` does not list",
                            d.labels[0]
                        ),
                        ))
                    }
                },
            }
        }
        Ok(out)
    }
}

/// The name of the static holding a `crunch` device's files.
pub fn crunch_static(d: &Instance) -> String {
    format!("CRUNCH_{}", d.var.to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_braces_are_literal() {
        assert_eq!(
            parse("S {{ a: {impl} }}").unwrap(),
            vec![
                Piece::Text("S { a: ".into()),
                Piece::Impl,
                Piece::Text(" }".into())
            ]
        );
    }

    #[test]
    fn unclosed_brace_is_an_error() {
        assert_eq!(parse("{impl}::connect({args)"), Err(ParseError::Unclosed));
    }

    #[test]
    fn unknown_placeholder_is_named() {
        assert_eq!(
            parse("{impl}::connect({argz})"),
            Err(ParseError::Unknown("argz".into()))
        );
        assert_eq!(parse("{x.y}"), Err(ParseError::Unknown("x.y".into())));
    }

    #[test]
    fn named_placeholders_keep_their_names() {
        assert_eq!(
            parse("{arg.a}{rt.b}{key.c}{file.d}").unwrap(),
            vec![
                Piece::Arg("a".into()),
                Piece::Rt("b".into()),
                Piece::Key("c".into()),
                Piece::File("d".into())
            ]
        );
    }
}

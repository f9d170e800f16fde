//! Formatting generated Rust: each connect statement is laid out by
//! prettyplease, so `main.rs` reads as a person would write it, and the
//! bytes do not depend on whether rustfmt is installed.
//!
//! Only statements are formatted: the comments around them (which a
//! syntax tree would drop) are the templates' own.

use crate::error::{Error, Loc, Result};

/// `stmt` (one Rust statement) formatted at the indentation of a function
/// body; a syntax error is reported at `loc` as `what` (the code the user
/// wrote, such as a connect template's expansion) not being valid Rust.
pub fn statement(stmt: &str, loc: &Loc, what: &str) -> Result<String> {
    let source = format!("fn f() {{ {stmt} }}");
    let file: syn::File = syn::parse_str(&source)
        .map_err(|e| Error::at(loc, format!("{what} is not valid Rust ({e})")))?;
    let text = prettyplease::unparse(&file);
    let lines: Vec<&str> = text.lines().collect();
    // `fn f() {`, the body, `}`.
    Ok(lines[1..lines.len() - 1].join("\n"))
}

/// Formats `(statement, what)` pairs as [`statement`] does, on every
/// core; results keep their order, and the first error (in order) wins.
pub fn statements(stmts: &[(String, String)], locs: &[&Loc]) -> Result<Vec<String>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = stmts.len().div_ceil(cores).max(256);
    let indexed: Vec<(usize, &(String, String))> = stmts.iter().enumerate().collect();
    let parts: Vec<Result<Vec<String>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = indexed
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(i, (stmt, what))| statement(stmt, locs[*i], what))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::system("formatting the generated code failed")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(stmts.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Loc {
        Loc {
            file: "BUILD.bazel".into(),
            line: 1,
            col: 1,
        }
    }

    #[test]
    fn long_calls_break_one_argument_per_line() {
        let s = statement(
            "let reporter = mirage_runtime::log::Reporter::connect(clock, console, args.string(\"logs\"), \"hello\").await?;",
            &loc(),
            "x",
        )
        .unwrap();
        assert!(
            s.starts_with("    let reporter = mirage_runtime::log::Reporter::connect(\n"),
            "{s}"
        );
    }

    #[test]
    fn bad_code_names_its_declaration() {
        let e = statement(
            "let x = a::connect(;",
            &loc(),
            "connect code of //a:b `a::connect(`",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "BUILD.bazel:1:1: error: connect code of //a:b `a::connect(` is not valid Rust \
             (cannot parse string into token stream)"
        );
    }
}

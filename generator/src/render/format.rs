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

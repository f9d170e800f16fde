//! Golden files (expected outputs kept in the tree): whether a test run
//! rewrites them instead of comparing.
//!
//! Contract: `MIRAGE_BLESS` set asks for a rewrite; under CI (`CI` set to
//! anything but `false`, as `.ci/run` sets it) that is an error, so no
//! environment can bless its way to a green run.

/// Whether golden files are rewritten in this run; panics (failing the
/// test) when CI asks for it.
pub fn blessing() -> bool {
    let ci = std::env::var("CI").ok();
    decide(std::env::var_os("MIRAGE_BLESS").is_some(), ci.as_deref())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn decide(asked: bool, ci: Option<&str>) -> Result<bool, String> {
    match ci {
        Some(ci) if asked && ci != "false" => Err(format!(
            "MIRAGE_BLESS is set under CI (CI={ci}): in CI golden files are compared, never rewritten"
        )),
        _ => Ok(asked),
    }
}

#[cfg(test)]
mod tests {
    use super::decide;

    #[test]
    fn ci_never_blesses() {
        assert_eq!(decide(true, None), Ok(true));
        assert_eq!(decide(false, Some("true")), Ok(false));
        assert_eq!(decide(true, Some("false")), Ok(true));
        let err = decide(true, Some("true")).unwrap_err();
        assert!(
            err.starts_with("MIRAGE_BLESS is set under CI (CI=true)"),
            "{err}"
        );
    }
}

//! `glob()` over a package directory, as Bazel does it.
//!
//! Results are package-relative, `/`-separated and sorted, so BUILD files
//! evaluate to the same rules on every machine. Subpackages (directories with
//! their own BUILD file) and hidden entries are not descended into.

use std::path::Path;

/// Files under `dir` matching any of `include` and none of `exclude`.
pub fn glob(dir: &Path, include: &[String], exclude: &[String]) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    walk(dir, "", &mut files)?;
    let mut out: Vec<String> = files
        .into_iter()
        .filter(|f| include.iter().any(|p| matches(p, f)) && !exclude.iter().any(|p| matches(p, f)))
        .collect();
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if !is_package(&path) {
                walk(&path, &rel, out)?;
            }
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// Whether `dir` holds a BUILD file of its own.
pub fn is_package(dir: &Path) -> bool {
    ["BUILD.bazel", "BUILD"]
        .iter()
        .any(|b| dir.join(b).is_file())
}

/// Matches a `/`-separated path against a pattern with `*`, `?` and `**`.
fn matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    let segs: Vec<&str> = path.split('/').collect();
    match_segments(&pat, &segs)
}

fn match_segments(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|i| match_segments(rest, &segs[i..])),
        Some((p, rest)) => match segs.split_first() {
            Some((s, srest)) => {
                match_segment(p.as_bytes(), s.as_bytes()) && match_segments(rest, srest)
            }
            None => false,
        },
    }
}

fn match_segment(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', prest)) => (0..=s.len()).any(|i| match_segment(prest, &s[i..])),
        Some((b'?', prest)) => !s.is_empty() && match_segment(prest, &s[1..]),
        Some((c, prest)) => s.first() == Some(c) && match_segment(prest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn star_stays_in_one_segment() {
        assert!(matches("src/*.rs", "src/lib.rs"));
        assert!(!matches("src/*.rs", "src/a/lib.rs"));
    }

    #[test]
    fn double_star_spans_segments() {
        assert!(matches("src/**/*.rs", "src/lib.rs"));
        assert!(matches("src/**/*.rs", "src/a/b/lib.rs"));
        assert!(matches("**", "Cargo.toml"));
        assert!(!matches("src/**", "Cargo.toml"));
    }

    #[test]
    fn question_mark_is_one_char() {
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
    }
}

//! "Did you mean" in messages, from the runtime's one definition of
//! closeness (`mirage_runtime::suggest`).

use mirage_runtime::suggest::closest;

/// `" (did you mean `NAME`?)"`, or nothing.
pub fn did_you_mean<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(wrong, known)
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

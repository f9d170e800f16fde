//! "Did you mean": the closest known name to a mistyped one. The image's
//! argument parser and the generator (configure keys, labels, targets)
//! share this one definition.

use alloc::vec::Vec;

/// Levenshtein distance between `a` and `b`, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// The known name closest to `wrong`, if close enough to be a typo: at
/// most a third of its length away (and at least one edit allowed).
pub fn closest<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wrong.chars().count() / 3).max(1);
    known
        .into_iter()
        .map(|k| (distance(wrong, k), k))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, k)| (d, k))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name() {
        assert_eq!(distance("spd", "spt"), 1);
        assert_eq!(closest("spd", ["unix", "spt", "hvt"]), Some("spt"));
        assert_eq!(
            closest("defualt_console", ["default_console", "default_time"]),
            Some("default_console")
        );
        assert_eq!(closest("netw", ["net", "dhcp"]), Some("net"));
    }

    #[test]
    fn unrelated_names_find_nothing() {
        assert_eq!(closest("amd64", ["unix", "spt", "hvt"]), None);
        assert_eq!(closest("colour", ["net"]), None);
    }
}

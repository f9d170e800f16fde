//! The project's one Cargo.lock reader: here, in the lowest crate that
//! needs it (the Solo5 sources are the crate `solo5-sys` it pins), and
//! used by the generator's SBOM too. Only what both need: each registry
//! crate's checksum.

use std::collections::BTreeMap;

use crate::SOURCE_CRATE;

/// `(name, version) -> sha256` of every registry crate in a Cargo.lock.
pub fn lock_checksums(lock: &str) -> BTreeMap<(String, String), String> {
    let mut sums = BTreeMap::new();
    let (mut name, mut version) = (String::new(), String::new());
    let value = |line: &str, key: &str| {
        line.strip_prefix(key)
            .and_then(|v| v.strip_prefix(" = \""))
            .and_then(|v| v.strip_suffix('"'))
            .map(str::to_owned)
    };
    for line in lock.lines() {
        if line == "[[package]]" {
            (name, version) = (String::new(), String::new());
        } else if let Some(v) = value(line, "name") {
            name = v;
        } else if let Some(v) = value(line, "version") {
            version = v;
        } else if let Some(v) = value(line, "checksum") {
            sums.insert((name.clone(), version.clone()), v);
        }
    }
    sums
}

/// The checksum Cargo.lock records for `solo5-sys`.
pub fn pinned_checksum(lock: &str) -> Result<String, String> {
    lock_checksums(lock)
        .into_iter()
        .find(|((name, _), _)| name == SOURCE_CRATE)
        .map(|(_, sum)| sum)
        .ok_or_else(|| format!("Cargo.lock pins no checksum for {SOURCE_CRATE}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_pair_names_and_versions() {
        let lock = "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\n\
                    checksum = \"aa\"\n\n[[package]]\nname = \"local\"\nversion = \"0.1.0\"\n";
        let sums = lock_checksums(lock);
        assert_eq!(sums[&("a".into(), "1.0.0".into())], "aa");
        assert_eq!(sums.len(), 1);
    }

    #[test]
    fn the_solo5_sources_checksum_is_read_from_the_lock() {
        let lock = "[[package]]\nname = \"other\"\nchecksum = \"aa\"\n\n[[package]]\n\
                    name = \"solo5-sys\"\nversion = \"0.1.0\"\nchecksum = \"bb\"\n";
        assert_eq!(pinned_checksum(lock).unwrap(), "bb");
        assert!(pinned_checksum("[[package]]\nname = \"x\"\n").is_err());
    }
}

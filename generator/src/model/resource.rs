//! Resources: what a device needs from the build besides code.
//!
//! In the spirit of Functoria's `?files` and `?configure` hooks, a device
//! declares a list of resources; rendering and the target backends fold
//! them (embedded files become a static, Solo5 devices the manifest and the
//! tender's arguments, archives generated files). A new kind of resource is
//! a new variant here and a case where it is folded, never a new field of
//! [`super::device::Device`].

use super::rule::Rule;
use crate::error::{Error, Loc, Result};
use crate::starlark::value::AttrValue;

/// One thing a device needs from the build.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A directory embedded in the image (`crunch`), relative to the
    /// workspace root; the connect template reads it as `{crunch}`.
    Embedded {
        /// The directory.
        dir: String,
    },
    /// A device in the Solo5 manifest; on unix, the file it opens.
    Solo5Device(Solo5Device),
}

/// The kinds of device a Solo5 manifest declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Solo5Kind {
    /// A block device.
    #[serde(rename = "BLOCK_BASIC")]
    Block,
    /// A network interface.
    #[serde(rename = "NET_BASIC")]
    Net,
}

impl Solo5Kind {
    /// The tender's option prefix (`--block:NAME=...`) and the word in
    /// messages.
    pub fn word(self) -> &'static str {
        match self {
            Solo5Kind::Block => "block",
            Solo5Kind::Net => "net",
        }
    }
}

/// What backs a Solo5 block device when the image runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Backing {
    /// Given when the image runs (`--tap`, `--block-file`).
    AtRun,
    /// A file of the workspace, relative to its root.
    File(String),
    /// A tar archive the generator makes of a directory (relative to the
    /// workspace root), written as `disks/NAME.tar` in the output directory.
    Archive(String),
    /// A zero-filled disk of this many bytes the generator makes, as
    /// `disks/NAME.img` in the output directory, and keeps once made.
    Blank(u64),
    /// Like `Blank`, but made as a littlefs disk holding the files of a
    /// directory (relative to the workspace root), one value per file.
    Littlefs {
        /// The directory.
        dir: String,
        /// The disk's bytes.
        size: u64,
    },
}

/// Where the output directory keeps the disks the generator makes.
pub const DISKS_DIR: &str = "disks";

impl Solo5Device {
    /// The file the generator makes for this device, relative to the
    /// output directory, if it makes one.
    pub fn generated_file(&self) -> Option<String> {
        match self.backing {
            Backing::Archive(_) => Some(format!("{DISKS_DIR}/{}.tar", self.name)),
            Backing::Blank(_) | Backing::Littlefs { .. } => {
                Some(format!("{DISKS_DIR}/{}.img", self.name))
            }
            Backing::AtRun | Backing::File(_) => None,
        }
    }
}

/// Parses a disk size: bytes, or a number with `K`, `M` or `G` (powers of
/// 1024); it must be a positive multiple of 512, Solo5's sector size.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let (digits, unit) = match text.char_indices().last() {
        Some((i, 'K')) => (&text[..i], 1 << 10),
        Some((i, 'M')) => (&text[..i], 1 << 20),
        Some((i, 'G')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    let bytes = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|&b| b > 0 && b % 512 == 0);
    bytes.ok_or_else(|| {
        format!(
            "disk size `{text}` must be a positive multiple of 512 bytes, as 512, 64K, 1M or 2G"
        )
    })
}

/// A device in the Solo5 manifest, and what is attached to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Solo5Device {
    /// Its name in the manifest and on the tender's command line.
    pub name: String,
    /// Its kind.
    pub kind: Solo5Kind,
    /// What is attached to it.
    pub backing: Backing,
    /// The declaring device's location.
    pub loc: Loc,
}

/// `path` of `rule`'s package, relative to the workspace root.
pub fn package_path(rule: &Rule, path: &str) -> String {
    let package = &rule.label.package;
    if package.is_empty() {
        path.to_owned()
    } else {
        format!("{package}/{path}")
    }
}

impl Resource {
    /// The resources a `mirage_device` declares: `crunch`, and
    /// `solo5_devices` with their `block_files` and `block_tars`.
    pub fn from_rule(rule: &Rule) -> Result<Vec<Resource>> {
        let mut out: Vec<Resource> = rule
            .str("crunch")
            .map(|d| Resource::Embedded {
                dir: package_path(rule, d),
            })
            .into_iter()
            .collect();
        out.extend(solo5_devices(rule)?.into_iter().map(Resource::Solo5Device));
        Ok(out)
    }
}

fn solo5_devices(rule: &Rule) -> Result<Vec<Solo5Device>> {
    let files = rule.dict("block_files");
    let tars = rule.dict("block_tars");
    let sizes = rule.dict("block_sizes");
    let littlefs = rule.dict("block_littlefs");
    let find = |dict: &[(&str, &AttrValue)], name: &str| {
        dict.iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, f)| f.as_str())
            .map(|f| package_path(rule, f))
    };
    let devices: Vec<Solo5Device> = rule
        .dict("solo5_devices")
        .into_iter()
        .map(|(name, kind)| {
            if name.is_empty() || name.len() > 67 || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(Error::at(
                    &rule.loc,
                    format!("Solo5 device name `{name}` must be 1 to 67 ASCII letters and digits"),
                ));
            }
            let kind = match kind.as_str() {
                Some("BLOCK_BASIC") => Solo5Kind::Block,
                Some("NET_BASIC") => Solo5Kind::Net,
                other => {
                    return Err(Error::at(
                        &rule.loc,
                        format!("solo5_devices: unknown kind {other:?} for `{name}`: expected BLOCK_BASIC or NET_BASIC"),
                    ))
                }
            };
            let size = sizes
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, s)| s.as_str());
            let size = size
                .map(|s| parse_size(s).map_err(|e| Error::at(&rule.loc, e)))
                .transpose()?;
            let seed = find(&littlefs, name);
            let backing = match (find(&files, name), find(&tars, name), size, seed) {
                (Some(file), _, _, None) => Backing::File(file),
                (None, Some(dir), _, None) => Backing::Archive(dir),
                (None, None, Some(size), Some(dir)) => Backing::Littlefs { dir, size },
                (None, None, Some(size), None) => Backing::Blank(size),
                (None, None, None, None) => Backing::AtRun,
                (_, _, _, Some(_)) => {
                    return Err(Error::at(
                        &rule.loc,
                        format!("block_littlefs names `{name}`, which needs a size in block_sizes (and no block_files or block_tars)"),
                    ))
                }
            };
            Ok(Solo5Device {
                name: name.to_owned(),
                kind,
                backing,
                loc: rule.loc.clone(),
            })
        })
        .collect::<Result<_>>()?;
    for (attr, dict) in [
        ("block_files", &files),
        ("block_tars", &tars),
        ("block_sizes", &sizes),
        ("block_littlefs", &littlefs),
    ] {
        if let Some((name, _)) = dict
            .iter()
            .find(|(n, _)| !devices.iter().any(|d| d.name == *n))
        {
            return Err(Error::at(
                &rule.loc,
                format!("{attr} names `{name}`, which solo5_devices does not declare"),
            ));
        }
    }
    Ok(devices)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_units_and_whole_sectors() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        for bad in ["", "0", "100", "1.5M", "K", "-1K", "99999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}

//! The pinned Solo5 toolchain a build links with: built into the cache on
//! first use (`$MIRAGE_CACHE`, else `~/.cache/rules_mirage`).

use std::path::Path;

use mirage_toolchain_solo5::{cache_root, Toolchain};

use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The Solo5 toolchain of the rules_mirage at `home`, built on first use.
pub fn solo5_toolchain(home: &Path) -> Result<Toolchain> {
    Toolchain::ensure(home, &cache_root(), |msg| eprintln!("mirage: {msg}")).map_err(Error::system)
}

/// Where the Solo5 toolchain is, built or not.
pub fn solo5_toolchain_location(ws: &Workspace) -> Result<Toolchain> {
    Toolchain::locate(&ws.home, &cache_root()).map_err(Error::system)
}

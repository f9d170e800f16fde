//! `mirage-toolchain-solo5 CHECKOUT`: builds the Solo5 toolchain that the
//! rules_mirage checkout at CHECKOUT pins into the cache (`$MIRAGE_CACHE`,
//! else `~/.cache/rules_mirage`) and prints its directory. Bazel's
//! toolchain action runs this binary rather than the generator, so an
//! edit to the generator does not build Solo5 again.

use std::path::Path;
use std::process::ExitCode;

use mirage_toolchain_solo5::{cache_root, Toolchain};

const NAME: &str = "mirage-toolchain-solo5";

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let [checkout] = args.as_slice() else {
        eprintln!("{NAME}: error: give the rules_mirage checkout: {NAME} CHECKOUT");
        return ExitCode::from(2);
    };
    let checkout = Path::new(checkout);
    // A mistaken argument is the caller's, not a failed build (exit 2).
    if !checkout.join("Cargo.lock").is_file() {
        eprintln!(
            "{NAME}: error: {} is not a rules_mirage checkout: it has no Cargo.lock",
            checkout.display()
        );
        return ExitCode::from(2);
    }
    let progress = |message: &str| eprintln!("{NAME}: {message}");
    match Toolchain::ensure(checkout, &cache_root(), progress) {
        Ok(toolchain) => {
            println!("{}", toolchain.dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{NAME}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

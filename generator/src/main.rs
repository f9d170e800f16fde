//! The `mirage` command.

use clap::Parser;

fn main() {
    let (argv, keys) = mirage::cli::split_keys(std::env::args().collect());
    let cli = mirage::cli::Cli::parse_from(argv);
    let code = match mirage::cli::main(cli, keys) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    };
    std::process::exit(code)
}

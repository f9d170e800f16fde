//! Configure keys on the command line: `--KEY=VALUE` anywhere before
//! `--`, told apart from mirage's own long options.

use std::collections::BTreeMap;

use clap::CommandFactory;

use super::Cli;

/// Splits `--KEY=VALUE` configure keys from the arguments clap parses.
/// Anything after `--` belongs to the image and is left alone.
pub fn split_keys(argv: Vec<String>) -> (Vec<String>, BTreeMap<String, String>) {
    let mut known = Vec::new();
    collect_long_flags(&Cli::command(), &mut known);
    let mut rest = Vec::new();
    let mut keys = BTreeMap::new();
    let mut after_dashes = false;
    for arg in argv {
        if !after_dashes {
            if arg == "--" {
                after_dashes = true;
            } else if let Some((name, value)) =
                arg.strip_prefix("--").and_then(|a| a.split_once('='))
            {
                if !known.iter().any(|k| k == name) {
                    keys.insert(name.to_owned(), value.to_owned());
                    continue;
                }
            }
        }
        rest.push(arg);
    }
    (rest, keys)
}

fn collect_long_flags(cmd: &clap::Command, out: &mut Vec<String>) {
    out.extend(
        cmd.get_arguments()
            .filter_map(|a| a.get_long().map(str::to_owned)),
    );
    out.extend(["help".to_owned(), "version".to_owned()]);
    for sub in cmd.get_subcommands() {
        collect_long_flags(sub, out);
    }
}

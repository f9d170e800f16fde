//! `mirage-unit --unit FILE --out DIR [--dep=ID=DIR]...`: runs the unit
//! of mirage.plan.json in FILE (as JSON) into DIR, reading the units the
//! `--dep`s name. Bazel's `Rustc` and `BuildScriptRun` actions.

use std::path::PathBuf;
use std::process::ExitCode;

use mirage_unit::{Error, Places};

/// The flags, or the one line saying what is wrong with them.
fn flags() -> Result<(PathBuf, PathBuf, Vec<String>), Error> {
    let (mut unit, mut out, mut deps) = (None, None, Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // `--flag=value` or `--flag value`.
        let (flag, value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), value.to_owned()),
            None => {
                let value = args
                    .next()
                    .ok_or_else(|| Error::User(format!("mirage-unit: {arg} needs a value")))?;
                (arg, value)
            }
        };
        match flag.as_str() {
            "--unit" => unit = Some(PathBuf::from(value)),
            "--out" => out = Some(PathBuf::from(value)),
            "--dep" => deps.push(value),
            _ => return Err(Error::User(format!("mirage-unit: unknown flag {flag}"))),
        }
    }
    let missing = |name: &str| Error::User(format!("mirage-unit: {name} is required"));
    Ok((
        unit.ok_or_else(|| missing("--unit"))?,
        out.ok_or_else(|| missing("--out"))?,
        deps,
    ))
}

fn main_result() -> Result<(), Error> {
    let (file, out, deps) = flags()?;
    let io = |e: std::io::Error| Error::System(format!("{}: {e}", file.display()));
    let text = std::fs::read_to_string(&file).map_err(io)?;
    let unit = serde_json::from_str(&text)
        .map_err(|e| Error::System(format!("{}: {e}", file.display())))?;
    mirage_unit::run(&unit, &Places::here(&out, &deps)?)
}

fn main() -> ExitCode {
    match main_result() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mirage: error: {e}");
            ExitCode::from(match e {
                Error::User(_) => 2,
                Error::System(_) => 1,
            })
        }
    }
}

//! Runtime arguments: parsed at boot from argv (unix) or the Solo5 command
//! line, declared by devices and the unikernel.
//!
//! As in MirageOS, `--help` prints every argument of every device and exits
//! with [`EXIT_HELP`]; a bad argument prints why and exits with
//! [`EXIT_BAD_ARGUMENT`]. After [`parse`] succeeds, every typed accessor of
//! [`Values`] succeeds for every declared argument. Every image also takes
//! the [`BUILTIN`] options: `--help`, `--version` and `--delay`.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::info::BuildInfo;
use crate::platform::Platform;

mod help;
pub use help::{help, version};

/// Exit code after `--help`.
pub const EXIT_HELP: i32 = 63;
/// Exit code after a bad runtime argument.
pub const EXIT_BAD_ARGUMENT: i32 = 64;

/// Options every image takes besides its devices' (as MirageOS's
/// runtime): no declared argument may take these names.
pub const BUILTIN: [&str; 3] = ["help", "version", "delay"];

/// The type of an argument's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any string.
    String,
    /// A signed 64-bit integer.
    Int,
    /// `true` or `false`; the bare flag means `true`.
    Bool,
}

impl Kind {
    /// Every kind. The generator reads this same definition.
    pub const ALL: [Kind; 3] = [Kind::String, Kind::Int, Kind::Bool];

    /// The name BUILD files give it (`type = "int"`); [`Values`] has one
    /// getter of that name per kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Int => "int",
            Kind::Bool => "bool",
        }
    }

    /// Whether `value` is a valid value of this kind.
    pub fn accepts(self, value: &str) -> bool {
        match self {
            Kind::String => true,
            Kind::Int => value.parse::<i64>().is_ok(),
            Kind::Bool => matches!(value, "true" | "false"),
        }
    }

    fn metavar(self) -> &'static str {
        match self {
            Kind::String => "STRING",
            Kind::Int => "INT",
            Kind::Bool => "BOOL",
        }
    }
}

/// Extra validation of a value: `Err` holds one line of cause.
pub type Check = fn(&str) -> Result<(), String>;

/// A declared runtime argument.
#[derive(Debug)]
pub struct Spec {
    /// Long name: `--name`.
    pub name: &'static str,
    /// One-letter alias: `-x`.
    pub short: Option<char>,
    /// Value type.
    pub kind: Kind,
    /// Value when absent; `None` means required.
    pub default: Option<&'static str>,
    /// Help text.
    pub doc: &'static str,
    /// Label of the device that declares it.
    pub owner: &'static str,
    /// Extra validation of the value, if the declaration names one.
    pub check: Option<Check>,
}

/// Parsed values, one per spec, and `--delay`.
#[derive(Debug)]
pub struct Values {
    specs: &'static [Spec],
    values: Vec<String>,
    delay_s: u64,
}

/// Why parsing stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// `--help` or `--version` was given; the text to print.
    Help(String),
    /// A bad argument; one line of cause.
    Bad(String),
}

impl Values {
    fn raw(&self, name: &str) -> &str {
        let i = self
            .specs
            .iter()
            .position(|s| s.name == name)
            .unwrap_or_else(|| panic!("runtime arg --{name} is not declared"));
        &self.values[i]
    }

    /// A string argument.
    pub fn string(&self, name: &str) -> String {
        self.raw(name).to_string()
    }

    /// An integer argument (validated by [`parse`]).
    pub fn int(&self, name: &str) -> i64 {
        self.raw(name).parse().unwrap_or_default()
    }

    /// A boolean argument (validated by [`parse`]).
    pub fn bool(&self, name: &str) -> bool {
        self.raw(name) == "true"
    }

    /// `--delay`: nanoseconds to wait before connecting any device, for
    /// networks that come up late (MirageOS 4.5's `--delay`).
    pub fn delay_ns(&self) -> u64 {
        self.delay_s.saturating_mul(1_000_000_000)
    }
}

/// `--delay`'s value: whole seconds, at most a day.
fn parse_delay(value: &str) -> Result<u64, Stop> {
    match value.parse::<u64>() {
        Ok(s) if s <= 86_400 => Ok(s),
        _ => Err(Stop::Bad(format!(
            "option --delay: invalid value `{value}`, expected seconds from 0 to 86400"
        ))),
    }
}

fn check_value(spec: &Spec, value: &str) -> Result<(), String> {
    if !spec.kind.accepts(value) {
        return Err(format!(
            "option --{}: invalid value `{value}`, expected {}",
            spec.name,
            spec.kind.metavar().to_lowercase()
        ));
    }
    match spec.check {
        Some(check) => check(value).map_err(|e| format!("option --{}: {e}", spec.name)),
        None => Ok(()),
    }
}

/// Parses `argv` (without the program name) against `specs`.
pub fn parse<I, S>(info: &BuildInfo, specs: &'static [Spec], argv: I) -> Result<Values, Stop>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut given: Vec<Option<String>> = specs.iter().map(|_| None).collect();
    let mut delay_s = 0;
    let mut argv = argv.into_iter().map(|a| a.as_ref().to_string());
    while let Some(arg) = argv.next() {
        if arg == "--help" || arg == "-h" {
            return Err(Stop::Help(help(info, specs)));
        }
        if arg == "--version" {
            return Err(Stop::Help(version(info)));
        }
        if arg == "--delay" || arg.starts_with("--delay=") {
            let value = match arg.strip_prefix("--delay=") {
                Some(v) => v.to_string(),
                None => argv
                    .next()
                    .ok_or_else(|| Stop::Bad("option --delay needs a value".into()))?,
            };
            delay_s = parse_delay(&value)?;
            continue;
        }
        let (i, inline) = if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let i = specs.iter().position(|s| s.name == name).ok_or_else(|| {
                let hint = crate::suggest::closest(name, specs.iter().map(|s| s.name))
                    .map(|k| format!(" (did you mean `--{k}`?)"))
                    .unwrap_or_default();
                Stop::Bad(format!("unknown option `--{name}`{hint}"))
            })?;
            (i, inline)
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            let c = short.chars().next().unwrap_or_default();
            let i = specs
                .iter()
                .position(|s| s.short == Some(c))
                .ok_or_else(|| Stop::Bad(format!("unknown option `-{c}`")))?;
            let rest = &short[c.len_utf8()..];
            (
                i,
                (!rest.is_empty()).then(|| rest.trim_start_matches('=').to_string()),
            )
        } else {
            return Err(Stop::Bad(format!("unexpected argument `{arg}`")));
        };
        let spec = &specs[i];
        let value = match (inline, spec.kind) {
            (Some(v), _) => v,
            (None, Kind::Bool) => "true".to_string(),
            (None, _) => argv
                .next()
                .ok_or_else(|| Stop::Bad(format!("option --{} needs a value", spec.name)))?,
        };
        check_value(spec, &value).map_err(Stop::Bad)?;
        given[i] = Some(value);
    }
    let values = specs
        .iter()
        .zip(given)
        .map(
            |(spec, v)| match v.or_else(|| spec.default.map(ToString::to_string)) {
                Some(v) => Ok(v),
                None => Err(Stop::Bad(format!(
                    "required option --{} is missing",
                    spec.name
                ))),
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Values {
        specs,
        values,
        delay_s,
    })
}

/// Parses, or prints help or the error and exits with 63 or 64.
pub fn parse_or_exit<I, S>(
    platform: &dyn Platform,
    info: &BuildInfo,
    specs: &'static [Spec],
    argv: I,
) -> Values
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let program = info.name();
    match parse(info, specs, argv) {
        Ok(values) => values,
        Err(Stop::Help(text)) => {
            platform.write_console(text.as_bytes());
            platform.exit(EXIT_HELP)
        }
        Err(Stop::Bad(why)) => {
            let msg = format!("{program}: {why}\nTry `{program} --help' for more information.\n");
            platform.write_console(msg.as_bytes());
            platform.exit(EXIT_BAD_ARGUMENT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static INFO: BuildInfo = BuildInfo {
        label: "//app:u",
        target: "unix",
        keys: &[],
        crates: &["app"],
        generator: "test",
        lock_sha256: "ab",
    };

    static SPECS: &[Spec] = &[
        Spec {
            name: "hello",
            short: None,
            kind: Kind::String,
            default: Some("Hello World!"),
            doc: "How to say hello.",
            owner: "//app:hello",
            check: None,
        },
        Spec {
            name: "count",
            short: Some('c'),
            kind: Kind::Int,
            default: Some("4"),
            doc: "How many times.",
            owner: "//app:count",
            check: None,
        },
        Spec {
            name: "quiet",
            short: None,
            kind: Kind::Bool,
            default: Some("false"),
            doc: "Say nothing.",
            owner: "//app:quiet",
            check: None,
        },
    ];

    #[test]
    fn defaults_apply_when_absent() {
        let v = parse(&INFO, SPECS, [""; 0]).unwrap();
        assert_eq!(v.string("hello"), "Hello World!");
        assert_eq!(v.int("count"), 4);
        assert!(!v.bool("quiet"));
    }

    #[test]
    fn long_short_inline_and_separate_forms() {
        let v = parse(&INFO, SPECS, ["--hello=Hola", "-c", "2", "--quiet"]).unwrap();
        assert_eq!(v.string("hello"), "Hola");
        assert_eq!(v.int("count"), 2);
        assert!(v.bool("quiet"));
        let v = parse(&INFO, SPECS, ["--hello", "Hej", "-c7"]).unwrap();
        assert_eq!(v.string("hello"), "Hej");
        assert_eq!(v.int("count"), 7);
    }

    #[test]
    fn bad_int_and_unknown_option_are_rejected() {
        assert_eq!(
            parse(&INFO, SPECS, ["--count=many"]).unwrap_err(),
            Stop::Bad("option --count: invalid value `many`, expected int".into())
        );
        assert_eq!(
            parse(&INFO, SPECS, ["--colour=red"]).unwrap_err(),
            Stop::Bad("unknown option `--colour`".into())
        );
        assert_eq!(
            parse(&INFO, SPECS, ["--cont=3"]).unwrap_err(),
            Stop::Bad("unknown option `--cont` (did you mean `--count`?)".into())
        );
    }

    #[test]
    fn delay_is_every_images_option() {
        let values = parse(&INFO, SPECS, ["--delay=2", "-c", "3"]).unwrap();
        assert_eq!(values.delay_ns(), 2_000_000_000);
        assert_eq!(values.int("count"), 3);
        let values = parse(&INFO, SPECS, ["--delay", "0"]).unwrap();
        assert_eq!(values.delay_ns(), 0);
        assert_eq!(parse(&INFO, SPECS, ["-c", "3"]).unwrap().delay_ns(), 0);
        for bad in ["-1", "soon", "86401"] {
            assert_eq!(
                parse(&INFO, SPECS, [format!("--delay={bad}")]).unwrap_err(),
                Stop::Bad(format!(
                    "option --delay: invalid value `{bad}`, expected seconds from 0 to 86400"
                ))
            );
        }
        assert_eq!(
            parse(&INFO, SPECS, ["--delayed"]).unwrap_err(),
            Stop::Bad("unknown option `--delayed`".into())
        );
    }

    #[test]
    fn help_lists_every_argument() {
        let Err(Stop::Help(text)) = parse(&INFO, SPECS, ["--help"]) else {
            panic!("expected help")
        };
        assert!(
            text.contains("--hello=STRING (default: Hello World!)"),
            "{text}"
        );
        assert!(text.contains("-c INT, --count=INT"), "{text}");
        assert!(text.contains("[//app:quiet]"), "{text}");
        assert!(text.contains("--delay=INT (default: 0)"), "{text}");
    }

    #[test]
    fn version_says_what_the_image_was_built_from() {
        let Err(Stop::Help(text)) = parse(&INFO, SPECS, ["--version"]) else {
            panic!("expected the version");
        };
        assert_eq!(
            text,
            "u //app:u for unix\nkeys:\ncrates: app\ngenerator: test\ncargo-lock-sha256: ab\n"
        );
    }
}

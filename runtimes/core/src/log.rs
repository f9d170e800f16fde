//! The `default_reporter` device: log lines through the `log` facade.
//!
//! Lines look like MirageOS's:
//! `2026-11-22T10:00:00-00:00: [INFO] [application] hello`. The source is
//! the first segment of the log target, and the unikernel's own crate is
//! called `application`, as in Mirage. Levels come from the `-l` runtime
//! argument: `debug`, `*:debug`, `application:info,*:warning`.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use log::{Level, LevelFilter, Log, Metadata, Record};
use mirage_types::{Console, PosixClock};

/// Per-source log levels: `(source, level)`, `*` matching any source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Levels(Vec<(String, LevelFilter)>);

fn level(name: &str) -> Result<LevelFilter, String> {
    Ok(match name {
        "quiet" => LevelFilter::Off,
        "app" | "error" => LevelFilter::Error,
        "warning" | "warn" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        other => {
            return Err(format!(
                "unknown log level `{other}`: expected quiet, app, error, warning, info, debug or trace"
            ))
        }
    })
}

impl Levels {
    /// Parses `-l` syntax: comma-separated `LEVEL` or `SOURCE:LEVEL`.
    pub fn parse(spec: &str) -> Result<Levels, String> {
        spec.split(',')
            .filter(|s| !s.is_empty())
            .map(|item| match item.split_once(':') {
                Some((src, l)) => Ok((src.to_string(), level(l)?)),
                None => Ok(("*".to_string(), level(item)?)),
            })
            .collect::<Result<_, _>>()
            .map(Levels)
    }

    /// The level of `source`: its own entry, else `*`, else info.
    pub fn of(&self, source: &str) -> LevelFilter {
        let find = |s: &str| {
            self.0
                .iter()
                .rev()
                .find(|(src, _)| src == s)
                .map(|(_, l)| *l)
        };
        find(source)
            .or_else(|| find("*"))
            .unwrap_or(LevelFilter::Info)
    }

    pub(crate) fn max(&self) -> LevelFilter {
        self.0
            .iter()
            .map(|(_, l)| *l)
            .chain([self.of("*")])
            .max()
            .unwrap_or(LevelFilter::Info)
    }
}

/// Validates a `-l` value; named by the `logs` runtime argument's `check`.
pub fn check_levels(spec: &str) -> Result<(), String> {
    Levels::parse(spec).map(|_| ())
}

/// A log reporter writing to a console, stamped by a POSIX clock.
#[derive(Clone, Debug)]
pub struct Reporter<C, P> {
    console: C,
    clock: P,
}

impl<C: Console + 'static, P: PosixClock + 'static> Reporter<C, P> {
    /// Installs the reporter as the `log` logger. `application` is the
    /// unikernel crate's name, reported as source `application`.
    pub async fn connect(
        clock: P,
        console: C,
        levels: String,
        application: &'static str,
    ) -> Result<Self, String> {
        let reporter = Reporter { console, clock };
        install(Levels::parse(&levels)?, application, reporter.clone())?;
        Ok(reporter)
    }
}

impl<C: Console + 'static, P: PosixClock + 'static> Sink for Reporter<C, P> {
    fn write(&self, record: &Record, source: &str) {
        let (days, ps) = self.clock.now_d_ps();
        self.console
            .log(&console_line(&rfc3339(days, ps), record, source));
    }
}

/// What a reporter does with each record its levels let through (`source`
/// is the record's, see [`source`]).
pub(crate) trait Sink: 'static {
    /// Reports `record`.
    fn write(&self, record: &Record, source: &str);
}

/// An installed reporter: a sink behind per-source levels. The
/// single-threaded runtime has no other thread to race with (see the
/// `global` module invariant), so the logger may claim to be shareable.
struct Installed<S> {
    levels: Levels,
    application: &'static str,
    sink: S,
}

// SAFETY: the runtime is single-threaded, so the logger is never used from
// two threads.
#[allow(unsafe_code)]
unsafe impl<S> Sync for Installed<S> {}
// SAFETY: as above.
#[allow(unsafe_code)]
unsafe impl<S> Send for Installed<S> {}

impl<S: Sink> Log for Installed<S> {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.levels.of(source(metadata.target(), self.application))
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            self.sink
                .write(record, source(record.target(), self.application));
        }
    }

    fn flush(&self) {}
}

/// Installs `sink` behind `levels` as the `log` logger. `application` is
/// the unikernel crate's name, reported as source `application`.
pub(crate) fn install<S: Sink>(
    levels: Levels,
    application: &'static str,
    sink: S,
) -> Result<(), String> {
    log::set_max_level(levels.max());
    let installed = Installed {
        levels,
        application,
        sink,
    };
    log::set_logger(Box::leak(Box::new(installed)))
        .map_err(|_| "a logger is already installed".to_string())
}

/// The source name of a log target: its crate, `application` for the
/// unikernel's own (named `application`).
pub(crate) fn source<'a>(target: &'a str, application: &str) -> &'a str {
    let first = target.split("::").next().unwrap_or(target);
    if first == application {
        "application"
    } else {
        first
    }
}

/// The console's line for `record`: `STAMP: [LEVEL] [SOURCE] TEXT`.
pub(crate) fn console_line(stamp: &str, record: &Record, source: &str) -> String {
    let level = match record.level() {
        Level::Error => "ERROR",
        Level::Warn => "WARNING",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
        Level::Trace => "TRACE",
    };
    format!("{stamp}: [{level}] [{source}] {}", record.args())
}

/// The proleptic Gregorian `(year, month, day)` of `days` since
/// 1970-01-01 (Howard Hinnant's civil-from-days).
pub fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `YYYY-MM-DDTHH:MM:SS-00:00` for days since the epoch and picoseconds.
pub fn rfc3339(days: i64, ps: u64) -> String {
    let (year, month, day) = civil_date(days);
    let secs = ps / 1_000_000_000_000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}-00:00",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_by_source_then_star_then_info() {
        let l = Levels::parse("application:debug,*:warning").unwrap();
        assert_eq!(l.of("application"), LevelFilter::Debug);
        assert_eq!(l.of("net"), LevelFilter::Warn);
        assert_eq!(Levels::parse("").unwrap().of("x"), LevelFilter::Info);
        assert_eq!(Levels::parse("debug").unwrap().of("x"), LevelFilter::Debug);
    }

    #[test]
    fn unknown_level_is_an_error() {
        assert!(Levels::parse("*:loud")
            .unwrap_err()
            .contains("unknown log level `loud`"));
    }

    #[test]
    fn rfc3339_of_known_days() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00-00:00");
        // 2000-03-01 is day 11017; 12:34:56 in picoseconds.
        assert_eq!(
            rfc3339(11_017, 45_296 * 1_000_000_000_000),
            "2000-03-01T12:34:56-00:00"
        );
    }
}

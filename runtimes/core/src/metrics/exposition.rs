//! The text exposition format (Prometheus 0.0.4) of the registry: the
//! runtime's own gauges first, then every family by name, its series in
//! the order they were made; a histogram's buckets cumulative, with
//! `_sum` (seconds) and `_count`.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use super::{enabled, Family, Value, BUCKETS, REGISTRY, STARTED_NS};

/// `name{labels}` or `name`, with `more` labels after the series' own.
fn sample(out: &mut String, name: &str, suffix: &str, labels: &str, more: &str) {
    let comma = if labels.is_empty() || more.is_empty() {
        ""
    } else {
        ","
    };
    if labels.is_empty() && more.is_empty() {
        let _ = write!(out, "{name}{suffix} ");
    } else {
        let _ = write!(out, "{name}{suffix}{{{labels}{comma}{more}}} ");
    }
}

/// Every series in the text exposition format, with the runtime's own
/// gauges (uptime, heap in use and at its peak, where the platform
/// knows them) first; empty while recording is off.
pub fn render() -> String {
    let mut out = String::new();
    if !enabled() {
        return out;
    }
    let platform = crate::platform::get();
    let uptime = platform.now_ns().saturating_sub(STARTED_NS.get().get());
    let own = [
        (
            "mirage_uptime_seconds",
            "Seconds since the image started connecting its devices.",
            Some(uptime as f64 / 1e9),
        ),
        (
            "mirage_heap_used_bytes",
            "Bytes of heap in use.",
            platform.heap_used().map(|b| b as f64),
        ),
        (
            "mirage_heap_peak_bytes",
            "The most bytes of heap ever in use at once.",
            platform.heap_peak().map(|b| b as f64),
        ),
    ];
    for (name, help, value) in own {
        if let Some(value) = value {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
    }
    let registry = REGISTRY.get().borrow();
    let mut families: Vec<&Family> = registry.iter().flatten().collect();
    families.sort_by_key(|f| f.name);
    for family in families {
        let name = family.name;
        let _ = writeln!(
            out,
            "# HELP {name} {}\n# TYPE {name} {}",
            family.help,
            family.kind.name()
        );
        for (labels, value) in &family.series {
            match value {
                Value::Count(c) => {
                    sample(&mut out, name, "", labels, "");
                    let _ = writeln!(out, "{}", c.get());
                }
                Value::Level(c) => {
                    sample(&mut out, name, "", labels, "");
                    let _ = writeln!(out, "{}", c.get());
                }
                Value::Spread(cells) => {
                    let mut count = 0;
                    for (i, bucket) in cells.buckets.iter().enumerate() {
                        count += bucket.get();
                        let le = match BUCKETS.get(i) {
                            Some(le) => alloc::format!("le=\"{le}\""),
                            None => String::from("le=\"+Inf\""),
                        };
                        sample(&mut out, name, "_bucket", labels, &le);
                        let _ = writeln!(out, "{count}");
                    }
                    sample(&mut out, name, "_sum", labels, "");
                    let _ = writeln!(out, "{}", cells.sum_ns.get() as f64 / 1e9);
                    sample(&mut out, name, "_count", labels, "");
                    let _ = writeln!(out, "{count}");
                }
            }
        }
    }
    out
}

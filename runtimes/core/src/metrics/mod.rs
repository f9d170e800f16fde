//! Metrics the runtime keeps about itself: counters, gauges and
//! histograms, named and labelled as Prometheus names them, and their
//! text exposition (format 0.0.4).
//!
//! Recording is off unless the image has a `metrics` device: generated
//! `main` code then calls [`enable`] before connecting any device. A
//! device asks for its series when it connects ([`counter`], [`gauge`],
//! [`histogram`]); off, it gets a handle that records nothing, and each
//! recording costs one branch. On, a series is a cell the handle shares
//! with the registry, and [`render`] writes them all, by name, then in
//! the order they were made (see [`exposition`]).
//!
//! Names follow Prometheus's conventions: `mirage_` first, the unit
//! (`_bytes`, `_seconds`) and `_total` for counters last.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::global::Global;

mod exposition;
pub use exposition::render;

/// A series' labels: name and value pairs.
pub type Labels<'a> = &'a [(&'static str, &'a str)];

/// The upper bounds of every histogram's buckets, in seconds (the last,
/// `+Inf`, is implied).
pub const BUCKETS: [f64; 10] = [
    0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// What a family of series is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A histogram's cells: per bucket (not cumulative), then the sum (ns).
#[derive(Debug, Default)]
pub(crate) struct Cells {
    pub(crate) buckets: [Cell<u64>; BUCKETS.len() + 1],
    pub(crate) sum_ns: Cell<u64>,
}

/// One series' value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Count(Rc<Cell<u64>>),
    Level(Rc<Cell<i64>>),
    Spread(Rc<Cells>),
}

/// A family: one name, one help text, many label sets.
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) kind: Kind,
    pub(crate) series: Vec<(String, Value)>,
}

/// Every family, in the order first asked for; `None` while off.
#[allow(unsafe_code)] // Global::new
pub(crate) static REGISTRY: Global<RefCell<Option<Vec<Family>>>> =
    // SAFETY: reached from the runtime's one thread only.
    unsafe { Global::new(RefCell::new(None)) };

/// The monotonic time [`enable`] was called at: uptime counts from it.
#[allow(unsafe_code)] // Global::new
pub(crate) static STARTED_NS: Global<Cell<u64>> =
    // SAFETY: reached from the runtime's one thread only.
    unsafe { Global::new(Cell::new(0)) };

/// Whether [`enable`] was called. Read apart from the registry: while off,
/// asking for a series touches no global cell, so devices made outside
/// the runtime (host tests on threads of their own) share nothing.
static ON: AtomicBool = AtomicBool::new(false);

/// Turns recording on: generated code calls it first when the image has a
/// `metrics` device.
pub fn enable() {
    let mut registry = REGISTRY.get().borrow_mut();
    if registry.is_none() {
        *registry = Some(Vec::new());
        STARTED_NS.get().set(crate::platform::get().now_ns());
    }
    ON.store(true, Ordering::Relaxed);
}

/// Whether recording is on.
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// A counter: only goes up.
#[derive(Debug, Clone, Default)]
pub struct Counter(Option<Rc<Cell<u64>>>);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        if let Some(c) = &self.0 {
            c.set(c.get().wrapping_add(n));
        }
    }

    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }
}

/// A gauge: a level that goes up and down.
#[derive(Debug, Clone, Default)]
pub struct Gauge(Option<Rc<Cell<i64>>>);

impl Gauge {
    /// Adds `n` (negative to lower it).
    pub fn add(&self, n: i64) {
        if let Some(c) = &self.0 {
            c.set(c.get().wrapping_add(n));
        }
    }
}

/// A histogram of durations, in [`BUCKETS`].
#[derive(Debug, Clone, Default)]
pub struct Histogram(Option<Rc<Cells>>);

impl Histogram {
    /// Counts one duration of `ns` nanoseconds.
    pub fn observe_ns(&self, ns: u64) {
        if let Some(cells) = &self.0 {
            let seconds = ns as f64 / 1e9;
            let i = BUCKETS
                .iter()
                .position(|&le| seconds <= le)
                .unwrap_or(BUCKETS.len());
            cells.buckets[i].set(cells.buckets[i].get() + 1);
            cells.sum_ns.set(cells.sum_ns.get().wrapping_add(ns));
        }
    }
}

/// `mirage_tcp_connections_accepted_total{port}`: either stack counts it.
pub fn tcp_accepted(port: u16) -> Counter {
    counter(
        "mirage_tcp_connections_accepted_total",
        "TCP connections established on a listening port.",
        &[("port", &alloc::format!("{port}"))],
    )
}

/// `mirage_tcp_connections_open`: either stack keeps it.
pub fn tcp_open() -> Gauge {
    gauge(
        "mirage_tcp_connections_open",
        "TCP connections open: established, accepted or made, and not yet closed.",
        &[],
    )
}

/// Operations and bytes each way of a store or a disk.
#[derive(Debug, Clone, Default)]
pub struct Io {
    reads: Counter,
    read_bytes: Counter,
    writes: Counter,
    write_bytes: Counter,
}

impl Io {
    /// The series of the key-value store of kind `store` (`crunch`, `tar`).
    pub fn kv(store: &str) -> Io {
        Io::named(
            (
                "mirage_kv_operations_total",
                "Key-value store reads (get) and writes (set, remove).",
            ),
            (
                "mirage_kv_bytes_total",
                "Bytes of values read from and written to key-value stores.",
            ),
            ("store", store),
        )
    }

    /// The series of block device `device`.
    pub fn block(device: &str) -> Io {
        Io::named(
            (
                "mirage_block_operations_total",
                "Block device reads and writes.",
            ),
            (
                "mirage_block_bytes_total",
                "Bytes read from and written to block devices.",
            ),
            ("device", device),
        )
    }

    /// The counters `ops` and `bytes` (name, help) of `what`, per `op`.
    fn named(
        ops: (&'static str, &'static str),
        bytes: (&'static str, &'static str),
        what: (&'static str, &str),
    ) -> Io {
        let of = |(name, help), op| counter(name, help, &[what, ("op", op)]);
        Io {
            reads: of(ops, "read"),
            read_bytes: of(bytes, "read"),
            writes: of(ops, "write"),
            write_bytes: of(bytes, "write"),
        }
    }

    /// Counts a read of `bytes`.
    pub fn read(&self, bytes: usize) {
        self.reads.inc();
        self.read_bytes.add(bytes as u64);
    }

    /// Counts a write of `bytes`.
    pub fn write(&self, bytes: usize) {
        self.writes.inc();
        self.write_bytes.add(bytes as u64);
    }
}

/// The series `name{labels}` of `kind`, made by `make` if new; `None`
/// while recording is off.
fn series(
    name: &'static str,
    help: &'static str,
    kind: Kind,
    labels: Labels,
    make: impl FnOnce() -> Value,
) -> Option<Value> {
    if !enabled() {
        return None;
    }
    let mut registry = REGISTRY.get().borrow_mut();
    let families = registry.as_mut()?;
    let at = match families.iter().position(|f| f.name == name) {
        Some(at) => at,
        None => {
            families.push(Family {
                name,
                help,
                kind,
                series: Vec::new(),
            });
            families.len() - 1
        }
    };
    let family = &mut families[at];
    debug_assert_eq!(family.kind, kind, "{name} is a {}", family.kind.name());
    let key = label_text(labels);
    if let Some((_, value)) = family.series.iter().find(|(k, _)| *k == key) {
        return Some(value.clone());
    }
    let value = make();
    family.series.push((key, value.clone()));
    Some(value)
}

/// The counter `name{labels}`: the same one each time it is asked for.
pub fn counter(name: &'static str, help: &'static str, labels: Labels) -> Counter {
    match series(name, help, Kind::Counter, labels, || {
        Value::Count(Rc::default())
    }) {
        Some(Value::Count(c)) => Counter(Some(c)),
        _ => Counter(None),
    }
}

/// The gauge `name{labels}`.
pub fn gauge(name: &'static str, help: &'static str, labels: Labels) -> Gauge {
    match series(name, help, Kind::Gauge, labels, || {
        Value::Level(Rc::default())
    }) {
        Some(Value::Level(c)) => Gauge(Some(c)),
        _ => Gauge(None),
    }
}

/// The histogram `name{labels}` (durations, in seconds).
pub fn histogram(name: &'static str, help: &'static str, labels: Labels) -> Histogram {
    match series(name, help, Kind::Histogram, labels, || {
        Value::Spread(Rc::default())
    }) {
        Some(Value::Spread(c)) => Histogram(Some(c)),
        _ => Histogram(None),
    }
}

/// `a="x",b="y"`, values escaped as the exposition format asks.
fn label_text(labels: Labels) -> String {
    let mut out = String::new();
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(
            label_text(&[("a", "x"), ("b", "q\"\\\n")]),
            "a=\"x\",b=\"q\\\"\\\\\\n\""
        );
    }

    #[test]
    fn off_records_nothing() {
        let c = Counter::default();
        c.add(3);
        assert!(c.0.is_none());
    }

    extern crate std;

    /// Devices are made on test threads outside the runtime (chamelon's
    /// power-cut tests): while off, asking for series from many threads at
    /// once touches no global cell (it once panicked "already borrowed").
    #[test]
    fn off_series_are_asked_for_from_many_threads_at_once() {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..100_000 {
                        assert!(counter("mirage_test_total", "A test.", &[]).0.is_none());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}

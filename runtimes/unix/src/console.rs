//! The `default_console` device: the process's standard output.

use std::io::Write;

/// Standard output as a console.
#[derive(Clone, Copy, Debug, Default)]
pub struct Console;

impl Console {
    /// Connects the device; never fails.
    pub async fn connect() -> Result<Console, std::convert::Infallible> {
        Ok(Console)
    }
}

impl mirage_types::Console for Console {
    type Error = std::io::Error;

    async fn write(&self, buf: &[u8]) -> Result<(), std::io::Error> {
        let mut out = std::io::stdout().lock();
        out.write_all(buf)?;
        out.flush()
    }

    fn log(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

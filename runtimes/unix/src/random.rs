//! The `default_random` device: the kernel's `getrandom(2)`.

/// Random bytes from the host kernel.
#[derive(Clone, Copy, Debug, Default)]
pub struct Random;

impl Random {
    /// Connects the device; never fails.
    pub async fn connect() -> Result<Random, std::convert::Infallible> {
        Ok(Random)
    }
}

impl mirage_types::Random for Random {
    fn generate(&self, buf: &mut [u8]) {
        let mut filled = 0;
        while filled < buf.len() {
            let rest = &mut buf[filled..];
            // SAFETY: `rest` is a valid writable buffer of `rest.len()` bytes.
            let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
            if n > 0 {
                filled += n as usize;
            }
        }
    }
}

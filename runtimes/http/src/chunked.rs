//! Chunked bodies (`Transfer-Encoding: chunked`), decoded as bytes arrive.
//!
//! Contract: a [`Chunked`] decoder consumes framing and data from the
//! front of a buffer as soon as they are whole, so what the caller keeps
//! between reads is at most one unfinished chunk-size line
//! ([`MAX_CHUNK_LINE`]) or trailer section (the head limit): a peer that
//! sends an endless chunk extension or trailer is refused, not buffered,
//! and each byte is looked at a bounded number of times. The body never
//! exceeds its limit. Any bytes decode without panicking.

use alloc::vec::Vec;

use crate::request::{reject, Reject, MAX_HEADERS};

/// A chunk-size line (size, extensions and CRLF) longer than this is
/// refused: extensions carry nothing this server reads.
pub const MAX_CHUNK_LINE: usize = 1024;

/// Where the decoder is in the body's framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// A chunk-size line.
    Size,
    /// This many bytes of a chunk's data.
    Data(usize),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// The trailer section after the last chunk.
    Trailers,
}

/// An incremental decoder of one chunked body.
#[derive(Debug)]
pub struct Chunked {
    part: Part,
    body: Vec<u8>,
    max_body: usize,
    max_trailers: usize,
}

impl Chunked {
    /// A decoder of a body of at most `max_body` bytes whose trailers
    /// take at most `max_trailers` bytes.
    pub fn new(max_body: usize, max_trailers: usize) -> Self {
        Chunked {
            part: Part::Size,
            body: Vec::new(),
            max_body,
            max_trailers,
        }
    }

    /// Decodes what it can from the front of `buf`: the bytes it consumed
    /// (the caller drops them), and the body once its last chunk and
    /// trailers have arrived (bytes after them are not consumed).
    pub fn decode(&mut self, buf: &[u8]) -> Result<(usize, Option<Vec<u8>>), Reject> {
        let mut at = 0;
        loop {
            let rest = &buf[at..];
            match self.part {
                Part::Size => {
                    let (skip, size) = match httparse::parse_chunk_size(rest) {
                        Ok(httparse::Status::Complete(c)) => c,
                        Ok(httparse::Status::Partial) if rest.len() > MAX_CHUNK_LINE => {
                            return Err(reject(400, "chunk-size line too long"))
                        }
                        Ok(httparse::Status::Partial) => return Ok((at, None)),
                        Err(_) => return Err(reject(400, "malformed chunk size")),
                    };
                    if skip > MAX_CHUNK_LINE {
                        return Err(reject(400, "chunk-size line too long"));
                    }
                    at += skip;
                    let size = usize::try_from(size).map_err(|_| reject(413, "body too large"))?;
                    if size > self.max_body - self.body.len() {
                        return Err(reject(413, "body too large"));
                    }
                    self.part = if size == 0 {
                        Part::Trailers
                    } else {
                        Part::Data(size)
                    };
                }
                Part::Data(left) => {
                    let take = left.min(rest.len());
                    self.body.extend_from_slice(&rest[..take]);
                    at += take;
                    if take < left {
                        self.part = Part::Data(left - take);
                        return Ok((at, None));
                    }
                    self.part = Part::DataEnd;
                }
                Part::DataEnd => match rest {
                    [b'\r', b'\n', ..] => {
                        at += 2;
                        self.part = Part::Size;
                    }
                    [] | [b'\r'] => return Ok((at, None)),
                    _ => return Err(reject(400, "chunk without CRLF")),
                },
                Part::Trailers => {
                    // Trailers end with an empty line; they are dropped.
                    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
                    return match httparse::parse_headers(rest, &mut slots) {
                        Ok(httparse::Status::Complete((n, _))) if n > self.max_trailers => {
                            Err(reject(431, "trailers too large"))
                        }
                        Ok(httparse::Status::Complete((n, _))) => {
                            Ok((at + n, Some(core::mem::take(&mut self.body))))
                        }
                        Ok(httparse::Status::Partial) if rest.len() > self.max_trailers => {
                            Err(reject(431, "trailers too large"))
                        }
                        Ok(httparse::Status::Partial) => Ok((at, None)),
                        Err(httparse::Error::TooManyHeaders) => {
                            Err(reject(431, "too many trailers"))
                        }
                        Err(_) => Err(reject(400, "malformed trailers")),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Feeds `input` in pieces of `step` bytes, as a reader would keep
    /// them: the body, the bytes left after it, and the most ever kept.
    fn feed(
        input: &[u8],
        step: usize,
        max_body: usize,
    ) -> Result<(Vec<u8>, Vec<u8>, usize), Reject> {
        let mut dec = Chunked::new(max_body, 256);
        let mut buf = Vec::new();
        let mut kept = 0;
        for piece in input.chunks(step) {
            buf.extend_from_slice(piece);
            let (used, body) = dec.decode(&buf)?;
            buf.drain(..used);
            kept = kept.max(buf.len());
            if let Some(body) = body {
                return Ok((body, buf, kept));
            }
        }
        Err(reject(0, "incomplete"))
    }

    #[test]
    fn bodies_decode_the_same_in_any_pieces() {
        let input = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for step in 1..input.len() {
            let (body, left, _) = feed(input, step, 64).unwrap();
            assert_eq!(body, b"Wikipedia", "step {step}");
            // What follows the body stays for the next request.
            assert!(b"NEXT".starts_with(&left), "step {step}: {left:?}");
        }
        let (_, left, _) = feed(input, input.len(), 64).unwrap();
        assert_eq!(left, b"NEXT");
    }

    #[test]
    fn malformed_and_oversized_bodies_are_refused() {
        let status = |input: &[u8]| feed(input, input.len(), 64).unwrap_err().status;
        assert_eq!(status(b"zz\r\n"), 400);
        assert_eq!(status(b"41\r\n"), 413);
        assert_eq!(status(b"40\r\n"), 0, "64 bytes are allowed");
        assert_eq!(status(b"20\r\n"), 0);
        assert_eq!(
            status(&[b"20\r\n", &[b'a'; 32][..], b"\r\n21\r\n"].concat()),
            413
        );
        assert_eq!(status(b"2\r\nabXX"), 400);
        assert_eq!(status(b"ffffffffffffffffffff\r\n"), 400);
    }

    /// An endless chunk extension or trailer section: refused once it
    /// passes its limit, and the reader never keeps more than that.
    #[test]
    fn endless_extensions_and_trailers_are_refused_within_their_limit() {
        let mut endless_ext = b"1;".to_vec();
        endless_ext.extend(vec![b'a'; 100_000]);
        let err = feed(&endless_ext, 100, 64).unwrap_err();
        assert_eq!((err.status, err.why), (400, "chunk-size line too long"));

        let mut endless_trailer = b"1\r\na\r\n0\r\nX: ".to_vec();
        endless_trailer.extend(vec![b'b'; 100_000]);
        let err = feed(&endless_trailer, 100, 64).unwrap_err();
        assert_eq!((err.status, err.why), (431, "trailers too large"));

        // A million one-byte chunks up to the body limit keep nothing.
        let mut many = b"1\r\na\r\n".repeat(64);
        many.extend_from_slice(b"0\r\n\r\n");
        let (body, _, kept) = feed(&many, 7, 64).unwrap();
        assert_eq!(body.len(), 64);
        assert!(kept <= 7, "kept {kept} bytes");
    }
}

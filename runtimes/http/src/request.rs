//! Requests: the head parsed by httparse (never by hand), the body framed
//! by `Content-Length` or `chunked`, every limit checked.
//!
//! Contract: [`parse_head`] accepts any bytes without panicking; it
//! returns what is complete, `None` when more bytes are needed, or the
//! [`Reject`] the server answers before closing. Chunked bodies are
//! [`crate::chunked`]'s.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The methods this server knows; others are answered 501.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: a `GET` without the body.
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `OPTIONS`.
    Options,
    /// `PATCH`.
    Patch,
}

impl Method {
    fn parse(token: &str) -> Option<Method> {
        Some(match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            _ => return None,
        })
    }
}

/// A request, its body read whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The request target, as sent (`/path?query`).
    pub target: String,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor_version: u8,
    /// Header names (lower-cased) and values, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The target's path, without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

/// How much a request may hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Request line and headers, in bytes (431 beyond).
    pub max_head: usize,
    /// Body, in bytes (413 beyond).
    pub max_body: usize,
}

/// A request the server answers with `status`, then closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject {
    /// The status: 400, 413, 431 or 501.
    pub status: u16,
    /// Why, for the log and the response body.
    pub why: &'static str,
}

pub(crate) const fn reject(status: u16, why: &'static str) -> Reject {
    Reject { status, why }
}

/// How the body after the head is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// This many bytes (0: none).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed head: the request (body still empty), its framing, whether
/// the connection closes after it, and how many bytes it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The request, without its body.
    pub request: Request,
    /// How its body is framed.
    pub framing: Framing,
    /// `Connection: close`, or HTTP/1.0 without keep-alive.
    pub close: bool,
    /// Bytes of `buf` the head took.
    pub len: usize,
}

/// Headers a request may carry before 431.
pub(crate) const MAX_HEADERS: usize = 64;

fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Parses the head at the start of `buf`.
pub fn parse_head(buf: &[u8], limits: &Limits) -> Result<Option<Head>, Reject> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head => {
            return Err(reject(431, "request head too large"))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(reject(431, "too many headers")),
        Err(_) => return Err(reject(400, "malformed request")),
    };
    if len > limits.max_head {
        return Err(reject(431, "request head too large"));
    }
    let token = req.method.unwrap_or_default();
    let method = Method::parse(token).ok_or(reject(501, "method not implemented"))?;
    let minor_version = req.version.unwrap_or_default();
    let target = req.path.unwrap_or_default().to_string();
    let headers: Vec<(String, Vec<u8>)> = req
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    fn values<'h>(
        headers: &'h [(String, Vec<u8>)],
        name: &'h str,
    ) -> impl Iterator<Item = &'h Vec<u8>> + 'h {
        headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v)
    }
    if minor_version == 1 && values(&headers, "host").count() != 1 {
        return Err(reject(400, "HTTP/1.1 needs exactly one Host header"));
    }
    let length = {
        let mut lengths = values(&headers, "content-length").map(|v| {
            core::str::from_utf8(v)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<usize>().ok())
        });
        match lengths.next() {
            None => None,
            Some(None) => return Err(reject(400, "malformed Content-Length")),
            Some(Some(n)) => {
                if lengths.any(|m| m != Some(n)) {
                    return Err(reject(400, "conflicting Content-Length"));
                }
                Some(n)
            }
        }
    };
    let (framing, close) = {
        let te: Vec<&Vec<u8>> = values(&headers, "transfer-encoding").collect();
        let framing = match (te.as_slice(), length) {
            ([], None) => Framing::Length(0),
            ([], Some(n)) if n > limits.max_body => return Err(reject(413, "body too large")),
            ([], Some(n)) => Framing::Length(n),
            (_, Some(_)) => return Err(reject(400, "both Transfer-Encoding and Content-Length")),
            ([one], None) if one.trim_ascii().eq_ignore_ascii_case(b"chunked") => Framing::Chunked,
            _ => return Err(reject(501, "transfer coding not implemented")),
        };
        let connection = values(&headers, "connection").fold(Vec::new(), |mut all, v| {
            all.extend_from_slice(v);
            all.push(b',');
            all
        });
        let close = has_token(&connection, "close")
            || (minor_version == 0 && !has_token(&connection, "keep-alive"));
        (framing, close)
    };
    Ok(Some(Head {
        request: Request {
            method,
            target,
            minor_version,
            headers,
            body: Vec::new(),
        },
        framing,
        close,
        len,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_head: 1024,
        max_body: 64,
    };

    fn head(text: &str) -> Result<Option<Head>, Reject> {
        parse_head(text.as_bytes(), &LIMITS)
    }

    #[test]
    fn a_get_with_keep_alive_and_a_pipelined_second() {
        let two = "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
        let first = head(two).unwrap().unwrap();
        assert_eq!(first.request.method, Method::Get);
        assert_eq!(first.request.path(), "/a");
        assert!(!first.close);
        assert_eq!(first.framing, Framing::Length(0));
        let second = parse_head(&two.as_bytes()[first.len..], &LIMITS)
            .unwrap()
            .unwrap();
        assert_eq!(second.request.target, "/b");
    }

    #[test]
    fn partial_heads_wait_and_limits_answer() {
        assert_eq!(head("GET / HTTP/1.1\r\nHo"), Ok(None));
        let big = alloc::format!(
            "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
            "a".repeat(2000)
        );
        assert_eq!(head(&big).unwrap_err().status, 431);
        assert_eq!(
            head("BREW / HTTP/1.1\r\nHost: h\r\n\r\n")
                .unwrap_err()
                .status,
            501
        );
        assert_eq!(head("GET / HTTP/1.1\r\n\r\n").unwrap_err().status, 400);
        assert_eq!(head("\x01\x02 nonsense\r\n\r\n").unwrap_err().status, 400);
        let long = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n";
        assert_eq!(head(long).unwrap_err().status, 413);
        let both =
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(head(both).unwrap_err().status, 400);
        let gzip = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert_eq!(head(gzip).unwrap_err().status, 501);
    }

    #[test]
    fn http_1_0_closes_unless_kept_alive() {
        assert!(head("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap().close);
        let kept = head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!kept.close);
        let closed = head("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assert!(closed.unwrap().unwrap().close);
    }

    /// Bytes that matter to HTTP's syntax, and two that never should.
    const ALPHABET: &[u8] = b"\r\n:;, 0123456789abcdefx\x00\xff";

    const SEEDS: &[&[u8]] = &[
        b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
        b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        b"PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"HEAD / HTTP/1.0\r\n\r\n",
    ];

    /// A million mutated requests through the parser and the chunked
    /// decoder: no panic, and every outcome is a request, a wait for more
    /// bytes, or one of the statuses the server answers with.
    #[test]
    fn a_million_mutated_requests_never_panic() {
        let mut rng = mirage_runtime::fuzz::Rng::new(0x9e37_79b9_7f4a_7c15);
        let (mut parsed, mut rejected) = (0u32, 0u32);
        for _ in 0..1_000_000 {
            let mut req: Vec<u8> = rng.pick(SEEDS).to_vec();
            rng.mutate(&mut req, 4, ALPHABET);
            match parse_head(&req, &LIMITS) {
                Ok(Some(head)) => {
                    parsed += 1;
                    assert!(head.len <= req.len());
                    if head.framing == Framing::Chunked {
                        let mut body = crate::chunked::Chunked::new(LIMITS.max_body, 64);
                        let _ = body.decode(&req[head.len..]);
                    }
                }
                Ok(None) => {}
                Err(r) => {
                    rejected += 1;
                    assert!([400, 413, 431, 501].contains(&r.status), "{r:?}");
                }
            }
        }
        assert!(
            parsed > 10_000 && rejected > 10_000,
            "{parsed} parsed, {rejected} rejected"
        );
    }
}

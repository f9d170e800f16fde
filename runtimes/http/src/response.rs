//! Responses: status, headers and body, written as HTTP/1.1.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A response; the server adds `Content-Length`, `Date` and `Connection`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (not sent for `HEAD`, 204 and 304).
    pub body: Vec<u8>,
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// With header `name: value` added.
    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// With `body`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }

    /// A plain-text answer `status` with `text` as its body.
    pub fn text(status: u16, text: &str) -> Response {
        Response::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(format!("{text}\n"))
    }

    /// Whether this status carries no body at all (not even its length).
    fn bodiless(&self) -> bool {
        self.status == 204 || self.status == 304 || self.status < 200
    }

    /// The head on the wire; `date` is the `Date` value when a clock is
    /// present. The body follows it ([`Response::body_sent`]).
    pub fn head(&self, date: Option<&str>, close: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(date) = date {
            head.push_str(&format!("Date: {date}\r\n"));
        }
        if !self.bodiless() {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    /// The body on the wire after the head: none for `HEAD` (`head_only`),
    /// 204 and 304.
    pub fn body_sent(&self, head_only: bool) -> &[u8] {
        match head_only || self.bodiless() {
            true => &[],
            false => &self.body,
        }
    }
}

/// The reason phrase of `status`.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Head and body, as they go on the wire.
    fn wire(r: &Response, head_only: bool, date: Option<&str>, close: bool) -> Vec<u8> {
        [r.head(date, close), r.body_sent(head_only).to_vec()].concat()
    }

    #[test]
    fn heads_have_lengths_and_bodies_follow() {
        let r = Response::text(200, "hi").header("ETag", "\"x\"");
        let bytes = wire(&r, false, Some("Thu, 01 Jan 1970 00:00:00 GMT"), false);
        assert_eq!(
            core::str::from_utf8(&bytes).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nETag: \"x\"\r\n\
             Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 3\r\n\r\nhi\n"
        );
        let head = wire(&r, true, None, true);
        assert!(core::str::from_utf8(&head)
            .unwrap()
            .ends_with("Content-Length: 3\r\nConnection: close\r\n\r\n"));
        let not_modified = wire(&Response::new(304), false, None, false);
        assert_eq!(not_modified, b"HTTP/1.1 304 Not Modified\r\n\r\n");
    }
}

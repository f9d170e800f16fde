//! The exchange on canned server bytes: what a POST sends, every
//! response framing, errors, and fixed-seed fuzzing.

use super::*;
use alloc::rc::Rc;
use alloc::vec;
use core::cell::RefCell;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use mirage_runtime::fuzz::Rng;
use mirage_types::NetError;

/// A server's bytes, handed out in the given chunk sizes; what the
/// client sends is kept.
struct Canned {
    data: Vec<u8>,
    chunks: Vec<usize>,
    sent: Rc<RefCell<Vec<u8>>>,
}

impl TcpFlow for Canned {
    async fn read(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        if self.data.is_empty() {
            return Ok(None);
        }
        let n = self
            .chunks
            .pop()
            .unwrap_or(usize::MAX)
            .clamp(1, self.data.len());
        Ok(Some(self.data.drain(..n).collect()))
    }
    async fn write(&mut self, data: &[u8]) -> Result<(), NetError> {
        self.sent.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    async fn close(&mut self) {}
    fn peer(&self) -> String {
        "canned".into()
    }
}

/// Canned flows never wait: one poll finishes.
fn answer(data: &[u8], chunks: Vec<usize>, max_body: usize) -> Result<Parts, String> {
    let flow = Canned {
        data: data.to_vec(),
        chunks,
        sent: Rc::default(),
    };
    let mut fut = pin!(talk(flow, b"GET / HTTP/1.1\r\n\r\n", &[], "GET", max_body));
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r,
        Poll::Pending => panic!("a canned flow waited"),
    }
}

#[test]
fn bodies_framed_every_way() {
    let length = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
    assert_eq!(answer(length, vec![1, 3, 2], 100).unwrap().3, b"hello");
    let chunked =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n";
    assert_eq!(answer(chunked, vec![7; 9], 100).unwrap().3, b"hello");
    let closed = b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello";
    let (status, reason, headers, body) = answer(closed, vec![], 100).unwrap();
    assert_eq!(
        (status, &*reason, body.as_slice()),
        (200, "OK", &b"hello"[..])
    );
    assert_eq!(headers, [("Server".to_string(), "x".to_string())]);
    let interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    assert_eq!(answer(interim, vec![], 100).unwrap().0, 204);
}

#[test]
fn bad_responses_are_errors() {
    assert_eq!(
        answer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nx",
            vec![],
            100
        ),
        Err("a body of 500 bytes, over --http-client-max-body".into())
    );
    assert_eq!(
        answer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
            vec![],
            100
        ),
        Err("the server closed after 2 of 5 bytes".into())
    );
    assert!(answer(b"SMTP ready\r\n\r\n", vec![], 100).is_err());
    assert_eq!(
        answer(b"", vec![], 100),
        Err("the server closed before a response".into())
    );
}

/// Mangled responses in random pieces: an answer or an error, never a
/// panic.
#[test]
fn fuzzed_responses_never_panic() {
    let base: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let mut rng = Rng::new(0x4854_5450);
    let mut whole = 0;
    for _ in 0..20_000 {
        let mut data = base.to_vec();
        let edits = 1 + rng.below(6);
        rng.mutate(&mut data, edits, b"\r\n:0 fF;");
        let chunks = (0..rng.below(8)).map(|_| rng.below(20)).collect();
        if answer(&data, chunks, 64).is_ok() {
            whole += 1;
        }
    }
    assert!(whole > 0);
}

#[test]
fn a_post_sends_its_head_and_body() {
    let url = Url::parse("http://[fd00::1]:8080/form?x").unwrap();
    let head = request_head("POST", &url, &[("Content-Type", "text/plain")], 5).unwrap();
    let sent = Rc::default();
    let flow = Canned {
        data: b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n".to_vec(),
        chunks: vec![],
        sent: Rc::clone(&sent),
    };
    let mut fut = pin!(talk(flow, &head, b"hello", "POST", 10));
    let Poll::Ready(Ok((status, ..))) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    else {
        panic!("no answer");
    };
    assert_eq!(status, 201);
    let sent = String::from_utf8(sent.borrow().clone()).unwrap();
    assert!(
        sent.starts_with("POST /form?x HTTP/1.1\r\nHost: [fd00::1]:8080\r\n"),
        "{sent}"
    );
    assert!(
        sent.contains("\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"),
        "{sent}"
    );
}

#[test]
fn headers_that_would_smuggle_are_refused() {
    let url = Url::parse("http://h/").unwrap();
    for bad in [
        ("X", "a\r\nHost: evil"),
        ("X", "a\nb"),
        ("X", "a\0"),
        ("X Y", "a"),
        ("X:", "a"),
        ("", "a"),
    ] {
        let err = request_head("GET", &url, &[bad], 0).unwrap_err();
        assert!(
            err.contains("no header holds CR, LF or NUL"),
            "{bad:?}: {err}"
        );
    }
    assert!(request_head("GET", &url, &[("X-Ok", "a b\tc")], 0).is_ok());
}

#[test]
fn credentials_stay_with_their_origin_and_https_never_drops_to_http() {
    let first = Url::parse("https://a.example/login").unwrap();
    let origin = first.origin();
    let headers = [
        ("Authorization", "Bearer t"),
        ("cookie", "s=1"),
        ("Accept", "x"),
    ];
    assert_eq!(headers_for(&headers, &origin, &first), headers);
    let same = redirect(&first, "/home").unwrap();
    assert_eq!(headers_for(&headers, &origin, &same).len(), 3);
    for other in ["https://b.example/", "https://a.example:8443/"] {
        let next = redirect(&first, other).unwrap();
        assert_eq!(
            headers_for(&headers, &origin, &next),
            [("Accept", "x")],
            "{other}"
        );
    }
    let err = redirect(&first, "http://a.example/").unwrap_err();
    assert!(err.contains("from https to http"), "{err}");
    let plain = Url::parse("http://a.example/").unwrap();
    assert!(redirect(&plain, "https://a.example/").is_ok());
}

/// A response whose chunk extension or trailers never end is refused
/// once past its limit, not read until the timeout.
#[test]
fn endless_chunk_framing_is_refused() {
    let mut endless = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
    endless.extend(vec![b'x'; 10_000]);
    assert_eq!(
        answer(&endless, vec![100; 200], 64),
        Err("a chunked body: chunk-size line too long".into())
    );
}

//! The `http_client` device, after Mirage's `http_client`: GET and POST
//! over HTTP and HTTPS, by host name. Connections come from a `Connect`
//! device (Happy Eyeballs over DNS), TLS from a `TlsClient` (certificates
//! verified, never skipped). One request per connection (`Connection:
//! close`); responses framed by `Content-Length`, chunked, or the close;
//! redirects followed, five at most; the whole exchange, redirects
//! included, within `--http-client-timeout`; bodies larger than
//! `--http-client-max-body` refused. What a server sends never panics the
//! image: a malformed response is an error.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::future::Future;

use mirage_runtime::time::{positive_seconds_ns, within};
use mirage_types::{Connect, TcpFlow, Time, TlsClient};

use crate::chunked::Chunked;
use crate::url::Url;

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;
/// The largest response head read.
const MAX_HEAD: usize = 64 * 1024;
/// Response headers parsed at most.
const MAX_HEADERS: usize = 100;

/// A response, after any redirects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientResponse {
    /// The URL that answered.
    pub url: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body, decoded from its framing.
    pub body: Vec<u8>,
}

/// The `http_client` device type.
pub trait HttpClient: Clone {
    /// `method` on `url` with `headers` and `body` (sent with a
    /// `Content-Length` when not empty).
    fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> impl Future<Output = Result<ClientResponse, String>>;

    /// `GET url`.
    fn get(&self, url: &str) -> impl Future<Output = Result<ClientResponse, String>> {
        self.request("GET", url, &[], &[])
    }

    /// `POST url` with a body of `content_type`.
    fn post(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
    ) -> impl Future<Output = Result<ClientResponse, String>> {
        async move {
            self.request("POST", url, &[("Content-Type", content_type)], body)
                .await
        }
    }
}

/// The `http_client` device.
#[derive(Clone)]
pub struct Client<C, L, T> {
    connect: C,
    tls: L,
    time: T,
    timeout_ns: u64,
    max_body: usize,
}

impl<C: Connect, L: TlsClient, T: Time> Client<C, L, T> {
    /// Connects the device: `timeout_s` from `--http-client-timeout`,
    /// `max_body` from `--http-client-max-body`.
    pub async fn connect(
        connect: C,
        tls: L,
        time: T,
        timeout_s: i64,
        max_body: i64,
    ) -> Result<Self, String> {
        let timeout_ns = positive_seconds_ns(timeout_s, "http-client-timeout")?;
        let max_body =
            usize::try_from(max_body).map_err(|_| "--http-client-max-body must be >= 0")?;
        Ok(Client {
            connect,
            tls,
            time,
            timeout_ns,
            max_body,
        })
    }

    /// One request and its response, on a connection of its own.
    async fn exchange(
        &self,
        url: &Url,
        head: &[u8],
        body: &[u8],
        method: &str,
    ) -> Result<ClientResponse, String> {
        let flow = self.connect.connect(&url.host, url.port).await?;
        let response = if url.https {
            let flow = self
                .tls
                .connect(&url.host, flow)
                .await
                .map_err(|e| format!("{}: {e}", url.authority()))?;
            talk(flow, head, body, method, self.max_body).await
        } else {
            talk(flow, head, body, method, self.max_body).await
        };
        let (status, reason, headers, body) = response.map_err(|e| format!("{url}: {e}"))?;
        Ok(ClientResponse {
            url: url.to_string(),
            status,
            reason,
            headers,
            body,
        })
    }

    async fn follow(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<ClientResponse, String> {
        let mut url = Url::parse(url)?;
        let origin = url.origin();
        let (mut method, mut body) = (method.to_string(), body);
        for _ in 0..=MAX_REDIRECTS {
            let sent = headers_for(headers, &origin, &url);
            let head = request_head(&method, &url, &sent, body.len())?;
            let response = self.exchange(&url, &head, body, &method).await?;
            let location = response
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v.clone());
            let (Some(location), 301 | 302 | 303 | 307 | 308) = (location, response.status) else {
                return Ok(response);
            };
            // 303, and 301/302 after a POST as browsers do, become a GET.
            if response.status == 303 || (response.status <= 302 && method == "POST") {
                method = "GET".to_string();
                body = &[];
            }
            log::debug!("http client: {} {} -> {location}", response.status, url);
            url = redirect(&url, &location)?;
        }
        Err(format!("{url}: more than {MAX_REDIRECTS} redirects"))
    }
}

impl<C: Connect, L: TlsClient, T: Time> HttpClient for Client<C, L, T> {
    async fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<ClientResponse, String> {
        within(
            &self.time,
            self.timeout_ns,
            self.follow(method, url, headers, body),
        )
        .await
        .unwrap_or_else(|| {
            Err(format!(
                "{url}: no whole response within {} s (--http-client-timeout)",
                self.timeout_ns / 1_000_000_000
            ))
        })
    }
}

/// Whether `name: value` can be written as one header line: a token for
/// a name, no CR, LF or NUL in the value (which would end the header and
/// smuggle another, or a request).
fn header_ok(name: &str, value: &str) -> bool {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    !name.is_empty()
        && name.bytes().all(token)
        && !value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// Headers that carry credentials: not sent to another origin.
const CREDENTIALS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// The caller's headers as sent to `url`: credentials only to `origin`,
/// the one they were given for.
fn headers_for<'h>(
    headers: &[(&'h str, &'h str)],
    origin: &(bool, String, u16),
    url: &Url,
) -> Vec<(&'h str, &'h str)> {
    let same = url.origin() == *origin;
    headers
        .iter()
        .filter(|(n, _)| same || !CREDENTIALS.iter().any(|c| n.eq_ignore_ascii_case(c)))
        .copied()
        .collect()
}

/// Where a redirect from `url` to `location` goes; never from https down
/// to http, which would send the request in the clear.
fn redirect(url: &Url, location: &str) -> Result<Url, String> {
    let next = url.join(location)?;
    if url.https && !next.https {
        return Err(format!(
            "{url}: a redirect from https to http ({next}) is refused"
        ));
    }
    Ok(next)
}

/// The request's head; an error for a header that cannot be written.
fn request_head(
    method: &str,
    url: &Url,
    headers: &[(&str, &str)],
    body_len: usize,
) -> Result<Vec<u8>, String> {
    if let Some((name, _)) = headers.iter().find(|(n, v)| !header_ok(n, v)) {
        return Err(format!(
            "header {name:?}: a header name is a token, and no header holds CR, LF or NUL"
        ));
    }
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mirage-http/{}\r\nAccept: */*\r\nConnection: close\r\n",
        url.target,
        url.authority(),
        env!("CARGO_PKG_VERSION"),
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if body_len > 0 || method == "POST" {
        head.push_str(&format!("Content-Length: {body_len}\r\n"));
    }
    head.push_str("\r\n");
    Ok(head.into_bytes())
}

/// Status, reason, headers and body.
type Parts = (u16, String, Vec<(String, String)>, Vec<u8>);

/// Sends the request over `flow` and reads the whole response.
async fn talk<F: TcpFlow>(
    mut flow: F,
    head: &[u8],
    body: &[u8],
    method: &str,
    max_body: usize,
) -> Result<Parts, String> {
    let mut request = head.to_vec();
    request.extend_from_slice(body);
    flow.write(&request).await.map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut closed = false;
    let (status, reason, headers, at) = loop {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut slots);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(at)) => {
                let headers = response
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>();
                let status = response.code.unwrap_or_default();
                let reason = response.reason.unwrap_or_default().to_string();
                // Interim responses (100 Continue) come before the real one.
                if (100..200).contains(&status) {
                    buf.drain(..at);
                    continue;
                }
                break (status, reason, headers, at);
            }
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(format!("a response head over {MAX_HEAD} bytes"))
            }
            Ok(httparse::Status::Partial) if closed => {
                return Err("the server closed before a response".into())
            }
            Ok(httparse::Status::Partial) => closed = read_more(&mut flow, &mut buf).await?,
            Err(e) => return Err(format!("a malformed response: {e}")),
        }
    };
    buf.drain(..at);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    let body = if method == "HEAD" || status == 204 || status == 304 {
        Vec::new()
    } else if header("transfer-encoding").is_some_and(|t| t.ends_with("chunked")) {
        let mut chunked = Chunked::new(max_body, MAX_HEAD);
        loop {
            match chunked.decode(&buf) {
                Ok((_, Some(body))) => break body,
                Ok(_) if closed => return Err("the server closed within a chunked body".into()),
                Ok((used, None)) => {
                    buf.drain(..used);
                    closed = read_more(&mut flow, &mut buf).await?;
                }
                Err(e) => return Err(format!("a chunked body: {}", e.why)),
            }
        }
    } else if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| "a malformed Content-Length".to_string())?;
        if length > max_body {
            return Err(format!(
                "a body of {length} bytes, over --http-client-max-body"
            ));
        }
        while buf.len() < length {
            if closed {
                return Err(format!(
                    "the server closed after {} of {length} bytes",
                    buf.len()
                ));
            }
            closed = read_more(&mut flow, &mut buf).await?;
        }
        buf.truncate(length);
        buf
    } else {
        // Framed by the close.
        while !closed {
            if buf.len() > max_body {
                return Err("a body over --http-client-max-body".into());
            }
            closed = read_more(&mut flow, &mut buf).await?;
        }
        buf
    };
    flow.close().await;
    Ok((status, reason, headers, body))
}

/// Appends the flow's next bytes to `buf`; whether the peer closed.
async fn read_more<F: TcpFlow>(flow: &mut F, buf: &mut Vec<u8>) -> Result<bool, String> {
    match flow.read().await.map_err(|e| e.to_string())? {
        Some(data) => {
            buf.extend_from_slice(&data);
            Ok(false)
        }
        None => Ok(true),
    }
}

#[cfg(test)]
mod tests;

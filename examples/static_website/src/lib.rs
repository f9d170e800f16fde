//! mirage-skeleton's static website: the files of a kv_ro store over HTTP
//! (`start`) or HTTP and HTTPS (`start_tls`), with a content type per
//! extension, `index.html` for directories, a strong `ETag` from each
//! file's SHA-256 and 304 on `If-None-Match`; optionally, HTTP answers
//! with a redirection to HTTPS.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use mirage_http::{Handler, Http, Method, Request, Response};
use mirage_types::{KvError, KvKind, KvRo};

/// The content types of the extensions in `htdocs/`, sorted by extension
/// (build.rs takes them from `mime_guess`'s table at build time).
const CONTENT_TYPES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/content_types.rs"));

/// The content type of a file, from its extension (any case).
fn content_type(key: &str) -> &'static str {
    let ext = match key.rsplit_once('.') {
        Some((_, ext)) if !ext.contains('/') => ext.to_ascii_lowercase(),
        _ => return "application/octet-stream",
    };
    match CONTENT_TYPES.binary_search_by(|(known, _)| (*known).cmp(ext.as_str())) {
        Ok(i) => CONTENT_TYPES[i].1,
        Err(_) => "application/octet-stream",
    }
}

/// The store key of a request path: no leading `/`, no `.` or `..`
/// segment, `index.html` for a directory; `None` for a path that names
/// nothing the store may serve.
fn key_of(path: &str) -> Option<String> {
    let mut key = String::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." || segment.contains('\\') {
            return None;
        }
        if !key.is_empty() {
            key.push('/');
        }
        key.push_str(segment);
    }
    if key.is_empty() || path.ends_with('/') {
        key.push_str(if key.is_empty() {
            "index.html"
        } else {
            "/index.html"
        });
    }
    Some(key)
}

/// The strong entity tag of a file of SHA-256 `digest`: its hex, quoted.
/// Written digit by digit: a `format!` per byte was a sixth of the
/// image's CPU time serving a small page (bench/http.sh's profile).
fn entity_tag(digest: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut tag = String::with_capacity(2 * digest.len() + 2);
    tag.push('"');
    for b in digest {
        tag.push(char::from(DIGITS[usize::from(b >> 4)]));
        tag.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    tag.push('"');
    tag
}

/// Serves the store.
#[derive(Clone)]
struct Site<K> {
    files: K,
}

impl<K: KvRo> Site<K> {
    async fn file(&self, key: &str, request: &Request) -> Result<Response, KvError> {
        let key = match self.files.exists(key).await? {
            Some(KvKind::Dictionary) => format!("{key}/index.html"),
            _ => String::from(key),
        };
        let etag = entity_tag(&self.files.digest(&key).await?);
        let fresh = request.header("if-none-match").is_some_and(|tags| {
            tags.split(|&b| b == b',')
                .any(|t| t.trim_ascii() == etag.as_bytes() || t.trim_ascii() == b"*")
        });
        if fresh {
            return Ok(Response::new(304).header("ETag", &etag));
        }
        Ok(Response::new(200)
            .header("Content-Type", content_type(&key))
            .header("ETag", &etag)
            .body(self.files.get(&key).await?))
    }
}

impl<K: KvRo + 'static> Handler for Site<K> {
    async fn handle(&self, request: Request) -> Response {
        if !matches!(request.method, Method::Get | Method::Head) {
            return Response::text(405, "only GET and HEAD").header("Allow", "GET, HEAD");
        }
        let Some(key) = key_of(request.path()) else {
            return Response::text(400, "bad path");
        };
        match self.file(&key, &request).await {
            Ok(response) => response,
            Err(KvError::NotFound(_) | KvError::ValueExpected(_)) => {
                Response::text(404, "not found")
            }
            Err(e) => {
                log::warn!("static_website: {key}: {e}");
                Response::text(500, "the store failed")
            }
        }
    }
}

/// `site`'s answers, telling browsers to come back over HTTPS only (HSTS,
/// RFC 6797: sent over HTTPS alone).
#[derive(Clone)]
struct Hsts<H>(H);

impl<H: Handler> Handler for Hsts<H> {
    async fn handle(&self, request: Request) -> Response {
        self.0
            .handle(request)
            .await
            .header("Strict-Transport-Security", "max-age=31536000")
    }
}

/// Answers every request with a permanent redirection to HTTPS.
#[derive(Clone)]
struct ToHttps {
    port: u16,
}

impl Handler for ToHttps {
    async fn handle(&self, request: Request) -> Response {
        let host = request
            .header("host")
            .and_then(|h| core::str::from_utf8(h).ok())
            .map(|h| host_of(h.trim()))
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()));
        let Some(host) = host else {
            return Response::text(400, "a redirection needs a Host header");
        };
        let port = match self.port {
            443 => String::new(),
            port => format!(":{port}"),
        };
        // An absolute-form target names its own host: redirect to the root.
        let target = match request.target.starts_with('/') {
            true => request.target.as_str(),
            false => "/",
        };
        let location = format!("https://{host}{port}{target}");
        Response::text(301, "moved to HTTPS").header("Location", &location)
    }
}

/// The host of a `Host` header, without its port (IPv6 literals kept whole).
fn host_of(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

fn port(value: i64, name: &str) -> Result<u16, String> {
    u16::try_from(value).map_err(|_| format!("--{name} must be 0 to 65535"))
}

/// Serves the site on `--http-port` until the image is stopped.
pub async fn start<H: Http, K: KvRo + 'static>(
    http: H,
    htdocs: K,
    http_port: i64,
) -> Result<(), String> {
    http.serve(port(http_port, "http-port")?, Site { files: htdocs });
    core::future::pending().await
}

/// Serves the site on `--https-port`, and on `--http-port` too, or, with
/// `--redirect`, a redirection to HTTPS there.
pub async fn start_tls<H: Http, S: Http, K: KvRo + 'static>(
    http: H,
    https: S,
    htdocs: K,
    http_port: i64,
    https_port: i64,
    redirect: bool,
) -> Result<(), String> {
    let http_port = port(http_port, "http-port")?;
    let https_port = port(https_port, "https-port")?;
    let site = Site { files: htdocs };
    https.serve(https_port, Hsts(site.clone()));
    if redirect {
        http.serve(http_port, ToHttps { port: https_port });
    } else {
        http.serve(http_port, site);
    }
    core::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_keys_and_never_climb() {
        assert_eq!(key_of("/").as_deref(), Some("index.html"));
        assert_eq!(key_of("/css/style.css").as_deref(), Some("css/style.css"));
        assert_eq!(key_of("/css/").as_deref(), Some("css/index.html"));
        assert_eq!(key_of("//a//b").as_deref(), Some("a/b"));
        assert_eq!(key_of("/../etc/passwd"), None);
        assert_eq!(key_of("/a/./b"), None);
        assert_eq!(content_type("logo.png"), "image/png");
        assert_eq!(content_type("LOGO.PNG"), "image/png");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("css/style.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("README"), "application/octet-stream");
        assert_eq!(content_type("v1.2/README"), "application/octet-stream");
        assert_eq!(host_of("example.org:8080"), "example.org");
        assert_eq!(host_of("[::1]:80"), "[::1]");
        assert_eq!(host_of("[::1]"), "[::1]");
    }

    #[test]
    fn entity_tags_are_the_quoted_lowercase_hex_of_the_digest() {
        let mut digest = [0u8; 32];
        digest[0] = 0x0f;
        digest[1] = 0xa0;
        digest[31] = 0xff;
        let tag = entity_tag(&digest);
        assert_eq!(tag.len(), 66);
        assert!(tag.starts_with("\"0fa00000"), "{tag}");
        assert!(tag.ends_with("00ff\""), "{tag}");
    }
}

//! Notes over HTTP, kept in a `kv_rw` store (chamelon: a littlefs disk
//! that survives a restart). `PUT /notes/NAME` stores the body at key
//! NAME (NAME may hold `/`) and answers 201 once the store has committed
//! it; `GET /notes/NAME` returns it, with `Last-Modified` when it was set
//! (404 when absent); `DELETE /notes/NAME` removes it; `GET /notes/` lists
//! the names, one per line.
#![no_std]

extern crate alloc;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use mirage_http::{imf_fixdate, Handler, Http, Method, Request, Response};
use mirage_types::{KvError, KvKind, KvRw};

/// The key of a note's path, or `None` for one that names no note.
fn name_of(path: &str) -> Option<&str> {
    let name = path.strip_prefix("/notes/")?;
    let valid = !name.is_empty()
        && name
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
    valid.then_some(name)
}

/// Every value's key below `dir`, in order.
async fn names<S: KvRw>(store: &S, dir: &str, out: &mut Vec<String>) -> Result<(), KvError> {
    for (entry, kind) in store.list(dir).await? {
        let key = match dir.is_empty() {
            true => entry,
            false => format!("{dir}/{entry}"),
        };
        match kind {
            KvKind::Value => out.push(key),
            KvKind::Dictionary => Box::pin(names(store, &key, out)).await?,
        }
    }
    Ok(())
}

/// Serves the store.
#[derive(Clone)]
struct Notes<S> {
    store: S,
}

impl<S: KvRw> Notes<S> {
    async fn answer(&self, request: &Request) -> Result<Response, KvError> {
        if request.path() == "/notes/" {
            if !matches!(request.method, Method::Get | Method::Head) {
                return Ok(
                    Response::text(405, "the list is read-only").header("Allow", "GET, HEAD")
                );
            }
            let mut all = Vec::new();
            names(&self.store, "", &mut all).await?;
            let body: String = all.iter().map(|n| format!("{n}\n")).collect();
            return Ok(Response::new(200)
                .header("Content-Type", "text/plain; charset=utf-8")
                .body(body));
        }
        let Some(name) = name_of(request.path()) else {
            return Ok(Response::text(404, "notes live under /notes/"));
        };
        Ok(match request.method {
            Method::Put => {
                self.store.set(name, &request.body).await?;
                Response::text(201, "stored")
            }
            Method::Get | Method::Head => match self.store.get(name).await {
                Ok(body) => {
                    let set = self.store.last_modified(name).await?;
                    let date = imf_fixdate(set.div_euclid(86_400), set.rem_euclid(86_400) as u64);
                    Response::new(200)
                        .header("Content-Type", "application/octet-stream")
                        .header("Last-Modified", &date)
                        .body(body)
                }
                Err(KvError::NotFound(_) | KvError::ValueExpected(_)) => {
                    Response::text(404, "no such note")
                }
                Err(e) => return Err(e),
            },
            Method::Delete => {
                self.store.remove(name).await?;
                Response::new(204)
            }
            _ => Response::text(405, "PUT, GET or DELETE a note")
                .header("Allow", "GET, HEAD, PUT, DELETE"),
        })
    }
}

impl<S: KvRw + 'static> Handler for Notes<S> {
    async fn handle(&self, request: Request) -> Response {
        match self.answer(&request).await {
            Ok(response) => response,
            Err(KvError::DictionaryExpected(_) | KvError::ValueExpected(_)) => Response::text(
                409,
                "a note's name is a directory of others, or inside a note",
            ),
            Err(e) => {
                log::warn!("notes: {}: {e}", request.path());
                Response::text(500, "the store failed")
            }
        }
    }
}

/// Serves the notes on `--http-port` until the image is stopped.
pub async fn start<H: Http, S: KvRw + 'static>(
    http: H,
    store: S,
    http_port: i64,
) -> Result<(), String> {
    let port = u16::try_from(http_port).map_err(|_| "--http-port must be 0 to 65535")?;
    http.serve(port, Notes { store });
    core::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_notes_and_never_climb() {
        assert_eq!(name_of("/notes/a"), Some("a"));
        assert_eq!(name_of("/notes/2026/Dec/04.txt"), Some("2026/Dec/04.txt"));
        assert_eq!(name_of("/notes/"), None);
        assert_eq!(name_of("/notes/../x"), None);
        assert_eq!(name_of("/notes/a//b"), None);
        assert_eq!(name_of("/notes/a b"), None);
        assert_eq!(name_of("/other/a"), None);
    }
}

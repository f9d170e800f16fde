"""TLS and HTTP(S) devices, after Mirage's `tls_server`, `https_server`
and `http_client`. Re-exported by defs.bzl.

    load("@rules_mirage//rules_mirage:defs.bzl", "crunch", "http_client", "https_server", "tls_client", "tls_server")

    crunch(name = "certs", dir = "tls")  # server.pem, server.key

    tls_server(name = "tls", keys = ":certs")

    https_server(name = "https", tls = ":tls")

    crunch(name = "roots", dir = "roots")  # ca.pem, or Mozilla's roots

    tls_client(name = "tls_client", roots = ":roots")

    http_client(name = "http", tls = ":tls_client")
"""

load(":rules.bzl", "mirage_device")

_DEVICES = "@rules_mirage//rules_mirage/devices"

def tls_server(name, keys, doc = ""):
    """A TLS server (rustls: TLS 1.2 and 1.3, ALPN http/1.1).

    It reads `server.pem` (the certificate chain, leaf first) and
    `server.key` (the private key, PEM) from `keys` when it connects;
    randomness comes from the platform's `random` device, the time from
    its POSIX clock.

    Args:
      name: the device's name.
      keys: a kv_ro device holding `server.pem` and `server.key`.
      doc: what it is for.
    """
    mirage_device(
        name = name,
        type = "tls_server",
        params = {
            "keys": "kv_ro",
            "random": "random",
            "pclock": "pclock",
        },
        args = {
            "keys": keys,
            "random": _DEVICES + ":default_random",
            "pclock": _DEVICES + ":default_posix_clock",
        },
        impls = {"*": "mirage_tls::TlsServer"},
        crates = ["@rules_mirage//runtimes/tls:crate"],
        doc = doc or "A TLS server with the certificate in " + keys + ".",
    )

def https_server(name, tls, http = _DEVICES + ":http_server", doc = ""):
    """An HTTPS server: `http`'s connections wrapped by `tls`.

    It is an `http_server`: a unikernel serves handlers on it as on plain
    HTTP, with the same limits and timeouts (a handshake has the time of
    one request).

    Args:
      name: the device's name.
      tls: a tls_server device.
      http: the http_server whose stack and limits it uses.
      doc: what it is for.
    """
    mirage_device(
        name = name,
        type = "http_server",
        params = {
            "http": "http_server",
            "tls": "tls_server",
        },
        args = {
            "http": http,
            "tls": tls,
        },
        impls = {"*": "mirage_http::HttpsServer"},
        crates = ["@rules_mirage//runtimes/http:crate"],
        doc = doc or "HTTPS over " + tls + ".",
    )

def tls_client(name, roots, doc = ""):
    """A TLS client (rustls: TLS 1.2 and 1.3, ALPN http/1.1).

    Server certificates are verified against `ca.pem` (PEM, any number of
    CA certificates) in `roots`, or against Mozilla's roots (webpki-roots)
    when `roots` has no `ca.pem`, at the time of the platform's POSIX
    clock. Verification cannot be turned off.

    Args:
      name: the device's name.
      roots: a kv_ro device, with `ca.pem` or without.
      doc: what it is for.
    """
    mirage_device(
        name = name,
        type = "tls_client",
        params = {
            "roots": "kv_ro",
            "random": "random",
            "pclock": "pclock",
        },
        args = {
            "roots": roots,
            "random": _DEVICES + ":default_random",
            "pclock": _DEVICES + ":default_posix_clock",
        },
        impls = {"*": "mirage_tls::TlsClient"},
        crates = ["@rules_mirage//runtimes/tls:crate"],
        doc = doc or "A TLS client trusting the roots of " + roots + ".",
    )

def http_client(name, tls, connect = _DEVICES + ":happy_eyeballs", doc = ""):
    """An HTTP client: GET and POST over HTTP and HTTPS, by host name.

    Args:
      name: the device's name.
      tls: a tls_client device, for https URLs.
      connect: a happy_eyeballs device: connections by name.
      doc: what it is for.
    """
    mirage_device(
        name = name,
        type = "http_client",
        params = {
            "connect": "happy_eyeballs",
            "tls": "tls_client",
            "time": "time",
        },
        args = {
            "connect": connect,
            "tls": tls,
            "time": _DEVICES + ":default_time",
        },
        impls = {"*": "mirage_http::Client"},
        crates = ["@rules_mirage//runtimes/http:crate"],
        runtime_args = [
            _DEVICES + ":http-client-timeout",
            _DEVICES + ":http-client-max-body",
        ],
        doc = doc or "An HTTP(S) client with TLS from " + tls + ".",
    )

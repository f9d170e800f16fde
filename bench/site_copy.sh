# Sourced by the HTTP and TCP benchmarks: `site_copy DIR` copies the
# checkout's tracked files to DIR/repo, with a test certificate (for
# 10.0.0.2 and 10.0.1.2) and a 1 MiB file in the static website's htdocs
# (the example itself is left as it is), and builds static_website_tls
# there for spt with $MIRAGE. Sets $site to the copy's example directory.
site_copy() {
    mkdir "$1/repo"
    git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$1/repo"
    site="$1/repo/examples/static_website"
    scripts/certs.sh "$site/tls" 10.0.0.2 10.0.1.2 >/dev/null
    head -c 1048576 /dev/zero | tr '\0' 'x' > "$site/htdocs/1M.bin"
    (cd "$1/repo" && "$MIRAGE" build -t spt //examples/static_website:static_website_tls >/dev/null)
}

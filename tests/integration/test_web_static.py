# SPDX-License-Identifier: MIT
"""The web interface served from the binary: every file of web/ byte for byte under
/assets/<hash>/ with its Content-Type and immutable caching, index.html (its %HETU_ASSETS%
filled in) for every other path outside the API, revalidated by ETag; CSP and nosniff on every
answer; no API key needed for any of it; the API's own 404s stay JSON. Also scripts/embed-web
itself: the hash follows the files, an unknown extension fails the build, an unchanged output is
left alone."""

import gzip
import html
import json
import os
import re
import subprocess
import time

import pytest

from hetu_http import REPO, assert_error

WEB = REPO / "web"
EMBED = REPO / "scripts" / "embed-web"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
IMMUTABLE = "public, max-age=31536000, immutable"
PREFIX_RE = re.compile(r"/assets/([0-9a-f]{12})/")


def web_files():
    """{path relative to web/: bytes} of the checkout, dotfiles aside."""
    out = {}
    for top, dirs, names in os.walk(WEB):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if not name.startswith("."):
                full = os.path.join(top, name)
                with open(full, "rb") as f:
                    out[os.path.relpath(full, WEB).replace(os.sep, "/")] = f.read()
    return out


def prefix_of(client):
    r = client.get("/")
    assert r.status == 200, r
    hashes = set(PREFIX_RE.findall(r.raw.decode("utf-8")))
    assert len(hashes) == 1, hashes
    return "/assets/" + hashes.pop()


def assert_secured(r):
    assert r.header("Content-Security-Policy") == CSP, r
    assert r.header("X-Content-Type-Options") == "nosniff", r
    assert r.header("Referrer-Policy") == "same-origin", r


def an_asset():
    """A file of web/ other than index.html, for tests that need one."""
    return sorted(p for p in web_files() if p != "index.html")[0]


# ---------------------------------------------------------------- what is served


def test_index_is_the_checkout_with_its_prefix(client):
    r = client.get("/")
    assert r.status == 200
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    assert r.header("Cache-Control") == "no-cache"
    assert_secured(r)
    prefix = prefix_of(client)
    # the build's two generated blocks (module preloads, page manifest) stand where the
    # checkout has their markers; everything else is the checkout with its prefix
    got = re.sub(rb'<link rel="modulepreload" href="[^"]*">\n?', b"", r.raw)
    got = re.sub(rb'<meta name="hetu-page-modules" content="[^"]*">', b"<!-- %HETU_PAGE_MODULES% -->", got)
    want = web_files()["index.html"].replace(b"%HETU_ASSETS%", prefix.encode())
    want = want.replace(b"<!-- %HETU_MODULEPRELOAD% -->\n", b"")
    assert got == want
    assert b"%HETU_" not in r.raw


def test_index_preloads_the_shell_and_names_each_pages_modules(client):
    """Every module main.js imports statically is preloaded by index.html, and each page's own
    modules and styles are listed for the app to ask for with the page; all of them are served."""
    raw = client.get("/").raw.decode("utf-8")
    prefix = prefix_of(client)
    preloads = re.findall(r'<link rel="modulepreload" href="([^"]+)">', raw)
    for path in ("src/app.js", "src/lib.js", "vendor/preact.mjs", "vendor/preact-hooks.mjs",
                 "src/messages/index.js"):
        assert "%s/%s" % (prefix, path) in preloads, path
    assert "%s/src/main.js" % prefix not in preloads  # it has its own <script>
    assert "%s/src/pages/samples.js" % prefix not in preloads  # pages load when visited
    meta = re.search(r'<meta name="hetu-page-modules" content="([^"]+)">', raw).group(1)
    pages = json.loads(html.unescape(meta))
    assert "src/components/virtual-list.js" in pages["samples"]["js"]
    assert pages["samples"]["css"] == ["styles/samples.css"]
    assert "src/app.js" not in pages["samples"]["js"]  # the shell is preloaded already
    assert set(pages) == {os.path.splitext(f)[0][len("src/pages/"):] for f in web_files()
                          if f.startswith("src/pages/")}
    for url in preloads + ["%s/%s" % (prefix, p) for v in pages.values() for p in v["js"] + v["css"]]:
        assert client.get(url).status == 200, url


def test_every_file_is_served_byte_for_byte_with_its_type(client):
    prefix = prefix_of(client)
    files = web_files()
    assert len(files) >= 4
    for path, data in sorted(files.items()):
        if path == "index.html":
            continue
        r = client.get("%s/%s" % (prefix, path))
        assert r.status == 200, (path, r)
        assert r.raw == data, path
        assert r.header("Content-Type") == TYPES[os.path.splitext(path)[1]], (path, r)
        assert r.header("Cache-Control") == IMMUTABLE, (path, r)
        assert r.header("Content-Encoding") is None, (path, r)
        assert re.fullmatch(r'"[0-9a-f]{32}"', r.header("ETag") or ""), (path, r)
        assert_secured(r)


def test_what_index_names_is_served(client):
    """Each %HETU_ASSETS%/... reference of index.html answers 200 with its own type."""
    prefix = prefix_of(client)
    refs = re.findall(r"%HETU_ASSETS%/([^\"'\s>]+)", web_files()["index.html"].decode())
    assert refs
    seen = set()
    for ref in refs:
        r = client.get("%s/%s" % (prefix, ref))
        assert r.status == 200, (ref, r)
        seen.add(r.header("Content-Type"))
    assert {"text/css; charset=utf-8", "text/javascript; charset=utf-8"} <= seen, seen


def test_the_hash_is_of_the_files(client, tmp_path):
    """The served prefix is the one scripts/embed-web gives for the checkout's web/."""
    out = tmp_path / "web_files.c"
    subprocess.run(["/usr/bin/python3", str(EMBED), str(WEB), str(out)], check=True)
    m = re.search(r'web_assets_prefix\[\] = "(/assets/[0-9a-f]{12})";', out.read_text())
    assert m and prefix_of(client) == m.group(1)


def test_client_side_routes_get_the_index(client):
    index = client.get("/")
    for path in ("/projects/1/tasks/2/samples", "/jobs", "/settings/", "/apiary",
                 "/docsearch", "/projects/1?tab=topics"):
        r = client.get(path)
        assert r.status == 200, (path, r)
        assert r.raw == index.raw, path
        assert r.header("Content-Type") == "text/html; charset=utf-8", path
        assert r.header("Cache-Control") == "no-cache", path
        assert r.header("ETag") == index.header("ETag"), path
        assert_secured(r)


def test_head_is_the_get_without_body(client):
    prefix = prefix_of(client)
    for path in ("/", "/projects/7", "%s/%s" % (prefix, an_asset())):
        g, h = client.get(path), client.request("HEAD", path)
        assert h.status == 200, (path, h)
        assert h.raw == b""
        assert h.header("Content-Length") == str(len(g.raw)), (path, h)
        for name in ("Content-Type", "ETag", "Cache-Control", "Content-Security-Policy"):
            assert h.header(name) == g.header(name), (path, name)


# ---------------------------------------------------------------- caching


@pytest.mark.parametrize("kind", ["index", "asset"])
def test_if_none_match(client, kind):
    path = "/" if kind == "index" else "%s/%s" % (prefix_of(client), an_asset())
    cache = "no-cache" if kind == "index" else IMMUTABLE
    first = client.get(path)
    tag = first.header("ETag")
    assert first.status == 200 and tag
    for inm in (tag, "W/" + tag, '"other", ' + tag, 'W/"x",%s' % tag, "*"):
        r = client.get(path, headers={"If-None-Match": inm})
        assert r.status == 304, (inm, r)
        assert r.raw == b""
        assert r.header("ETag") == tag
        assert r.header("Cache-Control") == cache
        assert_secured(r)
    changed = tag[:-2] + ("0" if tag[-2] != "0" else "1") + '"'
    for inm in (changed, tag.strip('"'), '"other"'):
        r = client.get(path, headers={"If-None-Match": inm})
        assert r.status == 200, (inm, r)
        assert r.raw == first.raw


def test_gzip_when_accepted(client):
    prefix = prefix_of(client)
    big = max((p for p in web_files() if p.endswith((".js", ".mjs", ".css"))),
              key=lambda p: len(web_files()[p]))
    data = web_files()[big]
    assert len(data) > 1024, big
    path = "%s/%s" % (prefix, big)
    plain = client.get(path)
    z = client.get(path, headers={"Accept-Encoding": "gzip, br"})
    assert z.status == 200
    assert z.header("Content-Encoding") == "gzip"
    assert z.header("Vary") == "Accept-Encoding" and plain.header("Vary") == "Accept-Encoding"
    assert gzip.decompress(z.raw) == data and len(z.raw) < len(data)
    assert z.header("ETag") != plain.header("ETag")
    assert z.header("Content-Type") == plain.header("Content-Type")
    assert z.header("Cache-Control") == IMMUTABLE
    # each form revalidates against its own tag
    r = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": z.header("ETag")})
    assert r.status == 304 and r.header("ETag") == z.header("ETag")
    r = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": plain.header("ETag")})
    assert r.status == 200 and r.header("Content-Encoding") == "gzip"
    refused = client.get(path, headers={"Accept-Encoding": "gzip;q=0, br"})
    assert refused.header("Content-Encoding") is None and refused.raw == data
    small = client.get("%s/%s" % (prefix, min(web_files(), key=lambda p: len(web_files()[p]))),
                       headers={"Accept-Encoding": "gzip"})
    assert small.status == 200 and small.header("Content-Encoding") is None


# ---------------------------------------------------------------- what is not the app's


def test_stale_or_missing_assets_are_404(client):
    prefix = prefix_of(client)
    for path in ("/assets/000000000000/src/main.js", "/assets/000000000000/" + an_asset(),
                 prefix + "/nope.js", prefix + "/index.html", prefix, "/assets",
                 "/assets/" + an_asset()):
        r = client.get(path)
        assert r.status == 404, (path, r)
        assert r.header("Content-Type") == "text/plain; charset=utf-8", path
        assert b"<html" not in r.raw, path
        assert_secured(r)


@pytest.mark.parametrize("path", ["/api/nope", "/api", "/api/", "/healthz/x", "/metrics/x",
                                  "/openapi.json/x", "/docs/x"])
def test_api_paths_keep_json_404(client, path):
    r = client.get(path)
    assert_error(r, 404, "not_found")
    assert r.header("Content-Type") == "application/json"


@pytest.mark.parametrize("method,path", [("POST", "/"), ("PUT", "/projects/1"),
                                         ("DELETE", "/jobs"), ("POST", "/assets/x")])
def test_other_methods_are_not_the_app(client, method, path):
    r = client.request(method, path, body={})
    assert_error(r, 404, "not_found")
    assert b"<html" not in r.raw


def test_docs_and_health_are_still_theirs(client):
    assert client.get("/healthz").json()["status"] == "ok"
    r = client.get("/openapi.json")
    assert r.status == 200 and r.json()["openapi"].startswith("3.1")
    r = client.get("/docs")
    assert r.status == 200 and r.raw == (REPO / "src" / "http" / "docs.html").read_bytes()


# ---------------------------------------------------------------- keys, metrics, logs


def test_no_key_needed_when_keys_are_on(start_server):
    srv = start_server()
    c = srv.client
    r = c.post("/api/keys", {"name": "ops", "admin": True})
    assert r.status == 200, r
    assert_error(c.get("/api/projects"), 401, "unauthorized")
    prefix = prefix_of(c)
    for path in ("/", "/projects/1/tasks/2/samples", "%s/%s" % (prefix, an_asset())):
        r = c.get(path)
        assert r.status == 200, (path, r)
        assert r.header("WWW-Authenticate") is None
    assert c.get("/assets/000000000000/x.js").status == 404
    assert_error(c.get("/api/nope"), 404, "not_found")  # as before keys


def metric(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        m = re.fullmatch(r"(\w+)\{([^}]*)\} (\S+)", line)
        if m and m.group(1) == name and ",".join(sorted(m.group(2).split(","))) == want:
            return float(m.group(3))
    return 0.0


def test_metrics_and_logs(start_server):
    srv = start_server()
    c = srv.client
    prefix = prefix_of(c)  # one 200
    tag = c.get("/projects/3/tasks/4/samples").header("ETag")  # two
    c.request("HEAD", "%s/%s" % (prefix, an_asset()))  # three
    c.get("/", headers={"If-None-Match": tag})  # one 304
    c.get("/assets/000000000000/a.js")  # one 404
    c.get("/api/nope")  # unmatched, as before
    # a request is counted once it has ended, which may come just after its answer is read
    want = {"200": 3, "304": 1, "404": 1, "unmatched": 1, "timed": 5}
    deadline = time.monotonic() + 5
    while True:
        text = c.get("/metrics").raw.decode()
        got = {s: metric(text, "hetu_http_requests_total", method="GET", route="web", status=s)
               for s in ("200", "304", "404")}
        got["unmatched"] = metric(text, "hetu_http_requests_total", method="any",
                                  route="unmatched", status="404")
        got["timed"] = metric(text, "hetu_http_request_duration_seconds_count", method="GET",
                              route="web")
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert got == want, text
    log = srv.stderr()
    assert re.search(r"request method=GET path=/projects/3/tasks/4/samples status=200 ", log), log
    assert re.search(r"request method=GET path=/assets/000000000000/a.js status=404 ", log), log


# ---------------------------------------------------------------- scripts/embed-web


def embed(src, out):
    return subprocess.run(["/usr/bin/python3", str(EMBED), str(src), str(out)],
                          capture_output=True, text=True)


def test_embed_web_hash_follows_the_files(tmp_path):
    src = tmp_path / "web"
    (src / "src").mkdir(parents=True)
    (src / "index.html").write_text('<script src="%HETU_ASSETS%/src/a.js"></script>')
    (src / "src" / "a.js").write_text("one")
    (src / ".hidden.swp").write_text("not embedded")
    out = tmp_path / "web_files.c"

    def prefix():
        r = embed(src, out)
        assert r.returncode == 0, r.stderr
        text = out.read_text()
        assert ".hidden" not in text
        return re.search(r'web_assets_prefix\[\] = "(/assets/[0-9a-f]{12})";', text).group(1)

    first = prefix()
    assert '\\"%s/src/a.js\\"' % first in out.read_text()
    (src / "index.html").write_text('<script src="%HETU_ASSETS%/src/a.js"></script>\n')
    assert prefix() == first  # index.html is not covered
    (src / "src" / "a.js").write_text("two")
    second = prefix()
    assert second != first
    (src / "src" / "b.css").write_text("")
    assert prefix() != second  # a file added


def test_embed_web_leaves_an_unchanged_output_alone(tmp_path):
    src = tmp_path / "web"
    src.mkdir()
    (src / "index.html").write_text("<p>x</p>")
    out = tmp_path / "web_files.c"
    assert embed(src, out).returncode == 0
    os.utime(out, (1000000000, 1000000000))
    assert embed(src, out).returncode == 0
    assert out.stat().st_mtime == 1000000000
    (src / "index.html").write_text("<p>y</p>")
    assert embed(src, out).returncode == 0
    assert out.stat().st_mtime != 1000000000


def test_embed_web_refuses_an_unknown_extension(tmp_path):
    src = tmp_path / "web"
    (src / "img").mkdir(parents=True)
    (src / "index.html").write_text("<p>x</p>")
    (src / "img" / "logo.bmp").write_bytes(b"BM")
    out = tmp_path / "web_files.c"
    r = embed(src, out)
    assert r.returncode == 1
    assert "web/img/logo.bmp" in r.stderr and ".bmp" in r.stderr
    assert not out.exists()

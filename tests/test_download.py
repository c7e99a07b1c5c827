import http.server
import io
import subprocess
import sys
import threading
import zipfile

import pytest
from helpers import DEMO, ROOT

from shirtsim.catalog.download import download_seed_shirts
from shirtsim.errors import DownloadError


def make_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def server():
    """A local HTTP server; set ``server.files[path] = bytes`` to serve them."""
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.files = files
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()


def test_downloads_and_unpacks_the_shirts(server, tmp_path):
    shirt = (DEMO / "1001.jpg").read_bytes()
    server.files["/shirts.zip"] = make_zip({"shirts/1001.jpg": shirt, "shirts/1002.jpg": shirt})
    files = download_seed_shirts(tmp_path / "out", server.url + "/shirts.zip")
    assert sorted(p.name for p in files) == ["1001.jpg", "1002.jpg"]
    assert (tmp_path / "out" / "shirts" / "1001.jpg").read_bytes() == shirt


def test_zip_slip_is_refused_and_nothing_escapes(server, tmp_path):
    server.files["/evil.zip"] = make_zip({"../escaped.txt": b"x"})
    with pytest.raises(DownloadError, match="points outside the target folder"):
        download_seed_shirts(tmp_path / "out", server.url + "/evil.zip")
    assert not (tmp_path / "escaped.txt").exists()


def test_not_a_zip_and_http_errors_are_clear(server, tmp_path):
    server.files["/page.zip"] = b"<html>rate limited</html>"
    with pytest.raises(DownloadError, match="not a valid zip file"):
        download_seed_shirts(tmp_path / "out", server.url + "/page.zip")
    with pytest.raises(DownloadError, match="the server answered 404 Not Found"):
        download_seed_shirts(tmp_path / "out", server.url + "/missing.zip")


def test_cli_reports_offline_in_one_line_with_status_2(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "shirtsim",
            "download-seed-shirts",
            str(tmp_path / "o"),
            "--url",
            "http://127.0.0.1:9/shirts.zip",
            "--timeout",
            "2",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("shirtsim: Cannot download http://127.0.0.1:9/shirts.zip")
    assert "Are you offline?" in out.stderr and out.stderr.count("\n") == 1


def test_a_host_that_cannot_be_resolved_fails_fast_with_a_clear_message(tmp_path):
    import time

    started = time.monotonic()
    with pytest.raises(DownloadError, match="cannot find host no-such-host.invalid. Are you offline"):
        download_seed_shirts(tmp_path / "out", "https://no-such-host.invalid/shirts.zip", timeout=2)
    assert time.monotonic() - started < 10

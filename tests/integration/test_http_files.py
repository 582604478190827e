"""sockit serve http --root: the file server's edges found by attacking it
(issue 11): empty directories, a file named as a directory, and directory
listings that must neither stall the event loop nor grow without bound."""
import os
import socket
import subprocess
import time

import pytest

from conftest import SOCKIT
from test_http import MODELS, raw, read_response


def test_listing_of_an_empty_or_dotfile_only_root(server, tmp_path):
    # qsort(NULL, 0, ...) is undefined: the sanitized build died on it.
    empty = tmp_path / "empty"
    empty.mkdir()
    dots = tmp_path / "dots"
    dots.mkdir()
    (dots / ".a").write_text("a\n")
    (dots / ".b").write_text("b\n")
    for root in (empty, dots):
        s = server("http", "-q", "--root", str(root))
        r, closed = raw(s, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert r.status == 200 and b"Index of /" in r.body, root
        assert b"<a href=\"" not in r.body and not closed
        assert s.proc.poll() is None


@pytest.mark.parametrize("model", MODELS)
def test_a_file_named_as_a_directory_is_404(server, tmp_path, model):
    # nginx: "GET /file.txt/" is 404; a trailing slash names a directory.
    (tmp_path / "file.txt").write_text("hello\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("f\n")
    s = server("http", "-q", "--model", model, "--root", str(tmp_path))
    for path in (b"/file.txt/", b"/d/f.txt/", b"/file.txt//", b"/file.txt/."):
        r, _ = raw(s, b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        assert r.status == 404 and b"hello" not in r.body, path
    r, _ = raw(s, b"GET /file.txt HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 200 and r.body == b"hello\n"
    r, _ = raw(s, b"GET /d/ HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 200 and b"f.txt" in r.body

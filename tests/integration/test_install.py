"""`make install` with PREFIX and DESTDIR: the binary, the library, the
headers, sockit.pc and the man page land where they should, pkg-config finds
the installed copy, a small C program builds against it and runs, and
`make uninstall` takes it all away again."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))

PROGRAM = r"""
#include <sockit/addr.h>
#include <sockit/error.h>
#include <sockit/model.h>

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

int main(void)
{
    struct sk_addr a;
    struct in_addr ip;
    char s[SK_ADDR_STRLEN];

    if (sk_addr_parse("[::1]:8080", 0, &a, NULL) < 0 || sk_addr_format(&a, s, sizeof(s)) < 0)
        return 1;
    /* sk_model_find pulls the models in: every library sockit.pc names. */
    const struct sk_model *m = sk_model_find("iterative", SOCK_STREAM);
    printf("%s %s %d %s\n", s, m ? "model" : "none", sk_ip4_parse("1.2.3", &ip, NULL),
           sk_strerror(-ECONNREFUSED));
    return 0;
}
"""


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    env.update(extra)
    return env


def make(*args):
    p = subprocess.run(["make", "--no-print-directory", "-C", ROOT, *args], capture_output=True,
                       text=True, timeout=600, env=clean_env())
    assert p.returncode == 0, p.stdout + p.stderr
    return p


@pytest.mark.skipif(not shutil.which("pkg-config"), reason="pkg-config is not installed")
def test_make_install_into_destdir(tmp_path):
    dest = tmp_path / "stage"
    prefix = "/opt/sockit-test"
    make("install", f"PREFIX={prefix}", f"DESTDIR={dest}")
    root = dest / prefix.lstrip("/")

    sockit = root / "bin/sockit"
    assert os.access(sockit, os.X_OK)
    v = subprocess.run([str(sockit), "--version"], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0 and v.stdout.startswith("sockit "), v
    assert (root / "lib/libsockit.a").stat().st_size > 0
    headers = sorted(os.listdir(os.path.join(ROOT, "include/sockit")))
    assert sorted(os.listdir(root / "include/sockit")) == headers
    man = root / "share/man/man1/sockit.1"
    r = subprocess.run(["groff", "-ww", "-man", "-z", str(man)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and not r.stderr, r.stderr

    # The .pc names the final prefix (not DESTDIR); the sysroot variable maps
    # it into the staging tree, as packagers use it. Its version is sockit's.
    pc = (root / "lib/pkgconfig/sockit.pc").read_text()
    assert f"prefix={prefix}\n" in pc, pc
    env = clean_env(PKG_CONFIG_PATH=str(root / "lib/pkgconfig"), PKG_CONFIG_SYSROOT_DIR=str(dest))
    pk = subprocess.run(["pkg-config", "--cflags", "--libs", "sockit"], capture_output=True,
                        text=True, timeout=10, env=env)
    assert pk.returncode == 0, pk.stderr
    flags = pk.stdout.split()
    assert f"-I{root}/include" in flags and f"-L{root}/lib" in flags and "-lsockit" in flags, flags
    ver = subprocess.run(["pkg-config", "--modversion", "sockit"], capture_output=True, text=True,
                         timeout=10, env=env)
    assert "sockit " + ver.stdout.strip() == v.stdout.strip()

    # A program built against the installed copy only (not the source tree).
    src = tmp_path / "use.c"
    src.write_text(PROGRAM)
    exe = tmp_path / "use"
    cc = subprocess.run(["cc", "-std=c17", "-Wall", "-Werror", "-o", str(exe), str(src), *flags],
                        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert cc.returncode == 0, cc.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(" ", 3)[:3] == ["[::1]:8080", "model", str(-22)], out.stdout
    assert "refused" in out.stdout.lower(), out.stdout

    make("uninstall", f"PREFIX={prefix}", f"DESTDIR={dest}")
    left = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    assert left == [], left

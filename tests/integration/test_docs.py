"""The command's own help and the man page stay in sync: `sockit --help`
groups every command, each command answers --help, the man page renders
without a warning and documents, in that command's section, every option its
--help shows."""
import os
import re
import subprocess

import pytest

from conftest import run

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
MAN = os.path.join(ROOT, "docs/sockit.1")

# Man sections (.SH) that document `serve` beside its own.
SERVE_SECTIONS = {"SERVE", "EVENT-DRIVEN MODELS", "UDP SERVERS", "HTTP SERVICE"}
# Sections whose text applies to every command (-h, --help, --version).
COMMON_SECTIONS = {"DESCRIPTION", "OPTIONS", "EXIT STATUS"}


def plain(roff):
    """Roff source as text: font escapes dropped, \\- as -."""
    return re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", roff).replace("\\-", "-")


def man_sections():
    """{command: its text}, plus "*" for the common sections. A command's
    text is its `.SS sockit CMD` subsection with the introduction of the
    .SH group it is in (where options shared by the group are described)."""
    secs, intro = {}, {}
    sh = cur = None
    with open(MAN) as f:
        for line in f:
            if line.startswith(".SH"):
                sh, cur = line[3:].strip().strip('"'), None
                continue
            m = re.match(r"\.SS sockit ([a-z0-9-]+)", line)
            if m:
                cur = m.group(1)
            elif line.startswith(".SS") and sh not in SERVE_SECTIONS:
                cur = None
            if cur:
                secs.setdefault(cur, []).append((sh, line))
            elif sh in SERVE_SECTIONS:
                secs.setdefault("serve", []).append((sh, line))
            else:
                intro.setdefault(sh, []).append(line)
    out = {"*": plain("".join(l for s in COMMON_SECTIONS for l in intro.get(s, [])))}
    for cmd, lines in secs.items():
        groups = {s for s, _ in lines}
        text = "".join(l for _, l in lines) + "".join(
            l for s in groups for l in intro.get(s, []))
        out[cmd] = plain(text)
    return out


def commands():
    p = run("--help")
    assert p.returncode == 0 and p.stdout.startswith("Usage: sockit COMMAND"), p
    return re.findall(r"^  ([a-z][a-z0-9-]+) ", p.stdout, re.M)


def options(helptext):
    longs = re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", helptext)
    shorts = re.findall(r"(?:^|[\s,\[|])(-[a-zA-Z0-9])(?=[\s,\]|])", helptext, re.M)
    return sorted(set(longs + shorts))


def mentioned(opt, text):
    return re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text) is not None


def test_top_level_help_groups_commands_and_version():
    p = run("--help")
    groups = re.findall(r"^(\S[^:\n]*):\n((?:  \S.*\n)+)", p.stdout, re.M)
    names = [g for g, _ in groups]
    for want in ("Names and addresses", "Servers", "Clients", "Options"):
        assert want in names, p.stdout
    listed = [c for g, body in groups if g != "Options"
              for c in re.findall(r"^  ([a-z][a-z0-9-]+) ", body, re.M)]
    assert listed == commands() and len(listed) >= 13
    for c in ("hostname", "resolve", "reverse", "addrinfo", "ip", "service", "byteorder",
              "sockopt", "ifaces", "serve", "connect", "echo-client", "ping"):
        assert c in listed
    v = run("--version")
    assert v.returncode == 0 and re.fullmatch(r"sockit \d+\.\d+\.\d+\n", v.stdout), v.stdout
    assert run("-V").stdout == v.stdout
    # The man page's title line carries the same version.
    with open(MAN) as f:
        assert f'"{v.stdout.strip()}"' in f.readline()
    for args in ((), ("--bogus",), ("nosuch",)):
        e = run(*args)
        assert e.returncode == 2 and e.stdout == "", e
        lines = e.stderr.splitlines()
        assert len(lines) == 2 and lines[0].startswith("sockit: "), e.stderr
        assert lines[1] == "Try 'sockit --help'."


def test_man_page_renders_without_warnings():
    g = subprocess.run(["groff", "-ww", "-man", "-z", MAN], capture_output=True, text=True,
                       timeout=30)
    assert g.returncode == 0 and g.stderr == "", g.stderr
    m = subprocess.run(["man", "--warnings", "-l", MAN], capture_output=True, text=True,
                       timeout=30, env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "80"})
    assert m.returncode == 0 and m.stderr == "", m.stderr


@pytest.mark.parametrize("cmd", commands())
def test_every_help_option_is_in_the_man_page(cmd):
    h = run(cmd, "--help")
    assert h.returncode == 0, h.stderr
    assert h.stdout.startswith(f"Usage: sockit {cmd}"), h.stdout[:200]
    assert run(cmd, "-h").stdout == h.stdout
    secs = man_sections()
    assert cmd in secs, f"the man page has no section for {cmd}"
    text = secs[cmd] + secs["*"]
    opts = options(h.stdout)
    assert "--help" in opts, f"{cmd} --help does not list --help"
    missing = [o for o in opts if not mentioned(o, text)]
    assert not missing, f"{cmd}: options in --help but not in its man section: {missing}"


# Bad arguments, one per kind, for the commands of issues 2, 3, 4 and 6: each
# is one line "sockit: COMMAND: REASON", then the --help hint, exit status 2.
BAD_ARGS = [
    ("resolve", "--bogus"), ("ip", "-Z", "1.2.3.4"), ("sockopt", "--set"),
    ("serve", "echo", "--bogus"), ("serve", "echo", "-x"), ("serve", "echo", "-p"),
    ("serve", "echo", "--prefix"), ("serve", "greet", "--prefix", "x"),
    ("serve", "http", "--root"), ("serve", "echo", "--model"),
    ("connect", "--nope", "localhost", "7"), ("connect", "-w"),
    ("echo-client", "-Z", "localhost", "7"), ("echo-client", "--message"),
    ("ping", "--frob", "127.0.0.1"), ("ping", "-c"),
]


@pytest.mark.parametrize("args", BAD_ARGS, ids=" ".join)
def test_argument_errors_are_one_line_and_a_hint(args):
    p = run(*args)
    assert p.returncode == 2, p
    lines = p.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"sockit: {args[0]}: "), p.stderr
    assert lines[1] == f"Try 'sockit {args[0]} --help'.", p.stderr
    assert p.stdout == ""

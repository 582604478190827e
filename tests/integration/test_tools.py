"""The lookup tools: hostname, resolve, reverse, addrinfo, ip, service,
byteorder, sockopt, ifaces. Expected values come from Python's socket
module on the same machine (never hard-coded to one host), failures use the
reserved .invalid TLD, and only loopback is looked up."""
import ipaddress
import json
import shutil
import socket
import struct
import subprocess
import sys

import pytest

from conftest import run

TOOLS = ["hostname", "resolve", "reverse", "addrinfo", "ip", "service", "byteorder",
         "sockopt", "ifaces"]


def ok(*args):
    p = run(*args)
    assert p.returncode == 0, (args, p.returncode, p.stderr)
    return p


def as_json(*args, rc=0):
    p = run(*args, "--json")
    assert p.returncode == rc, (args, p.returncode, p.stderr)
    return json.loads(p.stdout)


def err_lines(p):
    return p.stderr.strip().splitlines()


def gai_reason(name):
    try:
        socket.getaddrinfo(name, None)
    except socket.gaierror as e:
        return e.strerror
    pytest.skip(f"{name} resolves here")


# ---- every command: --help, argument errors -------------------------------

@pytest.mark.parametrize("cmd", TOOLS)
def test_help_and_unknown_option(cmd):
    p = ok(cmd, "--help")
    assert p.stdout.startswith(f"Usage: sockit {cmd}")
    assert "Exit status" in p.stdout
    p = run(cmd, "--bogus")
    assert p.returncode == 2
    assert err_lines(p) == [f"sockit: {cmd}: unknown option '--bogus'",
                            f"Try 'sockit {cmd} --help'."]
    assert p.stdout == ""


@pytest.mark.parametrize("cmd", ["resolve", "reverse", "addrinfo", "ip", "service", "byteorder"])
def test_missing_operand_is_usage_error(cmd):
    p = run(cmd)
    assert p.returncode == 2
    lines = err_lines(p)
    assert len(lines) == 2 and lines[0].startswith(f"sockit: {cmd}: ")
    assert lines[1] == f"Try 'sockit {cmd} --help'."


def test_more_argument_errors():
    p = run("ip", "-x", "1.2.3.4")
    assert p.returncode == 2 and err_lines(p)[0] == "sockit: ip: unknown option '-x'"
    p = run("sockopt", "--set")
    assert p.returncode == 2 and err_lines(p)[0] == "sockit: sockopt: option '--set' needs a value"
    p = run("hostname", "extra")
    assert p.returncode == 2 and err_lines(p)[0] == "sockit: hostname: unexpected argument 'extra'"
    p = run("addrinfo", "localhost", "80", "extra")
    assert p.returncode == 2 and "unexpected argument 'extra'" in err_lines(p)[0]
    p = run("byteorder", "-5")
    assert p.returncode == 2 and "negative" in err_lines(p)[0]


# ---- resolve ---------------------------------------------------------------

def local_addrs(name):
    seen = []
    for fam, _, _, _, sa in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP):
        if sa[0] not in seen:
            seen.append(sa[0])
    return seen


def test_resolve_localhost_lists_what_the_resolver_has():
    want = local_addrs("localhost")
    p = ok("resolve", "localhost")
    lines = p.stdout.splitlines()
    assert lines[0].startswith("localhost")
    got = [ln.split()[1] for ln in lines[1:]]
    assert got == want
    if "::1" in want:
        assert "  IPv6  ::1" in lines
    assert ("  IPv4  127.0.0.1" in lines) == ("127.0.0.1" in want)
    assert ok("resolve", "--short", "localhost").stdout.split() == want


def test_resolve_failure_is_one_line_and_others_still_answered():
    reason = gai_reason("nope.invalid")
    p = run("resolve", "localhost", "nope.invalid", "127.0.0.1")
    assert p.returncode == 1
    assert err_lines(p) == [f"sockit: resolve: nope.invalid: {reason}"]
    assert p.stdout.startswith("localhost")
    assert "127.0.0.1\n  IPv4  127.0.0.1" in p.stdout


def test_resolve_family_filter_and_json():
    v4 = [a for a in local_addrs("localhost") if ":" not in a]
    data = as_json("resolve", "-4", "localhost", "nope.invalid", rc=1)
    assert data[0]["name"] == "localhost"
    assert [a["address"] for a in data[0]["addresses"]] == v4
    assert all(a["family"] == "inet" for a in data[0]["addresses"])
    assert data[1]["name"] == "nope.invalid" and data[1]["error"]
    assert [a["address"] for a in as_json("resolve", "-6", "::1")[0]["addresses"]] == ["::1"]


# ---- ip --------------------------------------------------------------------

@pytest.mark.parametrize("addr", ["127.0.0.1", "192.168.0.1"])
def test_ip_v4_notations(addr):
    packed = socket.inet_aton(addr)
    host = int.from_bytes(packed, "big")
    net = int.from_bytes(packed, sys.byteorder)
    p = ok("ip", addr)
    out = p.stdout
    assert f"dotted         {addr}\n" in out
    assert f"packed hex     {packed.hex()}\n" in out
    assert f"host order     {host} " in out and f"0x{host:08x}" in out
    assert f"network order  {net} " in out and f"0x{net:08x}" in out
    assert "binary         " + ".".join(f"{b:08b}" for b in packed) + "\n" in out
    rec = as_json("ip", addr)[0]
    assert rec["hex"] == packed.hex() and rec["host_order"] == host
    assert rec["network_order"] == net and rec["legacy"] is False


def test_ip_two_at_once_names_kinds():
    out = ok("ip", "127.0.0.1", "192.168.0.1").stdout
    assert "127.0.0.1 (IPv4, loopback)" in out
    assert "192.168.0.1 (IPv4, private)" in out
    assert "7f000001" in out and "c0a80001" in out


@pytest.mark.parametrize("addr", ["::1", "2001:db8::1", "fe80::2:3", "::ffff:192.0.2.1"])
def test_ip_v6_forms(addr):
    a = ipaddress.IPv6Address(addr)
    compressed = socket.inet_ntop(socket.AF_INET6, a.packed)  # RFC 5952, as libc writes it
    out = ok("ip", addr).stdout
    assert f"compressed     {compressed}\n" in out
    assert f"full           {a.exploded}\n" in out
    assert f"packed hex     {a.packed.hex()}\n" in out
    rec = as_json("ip", addr)[0]
    assert rec["full"] == a.exploded and rec["compressed"] == compressed
    if a.ipv4_mapped:
        assert rec["ipv4"] == str(a.ipv4_mapped)


def test_ip_malformed_rejected_with_reason_others_shown():
    p = run("ip", "256.1.1.1", "127.0.0.1", "1.2.3", "::g")
    assert p.returncode == 1
    lines = err_lines(p)
    assert len(lines) == 3
    assert lines[0] == "sockit: ip: 256.1.1.1: part out of range 0..255"
    assert lines[1].startswith("sockit: ip: 1.2.3: fewer than four parts")
    assert "inet_aton() would read it as 1.2.0.3" in lines[1]
    assert lines[2].startswith("sockit: ip: ::g: ")
    assert "Try" not in p.stderr
    assert "127.0.0.1 (IPv4, loopback)" in p.stdout
    assert "256.1.1.1" not in p.stdout and "1.2.3 " not in p.stdout


def test_ip_inet_aton_legacy_forms_marked():
    for legacy in ["1.2.3", "0x7f.1", "2130706433", "017.0.0.1"]:
        want = socket.inet_ntoa(socket.inet_aton(legacy))
        rec = as_json("ip", "--inet-aton", legacy)[0]
        assert rec["legacy"] is True and rec["dotted"] == want
        assert "legacy inet_aton form read as " + want in ok("ip", "-a", legacy).stdout
    assert as_json("ip", "-a", "10.0.0.1")[0]["legacy"] is False
    p = run("ip", "--inet-aton", "256.1.1.1")
    assert p.returncode == 1


@pytest.mark.parametrize("cidr", ["192.168.1.77/24", "10.0.0.1/31", "172.20.5.5/12",
                                  "2001:db8::1/64", "2001:db8::/120"])
def test_ip_prefix_block(cidr):
    net = ipaddress.ip_network(cidr, strict=False)
    rec = as_json("ip", cidr)[0]
    assert rec["prefix"] == net.prefixlen
    assert rec["netmask"] == socket.inet_ntop(
        socket.AF_INET if net.version == 4 else socket.AF_INET6, net.netmask.packed)
    assert ipaddress.ip_address(rec["network"]) == net.network_address
    assert ipaddress.ip_address(rec["last"]) == net.broadcast_address
    size = net.num_addresses
    assert rec["size"] == size  # a JSON number, exact even beyond 64 bits (issue 12)
    if net.version == 4:
        hosts = list(net.hosts()) if net.prefixlen > 16 else None
        if hosts:
            assert rec["hosts"] == len(hosts)
            assert rec["first_host"] == str(hosts[0]) and rec["last_host"] == str(hosts[-1])
    out = ok("ip", cidr).stdout
    assert f"  prefix         /{net.prefixlen}  netmask " in out


def test_ip_prefix_errors():
    p = run("ip", "1.2.3.4/33", "::1/129", "1.2.3.4/", "10.0.0.0/8")
    assert p.returncode == 1
    assert err_lines(p) == ["sockit: ip: 1.2.3.4/33: prefix length out of range 0..32",
                            "sockit: ip: ::1/129: prefix length out of range 0..128",
                            "sockit: ip: 1.2.3.4/: empty prefix length after '/'"]
    assert "broadcast      10.255.255.255" in p.stdout


# ---- service ---------------------------------------------------------------

def test_service_ports_to_names():
    want = [socket.getservbyport(80, "tcp"), socket.getservbyport(25, "tcp"),
            socket.getservbyport(53, "udp")]
    p = ok("service", "80", "25", "53/udp")
    names = [ln.split()[1] for ln in p.stdout.splitlines()]
    assert names[0] == want[0] and want[1] in names and names[-1] == want[2]
    assert want == ["http", "smtp", "domain"]  # Debian's /etc/services
    assert p.stdout.splitlines()[-1].startswith("53/udp")


def test_service_names_to_ports_both_protocols():
    p = ok("service", "http")
    assert p.stdout.split()[:2] == ["http", "80/tcp"]
    out = ok("service", "domain").stdout.splitlines()
    assert [ln.split()[1] for ln in out] == ["53/tcp", "53/udp"]
    assert ok("service", "domain/udp").stdout.split()[:2] == ["domain", "53/udp"]
    data = as_json("service", "http", "53/udp")
    assert data[0]["port"] == socket.getservbyname("http", "tcp") and data[0]["proto"] == "tcp"
    assert data[1]["name"] == "domain" and data[1]["proto"] == "udp"


def test_service_errors():
    p = run("service", "70000", "no-such-service.x", "80", "bad name")
    assert p.returncode == 1
    lines = err_lines(p)
    assert lines[0] == "sockit: service: 70000: port out of range 0..65535"
    assert lines[1] == "sockit: service: no-such-service.x: unknown service name (tcp or udp)"
    assert lines[2].startswith("sockit: service: bad name: bad character")
    assert p.stdout.startswith("80/tcp")
    p = run("service", "smtp/udp")
    assert p.returncode == 1 and "unknown service name (udp)" in p.stderr


# ---- byteorder -------------------------------------------------------------

def test_byteorder_1234():
    out = ok("byteorder", "1234").stdout
    for bits, fmt in ((16, "H"), (32, "I"), (64, "Q")):
        host = struct.pack("=" + fmt, 1234)
        wire = struct.pack(">" + fmt, 1234)
        net = struct.unpack("=" + fmt, wire)[0]
        digits = bits // 4
        assert f"0x{1234:0{digits}x}" in out
        assert f"0x{net:0{digits}x}" in out and str(net) in out
        assert "memory " + " ".join(f"{b:02x}" for b in host) in out
        assert "memory " + " ".join(f"{b:02x}" for b in wire) in out
    assert "htons()" in out and "htonl()" in out and "htobe64()" in out


def test_byteorder_widths_that_do_not_fit_and_json():
    out = ok("byteorder", "70000").stdout
    assert "16 bits  does not fit in 16 bits" in out
    data = as_json("byteorder", "0x1ffffffff", "65535")
    w = {x["bits"]: x for x in data[0]["widths"]}
    assert not w[16]["fits"] and not w[32]["fits"] and w[64]["fits"]
    assert w[64]["network"] == struct.unpack("=Q", struct.pack(">Q", 0x1ffffffff))[0]
    assert data[1]["widths"][0]["network_bytes"] == "ff ff"


def test_byteorder_rejects_garbage():
    p = run("byteorder", "12", "abc", "1.5", "18446744073709551616", "--", "-3")
    assert p.returncode == 1
    lines = err_lines(p)
    assert lines[0] == "sockit: byteorder: abc: not a number (decimal, or hex with 0x)"
    assert lines[1].startswith("sockit: byteorder: 1.5: ")
    assert lines[2] == "sockit: byteorder: 18446744073709551616: does not fit in 64 bits"
    assert lines[3].startswith("sockit: byteorder: -3: negative")
    assert p.stdout.startswith("12 = 0xc")


# ---- sockopt ---------------------------------------------------------------

def timeval(raw):
    sec, usec = struct.unpack("ll", raw)
    return sec + usec / 1e6


def py_defaults(kind):
    s = socket.socket(socket.AF_INET, kind)
    try:
        d = {
            "SO_RCVBUF": s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF),
            "SO_SNDBUF": s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF),
            "SO_KEEPALIVE": bool(s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)),
            "SO_REUSEADDR": bool(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)),
            "SO_REUSEPORT": bool(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)),
            "SO_RCVTIMEO": timeval(s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)),
            "IP_TTL": s.getsockopt(socket.IPPROTO_IP, socket.IP_TTL),
            "O_NONBLOCK": not s.getblocking(),
        }
        if kind == socket.SOCK_STREAM:
            d["TCP_NODELAY"] = bool(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            d["TCP_MAXSEG"] = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
        return d
    finally:
        s.close()


def test_sockopt_defaults_match_a_fresh_socket():
    data = as_json("sockopt")
    for name, kind in (("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)):
        for opt, want in py_defaults(kind).items():
            assert data[name][opt] == want, (name, opt)
    assert "TCP_NODELAY" not in data["udp"]
    out = ok("sockopt").stdout
    for opt in ("SO_RCVBUF", "SO_SNDBUF", "TCP_NODELAY", "SO_KEEPALIVE", "SO_REUSEADDR",
                "SO_REUSEPORT", "O_NONBLOCK", "SO_RCVTIMEO", "SO_SNDTIMEO", "IP_TTL"):
        assert any(ln.startswith(opt + " ") for ln in out.splitlines()), opt
    assert "blocking" in out


def test_sockopt_set_shows_what_the_kernel_keeps():
    def kept_by_kernel(kind, value):
        s = socket.socket(socket.AF_INET, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, value)
        v = s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        s.close()
        return v
    data = as_json("sockopt", "--set", "SO_RCVBUF=65536", "-s", "nodelay=1",
                   "-s", "SO_RCVTIMEO=1.5", "-s", "nonblock=on")
    sets = {s["option"]: s for s in data["set"]}
    rb = sets["SO_RCVBUF"]
    assert rb["requested"] == 65536
    for name, kind in (("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)):
        assert rb[name]["kept"] == kept_by_kernel(kind, 65536)
        assert rb[name]["default"] == py_defaults(kind)["SO_RCVBUF"]
        assert data[name]["SO_RCVBUF"] == rb[name]["kept"]
        assert data[name]["SO_RCVTIMEO"] == 1.5
        assert data[name]["O_NONBLOCK"] is True
    assert data["tcp"]["TCP_NODELAY"] is True and "udp" not in sets["TCP_NODELAY"]
    out = ok("sockopt", "--tcp", "--set", "SO_RCVBUF=65536").stdout
    kept = kept_by_kernel(socket.SOCK_STREAM, 65536)
    assert f"SO_RCVBUF = 65536:  tcp keeps {kept} (default " in out
    assert "udp" not in out


def test_sockopt_errors():
    p = run("sockopt", "--set", "SO_NOPE=1")
    assert p.returncode == 2
    assert err_lines(p)[0] == "sockit: sockopt: unknown socket option 'SO_NOPE' (see --help for the list)"
    p = run("sockopt", "--set", "SO_RCVBUF=lots")
    assert p.returncode == 2 and err_lines(p)[0].startswith("sockit: sockopt: SO_RCVBUF: 'lots': ")
    p = run("sockopt", "--set", "nodelay")
    assert p.returncode == 2 and "expected NAME=VALUE" in p.stderr
    p = run("sockopt", "--udp", "--set", "TCP_NODELAY=1")
    assert p.returncode == 2 and "does not apply" in p.stderr
    p = run("sockopt", "--set", "IP_TTL=300")
    assert p.returncode == 1
    assert err_lines(p)[0] == "sockit: sockopt: IP_TTL=300 on the tcp socket: Invalid argument"
    assert "refused (Invalid argument)" in p.stdout


def test_sockopt_ipv6():
    data = as_json("sockopt", "-6")
    assert "IPV6_V6ONLY" in data["tcp"] and "IP_TTL" not in data["tcp"]


# ---- hostname and ifaces ---------------------------------------------------

def system_addrs():
    """(ifname, address) pairs from iproute2, when it is installed."""
    if not shutil.which("ip"):
        return None
    out = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        return None
    pairs = set()
    for link in json.loads(out.stdout):
        for a in link.get("addr_info", []):
            if a.get("family") in ("inet", "inet6"):
                pairs.add((link["ifname"], a["local"], a["prefixlen"]))
    return pairs


def test_hostname():
    data = as_json("hostname")
    assert data["hostname"] == socket.gethostname()
    assert data["fqdn"] or data["fqdn_error"]
    got = {(a["interface"], a["address"].split("%")[0], a["prefix"]) for a in data["addresses"]}
    want = system_addrs()
    if want is not None:
        assert got == want
    try:
        resolved = local_addrs(socket.gethostname())
    except socket.gaierror:
        resolved = []
    assert data["resolves_to"] == resolved
    out = ok("hostname").stdout
    assert out.startswith(f"hostname     {socket.gethostname()}\n")
    if resolved:
        assert f"resolves to  {' '.join(resolved)}\n" in out
    v4 = as_json("hostname", "-4")["addresses"]
    assert all(a["family"] == "inet" for a in v4)


def test_ifaces_match_the_system():
    data = as_json("ifaces")
    assert {(i["name"], i["index"]) for i in data} == {(n, i) for i, n in socket.if_nameindex()}
    want = system_addrs()
    if want is not None:
        got = {(i["name"], a["address"].split("%")[0], a["prefix"])
               for i in data for a in i["addresses"]}
        assert got == want
    lo = [i for i in data if "LOOPBACK" in i["flags"]]
    assert lo and lo[0]["mtu"] > 0
    out = ok("ifaces", lo[0]["name"]).stdout
    assert out.startswith(f"{lo[0]['index']}: {lo[0]['name']} <")
    assert len(out.splitlines()) == 1 + len(lo[0]["addresses"])
    assert all("UP" in i["flags"] for i in as_json("ifaces", "--up"))
    p = run("ifaces", "nosuch0")
    assert p.returncode == 1 and err_lines(p) == ["sockit: ifaces: nosuch0: no such interface"]


# ---- reverse ---------------------------------------------------------------

def py_reverse(addr):
    try:
        return socket.getnameinfo((addr, 0), socket.NI_NAMEREQD)[0], None
    except socket.gaierror as e:
        return None, e.strerror


@pytest.mark.parametrize("addr", ["127.0.0.1", "::1"])
def test_reverse_loopback(addr):
    name, reason = py_reverse(addr)
    p = run("reverse", addr)
    if name:
        assert p.returncode == 0
        assert p.stdout.split() == [addr, name]
    else:
        assert p.returncode == 1
        assert err_lines(p) == [f"sockit: reverse: {addr}: {reason}"]


def test_reverse_malformed_and_json():
    name, _ = py_reverse("127.0.0.1")
    p = run("reverse", "1.2.3", "127.0.0.1", "::g")
    assert p.returncode == 1
    lines = err_lines(p)
    assert lines[0].startswith("sockit: reverse: 1.2.3: fewer than four parts")
    assert lines[1].startswith("sockit: reverse: ::g: not a valid IPv6")
    data = as_json("reverse", "127.0.0.1", "1.2.3", rc=1)
    assert data[0]["address"] == "127.0.0.1" and data[1]["error"]
    if name:
        assert data[0]["name"] == name


# ---- addrinfo --------------------------------------------------------------

FAM = {socket.AF_INET: "inet", socket.AF_INET6: "inet6"}
TYPE = {socket.SOCK_STREAM: "stream", socket.SOCK_DGRAM: "dgram", socket.SOCK_RAW: "raw"}


def py_tuples(host, service, family=0, kind=0):
    res = socket.getaddrinfo(host, service, family, kind, 0, socket.AI_CANONNAME)
    return [(FAM[f], TYPE[t], p, sa[0], sa[1]) for f, t, p, _, sa in res], res[0][3]


@pytest.mark.parametrize("args", [("localhost", "http"), ("localhost",), ("127.0.0.1", "53")])
def test_addrinfo_every_tuple(args):
    want, canon = py_tuples(*args) if len(args) == 2 else py_tuples(args[0], None)
    data = as_json("addrinfo", *args)
    got = [(r["family"], r["socktype"], r["protocol_number"], r["address"], r["port"])
           for r in data]
    assert got == want
    assert data[0]["canonname"] == canon
    out = ok("addrinfo", *args).stdout.splitlines()
    assert out[0].split() == ["family", "socktype", "protocol", "address", "port", "canonname"]
    assert len(out) == 1 + len(want)


def test_addrinfo_filters():
    data = as_json("addrinfo", "-4", "--udp", "localhost", "domain")
    want, _ = py_tuples("localhost", "domain", socket.AF_INET, socket.SOCK_DGRAM)
    assert [(r["address"], r["port"]) for r in data] == [(w[3], w[4]) for w in want]
    assert all(r["family"] == "inet" and r["socktype"] == "dgram" and r["protocol"] == "udp"
               for r in data)
    data = as_json("addrinfo", "-6", "--tcp", "::1", "80")
    assert [(r["family"], r["socktype"], r["address"], r["port"]) for r in data] == \
        [("inet6", "stream", "::1", 80)]


def test_addrinfo_failures():
    reason = gai_reason("nope.invalid")
    p = run("addrinfo", "nope.invalid")
    assert p.returncode == 1 and err_lines(p) == [f"sockit: addrinfo: nope.invalid: {reason}"]
    p = run("addrinfo", "127.0.0.1", "no-such-service-x")
    assert p.returncode == 1 and err_lines(p)[0].startswith(
        "sockit: addrinfo: 127.0.0.1 no-such-service-x: ")

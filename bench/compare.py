#!/usr/bin/env python3
"""compare.py - run sockit side by side with other servers on this machine,
one after another, under the same load; called by bench/compare.sh, which
installs what is missing first.

Each server is started in its own session on a free 127.0.0.1 port, loaded
for a few seconds (wrk for HTTP, `sockit bench` for echo), and its CPU time
is read from /proc (utime+stime of every process in its session, plus the
children they reaped) before and after the load: the server's CPU time per
request shows its own cost even when the load generator is the limit.

Results: bench/results/<UTC time>/results.jsonl (one JSON object per run)
and results.md (the markdown tables printed at the end).

Usage: compare.py [--duration SECS] [--repeat N] [--pairs N] [--only SECTION,...] [--quick]
Sections: loadgen http pipelined echo udp c10k
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOCKIT = os.environ.get("SOCKIT", os.path.join(ROOT, "build", "sockit"))
HZ = os.sysconf("SC_CLK_TCK")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, udp=False, timeout=10):
    if udp:
        time.sleep(0.3)
        return proc.poll() is None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def session_cpu(sid):
    """CPU seconds of all processes in session sid, plus what they reaped."""
    ticks = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rfind(")") + 2:].split()
        if int(fields[3]) != sid:  # session
            continue
        ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return ticks / HZ


def vm(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    def __init__(self, name, argv, port, udp=False, cwd=None, env=None):
        self.name, self.port = name, port
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True, cwd=cwd,
                                     env=env)
        self.ok = wait_listening(port, self.proc, udp)

    def cpu(self):
        return session_cpu(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        if self.proc.stderr:
            self.proc.stderr.close()
        return err


# ---- servers ----

def tmpdir():
    d = tempfile.mkdtemp(prefix="sockit-compare-")
    os.chmod(d, 0o755)  # servers that drop root privileges still read it
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write("Hello, World!")
    return d


def nginx(workers):
    def start():
        port, d = free_port(), tmpdir()
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes {workers}; daemon off; pid {d}/nginx.pid;
error_log {d}/error.log; events {{ worker_connections 20000; }}
http {{ access_log off; client_body_temp_path {d}/b; proxy_temp_path {d}/p;
  fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "Hello, World!"; }} }} }}
""")
        return Server(f"nginx ({workers} worker{'s' if workers > 1 else ''})",
                      ["nginx", "-c", conf, "-e", f"{d}/error.log"], port)
    return start


def h2o():
    port, d = free_port(), tmpdir()
    conf = os.path.join(d, "h2o.conf")
    with open(conf, "w") as f:
        f.write(f"""listen:
  host: 127.0.0.1
  port: {port}
num-threads: 1
hosts:
  default:
    paths:
      /:
        file.dir: {d}
""")
    return Server("h2o (1 thread)", ["h2o", "-c", conf], port)


def lighttpd():
    port, d = free_port(), tmpdir()
    conf = os.path.join(d, "lighttpd.conf")
    with open(conf, "w") as f:
        f.write(f"""server.document-root = "{d}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{d}/error.log"
server.max-keep-alive-requests = 100000
index-file.names = ("index.html")
""")
    return Server("lighttpd", ["lighttpd", "-D", "-f", conf], port)


def py_http():
    port, d = free_port(), tmpdir()
    return Server("python3 -m http.server", [PY, "-m", "http.server", str(port), "--bind",
                                             "127.0.0.1", "-d", d], port)


def sockit_serve(service, model, extra=(), udp=False, label=None):
    def start():
        port = free_port()
        argv = [SOCKIT, "serve", service, "--model", model, "-p", str(port), "-b", "127.0.0.1",
                "-q", "--max-conns", "20000", *extra]
        if udp:
            argv = [SOCKIT, "serve", service, "-u", "--model", model, "-p", str(port), "-b",
                    "127.0.0.1", "-q", *extra]
        name = label or (f"sockit {service}{' -u' if udp else ''} --model {model}" +
                         (" " + " ".join(extra) if extra else ""))
        return Server(name, argv, port, udp=udp, cwd=tmpdir())
    return start


def pyecho(kind, label):
    def start():
        port = free_port()
        return Server(label, [PY, os.path.join(ROOT, "bench", "pyecho.py"), kind, str(port)],
                      port)
    return start


def socat():
    port = free_port()
    return Server("socat (fork, PIPE)", ["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,fork,"
                                         "reuseaddr,backlog=4096", "PIPE"], port)


def ncat():
    port = free_port()
    return Server("ncat -k --exec /bin/cat", ["ncat", "-l", "-k", "127.0.0.1", str(port),
                                              "--exec", "/bin/cat"], port)


def epoll_min(binary):
    def start():
        port = free_port()
        return Server("minimal C epoll loop", [binary, str(port)], port)
    return start


# ---- load ----

def wrk(port, conns, threads, dur, pipeline=1, path="/"):
    args = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{dur}s", "--latency"]
    url = f"http://127.0.0.1:{port}{path}"
    if pipeline > 1:
        args += ["-s", os.path.join(ROOT, "bench", "pipeline.lua"), url, "--", str(pipeline)]
    else:
        args.append(url)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(args, capture_output=True, text=True, timeout=dur + 30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = p.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    lat = {}
    for pct, v, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        lat[pct] = float(v) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
    errs = 0
    for k in re.findall(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        out):
        errs = sum(map(int, k))
    nx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if nx:
        errs += int(nx.group(1))
    # wrk times a pipelined batch as a whole and may print 0 for its percentiles.
    return {"rps": float(m.group(1)) if m else 0.0, "requests": int(n.group(1)) if n else 0,
            "p50_us": lat.get("50") or None, "p99_us": lat.get("99") or None, "errors": errs,
            "client_cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime -
                                                                   before.ru_stime),
            "tool": "wrk", "cmd": " ".join(args)}


def sockit_bench(kind, target, conns, threads, dur, size=64, pipeline=1, udp=False, extra=()):
    args = [SOCKIT, "bench", kind]
    args += [target] if kind == "http" else ["127.0.0.1", str(target)]
    args += ["-c", str(conns), "-t", str(threads), "-d", f"{dur}s", "-P", str(pipeline),
             "--json", *extra]
    if kind == "echo":
        args += ["-s", str(size)]
    if udp:
        args.append("-u")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(args, capture_output=True, text=True, timeout=dur + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        d = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"rps": 0.0, "requests": 0, "p50_us": None, "p99_us": None, "errors": -1,
                "tool": "sockit bench", "cmd": " ".join(args), "stderr": p.stderr}
    return {"rps": d["requests_per_s"], "requests": d["requests"],
            "p50_us": d["latency_us"]["p50"], "p99_us": d["latency_us"]["p99"],
            "errors": d["errors_total"], "starved": d.get("starved_connections", 0),
            "client_cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime -
                                                                   before.ru_stime),
            "tool": "sockit bench", "cmd": " ".join(a.replace(SOCKIT, "sockit") for a in args)}


# ---- running ----

class Results:
    def __init__(self, outdir):
        self.outdir = outdir
        os.makedirs(outdir, exist_ok=True)
        self.jsonl = open(os.path.join(outdir, "results.jsonl"), "w")
        self.md = []
        self.rows = []

    def record(self, section, server, load, extra=None):
        row = {"section": section, "server": server, **load, **(extra or {})}
        self.rows.append(row)
        self.jsonl.write(json.dumps(row) + "\n")
        self.jsonl.flush()
        return row

    def table(self, title, head, rows, notes=()):
        lines = [f"### {title}", ""]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        for r in rows:
            lines.append("| " + " | ".join(str(c) for c in r) + " |")
        lines += [""] + [f"{n}" for n in notes] + ([""] if notes else [])
        text = "\n".join(lines)
        self.md.append(text)
        print(text, flush=True)

    def close(self):
        with open(os.path.join(self.outdir, "results.md"), "w") as f:
            f.write("\n".join(self.md) + "\n")
        self.jsonl.close()


def run_one(start, load, settle=0.2, repeat=None):
    """Run once per repeat (a fresh server each time); the median run by rate."""
    n = REPEAT if repeat is None else repeat
    runs = [run_once(start, load, settle) for _ in range(n)]
    ok = [r for r in runs if not r[1].get("skipped")]
    if not ok:
        return runs[0]
    ok.sort(key=lambda r: r[1]["rps"])
    name, r = ok[(len(ok) - 1) // 2]
    r["runs_rps"] = [x[1]["rps"] for x in runs if not x[1].get("skipped")]
    return name, r


REPEAT = 1


def run_rounds(jobs):
    """jobs: [(key, start, load)]. REPEAT rounds, each running every job once
    (so a burst of load from elsewhere on the machine hits all servers alike);
    returns {key: (name, median run by rate)}."""
    runs = {k: [] for k, _, _ in jobs}
    for _ in range(REPEAT):
        for k, start, load in jobs:
            runs[k].append(run_once(start, load))
    out = {}
    for k, rr in runs.items():
        ok = [r for r in rr if not r[1].get("skipped")]
        if not ok:
            out[k] = rr[0]
            continue
        ok.sort(key=lambda r: r[1]["rps"])
        name, r = ok[(len(ok) - 1) // 2]
        r["runs_rps"] = [round(x[1]["rps"]) for x in ok]
        out[k] = (name, r)
    return out


def run_once(start, load, settle=0.2):
    """Start a server, load it, return (name, load dict + server cpu)."""
    try:
        srv = start()
    except FileNotFoundError as e:
        return None, {"skipped": f"not installed: {e.filename}"}
    if not srv.ok:
        err = srv.stop()
        return srv.name, {"skipped": "did not start: " + err.strip()[:200]}
    try:
        time.sleep(settle)
        c0 = srv.cpu()
        r = load(srv.port)
        time.sleep(settle)
        c1 = srv.cpu()
        r["server_cpu_s"] = c1 - c0
        r["server_cpu_us_per_req"] = (c1 - c0) * 1e6 / r["requests"] if r["requests"] else None
        return srv.name, r
    finally:
        srv.stop()


def fmt(v, spec="{:.0f}"):
    return "-" if v is None else spec.format(v)


def fmt_lat(us):
    if us is None:
        return "-"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.0f} us"


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def available_models(service, udp=False):
    p = subprocess.run([SOCKIT, "serve", "--list"], capture_output=True, text=True)
    out = []
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 4 and f[1] == ("udp" if udp else "tcp") and f[2] == "ok" and service in f[3:]:
            out.append(f[0])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--quick", action="store_true", help="1 s runs, fewer servers")
    ap.add_argument("--epoll-min", default=os.path.join(ROOT, "build", "epoll_echo_min"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per server and load; the median (by rate) is reported")
    ap.add_argument("--pairs", type=int, default=5, help="wrk/sockit pairs in 'loadgen'")
    a = ap.parse_args()
    global REPEAT
    REPEAT = max(1, a.repeat)
    dur = 1 if a.quick else a.duration
    dur = int(dur) if dur == int(dur) else dur
    only = set(a.only.split(",")) if a.only else None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    res = Results(a.out or os.path.join(ROOT, "bench", "results", stamp))
    http_args = os.environ.get("SOCKIT_HTTP_ARGS", "").split()
    want = lambda s: only is None or s in only  # noqa: E731

    head = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
            f"{os.cpu_count()} CPUs (load average at start {os.getloadavg()[0]:.2f}), "
            f"{dur} s per run, median of {REPEAT} run(s) per server and load.\n")
    print(head, flush=True)
    res.md.append(head)

    http_models = [m for m in available_models("http") if m in ("select", "poll", "epoll",
                                                                  "uring")]
    # 1. The load generator itself: wrk and sockit bench against the same nginx.
    if want("loadgen") and shutil.which("nginx") and shutil.which("wrk"):
        srv = nginx(1)()
        rows = []
        if srv.ok:
            url = f"http://127.0.0.1:{srv.port}/"
            for t, depth in ((1, 1), (2, 1), (1, 16)):
                w_rps, s_rps, w_cpu, s_cpu = [], [], [], []
                for _ in range(a.pairs):
                    w = wrk(srv.port, 100, t, dur, pipeline=depth)
                    s = sockit_bench("http", url, 100, t, dur, pipeline=depth)
                    res.record("loadgen", "nginx (1 worker)", w, {"threads": t, "pipeline": depth})
                    res.record("loadgen", "nginx (1 worker)", s, {"threads": t, "pipeline": depth})
                    w_rps.append(w["rps"])
                    s_rps.append(s["rps"])
                    w_cpu.append(w["client_cpu_s"] * 1e6 / max(w["requests"], 1))
                    s_cpu.append(s["client_cpu_s"] * 1e6 / max(s["requests"], 1))
                wm, sm = statistics.median(w_rps), statistics.median(s_rps)
                res.rows.append({"section": "loadgen-median", "server": "nginx (1 worker)",
                                 "threads": t, "pipeline": depth, "wrk_rps": wm,
                                 "sockit_rps": sm})
                rows.append([f"-t{t} -c100" + (f" pipeline {depth}" if depth > 1 else ""),
                             fmt(wm), fmt(sm), ratio(sm, wm),
                             sum(1 for x, y in zip(s_rps, w_rps) if x >= y),
                             fmt(statistics.median(w_cpu), "{:.2f}"),
                             fmt(statistics.median(s_cpu), "{:.2f}")])
        srv.stop()
        res.table(f"Load generator: wrk vs sockit bench http against nginx (1 worker), "
                  f"{a.pairs} alternating pairs of runs",
                  ["load", "wrk req/s (median)", "sockit bench req/s (median)", "sockit/wrk",
                   f"pairs sockit >= wrk (of {a.pairs})", "wrk client CPU us/req",
                   "sockit client CPU us/req"], rows,
                  ["Client CPU is each tool's own user+system time per response. Pipelined: "
                   "wrk -s bench/pipeline.lua -- 16 against sockit bench -P16."])

    # 2. HTTP keep-alive, wrk -t1 -c100.
    if want("http") and shutil.which("wrk"):
        servers = [nginx(1), nginx(2), h2o, lighttpd, py_http]
        servers += [sockit_serve("http", m, http_args) for m in http_models]
        if "epoll" in http_models:
            servers.append(sockit_serve("http", "epoll", http_args + ["--workers", "2"]))
        rows, base = [], None
        got = run_rounds([(i, st, lambda port: wrk(port, 100, 1, dur))
                          for i, st in enumerate(servers)])
        for i, start in enumerate(servers):
            name, r = got[i]
            if r.get("skipped"):
                rows.append([name or start.__name__, "skipped: " + r["skipped"], "", "", "", ""])
                continue
            res.record("http", name, r)
            if name.startswith("nginx (1"):
                base = r
            rows.append([name, fmt(r["rps"]), fmt_lat(r["p50_us"]), fmt_lat(r["p99_us"]),
                         fmt(r["server_cpu_us_per_req"], "{:.2f}"), r["errors"]])
        for row in rows:
            if base and row[1] and row[1][0].isdigit():
                row.append(ratio(float(row[1]), base["rps"]))
                cpu = row[4]
                row.append(ratio(float(cpu), base["server_cpu_us_per_req"])
                           if cpu not in ("-", "") and base["server_cpu_us_per_req"] else "-")
        res.table("HTTP hello world, keep-alive: wrk -t1 -c100 -d%ss" % dur,
                  ["server", "req/s", "p50", "p99", "server CPU us/req", "errors",
                   "req/s vs nginx-1", "CPU/req vs nginx-1"], rows)

    # 3. HTTP pipelined 16.
    if want("pipelined") and shutil.which("wrk"):
        servers = [nginx(1)] + [sockit_serve("http", m, http_args) for m in http_models]
        rows, base = [], None
        got = run_rounds([(i, st, lambda port: wrk(port, 100, 1, dur, pipeline=16))
                          for i, st in enumerate(servers)])
        for i, start in enumerate(servers):
            name, r = got[i]
            if r.get("skipped"):
                rows.append([name or "?", "skipped: " + r["skipped"], "", "", ""])
                continue
            res.record("pipelined", name, r)
            if name.startswith("nginx (1"):
                base = r
            rows.append([name, fmt(r["rps"]), fmt_lat(r["p99_us"]),
                         fmt(r["server_cpu_us_per_req"], "{:.2f}"),
                         ratio(r["rps"], base["rps"]) if base else "-"])
        res.table("HTTP hello world, 16 pipelined: wrk -t1 -c100 -s bench/pipeline.lua -- 16",
                  ["server", "req/s", "p99", "server CPU us/req", "req/s vs nginx-1"], rows)

    # 4. TCP echo: 64 B and 16 KiB, 50 connections.
    if want("echo"):
        servers = [epoll_min(a.epoll_min), socat, ncat,
                   pyecho("asyncio", "python asyncio"),
                   pyecho("socketserver", "python socketserver (threads)"),
                   pyecho("threads", "python, seeds' style (thread per client)")]
        servers += [sockit_serve("echo", m) for m in available_models("echo")]
        rows, base, socat_r, asy_r = [], None, None, None
        got = run_rounds([(i, st, lambda port: sockit_bench("echo", port, 50, 1, dur, 64))
                          for i, st in enumerate(servers)])
        for i, start in enumerate(servers):
            name, r = got[i]
            if r.get("skipped"):
                rows.append([name or "?", "skipped: " + r["skipped"]] + [""] * 6)
                continue
            name2, big = run_one(start, lambda port: sockit_bench("echo", port, 50, 1, dur,
                                                                  16384), repeat=1)
            res.record("echo64", name, r)
            res.record("echo16k", name, big)
            if name.startswith("minimal"):
                base = r
            if name.startswith("socat"):
                socat_r = r
            if name == "python asyncio":
                asy_r = r
            stall = "yes" if (big.get("p50_us") or 0) >= 40000 else "no"
            errs = str(r["errors"])
            if r.get("starved"):
                errs += f" ({r['starved']} conns never served)"
            rows.append([name, fmt(r["rps"]), fmt_lat(r["p99_us"]),
                         fmt(r["server_cpu_us_per_req"], "{:.2f}"), errs,
                         fmt(big["rps"]), fmt_lat(big["p50_us"]), fmt_lat(big["p99_us"]), stall])
        for row in rows:
            if row[1] and row[1][0].isdigit():
                v = float(row[1])
                row[5:5] = [ratio(v, base["rps"]) if base else "-",
                            ratio(v, socat_r["rps"]) if socat_r else "-",
                            ratio(v, asy_r["rps"]) if asy_r else "-"]
        res.table("TCP echo, 50 connections, 1 load thread: sockit bench echo -c50 -s64 "
                  "(and -s16384)",
                  ["server", "64 B msgs/s", "p99", "server CPU us/msg", "errors",
                   "vs C epoll loop", "vs socat", "vs asyncio", "16 KiB msgs/s", "16 KiB p50",
                   "16 KiB p99", "44 ms Nagle stall"], rows,
                  ["Nagle stall: the median 16 KiB message takes 40 ms or more (Nagle's "
                   "algorithm waiting for a delayed ACK)."])

    # 5. UDP echo, 16 sockets, one datagram at a time and batches of 16.
    if want("udp"):
        models = available_models("echo", udp=True)
        rows = []
        jobs = []
        for m in models:
            for depth in (1, 16):
                jobs.append(((m, depth), sockit_serve("echo", m, udp=True),
                             lambda port, depth=depth: sockit_bench("echo", port, 16, 1, dur, 64,
                                                                    pipeline=depth, udp=True)))
        got = run_rounds(jobs)
        for m in models:
            cells = [f"sockit echo -u --model {m}"]
            for depth in (1, 16):
                name, r = got[(m, depth)]
                if r.get("skipped"):
                    cells += ["skipped", "", ""]
                    continue
                res.record(f"udp-P{depth}", name, r)
                cells += [fmt(r["rps"]), fmt(r["server_cpu_us_per_req"], "{:.2f}"), r["errors"]]
            rows.append(cells)
        res.table("UDP echo, 64 B, 16 sockets: sockit bench echo -u -c16 -P1 (and -P16)",
                  ["server", "P1 datagrams/s", "P1 CPU us/dgram", "P1 errors",
                   "P16 datagrams/s", "P16 CPU us/dgram", "P16 errors"], rows,
                  ["P1: one datagram in flight per socket (send/recv); P16: 16 in flight, "
                   "sent with sendmmsg and received with recvmmsg."])

    # 6. 10,000 connections held and served.
    if want("c10k"):
        rows = []
        for m in [x for x in available_models("echo") if x in ("epoll", "uring")]:
            srv = sockit_serve("echo", m)()
            if not srv.ok:
                rows.append([m, "did not start: " + srv.stop()[:100], "", "", "", ""])
                continue
            time.sleep(0.3)
            rss0 = vm(srv.proc.pid, "VmRSS")
            r = sockit_bench("echo", srv.port, 10000, 2, max(dur, 3), 64,
                             extra=("--timeout", "10s"))
            hwm = vm(srv.proc.pid, "VmHWM")
            srv.stop()
            per = (hwm - rss0) * 1024 / 10000
            res.record("c10k", m, r, {"rss0_kb": rss0, "hwm_kb": hwm, "bytes_per_conn": per})
            rows.append([f"sockit echo --model {m}", fmt(r["rps"]), r.get("starved", "-"),
                         r["errors"], f"{rss0} -> {hwm}", f"{per:.0f}"])
        res.table("10,000 concurrent echo connections: sockit bench echo -c10000 -t2",
                  ["server", "msgs/s", "connections never served", "errors",
                   "server RSS kB (idle -> peak)", "bytes per connection"], rows)
    targets(res)
    res.close()
    print(f"results: {res.outdir}/results.md and results.jsonl")


def targets(res):
    """Where each target of the issue stands, from this run's rows."""
    def find(section, prefix):
        for r in res.rows:
            if r.get("skipped"):
                continue
            if r["section"] == section and r["server"].startswith(prefix):
                return r
        return None

    rows = []

    def check(what, value, goal, higher=True, detail=""):
        if value is None:
            rows.append([what, "not measured", f"{'>=' if higher else '<='} {goal}", "-", detail])
            return
        met = value >= goal if higher else value <= goal
        if met:
            verdict = "met"
        elif higher:
            verdict = f"missed by {(1 - value / goal) * 100:.0f}%"
        else:
            verdict = f"missed by {(value / goal - 1) * 100:.0f}%"
        rows.append([what, f"{value:.2f}", f"{'>=' if higher else '<='} {goal}", verdict, detail])

    def rps(r):
        return r["rps"] if r and r.get("rps") else None

    def cpu(r):
        return r.get("server_cpu_us_per_req") if r else None

    def div(a, b):
        return a / b if a and b else None

    for r in res.rows:
        if r["section"] == "loadgen-median" and r["pipeline"] == 1:
            check(f"sockit bench http / wrk, req/s, -t{r['threads']} -c100 (nginx)",
                  div(r["sockit_rps"], r["wrk_rps"]), 1.0,
                  detail="within 10% and not the slower")
    ng = find("http", "nginx (1")
    for m in ("epoll", "uring"):
        r = find("http", f"sockit http --model {m}")
        if r and "--workers" not in r["server"]:
            check(f"HTTP keep-alive: {m} / nginx-1 req/s", div(rps(r), rps(ng)), 1.1)
            check(f"HTTP keep-alive: {m} / nginx-1 server CPU per request", div(cpu(r), cpu(ng)),
                  0.75, higher=False)
    ng = find("pipelined", "nginx (1")
    for m in ("epoll", "uring"):
        r = find("pipelined", f"sockit http --model {m}")
        if r:
            check(f"HTTP 16 pipelined: {m} / nginx-1 req/s", div(rps(r), rps(ng)), 1.5)
    base, socat, asy = find("echo64", "minimal"), find("echo64", "socat"), \
        find("echo64", "python asyncio")
    ep, ur = find("echo64", "sockit echo --model epoll"), find("echo64", "sockit echo --model uring")
    if base:
        check("TCP echo 64 B: epoll / C epoll loop msgs/s", div(rps(ep), rps(base)), 1.0,
              detail=f"CPU/msg ratio {div(cpu(ep), cpu(base)) or 0:.2f}")
        check("TCP echo 64 B: epoll / socat msgs/s", div(rps(ep), rps(socat)), 3.0,
              detail=f"CPU/msg: socat {div(cpu(socat), cpu(ep)) or 0:.1f}x epoll's")
        check("TCP echo 64 B: epoll / asyncio msgs/s", div(rps(ep), rps(asy)), 1.3,
              detail=f"CPU/msg: asyncio {div(cpu(asy), cpu(ep)) or 0:.2f}x epoll's")
        check("TCP echo 64 B: uring / C epoll loop msgs/s", div(rps(ur), rps(base)), 1.15,
              detail=f"CPU/msg ratio {div(cpu(ur), cpu(base)) or 0:.2f}")
    stalls = [r["server"] for r in res.rows if r["section"] == "echo16k"
              and r["server"].startswith("sockit") and (r.get("p50_us") or 0) >= 40000]
    if any(r["section"] == "echo16k" for r in res.rows):
        rows.append(["TCP echo 16 KiB: no sockit model shows the 44 ms stall",
                     "stalls: " + (", ".join(stalls) if stalls else "none"), "none",
                     "met" if not stalls else "missed", ""])
    pl1, bt1 = find("udp-P1", "sockit echo -u --model plain"), \
        find("udp-P1", "sockit echo -u --model batch")
    pl16, bt16 = find("udp-P16", "sockit echo -u --model plain"), \
        find("udp-P16", "sockit echo -u --model batch")
    if pl1:
        check("UDP echo: batch / plain, one datagram at a time", div(rps(bt1), rps(pl1)), 1.0,
              detail=f"CPU/datagram ratio {div(cpu(bt1), cpu(pl1)) or 0:.2f}")
        check("UDP echo: batch / plain, batching client (16 in flight)",
              div(rps(bt16), rps(pl16)), 1.5,
              detail=f"CPU/datagram ratio {div(cpu(bt16), cpu(pl16)) or 0:.2f}")
    for r in res.rows:
        if r["section"] == "c10k":
            check(f"10,000 connections, {r['server']}: bytes per connection",
                  r["bytes_per_conn"], 4096, higher=False,
                  detail=f"{r.get('starved', 0)} never served, {r['errors']} errors")
    res.table("Targets", ["target", "measured", "goal", "status", "note"], rows)


if __name__ == "__main__":
    main()

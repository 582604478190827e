#!/usr/bin/python3
"""soak.py - the driver behind bench/soak.sh (see there for the options).

Per model (epoll, uring, thread) it starts four servers: echo, http --root
(files, a listing), chat, and UDP echo (batch beside epoll, uring beside
uring, plain beside thread). Good clients check every answer; bad clients
(the attacks of issue 11) only have to leave the servers standing. Every
server's descriptors and RSS are sampled each interval; growth is judged
idle to idle: the load pauses at the end of the warm-up and at the end, and
those two quiet samples are compared. Exit 0 when nothing grew, no good
client saw an error, no server logged a sanitizer report and every server
stopped cleanly."""
import argparse
import http.client
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

LISTEN_RE = re.compile(r"listening on (?:\[(?P<v6>[^\]]+)\]|(?P<v4>[0-9.]+)):(?P<port>\d+)")
SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|runtime error:|WARNING: ThreadSanitizer|"
                          r"ERROR: LeakSanitizer")
UDP_MODEL = {"epoll": "batch", "uring": "uring", "thread": "plain"}
FD_SLACK = 0                 # descriptors: idle must come back to idle exactly
RSS_SLACK_KB = 8 * 1024      # RSS: allowed growth idle to idle (allocator caches) ...
RSS_SLACK_FRAC = 0.20        # ... or this fraction of the first idle sample


class Server:
    def __init__(self, sockit, label, args):
        self.label = label
        self.proc = subprocess.Popen([sockit, "serve", *args, "-b", "127.0.0.1", "-p", "0", "-q"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.err = []
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if ready else ""
        m = LISTEN_RE.search(line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"{label}: no listening line: {line!r} "
                               f"{self.proc.stderr.read()[-500:]!r}")
        self.port = int(m.group("port"))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            if len(self.err) < 2000:
                self.err.append(line)

    def sample(self):
        pid = self.proc.pid
        try:
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            with open(f"/proc/{pid}/status") as f:
                rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        except (OSError, AttributeError):
            return None
        return {"fds": fds, "rss_kb": rss}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        return self.proc.returncode


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = {}
        self.bad = {}
        self.errors = []

    def good(self, kind, n=1):
        with self.lock:
            self.ok[kind] = self.ok.get(kind, 0) + n

    def attack(self, kind):
        with self.lock:
            self.bad[kind] = self.bad.get(kind, 0) + 1

    def error(self, kind, what):
        with self.lock:
            self.errors.append(f"{kind}: {what}")


class Load:
    """The clients of one model's servers; run() loops until stopped, idling
    while paused."""

    def __init__(self, model, servers, root, stats):
        self.model, self.s, self.root, self.st = model, servers, root, stats
        self.stop = threading.Event()
        self.pause = threading.Event()
        self.busy = 0
        self.busy_lock = threading.Lock()
        self.chat_sent = set()
        self.chat_seen = set()
        self.watching = threading.Event()  # the watcher is in the room
        self.chat_missed = 0  # lines the server told the watcher it could not give it
        self.seq = 0
        self.rng = random.Random(hash(model))

    def next_id(self):
        with self.busy_lock:
            self.seq += 1
            return self.seq

    def loop(self, kind, fn, pause_s=0.0):
        while not self.stop.is_set():
            if self.pause.is_set():
                time.sleep(0.05)
                continue
            with self.busy_lock:
                self.busy += 1
            try:
                fn()
            except Exception as e:  # a good client's failure is an error
                if not kind.startswith("bad"):
                    self.st.error(f"{self.model} {kind}", repr(e))
            finally:
                with self.busy_lock:
                    self.busy -= 1
            if pause_s:
                time.sleep(pause_s)

    # ---- good clients ----

    def echo(self):
        with socket.create_connection(("127.0.0.1", self.s["echo"].port), timeout=10) as c:
            for _ in range(self.rng.randint(1, 5)):
                data = os.urandom(self.rng.randint(1, 16384))
                c.sendall(data)
                got = b""
                while len(got) < len(data):
                    d = c.recv(65536)
                    if not d:
                        raise RuntimeError("closed mid-echo")
                    got += d
                if got != data:
                    raise RuntimeError("echo differs")
                self.st.good("echo")

    def http(self):
        c = http.client.HTTPConnection("127.0.0.1", self.s["http"].port, timeout=10)
        try:
            for path, want in (("/small.txt", self.root_small), ("/big.bin", self.root_big),
                               ("/dir/", None), ("/missing", 404)):
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                if want == 404:
                    ok = r.status == 404
                elif want is None:
                    ok = r.status == 200 and body.count(b"<tr><td><a href=") == 201
                else:
                    ok = r.status == 200 and body == want
                if not ok:
                    raise RuntimeError(f"GET {path}: {r.status} ({len(body)} bytes)")
                self.st.good("http")
        finally:
            c.close()

    def udp(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(1)
            for _ in range(5):
                data = b"soak %d " % self.next_id() + os.urandom(self.rng.randint(0, 1400))
                for attempt in range(3):  # UDP may drop under load: bounded retries
                    u.sendto(data, ("127.0.0.1", self.s["udp"].port))
                    try:
                        while True:
                            got = u.recv(65536)
                            if got == data:
                                break
                    except socket.timeout:
                        continue
                    break
                else:
                    raise RuntimeError("no UDP echo after 3 tries")
                self.st.good("udp")

    def chat_join(self, nick, rcvbuf=None):
        c = socket.socket()
        if rcvbuf:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        c.settimeout(10)
        c.connect(("127.0.0.1", self.s["chat"].port))
        c.sendall(nick.encode() + b"\n")
        buf = b""
        while b"*** Welcome, " + nick.encode() not in buf:
            d = c.recv(65536)
            if not d:
                raise RuntimeError(f"closed while joining as {nick}: {buf[-200:]!r}")
            buf += d
        return c

    def watcher(self):
        """One member that stays all along and records every message."""
        c = self.chat_join(f"watch{self.model}")
        self.watching.set()
        c.settimeout(0.2)
        buf = b""
        while not self.stop.is_set() or self.pause.is_set():
            try:
                d = c.recv(1 << 20)
            except socket.timeout:
                if self.stop.is_set():
                    break
                continue
            if not d:
                self.st.error(f"{self.model} chat", "the watcher was disconnected")
                return
            buf += d
            *lines, buf = buf.split(b"\n")
            for line in lines:
                told = re.match(rb"\*\*\* (\d+) lines? not given to you", line)
                if told:
                    self.chat_missed += int(told.group(1))
                m = re.match(rb"<(m\d+)> soak (\d+)", line)
                if m:
                    with self.busy_lock:
                        self.chat_seen.add((m.group(1), int(m.group(2))))
                if b"left (dropped" in line and b"watch" in line:
                    self.st.error(f"{self.model} chat", line.decode(errors="replace"))
        c.close()

    def chat(self):
        if not self.watching.wait(timeout=10):
            raise RuntimeError("the watcher never joined")
        nick = f"m{self.next_id()}"
        c = self.chat_join(nick)
        try:
            for _ in range(self.rng.randint(1, 6)):
                k = self.next_id()
                c.sendall(b"soak %d hello from %s\n" % (k, nick.encode()))
                with self.busy_lock:
                    self.chat_sent.add((nick.encode(), k))
                self.st.good("chat")
                time.sleep(self.rng.random() * 0.05)
            c.sendall(b"/quit bye\n")
            c.settimeout(5)
            while c.recv(65536):
                pass
        finally:
            c.close()

    # ---- bad clients (issue 11's attacks): outcomes are not errors ----

    def bad(self):
        kind = self.rng.choice(["slow-head", "big-uri", "garbage", "reset", "stalled-chat",
                                "flood-chat", "escapes-chat", "no-read-echo", "half-open"])
        self.st.attack(kind)
        port = {"slow-head": "http", "big-uri": "http", "garbage": "http", "reset": "http",
                "no-read-echo": "echo", "half-open": "echo"}.get(kind, "chat")
        addr = ("127.0.0.1", self.s[port].port)
        if kind == "slow-head":
            with socket.create_connection(addr, timeout=5) as c:
                c.sendall(b"GET /small.txt HTTP/1.1\r\nHost:")
                time.sleep(0.5)
        elif kind == "big-uri":
            with socket.create_connection(addr, timeout=5) as c:
                c.sendall(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n")
                c.recv(4096)
        elif kind == "garbage":
            with socket.create_connection(addr, timeout=5) as c:
                c.sendall(os.urandom(4096))
        elif kind == "reset":
            c = socket.create_connection(addr, timeout=5)
            c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.close()
        elif kind == "stalled-chat":
            c = self.chat_join(f"stall{self.next_id()}", rcvbuf=4096)
            time.sleep(2)
            c.close()
        elif kind == "flood-chat":
            c = self.chat_join(f"flood{self.next_id()}")
            c.settimeout(2)
            end = time.monotonic() + 1
            try:
                while time.monotonic() < end:
                    c.sendall(b"F" * 3000 + b"\n")
            except OSError:
                pass
            c.close()
        elif kind == "escapes-chat":
            c = self.chat_join(f"esc{self.next_id()}")
            c.sendall(b"\x1b]0;owned\x07\x1b[2J\xc2\x9b2J\xe2\x80\xae\xff\xfe\n" * 20)
            c.close()
        elif kind == "no-read-echo":
            with socket.create_connection(addr, timeout=2) as c:
                try:
                    c.sendall(os.urandom(1 << 20))
                except OSError:
                    pass
        elif kind == "half-open":
            with socket.create_connection(addr, timeout=5) as c:
                c.sendall(b"half")
                c.shutdown(socket.SHUT_WR)
                c.recv(16)


def quiesce(loads, servers, settle_s=1.5):
    for L in loads:
        L.pause.set()
    deadline = time.monotonic() + 30
    while any(L.busy for L in loads) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(settle_s)  # let servers close what the clients closed


def idle_sample(servers, want=None, tries=20):
    """A quiet sample; with `want`, retried a few times until descriptors
    come back down to it (a close may still be on its way)."""
    out = {}
    for label, srv in servers.items():
        s = srv.sample()
        for _ in range(tries):
            if not want or not s or s["fds"] <= want[label]["fds"] + FD_SLACK:
                break
            time.sleep(0.25)
            s = srv.sample()
        out[label] = s
    return out


def main():
    ap = argparse.ArgumentParser(description="mixed-load soak of sockit's servers")
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--interval", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=None, help="default: a tenth, 5..60 s")
    ap.add_argument("--models", default="epoll,uring,thread")
    ap.add_argument("--sockit", default="build/sockit")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    warmup = a.warmup if a.warmup is not None else min(60.0, max(5.0, a.duration / 10))
    models = [m for m in a.models.split(",") if m]
    listing = subprocess.run([a.sockit, "serve", "--list"], capture_output=True, text=True,
                             timeout=20).stdout
    for m in list(models):
        for kind, name in (("tcp", m), ("udp", UDP_MODEL.get(m, m))):
            row = [r.split() for r in listing.splitlines() if r.split()[:2] == [name, kind]]
            if not row or row[0][2] != "ok":
                print(f"soak: leaving out {m}: {kind} model {name} is not available here")
                models.remove(m)
                break

    root = tempfile.mkdtemp(prefix="sockit-soak-")
    small, big = b"small file\n", os.urandom(128 * 1024)
    with open(os.path.join(root, "small.txt"), "wb") as f:
        f.write(small)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(big)
    os.mkdir(os.path.join(root, "dir"))
    for i in range(200):
        open(os.path.join(root, "dir", f"f{i:04d}.txt"), "w").close()

    stats = Stats()
    servers, loads, threads = {}, [], []
    try:
        for m in models:
            mine = {
                "echo": Server(a.sockit, f"{m}/echo", ["echo", "--model", m]),
                "http": Server(a.sockit, f"{m}/http", ["http", "--model", m, "--root", root,
                                                       "--no-access-log"]),
                "chat": Server(a.sockit, f"{m}/chat", ["chat", "--model", m]),
                "udp": Server(a.sockit, f"{m}/udp", ["echo", "-u", "--model", UDP_MODEL[m]]),
            }
            for k, v in mine.items():
                servers[f"{m}/{k}"] = v
            L = Load(m, mine, root, stats)
            L.root_small, L.root_big = small, big
            loads.append(L)
            plan = [("echo", L.echo, 0), ("echo", L.echo, 0), ("http", L.http, 0),
                    ("http", L.http, 0), ("chat", L.chat, 0.05), ("chat", L.chat, 0.05),
                    ("udp", L.udp, 0.01), ("bad", L.bad, 0.05), ("bad", L.bad, 0.05)]
            threads.append(threading.Thread(target=L.watcher, daemon=True))
            for kind, fn, p in plan:
                threads.append(threading.Thread(target=L.loop, args=(kind, fn, p), daemon=True))
        for t in threads:
            t.start()
        samples = []
        t0 = time.monotonic()

        def sample_all(tag):
            row = {"t": round(time.monotonic() - t0, 1), "tag": tag}
            for label, srv in servers.items():
                row[label] = srv.sample()
            samples.append(row)

        next_sample = t0
        base = None
        while time.monotonic() - t0 < a.duration:
            now = time.monotonic()
            if base is None and now - t0 >= warmup:
                quiesce(loads, servers)
                base = idle_sample(servers)
                samples.append({"t": round(time.monotonic() - t0, 1), "tag": "idle", **base})
                for L in loads:
                    L.pause.clear()
            if now >= next_sample:
                sample_all("load")
                next_sample += a.interval
            time.sleep(min(0.2, max(0.0, next_sample - time.monotonic())))
        quiesce(loads, servers)
        final = idle_sample(servers, want=base)
        samples.append({"t": round(time.monotonic() - t0, 1), "tag": "idle", **final})
        time.sleep(0.5)  # the watcher takes the last lines
        for L in loads:
            L.stop.set()
        for t in threads:
            t.join(timeout=15)
    finally:
        codes = {label: srv.stop() for label, srv in servers.items()}
        subprocess.run(["rm", "-rf", root])

    # ---- judgement ----
    problems = list(stats.errors)
    growth = {}
    for label in servers:
        b, f = (base or {}).get(label), final.get(label) if base else None
        if not b or not f:
            problems.append(f"{label}: no idle sample (server gone?)")
            continue
        g = {"fds": f["fds"] - b["fds"], "rss_kb": f["rss_kb"] - b["rss_kb"],
             "fds_idle": [b["fds"], f["fds"]], "rss_idle_kb": [b["rss_kb"], f["rss_kb"]]}
        growth[label] = g
        if g["fds"] > FD_SLACK:
            problems.append(f"{label}: descriptors grew {b['fds']} -> {f['fds']} (idle to idle)")
        if g["rss_kb"] > max(RSS_SLACK_KB, RSS_SLACK_FRAC * b["rss_kb"]):
            problems.append(f"{label}: RSS grew {b['rss_kb']} -> {f['rss_kb']} KiB (idle to idle)")
    for label, srv in servers.items():
        if codes[label] != 0:
            problems.append(f"{label}: exit status {codes[label]}")
        rep = [line for line in srv.err if SANITIZER_RE.search(line)]
        if rep:
            problems.append(f"{label}: sanitizer report: {rep[0].strip()}")
    for L in loads:
        # A line may be missed only when the server says so: the flooding bad
        # clients can fill the watcher's queue, and a reader that reads is
        # then told what it missed rather than dropped.
        lost = L.chat_sent - L.chat_seen
        if len(lost) > L.chat_missed:
            problems.append(f"{L.model}/chat: {len(lost)} of {len(L.chat_sent)} messages never "
                            f"reached the watcher ({L.chat_missed} lines it was told it missed), "
                            f"e.g. {sorted(lost)[:3]}")

    print(f"soak: {a.duration:.0f} s ({warmup:.0f} s warm-up), models {', '.join(models)}, "
          f"samples every {a.interval:.0f} s")
    print(f"{'server':<14} {'fds idle':>12} {'RSS idle KiB':>20} {'peak fds':>9} {'peak RSS':>9}")
    for label in servers:
        g = growth.get(label)
        peak_fd = max((r[label]["fds"] for r in samples if r.get(label)), default=0)
        peak_rss = max((r[label]["rss_kb"] for r in samples if r.get(label)), default=0)
        if g:
            print(f"{label:<14} {g['fds_idle'][0]:>5} -> {g['fds_idle'][1]:<4} "
                  f"{g['rss_idle_kb'][0]:>9} -> {g['rss_idle_kb'][1]:<8} {peak_fd:>9} {peak_rss:>9}")
    print("good clients: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.ok.items())))
    print("bad clients:  " + ", ".join(f"{k} {v}" for k, v in sorted(stats.bad.items())))
    print("chat watcher: " + ", ".join(f"{L.model} {len(L.chat_seen)} of {len(L.chat_sent)} "
                                       f"good lines seen, told of {L.chat_missed} missed"
                                       for L in loads))
    for p in problems[:50]:
        print(f"PROBLEM: {p}")
    print("soak: " + ("OK: no growth after warm-up, no errors" if not problems
                      else f"FAILED: {len(problems)} problem(s)"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"duration": a.duration, "warmup": warmup, "models": models,
                       "good": stats.ok, "bad": stats.bad, "growth": growth,
                       "problems": problems, "samples": samples}, f, indent=1)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A soak of `storywatch run`: many feeds on 127.0.0.1 whose content changes at every poll,
for long enough that resource use either settles or shows that it creeps.

usage: benches/soak.py --bin target/release/storywatch [--feeds 2000] [--minutes 20]
                       [--interval 5m] [--keep 10m] [--window 5m] [--out DIR]

What runs (all on loopback, Python standard library only):
  * a feed server: feed k answers an RSS document of its 20 newest items; a new item appears
    in every feed each minute, so each poll finds new ones. One item in ten is the same report
    in two feeds (a syndicated copy), one in fifty a follow-up of the soak's story; every
    50th feed answers 500, the next one after 3 s;
  * a webhook receiver that answers 503 to one request in twenty and records the ids it took;
  * storywatch run with a short interval, keep and dedup window, so that hours of schedule and
    a full retention window pass within the run.
Every 10 s the child's resident memory, open descriptors and threads, the database and WAL
sizes, the outbox backlog and the polls waiting for a slot (/metrics) are sampled. At the end
the feeds stop changing, the outbox drains, and the run is checked: every alert in the
database reached the receiver exactly once under its id, and every working feed was polled.

Writes DIR/samples.csv, DIR/soak.svg and DIR/summary.json, and prints the summary as a
Markdown table for docs/benchmarks.md.
"""
import argparse
import csv
import http.server
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SECRET = "whsec_c3Rvcnl3YXRjaC10ZXN0LXNlY3JldC1rZXk="
REFERENCE = """Flood barrier fails at Lindholm harbour as storm surge hits the coast
The flood barrier at Lindholm harbour failed on Tuesday night as a storm surge hit the coast,
the Coastal Protection Agency said. Mayor Ingrid Halvorsen ordered the evacuation of the harbour
district, and engineers from Nordvik Marine inspected the damaged gates.
"""
WORDS = ("council budget roads school library park transport housing plan vote district "
         "market festival weather report museum bridge station hospital water energy "
         "committee review proposal residents meeting funding project service").split()


def item_text(feed, minute):
    """A neutral local-news item, the same for the same feed and minute."""
    rnd = random.Random(f"{feed}:{minute}")
    words = [rnd.choice(WORDS) for _ in range(40)]
    if minute % 50 == feed % 50:
        # A follow-up: the story's names, and words of its own so that it is
        # a report of its own, not a copy of the last one.
        return (f"Lindholm harbour flood barrier: {words[0]} {words[1]} {words[2]}",
                "Engineers from Nordvik Marine inspected the Lindholm harbour flood barrier after "
                f"the storm surge, Mayor Ingrid Halvorsen said. {' '.join(words)}.")
    return (f"{words[0].title()} {words[1]} {words[2]} update {minute}", " ".join(words))


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.frozen_at = None          # minute after which feeds stop changing
        self.polls = {}                # feed -> requests
        self.accepted = []             # webhook ids taken
        self.refused = 0


def feed_body(state, feed, now_minute):
    minute = now_minute if state.frozen_at is None else min(now_minute, state.frozen_at)
    items = []
    for m in range(minute - 19, minute + 1):
        # One item in ten is a copy of the same report in the feed 1000 ahead/behind.
        source = feed - 1000 if (feed >= 1000 and m % 10 == 0) else feed
        title, text = item_text(source, m)
        items.append(
            f"<item><title>{title}</title><link>http://soak.example/{feed}/{m}</link>"
            f"<guid>f{feed}-m{m}</guid><pubDate>{time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(m * 60))}"
            f"</pubDate><description>{text}</description></item>")
    return ("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>soak</title>"
            f"<link>http://soak.example/{feed}</link>{''.join(items)}</channel></rss>").encode()


def make_handler(state):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, code, body=b"", ctype="application/rss+xml"):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            feed = int(self.path.strip("/").split("/")[-1])
            with state.lock:
                state.polls[feed] = state.polls.get(feed, 0) + 1
            if feed % 50 == 0:
                return self.send(500, b"down", "text/plain")
            if feed % 50 == 1:
                time.sleep(3)
            self.send(200, feed_body(state, feed, int(time.time() // 60)))

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if random.random() < 0.05:
                with state.lock:
                    state.refused += 1
                return self.send(503, b"busy", "text/plain")
            with state.lock:
                state.accepted.append(self.headers.get("webhook-id"))
            self.send(204)
            del body

    return Handler


def serve(state):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def sample(child, port, db, start):
    st = proc_status(child.pid)
    m = metrics(port)
    size = lambda p: os.path.getsize(p) if os.path.exists(p) else 0
    return {
        "t": round(time.time() - start, 1),
        "rss_mib": int(st["VmRSS"].split()[0]) / 1024,
        "fds": len(os.listdir(f"/proc/{child.pid}/fd")),
        "threads": int(st["Threads"]),
        "db_mib": size(db) / 2**20,
        "wal_mib": size(db + "-wal") / 2**20,
        "backlog": m.get("storywatch_outbox_pending", 0),
        "waiting": m.get("storywatch_polls_waiting", 0),
    }


def svg(samples, path):
    series = [("rss_mib", "resident MiB"), ("fds", "open fds"), ("threads", "threads"),
              ("db_mib", "database MiB"), ("wal_mib", "WAL MiB"), ("backlog", "outbox backlog"),
              ("waiting", "polls waiting")]
    w, h, pad = 640, 90, 40
    t_max = max(s["t"] for s in samples) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {len(series) * (h + 20)}" '
             'font-family="sans-serif" font-size="11">']
    for i, (key, label) in enumerate(series):
        y0 = i * (h + 20) + 15
        top = max(max(s[key] for s in samples), 1e-9)
        pts = " ".join(f"{pad + (w - pad - 10) * s['t'] / t_max:.1f},{y0 + h - h * s[key] / top:.1f}"
                       for s in samples)
        parts.append(f'<text x="{pad}" y="{y0 - 3}">{label} (max {top:.1f})</text>')
        parts.append(f'<rect x="{pad}" y="{y0}" width="{w - pad - 10}" height="{h}" fill="none" stroke="#ccc"/>')
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#2457a6" stroke-width="1.5"/>')
    parts.append(f'<text x="{pad}" y="{len(series) * (h + 20) - 2}">0 to {t_max / 60:.0f} min</text></svg>')
    with open(path, "w") as f:
        f.write("\n".join(parts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--interval", default="5m")
    ap.add_argument("--keep", default="10m")
    ap.add_argument("--window", default="5m")
    ap.add_argument("--out", default="target/soak")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="storywatch-soak-")
    state = State()
    server = serve(state)
    fport = server.server_address[1]
    mport = free_port()
    db = os.path.join(work, "soak.db")
    with open(os.path.join(work, "reference.txt"), "w") as f:
        f.write(REFERENCE)
    feeds = "".join(f'[[feed]]\nname = "f{k}"\nurl = "http://127.0.0.1:{fport}/feed/{k}"\n\n'
                    for k in range(args.feeds))
    cfg = os.path.join(work, "storywatch.toml")
    with open(cfg, "w") as f:
        f.write(f'[storage]\npath = "{db}"\nkeep = "{args.keep}"\n\n[dedup]\nwindow = "{args.window}"\n\n'
                f'[service]\nlisten = "127.0.0.1:{mport}"\n\n'
                f'[poll]\ninterval = "{args.interval}"\nmin_interval = "1m"\nconcurrency = 16\n\n'
                f'[delivery]\nschedule = ["2s", "10s", "30s"]\n\n'
                f'[[story]]\nid = "harbour"\narticle = "reference.txt"\n\n{feeds}'
                f'[[sink]]\nname = "hook"\nkind = "webhook"\nurl = "http://127.0.0.1:{fport}/hook"\n'
                f'secret_env = "SOAK_SECRET"\n')
    env = dict(os.environ, SOAK_SECRET=SECRET, MALLOC_ARENA_MAX="2")
    log = open(os.path.join(args.out, "run.log"), "w")
    child = subprocess.Popen([args.bin, "--config", cfg, "--log-level", "warn", "run"],
                             stdout=subprocess.DEVNULL, stderr=log, env=env)
    start = time.time()
    samples = []
    try:
        while time.time() - start < args.minutes * 60:
            time.sleep(10)
            try:
                samples.append(sample(child, mport, db, start))
            except (OSError, ValueError) as e:
                print(f"sample failed: {e}", file=sys.stderr)
            if child.poll() is not None:
                sys.exit(f"storywatch exited with {child.returncode}; see {args.out}/run.log")
        # Feeds stop changing; what is queued goes out.
        state.frozen_at = int(time.time() // 60)
        drain_until = time.time() + 180
        while time.time() < drain_until and metrics(mport).get("storywatch_outbox_pending", 1) > 0:
            time.sleep(5)
        time.sleep(10)
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    ids = [json.loads(l)["id"] for l in subprocess.run(
        [args.bin, "--config", cfg, "alerts", "list", "--json", "--limit", "1000000"],
        capture_output=True, text=True, env=env).stdout.splitlines() if l.strip()]
    accepted = [a for a in state.accepted]
    working = [k for k in range(args.feeds) if k % 50 != 0]
    expected_polls = int(args.minutes * 60 // seconds(args.interval))
    starved = [k for k in working if state.polls.get(k, 0) < max(1, expected_polls - 1)]
    summary = bounds(samples)
    summary.update({
        "feeds": args.feeds, "minutes": args.minutes, "interval": args.interval, "keep": args.keep,
        "alerts": len(ids), "accepted": len(accepted), "distinct_accepted": len(set(accepted)),
        "refused_503": state.refused, "missing": len(set(ids) - set(accepted)),
        "sent_twice": len(accepted) - len(set(accepted)), "starved_feeds": len(starved),
        "polls": sum(state.polls.values()),
    })
    with open(os.path.join(args.out, "samples.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(samples[0]))
        wr.writeheader()
        wr.writerows(samples)
    svg(samples, os.path.join(args.out, "soak.svg"))
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary, indent=1))
    shutil.rmtree(work, ignore_errors=True)


def seconds(d):
    """"90s", "5m", "1h" in seconds."""
    return float(d[:-1]) * {"s": 1, "m": 60, "h": 3600}[d[-1]]


def bounds(samples):
    """Min and max of each series after the first quarter, and the memory growth between the
    second quarter and the last."""
    n = len(samples)
    settled = samples[n // 4:]
    out = {}
    for key in ("rss_mib", "fds", "threads", "db_mib", "wal_mib", "backlog", "waiting"):
        vals = [s[key] for s in settled]
        out[key] = [round(min(vals), 1), round(max(vals), 1)]
    q2 = [s["rss_mib"] for s in samples[n // 4: n // 2]]
    q4 = [s["rss_mib"] for s in samples[3 * n // 4:]]
    out["rss_growth_q2_q4_pct"] = round(100 * (sum(q4) / len(q4) / (sum(q2) / len(q2)) - 1), 1)
    return out


def free_port():
    """A free port on 127.0.0.1, for the service's listener."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Loopback feed server for benches/poll-cycle.sh.

usage: serve.py WORKLOAD [--port PORT] [--port-file FILE] [--latency-ms MS] [--no-validators]
                [--stats-file FILE] [--max-seconds S]

Serves the feeds listed in WORKLOAD/feeds.txt (a workload.py folder) at /PATH on 127.0.0.1,
all read into memory at start with their gzip bodies computed once, so that an answer costs
the server next to nothing:
  * HTTP/1.1 with keep-alive (a connection stays open until the client closes it, asks for
    "Connection: close", or is idle for 60 s);
  * with validators on (the default), every 200 carries ETag (a hash of the body sent; the
    gzip body has its own tag) and Last-Modified (the file's mtime), and a request whose
    If-None-Match matches, or without If-None-Match whose If-Modified-Since is not older than
    the file, gets a 304 with no body;
  * with validators off: neither header, and every answer a 200 (a server without
    conditional GET);
  * gzip when Accept-Encoding allows it;
  * --latency-ms: every feed answer (304s too) waits that long first, without holding up
    answers on other connections.
Every answer leaves in one write (status line, headers and body joined first) on a socket
with TCP_NODELAY: headers and body in two writes would leave the body waiting for the
client's delayed ACK of the first (about 40 ms per answer on Linux), a stall of the server's
making that would be timed as the client's.

Control paths (never counted):
  GET  /_stats[?reset=1]       counters since the last reset as JSON; reset=1 zeroes them
                               after answering
  POST /_mode?validators=0|1   switch validators off or on (GET works too); answers the mode

The port is PORT (default 0: any free one); once listening it is written to --port-file and
printed. SIGTERM or SIGINT stops the server, and so does --max-seconds (default 4 hours), so
that a runner that dies never leaves it behind. Python standard library only.
"""
import argparse
import asyncio
import email.utils
import gzip
import hashlib
import ipaddress
import json
import os
import signal
import socket
import sys
import time
from collections import Counter
from urllib.parse import parse_qs, unquote, urlsplit

IDLE_SECONDS = 60
REASONS = {200: "OK", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
           405: "Method Not Allowed", 431: "Request Header Fields Too Large", 501: "Not Implemented"}
CONTENT_TYPES = {".rss.xml": "application/rss+xml; charset=utf-8",
                 ".atom.xml": "application/atom+xml; charset=utf-8",
                 ".xml": "application/xml; charset=utf-8"}


class Feed:
    __slots__ = ("body", "gz", "etag", "etag_gz", "mtime", "last_modified", "ctype")

    def __init__(self, path):
        with open(path, "rb") as fh:
            self.body = fh.read()
        self.gz = gzip.compress(self.body, compresslevel=6, mtime=0)
        self.etag = '"%s"' % hashlib.sha256(self.body).hexdigest()[:24]
        self.etag_gz = '"%s"' % hashlib.sha256(self.gz).hexdigest()[:24]
        self.mtime = int(os.stat(path).st_mtime)
        self.last_modified = email.utils.formatdate(self.mtime, usegmt=True)
        self.ctype = next((t for suffix, t in CONTENT_TYPES.items() if path.endswith(suffix)),
                          "application/octet-stream")


def load(workload):
    with open(os.path.join(workload, "feeds.txt")) as fh:
        paths = [line.strip() for line in fh if line.strip()]
    return {"/" + p: Feed(os.path.join(workload, p)) for p in paths}


class Counters:
    def __init__(self):
        self.epoch = 0
        self.reset()

    def reset(self):
        self.epoch += 1          # a connection is counted again on its first request after a reset
        self.requests = self.body_bytes = self.gzip = self.connections = 0
        self.if_none_match = self.if_modified_since = 0
        self.status = Counter()
        self.cpu0, self.t0 = time.process_time(), time.monotonic()

    def as_dict(self, validators):
        return {"requests": self.requests, "status": {str(k): v for k, v in sorted(self.status.items())},
                "body_bytes": self.body_bytes, "gzip_responses": self.gzip,
                "if_none_match": self.if_none_match, "if_modified_since": self.if_modified_since,
                "connections": self.connections, "validators": validators,
                "server_cpu_s": round(time.process_time() - self.cpu0, 4),
                "window_s": round(time.monotonic() - self.t0, 4)}


def accepts_gzip(value):
    for part in value.split(","):
        coding, _, params = part.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip()
        try:
            return not q.startswith("q=") or float(q[2:]) > 0
        except ValueError:
            return False
    return False


def etag_matches(header, etag):
    """If-None-Match uses the weak comparison: W/ prefixes are ignored."""
    if header.strip() == "*":
        return True
    tags = [t.strip() for t in header.split(",")]
    return etag in (t[2:] if t.startswith("W/") else t for t in tags)


def not_modified(headers, etag, mtime):
    inm = headers.get("if-none-match")
    if inm is not None:              # If-None-Match decides alone when present
        return etag_matches(inm, etag)
    ims = headers.get("if-modified-since")
    if ims is None:
        return False
    try:
        return mtime <= email.utils.parsedate_to_datetime(ims).timestamp()
    except (TypeError, ValueError, IndexError):
        return False


def message(status, headers, body=b"", keep_alive=True, send_body=True):
    """The whole answer as one bytes object, ready for a single write."""
    lines = [f"HTTP/1.1 {status} {REASONS[status]}",
             f"Date: {email.utils.formatdate(usegmt=True)}", "Server: poll-cycle-serve"]
    lines += [f"{k}: {v}" for k, v in headers]
    if status != 304:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if send_body and status != 304 else head


class Server:
    def __init__(self, feeds, latency_s, validators):
        self.feeds, self.latency_s, self.validators = feeds, latency_s, validators
        self.counters = Counters()

    async def connection(self, reader, writer):
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        counted_in = 0                  # the counters' epoch this connection was last counted in
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_SECONDS)
                except asyncio.LimitOverrunError:
                    writer.write(message(431, [], b"request headers too large\n", keep_alive=False))
                    break
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                    break
                request = parse_request(head)
                if request is None:
                    writer.write(message(400, [], b"bad request\n", keep_alive=False))
                    break
                method, target, version, headers = request
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    writer.write(message(501, [], b"chunked request bodies are not supported\n",
                                         keep_alive=False))
                    break
                length = headers.get("content-length", "0").strip()
                if length.isdigit() and int(length):
                    await reader.readexactly(int(length))   # a control POST's body, unused
                conn = headers.get("connection", "").lower()
                keep = "close" not in conn and (version == "HTTP/1.1" or "keep-alive" in conn)
                path = urlsplit(target).path
                if path.startswith("/_"):
                    writer.write(self.control(method, target, keep))
                else:
                    if counted_in != self.counters.epoch:
                        counted_in = self.counters.epoch
                        self.counters.connections += 1
                    writer.write(await self.feed(method, unquote(path), headers, keep))
                await writer.drain()
                if not keep:
                    break
        except ConnectionError:
            pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass

    async def feed(self, method, path, headers, keep):
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        c = self.counters
        c.requests += 1
        c.if_none_match += "if-none-match" in headers
        c.if_modified_since += "if-modified-since" in headers
        feed = self.feeds.get(path)
        if method not in ("GET", "HEAD"):
            status, out = 405, message(405, [("Allow", "GET, HEAD")], b"", keep)
        elif feed is None:
            status, out = 404, message(404, [("Content-Type", "text/plain")], b"not found\n", keep,
                                       method == "GET")
        else:
            use_gz = accepts_gzip(headers.get("accept-encoding", ""))
            etag = feed.etag_gz if use_gz else feed.etag
            validators = [("ETag", etag), ("Last-Modified", feed.last_modified)] if self.validators else []
            if self.validators and not_modified(headers, etag, feed.mtime):
                status, out = 304, message(304, validators + [("Vary", "Accept-Encoding")], b"", keep)
            else:
                body = feed.gz if use_gz else feed.body
                fields = [("Content-Type", feed.ctype), ("Vary", "Accept-Encoding")] + validators
                if use_gz:
                    fields.append(("Content-Encoding", "gzip"))
                status, out = 200, message(200, fields, body, keep, method == "GET")
                if method == "GET":
                    c.body_bytes += len(body)
                    c.gzip += use_gz
        c.status[status] += 1
        return out

    def control(self, method, target, keep):
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        if parts.path == "/_stats" and method == "GET":
            answer = self.counters.as_dict(self.validators)
            if query.get("reset") == ["1"]:
                self.counters.reset()
        elif parts.path == "/_mode" and method in ("GET", "POST"):
            if "validators" in query:
                self.validators = query["validators"] == ["1"]
            answer = {"validators": self.validators}
        else:
            return message(404, [("Content-Type", "text/plain")], b"unknown control path\n", keep)
        body = (json.dumps(answer) + "\n").encode()
        return message(200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                       body, keep)


def parse_request(head):
    """(method, target, version, headers with lower-case names) or None when malformed."""
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        return None
    if not version.startswith("HTTP/1."):
        return None
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return None
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return method, target, version, headers


async def serve(args):
    server = Server(load(args.workload), args.latency_ms / 1000, not args.no_validators)
    listener = await asyncio.start_server(server.connection, args.host, args.port, backlog=512,
                                          reuse_address=True)
    port = listener.sockets[0].getsockname()[1]
    if args.port_file:                   # written once listening, atomically: the runner polls it
        with open(args.port_file + ".tmp", "w") as fh:
            fh.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"serving {len(server.feeds)} feeds on http://{args.host}:{port}/ (pid {os.getpid()}, "
          f"latency {args.latency_ms:g} ms, validators {'on' if server.validators else 'off'})",
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), args.max_seconds)
    except asyncio.TimeoutError:
        print(f"stopping after --max-seconds {args.max_seconds:g}", file=sys.stderr)
    listener.close()
    if args.stats_file:
        with open(args.stats_file, "w") as fh:
            json.dump(server.counters.as_dict(server.validators), fh)
            fh.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload", help="a workload.py folder (feeds.txt and the files it lists)")
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    ap.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="wait this long before each feed answer")
    ap.add_argument("--no-validators", action="store_true", help="start with validators off")
    ap.add_argument("--stats-file", help="write the counters here on exit")
    ap.add_argument("--max-seconds", type=float, default=4 * 3600, help="stop after this long")
    args = ap.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        ap.error("only loopback addresses are served")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

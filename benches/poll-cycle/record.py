#!/usr/bin/env python3
"""Append one timed cycle to a results file as a JSON line, and print it in one line.

usage: record.py RESULTS.jsonl CYCLEDIR STATS.json|- [KEY=VALUE...]

CYCLEDIR is what lib.sh's timed_cycle left: time.txt (`/usr/bin/time -v`), rc, wall.txt (start
and end, epoch seconds) and procstat.txt (the machine's cpu line of /proc/stat before and after).
STATS.json is the feed server's /_stats answer for the cycle, '-' for none. KEY=VALUE words are
copied into the record, as numbers when they read as numbers.

Fields (report.py reads most of them):
  given by the runner    peer variant cycle attempt n_feeds m_items latency_ms state_dir
                         expected_new new_state new_reported stderr_lines state_bytes
                         other_load_limit, and storywatch's sw_* summary counts
  /usr/bin/time -v       user_s sys_s cpu_s max_rss_kb time_wall_s vol_ctx_switches
                         invol_ctx_switches
  the cycle dir          wall_s exit_code timed_out (killed by timeout: 124 or 137)
  the server             requests http_200 http_304 http_other body_bytes gzip_responses
                         sent_if_none_match sent_if_modified_since connections server_cpu_s
  derived                machine_busy_cores, other_load_cores (cores busy with neither the
                         tool nor the server while the cycle ran; also written to
                         CYCLEDIR/other_load for needs_retry), items_per_s, new_items_per_s,
                         state_fs (the file system type of state_dir), cycle_dir, recorded_at
Python standard library only.
"""
import json
import os
import re
import sys
import time

TIME_FIELDS = {                     # /usr/bin/time -v label -> (field, type)
    "User time (seconds)": ("user_s", float),
    "System time (seconds)": ("sys_s", float),
    "Maximum resident set size (kbytes)": ("max_rss_kb", int),
    "Voluntary context switches": ("vol_ctx_switches", int),
    "Involuntary context switches": ("invol_ctx_switches", int),
}


def value(text):
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d*\.\d+|-?\d+\.\d*", text):
        return float(text)
    return text


def read(path):
    try:
        with open(path, errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def time_v(text):
    out = {}
    for line in (text or "").splitlines():
        label, _, val = line.strip().rpartition(": ")
        if label in TIME_FIELDS:
            field, kind = TIME_FIELDS[label]
            out[field] = kind(val)
        elif label.startswith("Elapsed (wall clock) time"):
            seconds = 0.0
            for part in val.split(":"):        # [h:]mm:ss.ss
                seconds = seconds * 60 + float(part)
            out["time_wall_s"] = round(seconds, 3)
    if "user_s" in out and "sys_s" in out:
        out["cpu_s"] = round(out["user_s"] + out["sys_s"], 3)
    return out


def server(stats):
    status = stats.get("status", {})
    ok, nm = status.get("200", 0), status.get("304", 0)
    return {"requests": stats["requests"], "http_200": ok, "http_304": nm,
            "http_other": stats["requests"] - ok - nm, "body_bytes": stats.get("body_bytes"),
            "gzip_responses": stats.get("gzip_responses"),
            "sent_if_none_match": stats.get("if_none_match"),
            "sent_if_modified_since": stats.get("if_modified_since"),
            "connections": stats.get("connections"), "server_cpu_s": stats.get("server_cpu_s")}


def other_load(procstat, rec):
    """Cores the machine spent on neither the tool nor the server while the cycle ran."""
    lines = (procstat or "").splitlines()
    if len(lines) < 2 or not rec.get("wall_s"):
        return {}
    before, after = ([int(x) for x in line.split()[1:]] for line in lines[:2])
    total = sum(after) - sum(before)
    idle = sum(after[3:5]) - sum(before[3:5])         # idle and iowait
    if total <= 0:
        return {}
    busy = (total - idle) / total * (os.cpu_count() or 1)
    ours = (rec.get("cpu_s", 0) + (rec.get("server_cpu_s") or 0)) / rec["wall_s"]
    return {"machine_busy_cores": round(busy, 2), "other_load_cores": round(max(0.0, busy - ours), 2)}


def fs_type(path):
    """The type of the file system holding path, from the longest matching mount point."""
    path, best = os.path.realpath(path), ("", None)
    for line in (read("/proc/mounts") or "").splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[0]):
            best = (point, fields[2])
    return best[1]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    results, cdir, stats_path = sys.argv[1:4]
    rec = {}
    for word in sys.argv[4:]:
        key, sep, val = word.partition("=")
        if not sep:
            sys.exit(f"record.py: not KEY=VALUE: {word!r}")
        rec[key] = value(val)
    rec.update(time_v(read(os.path.join(cdir, "time.txt"))))
    try:
        start, end = map(float, read(os.path.join(cdir, "wall.txt")).split())
        rec["wall_s"] = round(end - start, 3)
    except (AttributeError, ValueError):
        rec["wall_s"] = rec.get("time_wall_s")
    rc = (read(os.path.join(cdir, "rc")) or "").strip()
    rec["exit_code"] = int(rc) if rc.lstrip("-").isdigit() else None
    rec["timed_out"] = rec["exit_code"] in (124, 137)
    if stats_path != "-" and os.path.exists(stats_path):
        with open(stats_path) as fh:
            rec.update(server(json.load(fh)))
    rec.update(other_load(read(os.path.join(cdir, "procstat.txt")), rec))
    if "other_load_cores" in rec:
        with open(os.path.join(cdir, "other_load"), "w") as fh:
            fh.write(f"{rec['other_load_cores']}\n")
    items = (rec.get("n_feeds") or 0) * (rec.get("m_items") or 0)
    if rec.get("wall_s"):
        if items:
            rec["items_per_s"] = round(items / rec["wall_s"], 1)
        if isinstance(rec.get("new_state"), int) and rec["new_state"] > 0:
            rec["new_items_per_s"] = round(rec["new_state"] / rec["wall_s"], 1)
    if rec.get("state_dir"):
        rec["state_fs"] = fs_type(str(rec["state_dir"]))
    rec["cycle_dir"] = os.path.abspath(cdir)
    rec["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    os.makedirs(os.path.dirname(os.path.abspath(results)), exist_ok=True)
    with open(results, "a") as fh:
        fh.write(json.dumps(rec, sort_keys=True) + "\n")
    g = rec.get
    print(f"  {g('peer')} {g('cycle')}#{g('attempt', 1)}: wall {g('wall_s')} s, cpu {g('cpu_s')} s, "
          f"rss {round((g('max_rss_kb') or 0) / 1024, 1)} MiB, new {g('new_state')}/{g('expected_new')}, "
          f"requests {g('requests')} ({g('http_200')}/{g('http_304')}), rc {g('exit_code')}, "
          f"other load {g('other_load_cores')}", flush=True)


if __name__ == "__main__":
    main()

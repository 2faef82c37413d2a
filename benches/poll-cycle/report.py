#!/usr/bin/env python3
"""Markdown report of benches/poll-cycle.sh: storywatch against feed2exec and rss2email.

usage: report.py RESULTS.jsonl

RESULTS.jsonl has one line per timed cycle, written by benches/poll-cycle/record.py (through
benches/poll-cycle/storywatch.sh and benches/poll-cycle/peers/*.sh). For each (N feeds, M items,
latency) one table, a row per (tool, cycle) from the last record of that cycle in the file
(the last attempt of the latest run), then the targets storywatch is held to at that N.
Standard library only.
"""
import json
import sys
from collections import OrderedDict

PEERS = ["feed2exec", "rss2email"]
TOOL_ORDER = ["storywatch"] + PEERS
CYCLE_ORDER = ["noop", "cold", "warm304", "warm200", "new", "cold_history"]
# other load above which a row gets a dagger: the RETRY_OTHER_LOAD its run retried above (kept in
# each record as other_load_limit), else lib.sh's default
DISTURBED_CORES = 0.5

# targets storywatch is held to on this 2-core machine
COLD_SPEEDUP = 50.0
WARM304_SPEEDUP = 20.0
RSS_PEER_SHARE = 3              # storywatch peak RSS <= 1/3 of the smaller peer peak
RSS_CAP_MIB = 64.0
HISTORY_RATIO = 1.5             # cold_history wall <= 1.5 x cold wall


def rss_mib(r):
    return r.get("max_rss_kb", 0) / 1024


def ok(r):
    """A cycle whose figures mean something: it exited 0 and (storywatch) no feed failed."""
    if r is None or r.get("exit_code") != 0 or r.get("timed_out"):
        return False
    if r.get("peer") == "storywatch":
        return r.get("sw_summary") != "missing" and r.get("sw_failed") == 0
    return True


def disturbed(r):
    return (r.get("other_load_cores") or 0) > r.get("other_load_limit", DISTURBED_CORES)


def secs(v):
    if v is None:
        return "-"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}"


def times(v, nd=1):
    return "-" if v is None else f"{v:.{0 if v >= 100 else nd}f}\u00d7"


def ratio(a, b):
    return a / b if a and b else None


def compare(sw, peer):
    """'38.2× (RSS 0.42×)': peer wall / storywatch wall, storywatch RSS / peer RSS."""
    if not ok(sw) or not ok(peer):
        return "-"
    return (f"{times(ratio(peer.get('wall_s'), sw.get('wall_s')))} "
            f"(RSS {times(ratio(rss_mib(sw), rss_mib(peer)), 2)})")


def verdict(met):
    return "met" if met else "**NOT met**"


def targets(n, rows):
    sw = {c: r for (t, c), r in rows.items() if t == "storywatch"}
    out = [f"Targets at N={n}:", ""]
    if not sw:
        return out + ["- no storywatch results", ""]

    for cyc, target in (("cold", COLD_SPEEDUP), ("warm304", WARM304_SPEEDUP)):
        peers = [rows[(p, cyc)] for p in PEERS if ok(rows.get((p, cyc)))]
        s = sw.get(cyc)
        if not peers:
            out.append(f"- {cyc} speed-up vs the faster peer: - (no peer results; target \u2265 {target:g}\u00d7)")
        elif not ok(s):
            out.append(f"- {cyc} speed-up vs the faster peer: storywatch's {cyc} cycle "
                       f"{'is missing' if s is None else 'failed'}: {verdict(False)}")
        else:
            best = min(peers, key=lambda r: r["wall_s"])
            x = best["wall_s"] / s["wall_s"]
            out.append(f"- {cyc} speed-up vs the faster peer ({best['peer']}, {secs(best['wall_s'])} s): "
                       f"{times(x)} (target \u2265 {target:g}\u00d7): {verdict(x >= target)}")

    failed = [c for c, r in sw.items() if not ok(r)]
    if failed:
        out.append(f"- storywatch cycles that failed (left out of the RSS targets): {', '.join(failed)}: "
                   f"{verdict(False)}")
    good = [r for r in sw.values() if ok(r)]
    peer_peaks = {}
    for (t, _c), r in rows.items():
        if t in PEERS and ok(r):
            peer_peaks[t] = max(peer_peaks.get(t, 0), rss_mib(r))
    peak = max(good, key=rss_mib) if good else None
    where = f"{rss_mib(peak):.1f} MiB in {peak['cycle']}" if peak else ""
    if peak is None:
        out.append("- peak RSS targets: - (no storywatch cycle succeeded)")
    elif peer_peaks:
        small = min(peer_peaks, key=peer_peaks.get)
        limit = peer_peaks[small] / RSS_PEER_SHARE
        out.append(f"- peak RSS over all storywatch cycles ({where}) vs 1/{RSS_PEER_SHARE} of the smaller "
                   f"peer peak ({small} {peer_peaks[small]:.1f} MiB \u2192 {limit:.1f} MiB): "
                   f"{verdict(rss_mib(peak) <= limit)}")
    else:
        out.append(f"- peak RSS over all storywatch cycles ({where}) vs 1/{RSS_PEER_SHARE} of the smaller "
                   "peer peak: - (no peer results)")
    if peak is not None:
        out.append(f"- peak RSS over all storywatch cycles ({where}) vs {RSS_CAP_MIB:g} MiB: "
                   f"{verdict(rss_mib(peak) <= RSS_CAP_MIB)}")

    hist, cold = sw.get("cold_history"), sw.get("cold")
    if hist is not None:
        if ok(hist) and ok(cold):
            x = hist["wall_s"] / cold["wall_s"]
            out.append(f"- cold_history wall / cold wall ({hist.get('history_items', '?')} stored items: "
                       f"{secs(hist['wall_s'])} s / {secs(cold['wall_s'])} s): {times(x, 2)} "
                       f"(target \u2264 {HISTORY_RATIO:g}\u00d7): {verdict(x <= HISTORY_RATIO)}")
        else:
            out.append(f"- cold_history wall / cold wall: a cycle failed: {verdict(False)}")
    bad = [f"{t} {c}" for (t, c), r in rows.items() if disturbed(r)]
    if bad:
        out.append(f"- other processes were busy during {', '.join(bad)} (\u2020): those wall times are inflated")
    return out + [""]


def flags(r):
    f = ""
    if disturbed(r):
        f += f" \u2020{r['other_load_cores']:.1f}"
    if r.get("timed_out"):
        f += " TIMEOUT"
    elif r.get("exit_code") != 0:
        f += f" rc={r.get('exit_code')}"
    if r.get("peer") == "storywatch":
        if r.get("sw_summary") == "missing":
            f += " no summary"
        elif r.get("sw_failed"):
            f += f" failed={r['sw_failed']}"
    return f


def table(rows):
    head = ("| tool | cycle | wall s | CPU s (user+sys) | peak RSS MiB | items/s | requests (200/304) "
            "| new: stored / expected | vs feed2exec: speed-up (RSS) | vs rss2email: speed-up (RSS) |")
    out = [head, "|---|---|---:|---:|---:|---:|---|---:|---:|---:|"]

    def order(key):
        t, c = key
        return (TOOL_ORDER.index(t) if t in TOOL_ORDER else len(TOOL_ORDER), t,
                CYCLE_ORDER.index(c) if c in CYCLE_ORDER else len(CYCLE_ORDER), c)

    for t, c in sorted(rows, key=order):
        r = rows[(t, c)]
        noop = c == "noop"
        items = (r.get("n_feeds") or 0) * (r.get("m_items") or 0)
        ips = "-" if noop or not r.get("wall_s") else f"{items / r['wall_s']:,.0f}"
        req = "-"
        if not noop and r.get("requests") is not None:
            req = f"{r['requests']} ({r.get('http_200')}/{r.get('http_304')})"
            if r.get("http_other"):
                req += f" +{r['http_other']} other"
        new = f"{r.get('new_state', '-')} / {r.get('expected_new', '-')}"
        vs = ["-", "-"]
        if t == "storywatch":
            vs = [compare(r, rows.get((p, c))) for p in PEERS]
        tool = t if r.get("variant") in (None, "poll") else f"{t} ({r['variant']})"
        out.append(f"| {tool} | {c}{flags(r)} | {secs(r.get('wall_s'))} | {secs(r.get('cpu_s'))} | "
                   f"{rss_mib(r):.1f} | {ips} | {req} | {new} | {vs[0]} | {vs[1]} |")
    return out


def sw_counts(rows):
    """storywatch's own summary: what the time bought (dedup, matching, alerts)."""
    sw = [(c, r) for (t, c), r in rows.items() if t == "storywatch"]
    if not sw:
        return []
    sw.sort(key=lambda cr: CYCLE_ORDER.index(cr[0]) if cr[0] in CYCLE_ORDER else len(CYCLE_ORDER))
    out = ["storywatch's own counts (from its `poll --json` summary):", "",
           "| cycle | new | duplicate | near-duplicate | matches | alerts (lines out) | not modified "
           "| unchanged | failed | store MB |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c, r in sw:
        g = lambda k: "-" if r.get(k) is None else f"{r[k]:,}"  # noqa: E731
        out.append(f"| {c} | {g('sw_items_new')} | {g('sw_duplicate')} | {g('sw_near_duplicate')} | "
                   f"{g('sw_matches')} | {g('sw_alerts')} ({g('new_reported')}) | {g('sw_not_modified')} | "
                   f"{g('sw_unchanged')} | {g('sw_failed')} | {r.get('state_bytes', 0) / 1e6:.1f} |")
    return out + [""]


def storage(r):
    fs = r.get("state_fs")
    if fs:
        return fs
    return "tmpfs" if str(r.get("state_dir", "")).startswith("/dev/shm") else "disk"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    groups = OrderedDict()
    with open(sys.argv[1]) as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            key = (r.get("n_feeds"), r.get("m_items"), r.get("latency_ms"))
            groups.setdefault(key, OrderedDict())[(r.get("peer"), r.get("cycle"))] = r  # last one wins
    out = []
    for (n, m, lat) in sorted(groups, key=lambda k: tuple(x if isinstance(x, int) else 0 for x in k)):
        rows = groups[(n, m, lat)]
        fs = ", ".join(sorted({storage(r) for r in rows.values()}))
        out += [f"### N={n} feeds \u00d7 M={m} items, latency {lat} ms, state on {fs}", ""]
        out += table(rows) + [""]
        out += sw_counts(rows)
        out += targets(n, rows)
    out.append("wall: elapsed time of one cycle (a new process, start-up included); CPU: user + sys of the "
               "tool and its children; peak RSS: its largest process; items/s: N \u00d7 M entries / wall; "
               "requests: counted by the server for that cycle; new: entries the tool added to its own state "
               "(storywatch: rows of its `items` table) / entries new in the workload. Speed-up: the peer's "
               "wall / storywatch's wall for the same cycle; RSS: storywatch's peak / the peer's. "
               "\u2020x.x: other processes kept x.x cores busy during that cycle, after lib.sh's retries.")
    print("\n".join(out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Held-out evaluation, beyond the fixture pages: storywatch beside trafilatura on
 (a) Mozilla Readability's test pages (word P/R/F1 against expected.html) and
 (b) trafilatura's evaluation set (tests/evaldata.json: its snippet measure,
     per page and pooled over all snippets, as trafilatura's own evaluation does).

Neither set ships with storywatch; clone them first:
  git clone --depth 1 https://github.com/mozilla/readability  /tmp/readability
  git clone --depth 1 https://github.com/adbar/trafilatura   /tmp/trafilatura
then (after benches/article-eval.sh has made the venv and the release binary):
  target/article-eval-venv/bin/python benches/article-heldout.py \
      --readability /tmp/readability --trafilatura /tmp/trafilatura [--jobs 2] [--reuse]
--reuse keeps cached extractor outputs (only rescoring); --fresh-sw reruns storywatch only.
Writes OUT/results.json and the extracted texts under OUT/{sw,traf}/ (OUT: --out,
default target/article-heldout).
"""
import argparse
import concurrent.futures as cf
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = OUT = READ = TRAF = ""

spec = importlib.util.spec_from_file_location(
    "article_eval", os.path.join(os.path.dirname(os.path.abspath(__file__)), "article-eval.py"))
ae = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ae)
import trafilatura  # noqa: E402


def pages():
    rows = []
    for name in sorted(os.listdir(READ)):
        src, exp = os.path.join(READ, name, "source.html"), os.path.join(READ, name, "expected.html")
        if os.path.isfile(src) and os.path.isfile(exp):
            rows.append({"set": "readability", "id": "read/" + name, "path": src, "url": None,
                         "expected": exp})
    with open(os.path.join(TRAF, "evaldata.json"), encoding="utf-8") as f:
        evaldata = json.load(f)
    for url in sorted(evaldata):
        item = evaldata[url]
        path = None
        for sub in ("cache", "eval"):  # same lookup order as trafilatura's eval_common.resolve
            p = os.path.join(TRAF, sub, item["file"])
            if os.path.isfile(p):
                path = p
                break
        if path:
            rows.append({"set": "trafilatura", "id": "traf/" + item["file"], "path": path, "url": url,
                         "with": item["with"], "without": item["without"]})
    return rows


def key(page):
    return hashlib.md5(page["id"].encode()).hexdigest()[:12] + "_" + os.path.basename(
        page["id"]).replace(".html", "")[:60]


def cached(tool, page, reuse, extract):
    """Runs `extract(res)` on a fresh result record, timed, unless a cached one may be reused."""
    cache = os.path.join(OUT, tool, key(page) + ".json")
    if reuse and os.path.exists(cache):
        with open(cache, encoding="utf-8") as f:
            return json.load(f)
    res = {"status": "ok", "text": "", "method": None, "secs": None, "error": None}
    t0 = time.perf_counter()
    extract(res)
    res["secs"] = time.perf_counter() - t0
    if res["status"] == "ok" and not res["text"].strip():
        res["status"] = "empty"
    with open(cache, "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=False)
    return res


def run_sw(binary, page, timeout, reuse):
    env = {k: v for k, v in os.environ.items() if k != "STORYWATCH_CONFIG"}

    def extract(res):
        try:
            out = subprocess.run([binary, "extract", "--json", page["path"]], capture_output=True,
                                 timeout=timeout, env=env, cwd=tempfile.gettempdir())
        except subprocess.TimeoutExpired:
            res.update(status="timeout", error=f">{timeout}s")
            return
        if out.returncode != 0:
            res.update(status="crash", error=f"rc={out.returncode}: " + out.stderr.decode("utf-8", "replace")[-400:])
            return
        try:
            j = json.loads(out.stdout)
            res["text"] = j.get("text") or ""
            res["method"] = j.get("method")
        except Exception as e:  # noqa: BLE001
            res.update(status="crash", error=f"bad json: {e}")

    return cached("sw", page, reuse, extract)


def run_traf(page, reuse):
    with open(page["path"], "rb") as f:
        raw = f.read()

    def extract(res):
        try:
            res["text"] = trafilatura.extract(raw, url=page["url"], include_comments=False) or ""
        except Exception as e:  # noqa: BLE001
            res.update(status="crash", error=repr(e))

    return cached("traf", page, reuse, extract)


def score(page, text):
    if page["set"] == "readability":
        with open(page["expected"], encoding="utf-8") as f:
            want = ae.html_text(f.read())
        p, r, f1 = ae.word_scores(text, want)
        return {"p": p, "r": r, "f1": f1}
    p, r, f1, counts = ae.snippet_scores(text, page["with"], page["without"])
    return {"p": p, "r": r, "f1": f1, "tp_fn_fp_tn": counts}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/storywatch")
    ap.add_argument("--readability", required=True, help="a checkout of mozilla/readability")
    ap.add_argument("--trafilatura", required=True, help="a checkout of adbar/trafilatura")
    ap.add_argument("--out", default="target/article-heldout")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--fresh-sw", action="store_true")
    a = ap.parse_args()
    global HERE, OUT, READ, TRAF
    HERE = os.path.abspath(a.out)
    OUT = os.path.join(HERE, "out")
    READ = os.path.join(os.path.abspath(a.readability), "test/test-pages")
    TRAF = os.path.join(os.path.abspath(a.trafilatura), "tests")
    a.binary = os.path.abspath(a.binary)
    os.makedirs(os.path.join(OUT, "sw"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "traf"), exist_ok=True)
    ps = pages()
    print(f"{len(ps)} pages", file=sys.stderr)

    t0 = time.perf_counter()
    sw = {}
    with cf.ThreadPoolExecutor(max_workers=min(2, a.jobs)) as ex:
        futs = {ex.submit(run_sw, a.binary, p, a.timeout, a.reuse and not a.fresh_sw): p["id"] for p in ps}
        for i, fu in enumerate(cf.as_completed(futs)):
            sw[futs[fu]] = fu.result()
            if i % 100 == 0:
                print(f"storywatch {i}/{len(ps)}", file=sys.stderr)
    t_sw = time.perf_counter() - t0
    t0 = time.perf_counter()
    tr = {}
    for i, p in enumerate(ps):
        tr[p["id"]] = run_traf(p, a.reuse)
        if i % 100 == 0:
            print(f"trafilatura {i}/{len(ps)}", file=sys.stderr)
    t_tr = time.perf_counter() - t0

    rows = []
    for p in ps:
        row = {"set": p["set"], "id": p["id"], "path": p["path"], "url": p["url"], "key": key(p)}
        for tool, res in (("storywatch", sw[p["id"]]), ("trafilatura", tr[p["id"]])):
            s = score(p, res["text"])
            s.update(status=res["status"], secs=res.get("secs"), chars=len(res["text"]))
            if tool == "storywatch":
                s["method"] = res.get("method")
                s["error"] = res.get("error")
            row[tool] = s
        rows.append(row)

    summary = {}
    lines = []
    for st in ("readability", "trafilatura"):
        sel = [r for r in rows if r["set"] == st]
        for t in ("storywatch", "trafilatura"):
            d = {"pages": len(sel),
                 "mean_p": sum(r[t]["p"] for r in sel) / len(sel),
                 "mean_r": sum(r[t]["r"] for r in sel) / len(sel),
                 "mean_f1": sum(r[t]["f1"] for r in sel) / len(sel),
                 "below_0.6": sum(1 for r in sel if r[t]["f1"] < 0.6),
                 "crash": sum(1 for r in sel if r[t]["status"] == "crash"),
                 "timeout": sum(1 for r in sel if r[t]["status"] == "timeout"),
                 "empty": sum(1 for r in sel if r[t]["status"] == "empty")}
            if st == "trafilatura":
                tp, fn, fp, tn = (sum(r[t]["tp_fn_fp_tn"][i] for r in sel) for i in range(4))
                pp, rr, ff = ae.prf(tp, tp + fp, tp + fn)
                d.update(pooled={"tp": tp, "fn": fn, "fp": fp, "tn": tn, "p": pp, "r": rr, "f1": ff,
                                 "accuracy": (tp + tn) / (tp + fn + fp + tn)})
            summary[f"{st}/{t}"] = d
            line = (f"{st:<12} {t:<12} n={d['pages']} meanP {d['mean_p']:.3f} meanR {d['mean_r']:.3f} "
                    f"meanF1 {d['mean_f1']:.3f} F1<0.6: {d['below_0.6']} crash {d['crash']} "
                    f"timeout {d['timeout']} empty {d['empty']}")
            if "pooled" in d:
                q = d["pooled"]
                line += (f"\n{'':<25} pooled P {q['p']:.3f} R {q['r']:.3f} F1 {q['f1']:.3f} "
                         f"acc {q['accuracy']:.3f} (tp {q['tp']} fn {q['fn']} fp {q['fp']} tn {q['tn']})")
            lines.append(line)
        wins = sum(1 for r in sel if r["storywatch"]["f1"] > r["trafilatura"]["f1"] + 1e-9)
        loss = sum(1 for r in sel if r["storywatch"]["f1"] < r["trafilatura"]["f1"] - 1e-9)
        lines.append(f"{st:<12} storywatch better on {wins}, worse on {loss}, tie {len(sel) - wins - loss}")
    lines.append(f"wall: storywatch {t_sw:.1f}s ({min(2, a.jobs)} procs), trafilatura {t_tr:.1f}s")
    print("\n".join(lines))
    with open(os.path.join(HERE, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"summary": summary, "rows": rows, "trafilatura_version": trafilatura.__version__,
                   "binary": a.binary}, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()

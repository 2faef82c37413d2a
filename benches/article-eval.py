#!/usr/bin/env python3
"""Article extraction quality: storywatch beside trafilatura, same pages, same measures.

Usage: benches/article-eval.sh   (creates the venv, builds the release binary, runs this)
       python3 benches/article-eval.py STORYWATCH_BINARY ARTICLES_DIR [--json OUT]

For pages with `*.expected.html` the measure is word precision, recall and F1
against that text (bags of lower-cased words; each CJK character is a word).
For pages with `*.expected.json` it is trafilatura's own snippet measure: a
`with` snippet found is a true positive, missed a false negative; a `without`
snippet found is a false positive. tests/it/article_eval.rs computes the same
measures for storywatch alone and asserts the figures it is held to.

trafilatura runs with its defaults, except include_comments=False: comments
are not the article, and storywatch drops them too.
"""

import html.parser
import json
import os
import subprocess
import sys
import time
from collections import Counter

import trafilatura

INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd",
    "mark", "q", "ruby", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u",
    "var", "wbr",
}
SKIPPED = {"script", "style", "rt", "rp", "noscript", "template"}


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skip += 1
        elif tag not in INLINE:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in SKIPPED:
            self.skip = max(0, self.skip - 1)
        elif tag not in INLINE:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_text(markup):
    p = _Text()
    p.feed(markup)
    return "".join(p.parts)


def is_cjk(c):
    o = ord(c)
    return (0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF
            or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF)


def tokens(text):
    out, cur = [], []
    for c in text.lower():
        if is_cjk(c):
            if cur:
                out.append("".join(cur))
                cur = []
            out.append(c)
        elif c.isalnum():
            cur.append(c)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def prf(tp, got, want):
    p = tp / got if got else 0.0
    r = tp / want if want else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def word_scores(got, want):
    g, w = Counter(tokens(got)), Counter(tokens(want))
    tp = sum(min(n, w[k]) for k, n in g.items())
    return prf(tp, sum(g.values()), sum(w.values()))


def squash(s):
    return " ".join(s.split())


def snippet_scores(got, with_, without):
    got = squash(got or "")
    tp = sum(1 for s in with_ if squash(s) in got)
    fp = sum(1 for s in without if squash(s) in got)
    fn = len(with_) - tp
    tn = len(without) - fp
    p, r, f = prf(tp, tp + fp, tp + fn)
    return p, r, f, (tp, fn, fp, tn)


def storywatch_text(binary, path):
    env = {k: v for k, v in os.environ.items() if k != "STORYWATCH_CONFIG"}
    out = subprocess.run([binary, "extract", "--json", path], capture_output=True, check=True,
                         timeout=60, env=env)
    return json.loads(out.stdout)["text"]


def trafilatura_text(path, url):
    with open(path, "rb") as f:
        raw = f.read()
    return trafilatura.extract(raw, url=url, include_comments=False) or ""


def main():
    binary, root = sys.argv[1], sys.argv[2]
    out_json = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    names = sorted(n[: -len(".source.html")] for n in os.listdir(root) if n.endswith(".source.html"))
    rows, timing = [], {"storywatch": 0.0, "trafilatura": 0.0}
    for name in names:
        src = os.path.join(root, name + ".source.html")
        expected_html = os.path.join(root, name + ".expected.html")
        url = None
        if os.path.exists(expected_html):
            with open(expected_html, encoding="utf-8") as f:
                want = html_text(f.read())
            kind = "words"
        else:
            with open(os.path.join(root, name + ".expected.json"), encoding="utf-8") as f:
                spec = json.load(f)
            url, kind = spec.get("url"), "snippets"
        texts = {}
        t0 = time.perf_counter()
        texts["storywatch"] = storywatch_text(binary, src)
        t1 = time.perf_counter()
        texts["trafilatura"] = trafilatura_text(src, url)
        t2 = time.perf_counter()
        timing["storywatch"] += t1 - t0
        timing["trafilatura"] += t2 - t1
        row = {"page": name, "kind": kind}
        for tool, text in texts.items():
            if kind == "words":
                p, r, f = word_scores(text, want)
                row[tool] = {"p": p, "r": r, "f1": f}
            else:
                p, r, f, counts = snippet_scores(text, spec["with"], spec["without"])
                row[tool] = {"p": p, "r": r, "f1": f, "tp_fn_fp_tn": counts}
        rows.append(row)

    tools = ["storywatch", "trafilatura"]
    print(f"{'page':<42} {'kind':<8} " + " ".join(f"{t[:11]:>11} P/R/F1      " for t in tools))
    for row in rows:
        cells = " ".join(f"{row[t]['p']:.3f}/{row[t]['r']:.3f}/{row[t]['f1']:.3f}      " for t in tools)
        print(f"{row['page']:<42} {row['kind']:<8} {cells}")
    summary = {}
    for kind in ["words", "snippets", "all"]:
        sel = [r for r in rows if kind == "all" or r["kind"] == kind]
        for t in tools:
            mean = sum(r[t]["f1"] for r in sel) / len(sel)
            low = min(sel, key=lambda r: r[t]["f1"])
            summary[f"{kind}/{t}"] = {"mean_f1": mean, "min_f1": low[t]["f1"], "min_page": low["page"]}
            print(f"{kind:<9} {t:<12} mean F1 {mean:.3f}   lowest {low[t]['f1']:.3f} ({low['page']})")
    for t in tools:
        counts = [r[t]["tp_fn_fp_tn"] for r in rows if r["kind"] == "snippets"]
        tp, fn, fp, tn = (sum(c[i] for c in counts) for i in range(4))
        p, r, f = prf(tp, tp + fp, tp + fn)
        acc = (tp + tn) / (tp + fn + fp + tn)
        print(f"snippets pooled {t:<12} P {p:.3f} R {r:.3f} F1 {f:.3f} accuracy {acc:.3f}")
    print(f"wall time over {len(rows)} pages: storywatch {timing['storywatch']:.2f} s "
          f"(one process per page), trafilatura {timing['trafilatura']:.2f} s (in process)")
    if out_json:
        with open(out_json, "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "summary": summary, "trafilatura": trafilatura.__version__},
                      f, indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Puts a poll-cycle report into docs/benchmarks.md, with the command, date, commit and machine.

usage: update_docs.py REPORT.md META.txt DOC.md

DOC.md keeps everything outside the lines `<!-- poll-cycle:begin -->` and `<!-- poll-cycle:end -->`;
between them goes what this run measured. Standard library only.
"""
import os
import platform
import sys

BEGIN, END = "<!-- poll-cycle:begin -->", "<!-- poll-cycle:end -->"


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{model}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}"


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    report, meta, doc = sys.argv[1:]
    fields = {}
    with open(meta) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    text = open(doc).read()
    if BEGIN not in text or END not in text:
        sys.exit(f"{doc}: no {BEGIN} ... {END} section to replace")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    body = (
        f"`benches/poll-cycle.sh {fields.get('args', '')}` on {fields.get('date', '?')}, "
        f"commit {fields.get('repo', '?')}, {fields.get('storywatch', '?').split(' /')[0]}; "
        f"machine: {machine()}.\n\n" + open(report).read().strip() + "\n"
    )
    with open(doc, "w") as f:
        f.write(head + BEGIN + "\n" + body + END + tail)


if __name__ == "__main__":
    main()

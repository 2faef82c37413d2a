#!/usr/bin/env python3
"""Symbols of one binary that callgrind saw run, most instructions first.

usage: symbols.py BINARY CALLGRIND_OUT... > link/symbol-order.txt

Reads callgrind's output files (run with --demangle=no, so names stay the
linker's) and prints each function of BINARY that executed at least one
instruction, once, hottest first. lld lays the functions out in that order
(--symbol-ordering-file), so the code a poll runs sits together in the file
and fewer of its pages are mapped into the process (see build.rs).
"""

import collections
import os
import re
import sys

# Callgrind's compressed names: "fn=(12) name" defines id 12, "fn=(12)" reuses it.
NAMED = re.compile(r"^(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$")


def costs(path, binary, out):
    objects, functions = {}, {}
    obj = fn = None
    after_call = False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            # the line after "calls=" is the callee's inclusive cost
            was_call, after_call = after_call, line.startswith("calls=")
            m = NAMED.match(line)
            if m:
                kind, ident, name = m.groups()
                table = objects if kind.endswith("ob") else functions
                if name:
                    table[ident] = name
                if kind == "ob":
                    obj = objects.get(ident)
                elif kind == "fn":
                    fn = functions.get(ident)
                continue
            # cost lines: "<position> <instructions> ..." (positions may be relative)
            if fn and obj and not was_call and line[:1] in "0123456789+-*":
                parts = line.split()
                if len(parts) >= 2 and parts[1].isdigit() and os.path.realpath(obj) == binary:
                    # "'2" and the like mark recursion depth, not another symbol
                    out[fn.split("'")[0]] += int(parts[1])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[2])
    binary = os.path.realpath(sys.argv[1])
    out = collections.Counter()
    for path in sys.argv[2:]:
        costs(path, binary, out)
    if not out:
        sys.exit(f"no function of {binary} in the callgrind output")
    for name, _ in sorted(out.items(), key=lambda kv: (-kv[1], kv[0])):
        print(name)


if __name__ == "__main__":
    main()

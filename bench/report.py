#!/usr/bin/env python3
"""Turns alex_bench CSV output into the Markdown tables of bench/RESULTS.md.

    build/bench/alex_bench --benchmark_format=csv > run.csv
    python3 bench/report.py run.csv [more.csv ...]

Several CSV files (repeated runs) are combined by taking the median of each
benchmark's ns_per_op. Every table cell is "ns per op (ratio to absl_btree)";
the bytes_per_key table reports memory.
"""

import csv
import io
import statistics
import sys
from collections import defaultdict

STRUCTURES = ["alex", "rmi", "std_map", "absl_btree", "sorted_vector"]
OPS = ["bulk_load", "lookup_hit", "lookup_miss", "lookup_hit_after_append",
       "insert_random", "append", "scan100", "erase"]
DATASETS = ["timestamps", "uniform", "lognormal", "clustered"]


def read(paths):
    ns = defaultdict(list)
    mem = defaultdict(list)
    for path in paths:
        text = open(path).read()
        # Google Benchmark prints a context header before the CSV header.
        start = text.find("name,")
        for row in csv.DictReader(io.StringIO(text[start:])):
            parts = row["name"].split("/")
            if len(parts) != 4 or row.get("error_occurred") == "true":
                continue
            key = tuple(parts)  # op, structure, dataset, n
            if row.get("ns_per_op"):
                ns[key].append(float(row["ns_per_op"]))
            if row.get("bytes_per_key"):
                mem[key].append(float(row["bytes_per_key"]))
    med = lambda d: {k: statistics.median(v) for k, v in d.items()}
    return med(ns), med(mem)


def fmt(value):
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"


def table(values, ops, sizes, unit):
    out = []
    for n in sizes:
        out.append(f"\n### n = {n:,} ({unit})\n")
        out.append("| op | dataset | " + " | ".join(STRUCTURES) + " |")
        out.append("|---|---|" + "---|" * len(STRUCTURES))
        for op in ops:
            for ds in DATASETS:
                base = values.get((op, "absl_btree", ds, str(n)))
                cells = []
                for st in STRUCTURES:
                    v = values.get((op, st, ds, str(n)))
                    if v is None:
                        cells.append("")
                    elif base:
                        cells.append(f"{fmt(v)} ({v / base:.2f})")
                    else:
                        cells.append(fmt(v))
                if any(cells):
                    out.append(f"| {op} | {ds} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    ns, mem = read(sys.argv[1:])
    sizes = sorted({int(k[3]) for k in ns})
    print("## Time per operation: ns (ratio to absl_btree)")
    print(table(ns, OPS, sizes, "ns per op"))
    print("\n## Memory: bytes per key (ratio to absl_btree)")
    print(table(mem, ["bulk_load", "insert_random", "append"], sizes, "bytes per key"))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The pipeline's check target: fail when a cell failed or an fp32 method disagrees with the
reference where the reference was sure, naming the first such sentence. Differences at near-ties
only (another kernel's rounding, on a GPU say) pass with a note; the tables list them. Runs after
the tables, so every timing already measured is kept and shown."""

import json
import sys
from pathlib import Path

import common  # noqa: F401  (puts scripts/ on the path)
from nerlib.atomic import write_text_atomically


def main() -> None:
    out, check_files = sys.argv[1], sys.argv[2:]
    problems, near_ties = [], []
    for path in check_files:
        check = json.loads(Path(path).read_text())
        cell = check["cell"]
        name = f"{cell['method']} -d {cell['device']} -b {cell['batch_size']}"
        if check["status"] != "ok":
            problems.append(f"{name}: {check['status']} (log: {cell['log']})")
        elif check["dtype"] == "fp32" and check["differences"]:
            clear = [item for item in check["differences"] if not item["near_tie"]]
            if not clear:
                near_ties.append(f"{name}: {len(check['differences'])} sentences differ, all at near-ties")
                continue
            diff = clear[0]
            problems.append(
                f"{name}: agrees {check['agreement_pct']:.2f}% with the reference; {len(clear)} sentences differ "
                f"where the reference was sure, first at line {diff['line']} {diff['text']!r}: "
                f"{json.dumps(diff['predicted'], ensure_ascii=False)} instead of "
                f"{json.dumps(diff['reference'], ensure_ascii=False)}"
            )
    if problems:
        print("verify: the grid has problems (the tables list them too):", file=sys.stderr)
        for problem in problems:
            print("  " + problem, file=sys.stderr)
        sys.exit(1)
    verdict = f"{len(check_files)} cells checked: all ran, every fp32 method agrees with the reference"
    if near_ties:
        verdict += " but for near-ties (tables.md lists them):\n" + "".join(f"  {line}\n" for line in near_ties)
    else:
        verdict += "\n"
    write_text_atomically(out, verdict)
    print(verdict, end="")


if __name__ == "__main__":
    main()

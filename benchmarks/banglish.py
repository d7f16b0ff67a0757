"""How often romanised ("Banglish") Bangla songs land with Bengali-script Bangla songs, per method of a run.

    python benchmarks/banglish.py RUN_FOLDER DATA_DIR

A Bangla song (language label "bn") counts as romanised when its lyrics hold no Bengali letters, as
Bengali-script when they hold no Latin letters (code-mixed songs are left out). For each method, a romanised
song "lands together" when its cluster is the cluster holding most Bengali-script songs. Labels are used
only here, for scoring.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from pathlib import Path

BENGALI = re.compile(r"[\u0980-\u09FF]")
LATIN = re.compile(r"[A-Za-z]")


def main() -> None:
    run, data = Path(sys.argv[1]), Path(sys.argv[2])
    rows = list(csv.DictReader(open(run / "assignments.csv", encoding="utf-8")))
    kind = {}
    for r in rows:
        f = data / "lyrics" / f"{r['track_id']}.txt"
        if r.get("language") != "bn" or not f.exists():
            continue
        text = f.read_text(encoding="utf-8")
        b, latin = bool(BENGALI.search(text)), bool(LATIN.search(text))
        kind[r["track_id"]] = "script" if b and not latin else "roman" if latin and not b else "mixed"
    methods = [c for c in rows[0] if "+" in c]
    print(f"{Counter(kind.values())} Bangla songs; share of romanised songs in the main Bengali-script cluster:")
    for m in methods:
        script = Counter(r[m] for r in rows if kind.get(r["track_id"]) == "script")
        if not script:
            continue
        main_cluster = script.most_common(1)[0][0]
        roman = [r[m] for r in rows if kind.get(r["track_id"]) == "roman"]
        share = sum(c == main_cluster for c in roman) / max(len(roman), 1)
        in_main = script[main_cluster] / sum(script.values())
        print(f"  {m:40s} {share:.2f}  (script songs in that cluster: {in_main:.2f})")


if __name__ == "__main__":
    main()

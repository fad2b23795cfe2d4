"""Screening quality: recall on hand-made name variants of fictional listed entities, and false
flags among the labelled look-alikes and every institution of the demo corpus and the OpenAlex
sample, per threshold (the default marked). Deterministic: no timing.

    python bench/screening_quality.py [--thresholds 80 85 90 95] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kernel.settings import Settings  # noqa: E402
from service.evaluation.screening import corpus_institutions, measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[75, 80, 85, 90, 95])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    default = Settings().screening_threshold
    institutions = corpus_institutions()
    results = [measure(t, institutions) for t in sorted({*args.thresholds, default})]
    print(f"{'threshold':>9}  {'recall':>14}  {'look-alikes flagged':>19}  {'false flags (corpus)':>24}  expected demo flags")
    for q in results:
        mark = "  <- default" if q.threshold == default else ""
        print(f"{q.threshold:>9.0f}  {q.recall:>6.3f} ({q.found}/{q.variants})  {len(q.look_alikes_flagged):>19}  "
              f"{len(q.false_flags):>5}/{q.institutions} = {q.false_flag_rate:6.2%}  {q.expected_flags:>19}{mark}")
    chosen = next(q for q in results if q.threshold == default)
    print("\nAt the default threshold, by kind of variant:")
    for kind, (found, total) in chosen.by_kind.items():
        print(f"  {kind:<18} {found}/{total}")
    print(f"missed: {', '.join(chosen.missed) or 'none'}")
    print(f"look-alikes flagged: {', '.join(chosen.look_alikes_flagged) or 'none'}")
    print(f"false flags: {'; '.join(chosen.false_flags) or 'none'}")
    print(f"targets: recall >= 0.95 ({'met' if chosen.recall >= 0.95 else 'MISSED'}), "
          f"false flags <= 1% of the corpus's institutions ({'met' if chosen.false_flag_rate <= 0.01 else 'MISSED'})")
    if args.json:
        args.json.write_text(json.dumps([q.__dict__ | {"false_flag_rate": q.false_flag_rate} for q in results], indent=1) + "\n")


if __name__ == "__main__":
    main()

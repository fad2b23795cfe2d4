"""How a query's needs are found and its first page diversified, chosen by measurement: per merge
threshold, diversity weight and coverage cap (and with aspects off, the reference), the
multi-aspect set's coverage@10 and aspect MRR beside the single-need figures that must not get
worse (held-out MRR, graded pair loss, cross-lingual MRR). Deterministic: no timing. With the real
model; evaluation states are built once under $KAKEHASHI_DATA_DIR/evaluation (docs/evaluation.md).

    python bench/aspect_choice.py [--merge 0.2] [--diversity 0.5 0.75 1.0] [--coverage 0.5 1.0] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kernel.paths import OPENALEX_SAMPLE  # noqa: E402
from kernel.settings import get_settings  # noqa: E402
from service.evaluation.runner import CONFIGURATIONS, Evaluation  # noqa: E402
from service.runtime import Runtime  # noqa: E402

SETS = ("multi_aspect", "held_out", "graded", "crosslingual_en")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merge", type=float, nargs="+", default=[0.2])
    parser.add_argument("--diversity", type=float, nargs="+", default=[0.5, 0.75, 1.0])
    parser.add_argument("--coverage", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runtime = Runtime(get_settings())
    evaluation = Evaluation(runtime, OPENALEX_SAMPLE, quick=False)
    default = next(c for c in CONFIGURATIONS if c.name == "default")
    shipped = runtime.settings
    grid = [(0.0, 0.0, 1.0, False)] + [(m, d, c, True) for m in args.merge for d in args.diversity for c in args.coverage]
    results = []
    print(f"{'aspects':<8} {'merge':>5} {'diversity':>9} {'coverage':>8}  {'cov@10':>6} {'aspectMRR':>9} {'split':>5}  "
          f"{'held-out MRR':>12} {'split':>5}  {'graded loss':>11}  {'xling-en MRR':>12}")
    for merge, diversity, most, on in grid:
        settings = shipped.model_copy(update={"aspects": on, "aspect_merge_similarity": merge, "aspect_diversity": diversity,
                                           "aspect_coverage": most})
        rows = {r.set: r for r in evaluation.run([default], only=SETS, settings=settings)}
        m, h, g, x = rows["multi_aspect"], rows["held_out"], rows["graded"], rows.get("crosslingual_en")
        shipped_mark = "  <- shipped" if on and merge == shipped.aspect_merge_similarity \
            and diversity == shipped.aspect_diversity and most == shipped.aspect_coverage else ""
        print(f"{'on' if on else 'off':<8} {merge:>5.2f} {diversity:>9.2f} {most:>8.2f}  {m.coverage10:>6.3f} {m.aspect_mrr:>9.3f} {m.split_share:>5.2f}  "
              f"{h.mrr:>12.4f} {h.split_share:>5.2f}  {g.loss:>11.4f}  {(x.mrr if x else float('nan')):>12.4f}{shipped_mark}")
        results.append({"merge": merge, "diversity": diversity, "coverage": most, "aspects": on,
                        **{name: r.__dict__ for name, r in rows.items()}})
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

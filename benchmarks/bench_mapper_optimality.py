"""Default mapper vs the exhaustive (branch-and-bound) optimum, layer by layer.

    python benchmarks/bench_mapper_optimality.py [--budget 300] [--accelerators eyeriss nvdla-256 shidiannao]
        [--rows ACC/NET/LAYER ...] [--out results.jsonl]

For 21 layers (ResNet-18, MobileNetV2 incl. depthwise and 1x1, VGG16 early layers, fully
connected) on each accelerator: the default mapper's EDP and time, and the exhaustive
mapper's EDP and time (``--budget`` seconds at most per layer; ``proven`` says whether it
finished, i.e. whether its EDP is the proven optimum of the map space). Prints one JSON
line per (accelerator, layer) and a summary: the worst and the geometric-mean ratio
default / exhaustive, over all rows and over the proven ones.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from coexplore.mapper.exhaustive import ExhaustiveMapper
from coexplore.mapper.problem import LayerMappingProblem
from coexplore.mapper.registry import make_mapper
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network
from coexplore.search import optimize

LAYERS = [
    ("resnet18", "conv1"), ("resnet18", "layer1.0.conv1"), ("resnet18", "layer2.0.conv1"),
    ("resnet18", "layer2.0.conv2"), ("resnet18", "layer2.0.downsample.0"), ("resnet18", "layer3.0.conv2"),
    ("resnet18", "layer4.0.conv2"), ("resnet18", "fc"),
    ("mobilenetv2", "features.0.0"), ("mobilenetv2", "features.1.conv.0.0"), ("mobilenetv2", "features.1.conv.1"),
    ("mobilenetv2", "features.2.conv.0.0"), ("mobilenetv2", "features.2.conv.1.0"),
    ("mobilenetv2", "features.2.conv.2"), ("mobilenetv2", "features.3.conv.1.0"), ("mobilenetv2", "classifier.1"),
    ("vgg16", "features.0"), ("vgg16", "features.2"), ("vgg16", "features.5"), ("vgg16", "features.7"),
    ("vgg16", "classifier.6"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=300.0, help="seconds per exhaustive run")
    ap.add_argument("--accelerators", nargs="+", default=["eyeriss", "nvdla-256", "shidiannao"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--extra-seeds", type=int, nargs="*", default=[],
                    help="also run the default mapper with these seeds; rows get seed_ratios and their worst")
    ap.add_argument("--out", default=None, help="also append the JSON lines to this file")
    ap.add_argument("--exhaustive-from", nargs="+", default=None, metavar="JSONL",
                    help="reuse exhaustive results of earlier runs (proven ones first) instead of re-running them; "
                         "the default mapper is always run")
    ap.add_argument("--rows", nargs="+", default=None, metavar="ACC/NET/LAYER",
                    help="only these rows, e.g. shidiannao/resnet18/layer2.0.conv1")
    args = ap.parse_args()
    earlier: dict[str, dict] = {}  # type: ignore[type-arg]
    for path in args.exhaustive_from or []:
        with open(path) as fh:
            lines = fh.readlines()
        for line in lines:
            r = json.loads(line)
            if "accelerator" not in r:
                continue
            key = f"{r['accelerator']}/{r['network']}/{r['layer']}"
            old = earlier.get(key)
            if old is None or (r["proven"], -r["exhaustive_edp"]) > (old["proven"], -old["exhaustive_edp"]):
                earlier[key] = r
    rows = []
    for acc_name in args.accelerators:
        acc = get_accelerator(acc_name)
        for net, name in LAYERS:
            if args.rows is not None and f"{acc_name}/{net}/{name}" not in args.rows:
                continue
            layer = get_network(net).layer(name)
            problem = LayerMappingProblem(layer=layer, accelerator=acc)
            strategy, budget = make_mapper("default", layer, acc, args.seed)
            default = optimize(problem, strategy, max_evals=budget)
            row = {"accelerator": acc_name, "network": net, "layer": name,
                   "default_edp": float(default.best_values[0, 0]), "default_seconds": default.seconds}
            key = f"{acc_name}/{net}/{name}"
            if key in earlier:
                row.update({k: earlier[key][k] for k in
                            ("exhaustive_edp", "exhaustive_seconds", "exhaustive_evaluations", "proven")})
            else:
                exhaustive = optimize(problem, ExhaustiveMapper(layer=layer, accelerator=acc, seed=args.seed),
                                      max_seconds=args.budget)
                row.update({"exhaustive_edp": float(exhaustive.best_values[0, 0]),
                            "exhaustive_seconds": exhaustive.seconds, "exhaustive_evaluations": exhaustive.evaluated,
                            "proven": exhaustive.exhausted})
            if not row["proven"]:  # the best known mapping, whichever mapper found it
                row["exhaustive_edp"] = min(row["exhaustive_edp"], row["default_edp"])
            row["ratio"] = row["default_edp"] / row["exhaustive_edp"]
            if args.extra_seeds:
                extra = {}
                for s in args.extra_seeds:
                    st, b = make_mapper("default", layer, acc, s)
                    extra[s] = float(optimize(problem, st, max_evals=b).best_values[0, 0]) / row["exhaustive_edp"]
                row["seed_ratios"] = {str(k): v for k, v in extra.items()}
                row["worst_seed_ratio"] = max(row["ratio"], *extra.values())
            rows.append(row)
            line = json.dumps(row)
            print(line, flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(line + "\n")

    def summary(sel: list[dict]) -> dict:  # type: ignore[type-arg]
        if not sel:
            return {"rows": 0}
        ratios = [r["ratio"] for r in sel]
        worst = [x for r in sel for x in (r["ratio"], *r.get("seed_ratios", {}).values())]
        return {"rows": len(sel), "max_ratio": max(ratios), "max_ratio_any_seed": max(worst),
                "geomean_ratio_any_seed": math.exp(sum(math.log(x) for x in worst) / len(worst)),
                "geomean_ratio": math.exp(sum(math.log(x) for x in ratios) / len(ratios)),
                "default_seconds_total": sum(r["default_seconds"] for r in sel),
                "exhaustive_seconds_total": sum(r["exhaustive_seconds"] for r in sel)}

    print(json.dumps({"all": summary(rows), "proven": summary([r for r in rows if r["proven"]])}), flush=True)
    print("done", file=sys.stderr)


if __name__ == "__main__":
    main()

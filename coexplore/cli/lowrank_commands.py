"""``coexplore lowrank``: list, count and factor the linear / LSTM matrices of a saved PyTorch model (ShrinkML)."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from coexplore.cli import format as fmt
from coexplore.cli.args import count, non_empty
from coexplore.errors import SpecError

__all__ = ["register"]

MAX_INPUT_ELEMENTS = 10**8


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("lowrank", help="SVD low-rank factorization of a PyTorch model's linear and LSTM matrices "
                                       "(ShrinkML): matrices, parameters, MACs, latency before and after")
    p.add_argument("--model", required=True, type=non_empty,
                   help="a model saved with torch.save(model) (a pickle: load only files you trust)")
    ranks = p.add_mutually_exclusive_group()
    ranks.add_argument("--ranks", default=None, help="MATRIX=RANK,... (names as listed without --ranks)")
    ranks.add_argument("--ratio", type=float, default=None,
                       help="uniform ranks compressing the factorable parameters by this factor (>= 1)")
    p.add_argument("--input-shape", default=None,
                   help="one input's shape, e.g. 1,1,8,8: counts MACs (and enables --latency)")
    p.add_argument("--latency", action="store_true", help="time the model before and after (needs --input-shape)")
    p.add_argument("--repeats", type=count, default=50, help="timed runs per latency (50)")
    p.add_argument("--out", default=None, help="save the factored model with torch.save")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.set_defaults(func=cmd_lowrank)


def _ranks(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SpecError(f"--ranks: expected MATRIX=RANK, got {item!r}")
        try:
            out[name] = int(value)
        except ValueError:
            raise SpecError(f"--ranks {name}: must be an integer, got {value!r}") from None
    if not out:
        raise SpecError(f"--ranks: no MATRIX=RANK pair in {text!r}")
    return out


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise SpecError(f"--input-shape: must be comma-separated integers, got {text!r}") from None
    if not shape or min(shape) < 1:
        raise SpecError(f"--input-shape: every dimension must be >= 1, got {text!r}")
    if math.prod(shape) > MAX_INPUT_ELEMENTS:
        raise SpecError(f"--input-shape: at most {MAX_INPUT_ELEMENTS:,} elements (one input), got {text!r}")
    return shape


def load_model(path: str) -> Any:
    """A whole ``nn.Module`` saved by ``torch.save``; a state dict or anything else is refused, named."""
    from coexplore.optional import require

    torch = require("torch", extra="nas", who="coexplore lowrank")
    try:
        model = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise SpecError(f"--model: no such file {path!r}") from None
    except Exception as e:  # unpickling runs the file's code: any failure is the file's
        raise SpecError(f"--model {path!r}: cannot be loaded by torch.load ({type(e).__name__}: {e})") from None
    if isinstance(model, dict):
        raise SpecError(f"--model {path!r}: holds a state dict, not a model; save the model itself "
                        f"with torch.save(model, path)")
    if not isinstance(model, torch.nn.Module):
        raise SpecError(f"--model {path!r}: must hold a torch.nn.Module, got {type(model).__name__}")
    return model.eval()


def cmd_lowrank(args: argparse.Namespace) -> Any:
    from coexplore.nas.lowrank import count_macs, count_parameters, factorable_matrices, factorize, matrix_rows
    from coexplore.nas.lowrank_search import uniform_ranks

    if args.latency and args.input_shape is None:
        raise SpecError("--latency: needs --input-shape (the input the model is timed on)")
    shape = _shape(args.input_shape) if args.input_shape is not None else None
    model = load_model(args.model)
    matrices = factorable_matrices(model)
    if args.ratio is not None:
        if not args.ratio >= 1 or args.ratio == float("inf"):
            raise SpecError(f"--ratio: must be a finite number >= 1, got {args.ratio}")
        ranks, _ = uniform_ranks(matrices, args.ratio)
    else:
        ranks = _ranks(args.ranks) if args.ranks is not None else {}
    dense_params = count_parameters(model, {})
    params = count_parameters(model, ranks)  # checks every name and rank, all at once
    out: dict[str, Any] = {
        "model": args.model, "parameters": dense_params, "factored_parameters": params,
        "compression": dense_params / params,
        "matrices": [{"name": m.name, "kind": m.kind, "rows": m.rows, "cols": m.cols, "max_rank": m.max_rank,
                      "rank": ranks.get(m.name), "parameters": m.size(ranks.get(m.name))} for m in matrices]}
    if shape is not None:
        try:
            rows = matrix_rows(model, shape)
        except (RuntimeError, ValueError, IndexError, TypeError) as e:  # the model's own forward refuses the shape
            raise SpecError(f"--input-shape {args.input_shape!r}: the model does not run on it "
                            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
        out["macs"] = count_macs(model, {}, shape, rows)
        out["factored_macs"] = count_macs(model, ranks, shape, rows)
    factored = factorize(model, ranks) if ranks else model
    if args.latency and shape is not None:
        from coexplore.nas.measure import measure_latency

        print(f"timing the model before and after on input {shape}, {args.repeats} runs each", file=sys.stderr)
        before = measure_latency(model, shape, warmup=5, repeats=args.repeats, threads=1).median_ms
        after = measure_latency(factored, shape, warmup=5, repeats=args.repeats, threads=1).median_ms
        out["latency_ms"], out["factored_latency_ms"] = before, after
    if args.out:
        import torch

        try:
            torch.save(factored, args.out)
        except (OSError, RuntimeError) as e:  # torch reports a missing folder as a RuntimeError
            raise SpecError(f"--out: cannot write {args.out!r}: {str(e).splitlines()[0]}") from None
        out["out"] = args.out
    if not args.json:
        fmt.table(["matrix", "kind", "shape", "rank", "parameters"],
                  [[m["name"], m["kind"], f"{m['rows']}x{m['cols']}",
                    "dense" if m["rank"] is None else f"{m['rank']} / {m['max_rank']}", f"{m['parameters']:,}"]
                   for m in out["matrices"]])
        line = f"\nparameters {dense_params:,} -> {params:,} ({out['compression']:.3g}x)"
        if "macs" in out:
            line += f"; MACs {out['macs']:,} -> {out['factored_macs']:,}"
        if "latency_ms" in out:
            line += f"; latency {out['latency_ms']:.4g} -> {out['factored_latency_ms']:.4g} ms"
        print(line + (f"; saved to {args.out}" if args.out else ""))
    return out

"""``coexplore codesign``: a joint network/accelerator search from a recipe, as a study with a report."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from coexplore.cli.args import budget_or_all, non_empty, output_file, seed

__all__ = ["register"]

# Written by hand so the parser does not import the joint package at start-up (tests check they match).
RECIPE_NAMES = ("codesign-nas-rl-nb201-eyeriss, dance-nb201-eyeriss, fabnet-listops, fnas-digits-7z020, "
                "naas-nb201-eyeriss, nacim-digits, nacim-nb201, nands-nb201, nasaic-w1, nb201-eyeriss, "
                "nb201-eyeriss-codesign, nb201-eyeriss-precision, quannas-digits")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("codesign", help="search networks and accelerators together (a recipe or a config)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--recipe", type=non_empty, default=None, help=f"a shipped recipe: {RECIPE_NAMES}")
    src.add_argument("config", nargs="?", default=None, help="a study YAML of kind codesign")
    from coexplore.study.kinds import kind_strategies  # names from the registries (light imports)

    own, generic = kind_strategies("codesign")
    p.add_argument("--strategy", default=None, help=f"override the recipe's strategy: {', '.join(own)}; or a generic "
                   f"one: {', '.join(generic)} (coexplore list strategies)")
    p.add_argument("--budget-evals", type=budget_or_all, default=None, metavar="N",
                   help="pair evaluations (or 'all': every pair, for codesign-nas)")
    p.add_argument("--seed", type=seed, default=None, help="override the recipe's seed")
    p.add_argument("--precisions", default=None, metavar="LIST",
                   help="precision choices as one more decision of a pair (space nb201), e.g. W8A8,W8A4:0.5,W4A4:2 "
                   "(WxA or WwAa, then :top-1 points lost); replaces the recipe's precisions and accuracy_drop. "
                   "Accuracy at a precision = NB201 accuracy minus that user-given drop (0 when not given): no "
                   "quantized NAS-Bench-201 evaluator exists offline")
    p.add_argument("--storage", default="sqlite:///coexplore-studies.db",
                   help="study storage (default sqlite:///coexplore-studies.db); the same name resumes")
    p.add_argument("--name", type=non_empty, default=None, help="study name (default RECIPE-STRATEGY-seedS-BUDGET)")
    p.add_argument("--report", type=output_file, default=None, metavar="FILE",
                   help="HTML report path (default NAME.html)")
    p.add_argument("--no-report", action="store_true", help="write no HTML report")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.set_defaults(func=cmd_codesign)


def cmd_codesign(args: argparse.Namespace) -> Any:
    from coexplore.api import codesign

    result = codesign(args.recipe or args.config, strategy=args.strategy, budget=args.budget_evals, seed=args.seed,
                      storage=args.storage, name=args.name, progress=not (args.quiet or args.json),
                      precisions=args.precisions,
                      report=False if args.no_report else (args.report or True))
    if result.report_skipped:
        print(f"coexplore codesign: no report ({result.report_skipped})", file=sys.stderr)
    out = result.to_record()
    if out.get("note"):
        print(f"coexplore codesign: {out['study']}: {out['note']}", file=sys.stderr)
    if not args.json:
        _print(out)
    else:
        print(f"coexplore codesign: study {out['study']} in {args.storage}"
              + (f", report {out['report']}" if out["report"] else ""), file=sys.stderr)
    return out


def _print_nasaic(out: dict[str, Any]) -> None:
    sp = out["specs"]
    print(f"specs: latency {sp['latency_cycles']:.4g} cycles, energy {sp['energy_nj']:.4g} nJ, area "
          f"{sp['area_um2']:.4g} um2; {out['feasible']} of {out['trials']} trials meet them, {out['violating']} "
          f"violate them (task 2, CIFAR-100, stands in for NASAIC's Nuclei segmentation)")
    print(f"{'mean acc':>8}  {'task accuracies':>15}  {'latency':>9}  {'energy nJ':>9}  {'area um2':>9}  "
          "design  assign")
    for e in out["front"]:
        a1, a2 = e["accuracy_tasks"]
        print(f"{e['accuracy']:8.2f}  {a1:7.2f} {a2:7.2f}  {e['latency_cycles']:9.4g}  {e['energy_nj']:9.4g}  "
              f"{e['area_um2']:9.4g}  {e['design']}  {e['assign']}")


def _print(out: dict[str, Any]) -> None:
    hv = out.get("hypervolume")
    frac = out.get("hypervolume_fraction")
    if out.get("already_complete"):  # run again: the stored study, nothing evaluated now
        print(f"study {out['study']}: already complete: {out.get('trials', 0):,} trials, nothing evaluated")
        done = f"{out['strategy']}: {out['pairs_evaluated']:,} pairs evaluated when it ran"
    else:
        done = f"{out['strategy']}: {out['pairs_evaluated']:,} pairs evaluated in {out['seconds']:.1f} s"
    print(f"{done}; hypervolume {hv:.4g}" + (f" ({100 * frac:.2f} % of the exact front's)" if frac is not None else ""))
    if out.get("accuracy_source"):
        print(f"accuracy: {out['accuracy_source']}")
    if "violating" in out:  # NASAIC's space
        _print_nasaic(out)
        return
    ppa = any("perf_per_area" in e for e in out["front"])
    print(f"{'accuracy':>9}  {'latency cycles':>15}  {'energy pJ':>11}  {'EDP':>11}  "
          + (f"{'img/s/cm²':>10}  " if ppa else "") + "accelerator  network")
    for e in out["front"]:
        acc = e["accelerator"]
        hw = (f"{acc.get('array')} {acc.get('dataflow')}" if "array" in acc else
              f"Tm{acc.get('Tm')} Tn{acc.get('Tn')} Tr{acc.get('Tr')} Tc{acc.get('Tc')}")
        if e.get("precision"):
            hw += f" {e['precision']}"
        energy = f"{e['energy_pj']:.4g}" if e.get("energy_pj") is not None else "-"
        edp = f"{e['edp']:.4g}" if e.get("edp") is not None else "-"
        perf = f"{e['perf_per_area']:10.4g}  " if ppa else ""
        print(f"{e['accuracy']:9.2f}  {e['latency_cycles']:15,}  {energy:>11}  {edp:>11}  {perf}{hw}  {e['arch']}")
    if "pruning" in out:
        pr = out["pruning"]
        print(f"pruned before training: {pr['pruned_before_training']} of {pr['candidates']} candidates "
              f"({100 * pr['pruned_share']:.1f} %); {pr['networks_trained']} networks trained, "
              f"{pr['pruned_networks_never_trained']} pruned networks never trained")
    if out.get("search") and out["search"].get("best"):
        s, b = out["search"], out["search"]["best"]
        limits = ", ".join(f"{k} {v:.6g}" for k, v in s["constraints"].items()) or "none"
        print(f"{s['search']} RL search, reward {s['weights']} under {limits}: best pair (reward {b['reward']:.4f}, "
              f"found at pair {b['found_at_pair']:,}): accuracy {b['accuracy']:.2f} %, perf/area "
              f"{b['perf_per_area']:.4g} img/s/cm², latency {b['latency_cycles']:,.0f} cycles, area "
              f"{b['area_mm2']:.4g} mm², NB201 index {b['arch_index']}, design {b['design']}")
    if "estimator" in out and "estimator_error_pct" in out["estimator"]:
        err = out["estimator"]["estimator_error_pct"]
        print(f"DANCE estimator error vs the cost model: latency {err['latency']:.2f} %, energy {err['energy']:.2f} %, "
              f"EDP {err['edp']:.2f} % ({out['estimator']['train_pairs']} training pairs)")
    if out.get("report"):
        print(f"report: {out['report']}; study {out['study']} in {out['storage']}")

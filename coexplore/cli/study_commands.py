"""Study subcommands: ``study run/resume/show`` (persistent, resumable, parallel searches)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--storage", required=True, help="sqlite:///PATH (default kind) or postgresql://USER@HOST/DB")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--backend", default="local", choices=["local", "ray"], help="local process pool or Ray")
    p.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray instance)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("study", help="persistent, resumable studies (run, resume, show)")
    ssub = p.add_subparsers(dest="study_command", metavar="SUBCOMMAND", required=True)
    r = ssub.add_parser("run", help="create a study from a YAML config and run it to its budget")
    r.add_argument("config", help="study YAML (problem, objectives, strategy, budget, seed)")
    r.add_argument("--name", default=None, help="study name (default: the config's name)")
    _add_run_options(r)
    r.set_defaults(func=cmd_study_run)
    r = ssub.add_parser("resume", help="continue a study from its last checkpoint (after a crash or kill)")
    r.add_argument("name")
    _add_run_options(r)
    r.set_defaults(func=cmd_study_resume)
    s = ssub.add_parser("show", help="a study's state and trials")
    s.add_argument("name")
    s.add_argument("--storage", required=True)
    s.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    s.set_defaults(func=cmd_study_show)


def _summary(s: Any, args: argparse.Namespace) -> dict[str, Any]:
    out = {"name": s.name, "state": s.state, "trials": s.trials, "evaluated_now": s.evaluated_now,
           "reused": s.reused, "seconds": s.seconds}
    if not args.json:
        print(f"study {s.name}: {s.state}, {s.trials} trials ({s.evaluated_now} evaluated now, {s.reused} read back "
              f"from storage) in {s.seconds:.1f} s")
    return out


def cmd_study_run(args: argparse.Namespace) -> Any:
    from coexplore.study.config import load_config
    from coexplore.study.study import run_study

    s = run_study(load_config(args.config), name=args.name, storage=args.storage, jobs=args.jobs,
                  backend=args.backend, address=args.address, progress=not (args.quiet or args.json))
    return _summary(s, args)


def cmd_study_resume(args: argparse.Namespace) -> Any:
    from coexplore.study.study import resume_study

    s = resume_study(args.name, storage=args.storage, jobs=args.jobs, backend=args.backend, address=args.address,
                     progress=not (args.quiet or args.json))
    return _summary(s, args)


def cmd_study_show(args: argparse.Namespace) -> Any:
    from coexplore.study.study import show_study

    out = show_study(args.name, storage=args.storage)
    if not args.json:
        trials = out["trials"]
        done = [t for t in trials if t["state"] == "COMPLETE"]
        print(f"study {out['name']}: {out['state']}, {len(trials)} trials ({len(done)} complete); objectives "
              + ", ".join(f"{o} ({d})" for o, d in zip(out["objectives"], out["directions"], strict=True)))
        if done:
            i = 0
            sign = -1 if out["directions"][0] == "maximize" else 1
            best = min(done, key=lambda t: sign * (t["values"][i] if t["values"][i] is not None else float("inf")))
            print(f"best {out['objectives'][0]}: {best['values']} at trial {best['number']}: {best['params']}")
    return out

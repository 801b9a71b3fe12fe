"""Study subcommands: ``study run/resume/show/list/delete/export`` (persistent, resumable, parallel searches)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from coexplore.cli.args import count, non_empty
from coexplore.errors import SpecError

__all__ = ["register"]


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--storage", required=True, help="sqlite:///PATH (default kind) or postgresql://USER@HOST/DB")
    p.add_argument("--jobs", type=count, default=None, help="worker processes (default: all cores)")
    p.add_argument("--backend", default="local", choices=["local", "ray"], help="local process pool or Ray")
    p.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray instance)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.add_argument("--join", action="store_true",
                   help="if another live process runs the study, evaluate its trials as a worker until it ends "
                        "(without it: refused)")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("study", help="persistent, resumable studies (run, resume, show, list, delete, export)")
    ssub = p.add_subparsers(dest="study_command", metavar="SUBCOMMAND", required=True)
    r = ssub.add_parser("run", help="create a study from a YAML config and run it to its budget")
    r.add_argument("config", help="study YAML (problem, objectives, strategy, budget, seed)")
    r.add_argument("--name", type=non_empty, default=None, help="study name (default: the config's name)")
    _add_run_options(r)
    r.set_defaults(func=cmd_study_run)
    r = ssub.add_parser("resume", help="continue a study from its last checkpoint (after Ctrl-C, a crash or kill)")
    r.add_argument("name")
    _add_run_options(r)
    r.add_argument("--take-over", action="store_true",
                   help="the study's driver on another host is gone: run it from here")
    r.set_defaults(func=cmd_study_resume)
    s = ssub.add_parser("show", help="a study's state and trials; its Pareto front (best trial for one objective)")
    s.add_argument("name")
    s.add_argument("--storage", required=True)
    s.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    s.set_defaults(func=cmd_study_show)
    s = ssub.add_parser("list", help="every study of a storage: kind, state, trials, objectives, created")
    s.add_argument("--storage", required=True)
    s.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    s.set_defaults(func=cmd_study_list)
    s = ssub.add_parser("delete", help="remove a study with its trials and checkpoint")
    s.add_argument("name")
    s.add_argument("--storage", required=True)
    s.add_argument("--yes", action="store_true", help="do not ask (needed where no one can answer)")
    s.set_defaults(func=cmd_study_delete)
    s = ssub.add_parser("export", help="a study's trials as a CSV or JSON table (one row per trial)")
    s.add_argument("name")
    s.add_argument("--storage", required=True)
    s.add_argument("--out", required=True, help="FILE.csv or FILE.json (the suffix picks the format)")
    s.set_defaults(func=cmd_study_export)


def _summary(s: Any, args: argparse.Namespace) -> dict[str, Any]:
    out = {"name": s.name, "state": s.state, "trials": s.trials, "evaluated_now": s.evaluated_now,
           "reused": s.reused, "seconds": s.seconds, "already_complete": s.already_complete, "note": s.note,
           "joined": s.joined}
    if s.joined:
        print(f"study {s.name}: joined as a worker, {s.evaluated_now} trials evaluated here in {s.seconds:.1f} s; "
              f"the study is {s.state} with {s.trials} trials", file=sys.stderr if args.json else sys.stdout)
        return out
    if s.already_complete:
        print(f"study {s.name}: already complete: {s.trials} trials, nothing evaluated",
              file=sys.stderr if args.json else sys.stdout)
    elif not args.json:
        print(f"study {s.name}: {s.state}, {s.trials} trials ({s.evaluated_now} evaluated now, {s.reused} read back "
              f"from storage) in {s.seconds:.1f} s")
    if s.note:
        print(f"study {s.name}: {s.note}", file=sys.stderr)
    return out


def cmd_study_run(args: argparse.Namespace) -> Any:
    from coexplore.study.config import load_config
    from coexplore.study.study import run_study

    s = run_study(load_config(args.config), name=args.name, storage=args.storage, jobs=args.jobs,
                  backend=args.backend, address=args.address, progress=not (args.quiet or args.json),
                  join=args.join)
    return _summary(s, args)


def cmd_study_resume(args: argparse.Namespace) -> Any:
    from coexplore.study.study import resume_study

    s = resume_study(args.name, storage=args.storage, jobs=args.jobs, backend=args.backend, address=args.address,
                     progress=not (args.quiet or args.json), take_over=args.take_over, join=args.join)
    return _summary(s, args)


def _when(t: float | None) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _state(out: dict[str, Any]) -> str:
    state = out["state"]
    if out.get("state_note"):
        state += f" ({out['state_note']})"
    return state


def cmd_study_show(args: argparse.Namespace) -> Any:
    from coexplore.study.catalog import show_study

    out = show_study(args.name, storage=args.storage)
    if not args.json:
        trials = out["trials"]
        done = [t for t in trials if t["state"] == "COMPLETE"]
        print(f"study {out['name']}: {_state(out)}, {len(trials)} trials ({len(done)} complete); objectives "
              + ", ".join(f"{o} ({d})" for o, d in zip(out["objectives"], out["directions"], strict=True)))
        front = out["front"]
        if len(out["objectives"]) == 1 and front:
            best = front[0]
            print(f"best {out['objectives'][0]}: {best['values']} at trial {best['number']}: {best['params']}")
        elif front:
            print(f"Pareto front: {len(front)} trials (" + ", ".join(
                f"{o} {'max' if d == 'maximize' else 'min'}" for o, d in zip(out["objectives"], out["directions"],
                                                                              strict=True)) + ")")
            print("  ".join([f"{'trial':>6}", *(f"{o:>14}" for o in out["objectives"]), "params"]))
            for t in sorted(front, key=lambda t: tuple(t["values"])):
                params = {k: v for k, v in t["params"].items() if not isinstance(v, list)}  # not the raw vector x
                print("  ".join([f"{t['number']:>6}", *(f"{v:>14.6g}" for v in t["values"]), str(params)]))
        if out["state"] == "INTERRUPTED":
            print(f"continue it with `{out['resume']}`")
    return out


def cmd_study_list(args: argparse.Namespace) -> Any:
    from coexplore.study.catalog import list_studies

    rows = list_studies(storage=args.storage)
    if not args.json:
        if not rows:
            print("no studies")
        for r in rows:
            print(f"{r['name']}  kind {r['kind'] or '-'}  {_state(r)}  {r['trials']} trials ({r['complete']} complete, "
                  f"{r['failed']} failed)  objectives {','.join(r['objectives'])}  created {_when(r['created'])}")
    return {"studies": rows}


def cmd_study_delete(args: argparse.Namespace) -> Any:
    from coexplore.study.catalog import count_trials, delete_study

    n = count_trials(args.name, storage=args.storage)  # an unknown name is refused here, naming the valid ones
    if not args.yes:
        if not sys.stdin.isatty():
            raise SpecError(f"--yes: needed to delete study {args.name!r} ({n} trials) without a terminal to ask "
                            f"on, got none; nothing was removed")
        answer = input(f"delete study {args.name!r} and its {n} trials from {args.storage}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print(f"study {args.name}: kept")
            return None
    removed = delete_study(args.name, storage=args.storage)
    print(f"study {args.name}: deleted with its {removed} trials")
    return None


def cmd_study_export(args: argparse.Namespace) -> Any:
    from coexplore.report.trials_export import check_export_path, export_trials

    check_export_path(args.out)  # before the storage is opened
    path, n = export_trials(args.name, storage=args.storage, out=args.out)
    print(f"study {args.name}: {n} trials written to {path}")
    return None

"""The ``coexplore`` command: a thin shell over the public Python API.

Each command parses its arguments, calls one public function and formats the result
(a table, or JSON on stdout with ``--json``). Domain errors print one line on stderr
and exit with code 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Any

from coexplore.errors import CoexploreError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from coexplore.cli import (
        cim_commands,
        codesign_commands,
        commands,
        lowrank_commands,
        maestro_commands,
        nas_commands,
        noc_commands,
        report_commands,
        secure_commands,
        study_commands,
    )

    parser = argparse.ArgumentParser(
        prog="coexplore",
        description="Co-design neural networks, DNN accelerators and their mappings.",
    )
    parser.add_argument("--version", action="version", version=f"coexplore {_version()}")
    _add_global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.register(sub)
    nas_commands.register(sub)
    study_commands.register(sub)
    report_commands.register(sub)
    codesign_commands.register(sub)
    maestro_commands.register(sub)
    maestro_commands.register_system(sub)
    cim_commands.register(sub)
    secure_commands.register(sub)
    lowrank_commands.register(sub)
    noc_commands.register(sub)
    _everywhere(parser)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coexplore")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _add_global_options(p: argparse.ArgumentParser, *, suppress: bool) -> None:
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS if suppress else False,
                   help="show tracebacks for errors")
    p.add_argument("--data-dir", default=argparse.SUPPRESS if suppress else None,
                   help="reference data directory (default: $COEXPLORE_DATA)")


def _everywhere(parser: argparse.ArgumentParser) -> None:
    """``--debug`` and ``--data-dir`` also after the subcommand (``coexplore map ... --debug``): every
    subcommand takes them with a suppressed default, so the top-level value stands unless given there."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                if not any(isinstance(a, argparse._SubParsersAction) for a in child._actions):
                    _add_global_options(child, suppress=True)
                _everywhere(child)


def _tolerant_streams() -> None:
    """A file name that is not valid UTF-8 reaches Python as lone surrogates (``\\udcff``); printing it
    back (``saved to ...``, an error naming it) must not crash, so stdout and stderr escape them."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code (0, 2 for an error, 130 after Ctrl-C, 141 when stdout closed early)."""
    _tolerant_streams()
    previous = _terminate_like_ctrl_c()
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader left (`coexplore study show X | head -1`): stop quietly, as a tool killed by SIGPIPE
        # would; stdout goes to devnull so that the interpreter's final flush does not complain either
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


_MAIN_PID = os.getpid()


def _terminate(signum: int, frame: object) -> None:
    if os.getpid() != _MAIN_PID:  # a forked worker (a pool's) inherits the handler: die as it would have
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise KeyboardInterrupt(f"stopped by signal {signal.Signals(signum).name}")


def _terminate_like_ctrl_c() -> Any:
    """``kill PID`` (SIGTERM, what schedulers and ``timeout`` send) stops a command the way Ctrl-C does: a
    study is marked INTERRUPTED and the message says how to resume. Returns the handler to restore (None
    off the main thread, where Python cannot install one)."""
    global _MAIN_PID
    if threading.current_thread() is not threading.main_thread():
        return None
    _MAIN_PID = os.getpid()
    return signal.signal(signal.SIGTERM, _terminate)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from coexplore.datadir import set_data_dir

    set_data_dir(args.data_dir)
    try:
        result = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (CoexploreError, OSError) as e:
        if args.debug:
            traceback.print_exc()
        print(f"coexplore {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"coexplore {args.command}: interrupted" + (f": {e}" if str(e) else ""), file=sys.stderr)
        return 130
    if result is not None and getattr(args, "json", False):
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Inference runtimes a latency table can be measured with: PyTorch eager, TorchScript, ONNX Runtime.

A latency predictor learnt on one runtime fails on another (issue 20): each runtime has
its own per-operator overheads and graph rewrites (ONNX Runtime fuses Conv+BN+ReLU and
folds constant sub-graphs; eager PyTorch pays Python dispatch per module). So that users
can build device tables for the runtimes they deploy with, :func:`prepare_runtime` turns
a ``torch.nn.Module`` into a zero-argument callable that runs one inference on a fixed
input with a given number of intra-op threads, and :func:`framework_name` names the
runtime and thread count in the ``framework`` column of the table.

All three run offline: ONNX Runtime is the optional extra ``onnxruntime``; the model is
exported in memory with the TorchScript-based ONNX exporter (opset 17), as the Pi 5 ONNX
table's models were (opset 16 there).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from coexplore.errors import SpecError
from coexplore.optional import require

__all__ = ["RUNTIMES", "PreparedRuntime", "framework_name", "parse_framework", "prepare_runtime"]

#: Runtime name -> what it runs (the help text of ``coexplore measure --runtime``).
RUNTIMES: dict[str, str] = {
    "torch": "PyTorch eager mode under torch.inference_mode()",
    "torchscript": "TorchScript: torch.jit.trace then torch.jit.freeze (BatchNorm folded, constants inlined)",
    "onnxruntime": "ONNX Runtime CPU provider, all graph optimizations, sequential execution (extra 'onnxruntime')",
}
ONNX_OPSET = 17


def check_runtime(runtime: str) -> None:
    """A SpecError unless ``runtime`` is one of :data:`RUNTIMES`."""
    if runtime not in RUNTIMES:
        raise SpecError(f"runtime: must be one of {', '.join(RUNTIMES)}, got {runtime!r}")


def framework_name(runtime: str, threads: int) -> str:
    """The ``framework`` column of a table measured with ``runtime`` on ``threads`` threads.

    One thread (the Eagle / Pi 5 protocol) is implicit, so eager PyTorch on one thread stays
    ``torch`` as in earlier tables; otherwise the count is appended: ``onnxruntime-t2``.
    """
    check_runtime(runtime)
    return runtime if threads == 1 else f"{runtime}-t{threads}"


def parse_framework(framework: str) -> tuple[str, int]:
    """The inverse of :func:`framework_name`: ``(runtime, threads)``."""
    runtime, sep, rest = framework.rpartition("-t")
    if sep and runtime in RUNTIMES and rest.isdigit() and int(rest) > 1:
        return runtime, int(rest)
    check_runtime(framework)
    return framework, 1


@dataclass(frozen=True, slots=True)
class PreparedRuntime:
    """A model ready to run: ``run()`` does one inference; ``context()`` holds the runtime's thread setting."""

    run: Callable[[], Any]
    context: Callable[[], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(old)


def prepare_runtime(model: Any, input_shape: Sequence[int], *, runtime: str = "torch", threads: int = 1,
                    seed: int = 0) -> PreparedRuntime:
    """``model`` (a ``torch.nn.Module`` in eval mode) compiled for ``runtime`` with a seeded random input.

    Raises:
        SpecError: an unknown runtime.
        MissingDependencyError: ONNX Runtime asked for but not installed.
    """
    check_runtime(runtime)
    require("torch", extra="nas", who=f"measuring latency ({runtime})")
    import torch

    x = torch.randn(tuple(input_shape), generator=torch.Generator().manual_seed(seed))
    if runtime == "torch":
        return PreparedRuntime(run=lambda: model(x), context=lambda: _torch_threads(threads))
    if runtime == "torchscript":
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scripted = torch.jit.freeze(torch.jit.trace(model, (x,)))
        return PreparedRuntime(run=lambda: scripted(x), context=lambda: _torch_threads(threads))
    ort = require("onnxruntime", extra="onnxruntime", who="measuring latency (ONNX Runtime)")
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), buf, dynamo=False, opset_version=ONNX_OPSET,  # type: ignore[arg-type]
                          input_names=["input"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(buf.getvalue(), options, providers=["CPUExecutionProvider"])
    feed = {"input": x.numpy()}
    return PreparedRuntime(run=lambda: session.run(None, feed), context=contextlib.nullcontext)

"""Attention-based networks as coexplore workloads: BERT-base, ViT-B/16, the LRA Transformer, FNet, FABNet.

How each part of an encoder becomes layers (batch B, sequence L, width d, H heads, head dim d/H):

* projections (Q, K, V, output, FFN) are ``fc`` layers with N = B x L rows;
* the scores ``Q K^T`` and the context ``A V`` are batched matmuls of two activations: grouped 1x1
  layers with groups = B x H, N = L query rows, per group C = inner dim and K = columns, whose
  ``weights`` operand (K, resp. V) has ``weights_from="activations"`` (:class:`~coexplore.spec.
  workload.Layer`): the exact MACs B H L^2 d/H and operand sizes of the real computation;
* softmax (over the keys of every query row) and layer norm (over the width of every token) are
  :class:`~coexplore.spec.workload.VectorOp` s, priced by :mod:`coexplore.cost.vector`;
* a butterfly matrix of size n (log2 n stages of n/2 2x2 blocks) is log2 n grouped 1x1 layers
  with groups = n/2 and 2 x 2 channels per group: 2 n MACs per row and 2 n parameters per stage,
  2 n log2 n in all; a widening butterfly n_in -> n_out runs n_out / n_in butterflies of size n_in
  side by side, a narrowing one a butterfly of size n_in whose outputs are truncated;
* the 2-D Fourier mixing of FNet / FABNet is an FFT along the width (size d, L rows) and one along
  the sequence (zero-padded to the next power of two, d rows), each priced as butterfly stages
  with constant twiddles (``op="fft"``, ``weights_from="constants"``): 2 N log2 N per transform
  of size N, the counting of the FABNet authors (Fan et al., MICRO 2022, their figure script
  ``script_figs/compression_fabnet_transformer.py`` in SamsungLabs/Butterfly_Acc); the complex
  arithmetic of a real FFT is not counted separately. ``fnet-lra:mixing=dft`` prices the mixing as
  the two dense DFT matmuls instead (:meth:`EncoderBuilder.dft2d`).

Embeddings, biases, residual additions, GELU and the classifier head are left out (lookups and
element-wise work without MACs), as in the CNN zoo. Presets take parameters after a colon,
``bert-base:seq=512,layers=1`` (:func:`build_parametric`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coexplore.errors import SpecError
from coexplore.spec.workload import Layer, Network, VectorOp

__all__ = ["LRA_CONFIGS", "LRA_TASKS", "PARAMETRIC", "EncoderBuilder", "build_parametric", "is_power_of_two"]


def is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def _next_power_of_two(n: int) -> int:
    return 1 << (n - 1).bit_length()


def _positive(field: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise SpecError(f"{field}: must be a positive integer, got {value!r}")
    return value


class EncoderBuilder:
    """Collects the layers and vector ops of one attention-based network; every method checks its sizes."""

    def __init__(self, *, batch: int = 1) -> None:
        self.batch = _positive("batch", batch)
        self.layers: list[Layer] = []
        self.vector_ops: list[VectorOp] = []

    def fc(self, name: str, cin: int, cout: int, rows: int) -> None:
        self.layers.append(Layer(name=name, K=cout, C=cin, N=self.batch * rows, op="fc"))

    def layernorm(self, name: str, rows: int, width: int) -> None:
        self.vector_ops.append(VectorOp(name=name, kind="layernorm", rows=self.batch * rows, width=width))

    def attention(self, prefix: str, *, seq: int, width: int, heads: int, butterfly: bool = False) -> None:
        """Q, K, V projections, scores Q K^T, softmax, context A V, output projection (the four projections
        as butterfly matrices with ``butterfly``: FABNet's ABfly block)."""
        _positive("seq", seq)
        _positive("width", width)
        _positive("heads", heads)
        if width % heads:
            raise SpecError(f"heads: must divide the width {width}, got {heads}")
        head_dim, groups = width // heads, self.batch * heads
        project = (lambda name: self.butterfly(name, width, width, seq)) if butterfly else \
            (lambda name: self.fc(name, width, width, seq))
        for p in ("q", "k", "v"):
            project(f"{prefix}.{p}")
        self.layers.append(Layer(name=f"{prefix}.scores", K=groups * seq, C=groups * head_dim, N=seq, groups=groups,
                                 op="bmm", weights_from="activations"))
        self.vector_ops.append(VectorOp(name=f"{prefix}.softmax", kind="softmax", rows=groups * seq, width=seq))
        self.layers.append(Layer(name=f"{prefix}.context", K=groups * head_dim, C=groups * seq, N=seq, groups=groups,
                                 op="bmm", weights_from="activations"))
        project(f"{prefix}.out")

    def ffn(self, prefix: str, *, seq: int, width: int, hidden: int) -> None:
        self.fc(f"{prefix}.fc1", width, hidden, seq)
        self.fc(f"{prefix}.fc2", hidden, width, seq)

    def butterfly(self, prefix: str, n_in: int, n_out: int, rows: int, *, op: str = "butterfly",
                  weights_from: str = "parameters") -> None:
        """A butterfly matrix n_in -> n_out applied to ``rows`` rows (one layer per stage)."""
        for field, n in (("butterfly size (in)", n_in), ("butterfly size (out)", n_out)):
            _positive(field, n)
            if n < 2 or not is_power_of_two(n):
                raise SpecError(f"{field}: must be a power of two >= 2, got {n}")
        stages = n_in.bit_length() - 1
        rows = self.batch * rows
        for s in range(stages):
            width_in = n_in if s == 0 else max(n_in, n_out)
            width_out = max(n_in, n_out)
            self.layers.append(Layer(name=f"{prefix}.stage{s}", K=width_out, C=width_in, N=rows,
                                     groups=width_in // 2, op=op, weights_from=weights_from))

    def fft2d(self, prefix: str, *, seq: int, width: int) -> None:
        """FNet's 2-D Fourier mixing: an FFT over the width per token, then over the (padded) sequence."""
        _positive("seq", seq)
        if not is_power_of_two(width) or width < 2:
            raise SpecError(f"width: the FFT over the hidden width needs a power of two >= 2, got {width}")
        self.butterfly(f"{prefix}.fft_hidden", width, width, seq, op="fft", weights_from="constants")
        padded = max(2, _next_power_of_two(seq))
        self.butterfly(f"{prefix}.fft_seq", padded, padded, width, op="fft", weights_from="constants")

    def dft2d(self, prefix: str, *, seq: int, width: int) -> None:
        """FNet's mixing as dense DFT matmuls (what FNet runs on TPUs for short sequences), constant matrices:
        the real input times the complex width-DFT (2 real outputs per element: 2 L d^2 MACs), then the real
        part of the sequence-DFT of that complex result (Re(W X) = W_r X_r - W_i X_i: 2 d L^2 MACs)."""
        _positive("seq", seq)
        _positive("width", width)
        rows = self.batch
        self.layers.append(Layer(name=f"{prefix}.dft_hidden", K=2 * width, C=width, N=rows * seq, op="dft",
                                 weights_from="constants"))
        self.layers.append(Layer(name=f"{prefix}.dft_seq", K=seq, C=2 * seq, N=rows * width, op="dft",
                                 weights_from="constants"))

    def network(self, name: str) -> Network:
        return Network(name=name, layers=tuple(self.layers), vector_ops=tuple(self.vector_ops))


def transformer_encoder(name: str, *, seq: int, width: int, heads: int, hidden: int, layers: int,
                        batch: int = 1, prefix: str = "encoder") -> EncoderBuilder:
    """Post-norm encoder layers (BERT, the LRA Transformer): attention, LN, FFN, LN."""
    b = EncoderBuilder(batch=batch)
    _positive("layers", layers)
    _positive("hidden", hidden)
    for i in range(layers):
        p = f"{prefix}.{i}"
        b.attention(f"{p}.attn", seq=seq, width=width, heads=heads)
        b.layernorm(f"{p}.ln1", seq, width)
        b.ffn(f"{p}.ffn", seq=seq, width=width, hidden=hidden)
        b.layernorm(f"{p}.ln2", seq, width)
    return b


def bert_base(*, seq: int = 128, layers: int = 12, batch: int = 1) -> Network:
    """BERT-base encoder (12 layers, width 768, 12 heads, FFN 3072); ``seq`` tokens."""
    _positive("seq", seq)
    return transformer_encoder("bert-base", seq=seq, width=768, heads=12, hidden=3072, layers=layers,
                               batch=batch).network(f"bert-base-seq{seq}" if layers == 12 else
                                                    f"bert-base-seq{seq}-l{layers}")


def vit_b16(*, image: int = 224, layers: int = 12, batch: int = 1) -> Network:
    """ViT-B/16 (patch 16, width 768, 12 heads, MLP 3072, 12 pre-norm layers, CLS token, 1000 classes)."""
    _positive("image", image)
    if image % 16:
        raise SpecError(f"image: must be a multiple of the patch size 16, got {image}")
    grid = image // 16
    seq = grid * grid + 1
    b = EncoderBuilder(batch=batch)
    _positive("layers", layers)
    b.layers.append(Layer(name="conv_proj", K=768, C=3, P=grid, Q=grid, R=16, S=16, stride=(16, 16),
                          N=b.batch, op="conv"))
    for i in range(layers):
        p = f"encoder.layers.{i}"
        b.layernorm(f"{p}.ln_1", seq, 768)
        b.attention(f"{p}.attn", seq=seq, width=768, heads=12)
        b.layernorm(f"{p}.ln_2", seq, 768)
        b.ffn(f"{p}.mlp", seq=seq, width=768, hidden=3072)
    b.layernorm("encoder.ln", seq, 768)
    b.fc("heads.head", 768, 1000, 1)
    return b.network(f"vit-b16-{image}")


@dataclass(frozen=True, slots=True)
class LraConfig:
    layers: int
    width: int
    hidden: int
    seq: int


LRA_TASKS = ("listops", "text", "retrieval", "image", "pathfinder")

#: (model, task) -> configuration, from the FABNet authors' figure script (SamsungLabs/Butterfly_Acc,
#: ``script_figs/compression_fabnet_transformer.py``: the configurations behind the paper's
#: 10-66x / 2-22x reduction figure). The Transformer uses 2 heads (head dim 32) as their ``lra_config.py``.
LRA_CONFIGS: dict[tuple[str, str], LraConfig] = {
    **{("transformer", t): LraConfig(2, 64, 128, s) for t, s in zip(LRA_TASKS, (2000, 4000, 4000, 1024, 1024),
                                                                     strict=True)},
    ("fnet", "listops"): LraConfig(2, 64, 128, 2000), ("fnet", "text"): LraConfig(2, 64, 128, 4000),
    ("fnet", "retrieval"): LraConfig(2, 1024, 256, 4000), ("fnet", "image"): LraConfig(2, 64, 128, 1024),
    ("fnet", "pathfinder"): LraConfig(2, 64, 128, 1024),
    ("fabnet", "listops"): LraConfig(2, 128, 256, 2000), ("fabnet", "text"): LraConfig(2, 64, 256, 4000),
    ("fabnet", "retrieval"): LraConfig(2, 1024, 256, 4000), ("fabnet", "image"): LraConfig(1, 64, 128, 1024),
    ("fabnet", "pathfinder"): LraConfig(6, 64, 128, 1024),
}


def _lra(model: str, task: str, seq: int | None, layers: int | None = None, width: int | None = None,
         hidden: int | None = None) -> LraConfig:
    """The task's configuration with any of its fields overridden (each checked)."""
    if task not in LRA_TASKS:
        raise SpecError(f"task: must be one of {', '.join(LRA_TASKS)}, got {task!r}")
    cfg = LRA_CONFIGS[(model, task)]
    return LraConfig(*(getattr(cfg, f) if v is None else _positive(f, v) for f, v in
                       (("layers", layers), ("width", width), ("hidden", hidden), ("seq", seq))))


def lra_transformer(*, task: str = "listops", seq: int | None = None, heads: int = 2, batch: int = 1,
                    layers: int | None = None, width: int | None = None, hidden: int | None = None) -> Network:
    """The small LRA Transformer (2 layers, width 64, 2 heads, FFN 128) at the task's sequence length."""
    c = _lra("transformer", task, seq, layers, width, hidden)
    return transformer_encoder("lra-transformer", seq=c.seq, width=c.width, heads=heads, hidden=c.hidden,
                               layers=c.layers, batch=batch).network(f"lra-transformer-{task}-seq{c.seq}")


def fnet_lra(*, task: str = "listops", seq: int | None = None, batch: int = 1, layers: int | None = None,
             width: int | None = None, hidden: int | None = None, mixing: str = "fft") -> Network:
    """FNet at the LRA configuration: 2-D Fourier mixing (mixing=fft or dft), LN, dense FFN, LN."""
    c = _lra("fnet", task, seq, layers, width, hidden)
    if mixing not in ("fft", "dft"):
        raise SpecError(f"mixing: must be fft or dft, got {mixing!r}")
    b = EncoderBuilder(batch=batch)
    for i in range(c.layers):
        p = f"encoder.{i}"
        (b.fft2d if mixing == "fft" else b.dft2d)(f"{p}.mix", seq=c.seq, width=c.width)
        b.layernorm(f"{p}.ln1", c.seq, c.width)
        b.ffn(f"{p}.ffn", seq=c.seq, width=c.width, hidden=c.hidden)
        b.layernorm(f"{p}.ln2", c.seq, c.width)
    return b.network(f"fnet-lra-{task}-seq{c.seq}" + ("-dft" if mixing == "dft" else ""))


def fabnet_lra(*, task: str = "listops", seq: int | None = None, batch: int = 1, layers: int | None = None,
               width: int | None = None, hidden: int | None = None) -> Network:
    """FABNet at the LRA configuration: FBfly blocks (2-D FFT mixing and a butterfly FFN)."""
    c = _lra("fabnet", task, seq, layers, width, hidden)
    b = EncoderBuilder(batch=batch)
    for i in range(c.layers):
        p = f"encoder.{i}"
        b.fft2d(f"{p}.mix", seq=c.seq, width=c.width)
        b.layernorm(f"{p}.ln1", c.seq, c.width)
        b.butterfly(f"{p}.ffn.fc1", c.width, c.hidden, c.seq)
        b.butterfly(f"{p}.ffn.fc2", c.hidden, c.width, c.seq)
        b.layernorm(f"{p}.ln2", c.seq, c.width)
    return b.network(f"fabnet-lra-{task}-seq{c.seq}")


#: name -> (builder, parameter -> type). ``NAME:key=value,...`` builds with those keyword arguments.
PARAMETRIC: dict[str, tuple[Callable[..., Network], dict[str, type]]] = {
    "bert-base": (bert_base, {"seq": int, "layers": int, "batch": int}),
    "vit-b16": (vit_b16, {"image": int, "layers": int, "batch": int}),
    "lra-transformer": (lra_transformer, {"task": str, "seq": int, "heads": int, "batch": int, "layers": int,
                                          "width": int, "hidden": int}),
    "fnet-lra": (fnet_lra, {"task": str, "seq": int, "batch": int, "layers": int, "width": int, "hidden": int,
                            "mixing": str}),
    "fabnet-lra": (fabnet_lra, {"task": str, "seq": int, "batch": int, "layers": int, "width": int, "hidden": int}),
}


def build_parametric(name: str, params: str = "") -> Network:
    """Build preset ``name`` with ``params`` written ``key=value,key=value`` (every problem reported once).

    Raises:
        SpecError: an unknown key, a value of the wrong type, or a size the network refuses
            (``heads`` not dividing the width, a sequence length of 0 ...), prefixed with the network.
    """
    builder, kinds = PARAMETRIC[name]
    kwargs: dict[str, object] = {}
    problems = []
    for item in (x.strip() for x in params.split(",") if x.strip()):
        key, sep, value = (s.strip() for s in item.partition("="))
        if not sep or key not in kinds:
            problems.append(f"network {name}: parameter {item!r}: must be KEY=VALUE with KEY one of "
                            f"{', '.join(kinds)}")
            continue
        if kinds[key] is int:
            try:
                kwargs[key] = int(value)
            except ValueError:
                problems.append(f"network {name}: {key}: must be an integer, got {value!r}")
        else:
            kwargs[key] = value
    if problems:
        raise SpecError(problems)
    try:
        return builder(**kwargs)
    except SpecError as e:
        raise SpecError([f"network {name}: {p}" for p in e.problems]) from None

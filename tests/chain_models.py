"""A small digits chain with non-trivial BatchNorm statistics (as after training), for the quantization and
variation tests (needs torch: import it after the tests' optional-extra skip)."""

from __future__ import annotations

import torch

from coexplore.nas.chain import ChainSpace

CHAINS = ChainSpace(dataset="digits")


def bn_chain(text: str = "k3c9-k5c18") -> torch.nn.Module:
    """Chain ``text`` from torch seed 0, in eval mode, its BatchNorm running statistics drawn away from 0 and 1."""
    torch.manual_seed(0)
    model = CHAINS.to_torch(CHAINS.parse(text))
    with torch.no_grad():
        for block in model.features:
            block[1].running_mean.uniform_(-0.2, 0.2)
            block[1].running_var.uniform_(0.5, 2.0)
    return model.eval()

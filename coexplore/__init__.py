"""coexplore: co-design neural networks, DNN accelerators and the mappings between them.

Layers, lowest first (imports only go down; ``tests/test_layering.py`` enforces it):

* L0 ``spec`` (layers, networks, accelerators, technology tables, YAML), ``presets`` (model
  zoo, accelerator presets), ``errors``, ``registry``, ``datadir``;
* L1 ``mapping`` (mappings, legality, tiles, batch encoding, sampling, the map space) and
  ``interop`` (PyTorch, ONNX, Timeloop, ZigZag);
* L2 ``cost`` (reference walk, compiled batch kernels, lower bounds, results);
* L3 ``search`` (the one ask/tell driver, problems, strategies' base, Pareto);
* L4 ``mapper`` (mapping search for a layer and a network);
* L8 ``api`` and ``cli`` (thin shells over the above).
"""

__version__ = "0.1.0"

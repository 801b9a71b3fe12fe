"""coexplore: co-design neural networks, DNN accelerators and the mappings between them."""

__version__ = "0.1.0"

"""Import Timeloop inputs (problem, architecture, mapping, energies) as coexplore objects.

Two sources are read: the case JSONs of ``data/timeloop_reference`` (:func:`load_case`)
and Timeloop's own YAML files (:func:`load_timeloop_yaml`): a timeloopfe
``parsed-processed-input.yaml``, or separate v0.4 problem / architecture / mapping files,
with Accelergy's ``*.ERT.yaml`` for energies. Both go through the same conversion, so a
case and the files it was made from give equal objects; that is how the cost model is
checked against Timeloop's reference numbers.

Problem dimensions are recognised by how they project onto the three tensors, not by
their names: a dim in weights and outputs is K (Timeloop's cnn-layer calls it M), one in
weights and inputs is C, one in all three is G (depthwise), an input rank
``P*stride + R*dilation`` gives the output-row / filter-row pair, and so on. A projection
coexplore cannot express raises :class:`~coexplore.errors.InteropError` naming the
dataspace and the projection. Timeloop's spatial dummies (``inter_<container>_spatial``)
become container levels (``keeps`` empty). Energies missing from the ERT are priced from
coexplore's table for the architecture's ``technology`` (with a logged warning), or the
import is refused naming the field when there is no such table.

The package is split by responsibility, imports flowing one way: ``_problem`` (dimension
analysis -> Layer) <- ``_arch`` (architecture trees -> Accelerator) <- ``_mapping``
(directives -> Mapping) <- ``_case`` (reference-case JSON) <- ``_yaml`` (Timeloop's YAML).

Note: this L0 package builds an L1 :class:`~coexplore.mapping.Mapping`, because a Timeloop
case is a layer, an accelerator *and* a mapping.
"""

from coexplore.interop.timeloop._case import TimeloopCase, load_case
from coexplore.interop.timeloop._yaml import load_timeloop_yaml

__all__ = ["TimeloopCase", "load_case", "load_timeloop_yaml"]

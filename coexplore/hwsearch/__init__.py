"""Accelerator design spaces and their search under resource budgets (NAAS), the FPGA template (FNAS), and
its split over several linked boards (Super-LIP, :mod:`coexplore.hwsearch.multi_fpga`)."""

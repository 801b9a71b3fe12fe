"""Accelerator design spaces and their search under resource budgets (NAAS), and the FPGA template (FNAS)."""

"""Network search spaces: the NAS-Bench-201 cell space, its tables and predictor evaluation."""

"""The syntax analysis (paper sections 4.2 and 5): gold trees, heads scored per relation, probes, and its pipeline."""

"""The general analysis (paper sections 3 and 6): statistics, behaviours, head distances, and its pipeline."""

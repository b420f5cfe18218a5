"""Several models' maps of the same examples side by side: heads across models, one atlas (compare_models.py)."""

"""Gradient importance (the paper's Figure 3): the pipeline of gradient_importance.py."""

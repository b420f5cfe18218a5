"""The analyses of the paper, by concern: `general/` (average attention, entropy, behaviours, head distances),
`syntax/` (dependency heads, Table 1, the probes), `coref/` (coreference heads, Table 2), `gradients/` (Figure 3),
`compare/` (several models head by head), `engines/` (reading maps once into accumulators, streaming, Ray),
`report/` (figures, report pages, `view()`); beside them `heads` (head naming), `options` (every option, checked)
and `kernels` (compiled float64 helpers)."""


def __getattr__(name: str) -> object:
    """`from analysis import view, view_maps` (analysis/report/view.py), imported when first asked for."""
    if name in ("view", "view_maps"):
        from analysis.report import view

        return getattr(view, name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")

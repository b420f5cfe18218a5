"""Small word-level attention examples with gold trees for the syntax tests: random maps, one head may be planted."""

import numpy as np

RELATIONS = ("nsubj", "obj", "det", "punct")
WORDS = ("the", "cat", "dog", "saw", "a", "house", ".", "zzqx")


def random_heads(rng: np.random.Generator, n_words: int) -> list[int]:
    """A random tree: 1-based heads, one root (0), no cycles."""
    order = rng.permutation(n_words) + 1
    heads = [0] * n_words
    for rank, word in enumerate(order[1:], start=1):
        heads[word - 1] = int(order[rng.integers(0, rank)])
    return heads


def make_example(rng: np.random.Generator, n_words: int, grid: tuple[int, int] = (2, 3),
                 planted: tuple[int, int] | None = None, heads: list[int] | None = None) -> dict:
    """An example with random float16 maps `[L, H, n + 2, n + 2]`; head `planted` (layer, head) puts 0.9 of each
    word's attention on its gold head ([CLS] for the root)."""
    heads = heads if heads is not None else random_heads(rng, n_words)
    size = n_words + 2
    attns = rng.dirichlet(np.ones(size), size=(*grid, size))
    if planted is not None:
        rows = np.arange(1, n_words + 1)
        attns[planted][rows] *= 0.1
        attns[planted][rows, heads] += 0.9
    words = rng.choice(WORDS, n_words).tolist()
    relns = ["root" if head == 0 else str(rng.choice(RELATIONS)) for head in heads]
    return {"words": words, "heads": heads, "relns": relns, "tokens": ["[CLS]", *words, "[SEP]"],
            "attns": attns.astype(np.float16)}


def make_examples(seed: int, n_examples: int, **options) -> list[dict]:
    """`n_examples` examples of 3 to 8 words (keyword arguments of make_example)."""
    rng = np.random.default_rng(seed)
    return [make_example(rng, int(rng.integers(3, 9)), **options) for _ in range(n_examples)]

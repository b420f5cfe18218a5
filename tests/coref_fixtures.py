"""Coreference windows for the tests: random ones with word-level maps, and a plain reference of the definitions."""

import numpy as np

WORDS = ("the", "dog", "it", "Dog", "Mary", "she", "her", "house", "a", "they")
FEATS = ("_", "Number=Sing", "Number=Sing|Person=3", "Gender=Fem|Number=Sing|Person=3", "Number=Plur|Person=3",
         "Gender=Masc")
TYPES = ("pronoun", "proper", "nominal")
CATEGORIES = ("all", *TYPES)


def random_window(rng: np.random.Generator, n_words: int, grid: tuple[int, int] = (2, 3)) -> dict:
    """A window of random words, features and mentions (nested, one-word, several starting on one word), with
    random float16 word-level maps in which some rows are uniform, so that argmax ties occur."""
    mentions = []
    for _ in range(int(rng.integers(2, 2 + n_words))):
        start = int(rng.integers(0, n_words))
        end = int(rng.integers(start + 1, min(n_words, start + 3) + 1))
        head = int(rng.integers(start, end))
        mentions.append({"start": start, "end": end, "head": head, "entity": str(rng.integers(0, 3)),
                         "type": str(rng.choice(TYPES))})
    size = n_words + 2
    attns = rng.dirichlet(np.ones(size) * 0.3, size=(*grid, size))
    attns[rng.random((*grid, size)) < 0.2] = 1 / size
    return {"doc_id": "doc", "window": 0, "words": rng.choice(WORDS, n_words).tolist(),
            "upos": ["X"] * n_words, "feats": rng.choice(FEATS, n_words).tolist(),
            "mentions": sorted(mentions, key=lambda mention: (mention["start"], mention["end"])),
            "tokens": ["[CLS]", *(["w"] * n_words), "[SEP]"], "attns": attns.astype(np.float16)}


def plain_feats(feats: str) -> dict:
    """FEATS as a dict, written out."""
    pairs = {}
    if feats != "_":
        for item in feats.split("|"):
            name, value = item.split("=")
            pairs[name] = value
    return pairs


def plain_reference(windows: list[dict]) -> dict:
    """The coreference protocol written out with loops: counts and correct counts per category, for the three
    baselines and every head."""
    n_layers, n_heads = windows[0]["attns"].shape[:2]
    counts = dict.fromkeys(CATEGORIES, 0)
    baselines = {name: dict.fromkeys(CATEGORIES, 0) for name in ("nearest", "head_word_match", "rule_based")}
    heads = {category: np.zeros((n_layers, n_heads), int) for category in CATEGORIES}
    for window in windows:
        words, maps = window["words"], window["attns"].astype(np.float64)
        feats = [plain_feats(item) for item in window["feats"]]
        for mention in window["mentions"]:
            candidates = [other for other in window["mentions"] if other["start"] < mention["start"]]
            antecedents = [other for other in candidates if other["entity"] == mention["entity"]]
            if not antecedents:
                continue
            categories = ("all", mention["type"])
            for category in categories:
                counts[category] += 1

            def nearest(pool):
                best = None
                for other in pool:
                    if best is None or (other["start"], other["end"]) > (best["start"], best["end"]):
                        best = other
                return best

            def same_words(other, mention=mention, words=words):
                return [w.lower() for w in words[other["start"]:other["end"]]] == [
                    w.lower() for w in words[mention["start"]:mention["end"]]]

            def same_head(other, mention=mention, words=words):
                return words[other["head"]].lower() == words[mention["head"]].lower()

            def agree(other, mention=mention, feats=feats):
                for name in ("Number", "Gender", "Person"):
                    mine, theirs = feats[mention["head"]].get(name), feats[other["head"]].get(name)
                    if mine is not None and theirs is not None and mine != theirs:
                        return False
                return True

            rule_based = None
            for sieve in (same_words, same_head, agree, lambda other: True):
                passing = [other for other in candidates if sieve(other)]
                if passing:
                    rule_based = nearest(passing)
                    break
            choices = {"nearest": nearest(candidates), "head_word_match": nearest(
                [other for other in candidates if same_head(other)]), "rule_based": rule_based}
            for name, choice in choices.items():
                if choice is not None and choice["entity"] == mention["entity"]:
                    for category in categories:
                        baselines[name][category] += 1
            antecedent_heads = {other["head"] for other in antecedents}
            for layer in range(n_layers):
                for head in range(n_heads):
                    row = maps[layer, head, mention["head"] + 1]
                    best_word, best_weight = None, -1.0
                    for word in range(len(words)):
                        if word != mention["head"] and row[word + 1] > best_weight:
                            best_word, best_weight = word, row[word + 1]
                    if best_word in antecedent_heads:
                        for category in categories:
                            heads[category][layer, head] += 1
    return {"counts": counts, "baselines": baselines, "heads": heads}

"""The special tokens by role: the classifier token (`[CLS]`, `<s>`) and the separator (`[SEP]`, `</s>`).

Every definition that says `[CLS]`/`[SEP]` means these roles. The tokenizer knows which strings play them
(bert/tokenizers.py); an attention file records them per example as `"special_tokens": {"cls": ..., "sep": ...}`,
and a file without that record is read as BERT's `[CLS]`/`[SEP]`.
"""

import dataclasses
from collections.abc import Iterable

RECORD_FIELD = "special_tokens"


@dataclasses.dataclass(frozen=True)
class SpecialTokens:
    """The strings that play the classifier and separator roles."""

    cls: str = "[CLS]"
    sep: str = "[SEP]"

    def around(self, tokens: Iterable[str]) -> list[str]:
        """The classifier, the tokens, the separator: a single segment (and the row labels of a word-level map)."""
        return [self.cls, *tokens, self.sep]

    def record(self) -> dict[str, str]:
        """The roles as an attention file records them."""
        return {"cls": self.cls, "sep": self.sep}


BERT_SPECIAL_TOKENS = SpecialTokens()


def example_special_tokens(example: dict) -> SpecialTokens:
    """The roles an attention-file example records (BERT's when it records none); ValueError when malformed."""
    record = example.get(RECORD_FIELD)
    if record is None:
        return BERT_SPECIAL_TOKENS
    if not (isinstance(record, dict) and set(record) == {"cls", "sep"}
            and all(isinstance(value, str) and value for value in record.values())):
        raise ValueError(f"'{RECORD_FIELD}' should be {{\"cls\": string, \"sep\": string}}, got {record!r}")
    return SpecialTokens(record["cls"], record["sep"])


@dataclasses.dataclass(frozen=True)
class PairTemplate:
    """How a model joins two segments: `[CLS] A [SEP] B [SEP]` (BERT) or `<s> A </s></s> B </s>` (RoBERTa)."""

    special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS
    separator: tuple[str, ...] = ("[SEP]",)  # the special tokens between A and B

    def pair(self, tokens_a: Iterable[str], tokens_b: Iterable[str]) -> list[str]:
        """Two segments joined by the template."""
        return [self.special_tokens.cls, *tokens_a, *self.separator, *tokens_b, self.special_tokens.sep]

    @property
    def overhead(self) -> int:
        """How many special tokens a pair adds (3 for BERT, 4 for RoBERTa)."""
        return 2 + len(self.separator)


BERT_PAIR_TEMPLATE = PairTemplate()

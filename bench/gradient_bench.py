"""The gradient pass of gradient_importance.py against the forward pass of extract_attention.py, side by side on the
same examples.

The forward pass is the whole extraction pipeline (length-sorted batches, float16 maps of every example on the host)
with the embedded MiniLM; the gradient pass is the masked-LM loss and |dL/d alpha| reduced per key category, with the
same batches, on the MiniLM encoder plus a seeded random masked-LM head (MiniLM has none; a random head costs the same
as a trained one). Runs alternate (forward, gradient, forward, ...) and the fastest run of each counts; the target
(issue 14) is a gradient pass at most 4x the forward pass.

Run from the repository root:
    .venv/bin/python bench/gradient_bench.py [--rounds 3] [--ewt 400] [--wikipedia 100]
"""

import platform
import time
from pathlib import Path

import keras
from extract_bench import prepare_all, timed_extraction, workload_parser, workloads  # bench/ is the script's directory

from bert.checkpoint import embedded_model_dir, load_encoder, open_tokenizer, read_hugging_face_weights
from bert.extraction import AttentionExtractor
from bert.gradients import GradientImportance, MaskedExample, masked_example
from bert.modeling import MaskedLanguageModel, build_masked_lm


def masked_lm_with_random_head(bert_dir: Path, seed: int = 0) -> MaskedLanguageModel:
    """The checkpoint's encoder with a seeded random masked-LM head (output bias drawn too)."""
    from bert.checkpoint import assign_weights, read_config

    keras.utils.set_random_seed(seed)
    config = read_config(bert_dir)
    model = build_masked_lm(config)
    assign_weights(model.encoder, read_hugging_face_weights(bert_dir), bert_dir)
    model.output_bias.assign(keras.random.normal((config.vocab_size,), stddev=config.initializer_range, seed=seed))
    return model


def timed_gradients(importance: GradientImportance, masked: list[MaskedExample]) -> float:
    """Seconds to get every example's loss, gradient importance and average attention."""
    start = time.perf_counter()
    for _ in importance.statistics(masked):
        pass
    return time.perf_counter() - start


def main() -> None:
    """Time the forward and the gradient pass on each workload and print a table."""
    args = workload_parser(__doc__).parse_args()
    bert_dir = embedded_model_dir()
    tokenizer = open_tokenizer(bert_dir)
    named_workloads = workloads(args, bert_dir)
    extractor = AttentionExtractor(load_encoder(bert_dir, "float16"), tokenizer)
    importance = GradientImportance(masked_lm_with_random_head(bert_dir))
    print(f"{platform.processor() or platform.machine()}, Keras {keras.__version__} on {keras.backend.backend()}, "
          f"best of {args.rounds} rounds")
    print("| workload | examples | tokens | forward s | gradient s | gradient / forward |")
    print("|---|---|---|---|---|---|")
    for name, examples in named_workloads.items():
        prepared = prepare_all(examples, tokenizer)
        masked = [masked_example(example, ready, tokenizer, Path("bench"), index, 0)
                  for index, (example, ready) in enumerate(zip(examples, prepared, strict=True))]
        masked = [example for example in masked if example is not None]
        best_forward = best_gradient = float("inf")
        for _ in range(args.rounds):
            best_forward = min(best_forward, timed_extraction(extractor, examples, prepared))
            best_gradient = min(best_gradient, timed_gradients(importance, masked))
        tokens = sum(len(example.tokens) for example in prepared)
        print(f"| {name} | {len(examples)} | {tokens} | {best_forward:.2f} | {best_gradient:.2f} | "
              f"{best_gradient / best_forward:.2f}x |")


if __name__ == "__main__":
    main()

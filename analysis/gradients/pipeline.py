"""The gradient-importance analysis end to end (the paper's Figure 3): mask the examples, run the masked-LM head's
gradient pass, write gradients.json, the figure and report.html (docs/definitions.md, "Gradient importance")."""

import sys
from pathlib import Path

import numpy as np

import provenance
from analysis.options import GradientOptions, ModelOptions
from bert.extraction import open_model, prepare_example
from bert.gradients import CATEGORIES, ExampleStatistics, MaskedExample, check_masked_positions, masked_example
from bert.model_tokenizer import ModelTokenizer
from bert.special_tokens import RECORD_FIELD
from utils import InputError, check_input_file, check_output_dir, progress_bar, read_json, write_json

FIGURE = "figure3_gradient_importance"
MASKED_LM_UNSUPPORTED = ("deberta-v2", "modernbert")  # families whose masked-LM heads are not BERT's


def masked_examples(examples: list, tokenizer: ModelTokenizer, input_path: Path, max_length: int,
                    seed: int) -> tuple[list[MaskedExample], int, int]:
    """Every example validated (an InputError names the first bad one) and masked; returns the masked examples
    that fit `max_length`, and how many were too long and how many had nothing to mask."""
    kept, too_long, nothing = [], 0, 0
    for index, example in enumerate(examples):
        prepared = prepare_example(example, tokenizer, input_path, index, max_length, False)
        if prepared.skipped is not None:
            if "masked_positions" in example:
                check_masked_positions(example["masked_positions"], prepared.tokens, input_path, index,
                                       tokenizer.special_tokens)
            too_long += 1
            continue
        masked = masked_example(example, prepared, tokenizer, input_path, index, seed)
        if masked is None:
            nothing += 1
        else:
            kept.append(masked)
    return kept, too_long, nothing


def example_statistics(model, kept: list[MaskedExample], tokens_per_batch: int) -> list[ExampleStatistics]:
    """Each kept example's statistics, in input order, with a progress bar."""
    from bert.gradients import GradientImportance

    importance = GradientImportance(model, tokens_per_batch)
    statistics: list[ExampleStatistics | None] = [None] * len(kept)
    with progress_bar(total=len(kept), unit="ex", desc="gradients of the masked-LM loss") as progress:
        for index, one_example in importance.statistics(kept):
            statistics[index] = one_example
            progress.update()
    return statistics


def by_category(values: np.ndarray) -> dict[str, list]:
    """[layers, heads, 3] -> {category: [layers][heads]}."""
    return {name: values[:, :, position].tolist() for position, name in enumerate(CATEGORIES)}


def run(data_file: str | Path, outdir: str | Path, model: ModelOptions, options: GradientOptions,
        verbose: bool = False) -> dict:
    """Validate and mask the examples of `data_file`, load the model with its masked-LM head, then write
    gradients.json, Figure 3 and report.html (unless `options.no_html`) into `outdir`; returns the JSON."""
    input_path = check_input_file(data_file)
    outdir = Path(outdir)
    check_output_dir(outdir)
    source, config, tokenizer = open_model(model.model, model.max_sequence_length, model.cased, model.revision)
    if config.model_type in MASKED_LM_UNSUPPORTED:
        raise InputError(f"{source.directory}: gradient importance reads BERT-style masked-LM heads; "
                         f"{config.model_type} models are not supported by it")
    examples = read_json(input_path)
    if not isinstance(examples, list):
        raise InputError(f"{input_path}: expected a JSON list of examples")
    kept, too_long, nothing = masked_examples(examples, tokenizer, input_path, model.max_sequence_length,
                                              options.seed)
    if not kept:
        raise InputError(f"{input_path}: no example to analyse ({too_long} too long, {nothing} with nothing to mask)")

    from bert.backend import import_keras

    import_keras(verbose)
    from bert.checkpoint import debug_masked_lm, load_masked_lm

    masked_lm = debug_masked_lm(config, options.seed) if model.debug else load_masked_lm(source.directory)
    from analysis.report import page
    from analysis.report.figures import plot_gradient_importance, save_figure

    statistics = example_statistics(masked_lm, kept, model.tokens_per_batch)
    roles = tokenizer.special_tokens  # the model's strings of the classifier and separator roles
    grad_importance = np.mean([example.grad_importance for example in statistics], axis=0)
    avg_attn = np.mean([example.avg_attn for example in statistics], axis=0)
    output = {
        "source": str(input_path), "debug": model.debug, "grid": list(grad_importance.shape[:2]),
        "n_examples": len(kept), "n_skipped": too_long + nothing,
        "loss": float(np.mean([example.loss for example in statistics])),
        "grad_importance": by_category(grad_importance), "avg_attn": by_category(avg_attn),
        RECORD_FIELD: roles.record(),
        "run": provenance.run_record({"model": model, "gradients": options},
                                     model=provenance.model_record(source, config, model.debug),
                                     inputs={"preprocessed_data_file": input_path}),
    }
    save_figure(plot_gradient_importance(grad_importance, avg_attn, len(kept), model.debug, roles), outdir, FIGURE)
    write_json(outdir / "gradients.json", output)
    if not options.no_html:
        page.write_page(outdir, page.gradients_page(output, input_path))
    if too_long or nothing:
        print(f"{too_long} of {len(examples)} examples longer than {model.max_sequence_length} tokens and {nothing} "
              "with nothing to mask were skipped", file=sys.stderr)
    return output

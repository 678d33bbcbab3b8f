"""Corpus-level F1 (of Yes) and MCC for the exported lm-eval tasks, copied beside their YAMLs.

lm-eval's own `f1` and `matthews_corrcoef` aggregations are bootstrapped for a standard error
with 100,000 resamples each, whatever `--bootstrap_iters` says from the command line (its CLI
does not pass it on): minutes of CPU per metric and split for a model scored in seconds. These
give the same numbers (scikit-learn on every row's (gold, prediction) pair; choice 1 is Yes)
without the bootstrap. Self-contained: lm-eval imports this file by path, without the suite.
"""

from sklearn.metrics import f1_score, matthews_corrcoef


def f1_yes(items):
    """F1 of the Yes answer (choice 1); 0.0 where no row is Yes in gold or prediction."""
    golds, preds = zip(*items, strict=True)
    return float(f1_score(golds, preds, pos_label=1, zero_division=0.0))


def mcc(items):
    """Matthews correlation of the predictions with the gold answers (0.0 for a constant one)."""
    golds, preds = zip(*items, strict=True)
    return float(matthews_corrcoef(golds, preds))

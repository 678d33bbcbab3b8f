"""The start-up check of a prompt (`model.prompt`): its templates hold the fields the tasks fill,
and its yes and no words can be told apart. (That each is one token of the model's tokenizer,
and not the same one, is checked when the tokenizer is loaded: `model.backbone`.)"""

from __future__ import annotations

import string

from causal_semloss.errors import ConfigError

# The fields every task fills (model/batches.py): a template without one scores every question
# on the same text, a fake collapse; a field no task fills is a KeyError at the first row.
PROMPT_FIELDS = {"template": ("premise", "hypothesis"), "answer": ("label",)}


def validate_prompt(prompt) -> None:
    """Each template holds exactly the fields the tasks fill, and the yes and no words differ
    (the same word, or the same word in another case, scores every question one way; that they
    are different tokens is checked when the tokenizer is loaded)."""
    for key, needed in PROMPT_FIELDS.items():
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(prompt[key]) if f is not None}
        except ValueError as exc:
            raise ConfigError(f"config model.prompt.{key}: not a template ({exc})") from None
        missing = [f for f in needed if f not in fields]
        named = ", ".join("{" + f + "}" for f in missing)
        _require(not missing, key, f"has no {named} to fill")
        unknown = sorted(fields - set(needed))
        _require(not unknown, key, f"has fields no task fills: {unknown} (known: {list(needed)})")
    yes, no = prompt.yes_word, prompt.no_word
    for key, word in (("yes_word", yes), ("no_word", no)):
        _require(bool(word.strip()), key, "must not be empty")
    _require(
        yes.strip().casefold() != no.strip().casefold(),
        "yes_word",
        f"{yes!r} is the no_word {no!r}: every answer would be both",
    )


def _require(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"config model.prompt.{key}: {message}")

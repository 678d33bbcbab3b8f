"""The suite's own tokenizer for from-config models (no hub download possible here).

Prompt words are whole tokens; every other word (a node name) is spelt in character pieces
(WordPiece: first character, then `##`-continuations), so unseen names — including the 8-10
character names of the long_names split — always tokenize, and no name is ever <unk>.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
PUNCTUATION = ".,?:{}()'"
_PUNCT_RE = r"[.,?:{}()']"
NAME_CHARACTERS = string.ascii_letters + string.digits + "_-"


def prompt_words(texts: Iterable[str]) -> list[str]:
    """Whole-word vocabulary: every word of the templates, split the way the tokenizer splits."""
    words: set[str] = set()
    for text in texts:
        for special in SPECIAL_TOKENS:
            text = text.replace(special, " ")
        text = re.sub(r"\{[a-z_]+\}", " ", text)  # template fields
        for word in re.split(rf"\s+|({_PUNCT_RE})", text):
            if word and word not in PUNCTUATION:
                words.add(word)
    return sorted(words)


def build_tokenizer(
    templates: Iterable[str], extra_words: Iterable[str] = ()
) -> PreTrainedTokenizerFast:
    """A WordPiece tokenizer over prompt words + single characters; deterministic."""
    vocab: dict[str, int] = {}
    for token in [
        *SPECIAL_TOKENS,
        *PUNCTUATION,
        *prompt_words([*templates, *extra_words]),
        *NAME_CHARACTERS,
        *(f"##{c}" for c in NAME_CHARACTERS),
    ]:
        vocab.setdefault(token, len(vocab))
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="<unk>", max_input_chars_per_word=64))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(_PUNCT_RE), "isolated")]
    )
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", vocab["<bos>"])]
    )
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=["<start_of_turn>", "<end_of_turn>"],
        padding_side="left",
    )

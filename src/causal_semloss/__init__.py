"""causal-semloss: reproduce, check and extend semantic-loss fine-tuning for causal reasoning."""

__version__ = "0.1.0"

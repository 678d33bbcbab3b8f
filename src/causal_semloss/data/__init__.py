"""Data: generated splits with oracle labels (`generate`), external JSONL sets (`external`)."""

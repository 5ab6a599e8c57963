"""The training plane: every trainer loopwright runs (the triage head and its calibration, causal LMs,
LoRA adapters) and the cache that keys trained files by their inputs' digests."""

"""The training plane: data prepare (recipes, `data/`: filters, dedup, leakage-checked splits, balancing,
curriculum, the data card), every trainer loopwright runs (the triage head and its calibration, causal LMs,
LoRA adapters) and the cache that keys trained files by their inputs' digests."""

"""Local Hugging Face models: checkpoints, precision, int8 quantisation, LoRA adapters, the batching engine
(loading and serving only; trainers live in `loopwright.training`).

Importing this package imports nothing heavy; torch and transformers load in the modules that need them.
"""

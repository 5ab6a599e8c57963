"""Local Hugging Face models: checkpoints, precision, int8 quantisation, LoRA adapters, the sample LM.

Importing this package imports nothing heavy; torch and transformers load in the modules that need them.
"""

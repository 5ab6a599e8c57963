"""OpenAI-compatible wire protocol and routes."""

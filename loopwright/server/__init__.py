"""The HTTP surface: the OpenAI-compatible API, traces and feedback, health and metrics."""

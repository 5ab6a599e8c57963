"""Policies: who may see and do what, PII handling, output validators."""

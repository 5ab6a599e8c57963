"""Observe and decide: traces, metrics, costs and reports."""

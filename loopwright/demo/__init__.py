"""`loopwright demo`: the Larkspur Bank story replayed through the real system, with measured figures.

Phases are separate steps over one `DemoContext` (see `phases.py`), so later
phases (an adapter for "chargeback grace", a multilingual training cycle) add
steps without touching the others.
"""

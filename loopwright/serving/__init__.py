"""The request path: authentication, cache, triage, routing, backends and the per-request bundle."""

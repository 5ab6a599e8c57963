"""The self-learning plane: consented feedback, curation with spot checks, adapters and preference
optimisation under caps, each handing a candidate artifact to the release plane."""

"""loopwright: training, self-learning and inference run as one governed loop."""

__version__ = "0.1.0"

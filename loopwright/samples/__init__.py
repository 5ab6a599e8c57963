"""Sample applications that exercise every loopwright feature."""

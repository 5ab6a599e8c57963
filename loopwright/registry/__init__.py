"""The registry: content-addressed artifacts, their blobs, and the signed receipt chain."""

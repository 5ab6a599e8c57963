"""The registry: content-addressed artifacts, their blobs, the signed receipt chain, and what each
slot serves (deployment, flags, sticky assignment), so every plane above can read it."""

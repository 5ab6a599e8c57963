"""The release plane: deployment slots, and (later) gates, canaries and rollback."""

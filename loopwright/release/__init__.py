"""The release plane: goldens, the gate, canary releases, their analysis, and rollback."""

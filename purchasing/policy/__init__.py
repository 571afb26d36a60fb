"""The pure reorder-policy core: no Django, no app imports (import-linter holds this)."""

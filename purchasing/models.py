"""Models of this app (DESIGN.md, "Layout")."""

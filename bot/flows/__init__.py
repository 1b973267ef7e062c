"""Scripted conversations: YAML flows under flows/, loaded, checked and run here."""

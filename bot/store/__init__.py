"""Persistence: SQLAlchemy models, the database engine and the stores built on them."""

"""Persistence: SQLAlchemy tables and Alembic migrations, per-aggregate stores
that return domain entities (ORM rows never leave this package), and the
content-addressed artifact store."""

"""Alembic environment: run with a connection handed over by passeur.storage.schema."""

from alembic import context

from passeur.storage.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER = copy the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

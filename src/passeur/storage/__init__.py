"""The only place that talks to the database, the blob store and the secret box."""

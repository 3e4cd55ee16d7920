"""Shared infrastructure: database and tenant scope, storage, PDF, audit, outbox, jobs."""

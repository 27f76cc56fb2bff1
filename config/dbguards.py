"""Switches the database guards read (curation's append-only trigger on SQLite).

`manage.py flush` empties every table, the editorial log included: PostgreSQL's
flush is a TRUNCATE, which fires no row trigger; SQLite's deletes rows, which the
trigger would refuse. config's `flush` command sets `flushing` while it runs, so
both databases behave alike. Nothing else sets it.
"""

from contextvars import ContextVar

flushing: ContextVar[bool] = ContextVar("castnotes_flushing", default=False)

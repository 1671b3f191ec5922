"""Persistence: the engine, tables, repositories (the only SQL) and the unit of work."""

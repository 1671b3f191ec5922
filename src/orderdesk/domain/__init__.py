"""Pure domain logic: imports nothing but the standard library."""

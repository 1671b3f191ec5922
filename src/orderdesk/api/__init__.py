"""HTTP: the app factory, auth, rate limits, error mapping and thin routes."""

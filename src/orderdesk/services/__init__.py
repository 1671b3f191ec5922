"""One function per operation; the ports they need from the outside world."""

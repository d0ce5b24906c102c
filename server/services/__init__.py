"""Use cases: each public coroutine is one transaction over the pool."""

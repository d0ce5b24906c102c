"""Callbacks: the POST that tells a lead source how its queued (async) post was processed, to
the `returnurl` it posted with.

Pure rules, no I/O: `signing` (the signature header a receiver verifies, and the secret that
makes it), `records` (a callback's states, its attempts as reported, and the retry
schedule); which addresses a callback may reach is `server/domain/addresses.py`, shared
with deliveries.
"""

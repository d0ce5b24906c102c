"""The distribution engine: choosing buyers for stored leads and delivering to them.

Accepting a lead writes its distribution job in the same transaction (the outbox; see
`insert_lead`), and for a lead due now, its first step too. Walkers lease due jobs and walk
each lead's waterfall one step at a time, and deliver each step's sends; every send and job
is leased, so a process that dies mid-delivery leaves leases that run out, and another
process (or the same one restarted) takes the work over.

- `engine`: the Distributor, one per process, walking leads on the leased-work runner
  (server/services/runner.py), and EngineSettings.
- `step`: one step of a waterfall: plan it (the scan), reserve its sends under their locks.
- `scan`: where a lead would go now and why.
- `orders`: the order a send counts against.
- `deliver`: one delivery attempt and its outcome.
- `buyer_cache`: each lead type's buyers, compiled once per configuration version.
- `views`: what the engine shows without sending (scans, sends, scan logs).
"""

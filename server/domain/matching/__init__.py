"""Which buyers take a lead, and in which order.

`criteria` and `expressions` (what a delivery account takes), `delivery_index` (screening a
lead against thousands of accounts at once), `eligibility` (the engine's view of an account
and the checks that need no database), `lists` (distribution lists) and `selection` (client
automation: the waterfall's order).
"""

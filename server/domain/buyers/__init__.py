"""Buyers (LeadExec clients): `specs` (buyers, their delivery methods and delivery accounts),
`records` (the same as stored, with their ids) and `schedule` (the weekly windows a delivery
method sends in).
"""

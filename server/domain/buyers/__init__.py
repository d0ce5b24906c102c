"""Buyers (LeadExec clients): `specs` (buyers, their delivery methods and delivery accounts)
and `schedule` (the weekly windows a delivery method sends in).
"""

"""Receiving a posted lead: `screening` (the acceptance steps that need no database),
`call_data` (a call lead's call details) and `duplicates` (the duplicate key).
"""

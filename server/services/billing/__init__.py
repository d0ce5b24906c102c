"""Buyers' billing: `ledger` (balances, entries, payments, settings) and `cards` (cards on
file, card charges and the auto-charge runner)."""

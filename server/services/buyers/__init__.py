"""Use cases for buyers, their delivery methods and delivery accounts, orders and distribution
lists: `config` (saving them from config as code, inside its transaction), `edits` (saving
them one by one, by id: LeadExec's AddEdit calls) and `reads` (reading them back).

Every save that writes something bumps the account's buyer version, so each process's cached
snapshot of the buyers reloads.
"""

"""Money a buyer owes and pays: `ledger` (entries, balances, the prepaid rule) and `cards`
(card numbers checked, masked and never kept)."""

"""The marketplace's use cases: its records (catalog), buying a pack (purchases), and aged
leads with data pulls (aged)."""

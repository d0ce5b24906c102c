"""Adapters to the world outside the database: reference data now, deliveries later."""

"""Clients of leadrouter: the Python client over the gRPC stubs, and the `leadrouter` command."""

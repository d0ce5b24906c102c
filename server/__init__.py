"""leadrouter's server: domain rules, use cases, storage and the gRPC services."""

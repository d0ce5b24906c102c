"""The gRPC servicers: each translates its service's messages into use-case calls and back."""

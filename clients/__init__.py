"""Clients of leadrouter: the Python client over the gRPC stubs, and the `leadrouter` command."""

import os

# leadrouter never forks a process that goes on using gRPC (`serve --processes` starts its
# workers with exec), so gRPC's fork handlers are not needed; with them, every fork while
# gRPC threads run logs "skipping fork() handlers". Set before gRPC is first imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

"""An FTP server (pyftpdlib) on loopback, standing in for a buyer's, for the delivery tests."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

with warnings.catch_warnings():  # pyftpdlib still imports asyncore and asynchat
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer


@contextmanager
def ftp_server(
    home: Path, user: str, password: str, handler: type[Any] = FTPHandler, **attributes: Any
) -> Iterator[int]:
    """Serve `home` to `user` with `handler` (given these class attributes) until the block
    ends; the port it listens on."""
    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, str(home), perm="elradfmw")
    served = type(
        "Handler", (handler,), {"authorizer": authorizer, "auth_failed_timeout": 0, **attributes}
    )
    server = FTPServer(("127.0.0.1", 0), served)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        server.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield server.socket.getsockname()[1]
    finally:
        stop.set()
        thread.join()

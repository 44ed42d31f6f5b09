"""The terminal chat (`tandem chat`), built with Textual.

    from tui import TandemChat, open_backend
    TandemChat(open_backend(config)).run()

`open_backend` talks to the edge daemon when one runs and otherwise runs the edge
agent in this process; the status bar says which.
"""

from tui.app import TandemChat
from tui.backend import ChatBackend, ChatTurn, InProcessBackend, open_backend

__all__ = ["ChatBackend", "ChatTurn", "InProcessBackend", "TandemChat", "open_backend"]

"""The `copilot` command: `main` (the root commands), `audit`, `db`, `guard`, `training`
(`quiz` and `training`), `users` and `verify`, with the error mapping in `output`."""

from .main import app

__all__ = ["app"]

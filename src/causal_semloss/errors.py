"""Errors a user can fix, and the one-line way the CLIs report them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

T = TypeVar("T")


class UserError(Exception):
    """Bad input (config, file, model dir): reported as one line, exit code 2."""


class ConfigError(UserError):
    """A config value is out of range or names something that does not exist."""


class DataError(UserError):
    """A data file is malformed; the message names the file, line and field."""


def exit_on_user_error(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn a UserError into `error: <message>` on stderr and exit status 2 (no traceback)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)

    return wrapper

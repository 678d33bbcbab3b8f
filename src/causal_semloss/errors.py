"""Errors a user can fix, and the one-line way the CLIs report them."""

from __future__ import annotations

import json
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


# What an entry point expects to go wrong with a user's input: a UserError (config, data, model
# dir) and what reading a named file can raise. Anything else is a bug and keeps its traceback.
EXPECTED = (UserError, OSError, UnicodeError, json.JSONDecodeError)


def one_line(exc: BaseException) -> str:
    """The message of an expected failure as one line: an OSError as `path: reason`."""
    if isinstance(exc, json.JSONDecodeError):
        message = f"malformed JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
    elif isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        message = f"{exc.filename}: {exc.strerror}"
        if exc.filename2 is not None:
            message += f" ({exc.filename2})"
    else:
        message = str(exc) or type(exc).__name__
    return " ".join(message.split("\n"))


def exit_on_user_error(fn: Callable[..., T]) -> Callable[..., T]:
    """The one guard at each CLI's entry: a UserError, OSError, UnicodeError or malformed JSON
    becomes `error: <message>` on stderr and exit status 2 (no traceback)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EXPECTED as exc:
            print(f"error: {one_line(exc)}", file=sys.stderr)
            sys.exit(2)

    return wrapper

"""Input files a user names (external JSONL sets): checked to be readable files before anything
runs, and read line by line with every line's length bounded.

`require_input_file` says what is wrong in words (no such file, is a directory, not a regular
file, permission denied), so the start-up checks and the loaders give the same one-line error.
A named pipe is accepted on purpose (a set streamed from another process, `<(zcat set.gz)`)
and read once; its first read waits at most `PIPE_WAIT_SECONDS` for a writer.
`read_lines` never holds more than `MAX_LINE_BYTES` of one line: a longer line is reported as
`None` (the caller counts it as `line_too_long`) and skipped, so a file of any shape is read in
flat memory.
"""

from __future__ import annotations

import os
import select
import stat
from collections.abc import Iterator
from pathlib import Path

from causal_semloss.errors import DataError

# Longest line parsed (1 MiB): a premise of that size is far beyond data.max_nodes and
# eval.max_prompt_tokens, and parsing cost grows with it (the row regexes, json.loads).
MAX_LINE_BYTES = 1 << 20
# How long the first read of a named pipe waits for its writer (pipes are accepted: a set can
# be streamed from another process); without a bound, a pipe nobody writes hangs the reader.
PIPE_WAIT_SECONDS = 60.0
UTF8_BOM = b"\xef\xbb\xbf"
_KINDS = {
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def require_input_file(path: str | Path) -> Path:
    """`path` if it is a regular file (or a pipe) this process can read; DataError otherwise."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except NotADirectoryError:
        raise DataError(f"{path}: no such file (a parent is not a directory)") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied (cannot look it up)") from None
    if stat.S_ISDIR(mode):
        raise DataError(f"{path}: is a directory")
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        kind = next((name for test, name in _KINDS.items() if test(mode)), "a special file")
        raise DataError(f"{path}: not a regular file ({kind})")
    if stat.S_ISREG(mode):  # opening a pipe would block until a writer comes
        _open(path).close()
    return path


def require_distinct_input_files(paths: list[str]) -> list[Path]:
    """Each of `paths` a readable input file (`require_input_file`), and no file named twice:
    `test.jsonl`, `./test.jsonl`, its absolute path, a symlink or a hard link to it are one
    file (compared by device and inode), which would otherwise be scored as several sets."""
    seen: dict[tuple[int, int], str] = {}
    for path in paths:
        status = require_input_file(path).stat()
        first = seen.setdefault((status.st_dev, status.st_ino), path)
        if first != path or paths.count(path) > 1:
            also = "" if first == path else f" (as {first} and {path})"
            raise DataError(f"lists {first} twice{also}")
    return [Path(path) for path in paths]


def _open(path: Path):
    try:
        if stat.S_ISFIFO(path.stat().st_mode):
            return _open_pipe(path)
        return open(path, "rb")
    except PermissionError:
        raise DataError(f"{path}: permission denied (cannot read it)") from None


def _open_pipe(path: Path):
    """A named pipe, opened once something can be read from it (data, or the end of a writer
    that wrote nothing): a plain open would wait for a writer for ever. Nothing within
    PIPE_WAIT_SECONDS is a DataError."""
    wait = PIPE_WAIT_SECONDS  # read at call time, so a test can lower it
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # returns at once, writer or not
    try:
        readable, _, _ = select.select([fd], [], [], wait)
        if not readable:
            raise DataError(
                f"{path}: a named pipe with nothing to read after {wait:g} s; start its writer "
                "first (pipes are accepted on purpose, read as they are written)"
            )
        os.set_blocking(fd, True)  # from here on, reads wait for the writer as a file's do
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_lines(path: str | Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text) of every line, decoded one at a time; a leading BOM is dropped. A
    line over MAX_LINE_BYTES is (line number, None), read past in chunks, never held whole.
    Invalid UTF-8 is a DataError naming the file, line and byte."""
    path = require_input_file(path)
    limit = MAX_LINE_BYTES  # read at call time, so a test can lower it
    with _open(path) as fh:
        line_no = 0
        while raw := fh.readline(limit + 1):
            line_no += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):
                    raw = fh.readline(limit)
                yield line_no, None
                continue
            if line_no == 1:
                raw = raw.removeprefix(UTF8_BOM)
            try:
                yield line_no, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}:{line_no}: not UTF-8 (byte 0x{raw[exc.start]:02x})"
                ) from None

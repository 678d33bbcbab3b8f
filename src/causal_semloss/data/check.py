"""`python -m causal_semloss.data.check FILE --task transitivity [--json]`: check an external set.

Prints the number of rows, valid rows, invalid rows by reason and informational counts (valid
rows worth knowing about, such as `isolated_query_node`); with --json the last line is one JSON
object {"n": N, "valid": V, "invalid": {reason: count}, "info": {name: count}}; valid plus
the invalid counts is always N. The file is streamed, so memory stays flat whatever its size.
Exit 2 with one `error:` line on a malformed file (invalid UTF-8, bad JSON, a row of neither
shape or of both, a field of the wrong type, no rows) or a path that is not a readable file
(missing, a directory, /dev/null). A named pipe is accepted (read once, as it is written): its
writer is awaited `input_files.PIPE_WAIT_SECONDS`.
"""

from __future__ import annotations

import argparse
import json

from causal_semloss.data.external import check_external
from causal_semloss.errors import ConfigError, exit_on_user_error
from causal_semloss.input_files import PIPE_WAIT_SECONDS
from causal_semloss.tasks import TASK_NAMES


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="causal-semloss-check", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "file",
        help="a JSONL file, or a named pipe (read as written; its writer is awaited "
        f"{PIPE_WAIT_SECONDS:g} s)",
    )
    parser.add_argument("--task", required=True, choices=TASK_NAMES)
    parser.add_argument(
        "--max-nodes",
        type=int,
        default=None,
        help="premises with more distinct nodes are invalid (too_large); default: data.max_nodes "
        "of the default data setting",
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON summary line")
    args = parser.parse_args(argv)
    if args.max_nodes is not None and args.max_nodes <= 0:  # as data.max_nodes: > 0
        raise ConfigError(f"--max-nodes must be > 0, got {args.max_nodes}")
    summary = check_external(args.file, args.task, max_nodes=args.max_nodes)
    print(f"{args.file}: {summary['n']} rows, {summary['valid']} valid")
    for reason, count in summary["invalid"].items():
        print(f"  {reason:<22} {count}")
    for name, count in summary["info"].items():
        print(f"  {name:<22} {count} (info: valid rows)")
    if args.json:
        print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()

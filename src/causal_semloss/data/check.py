"""`python -m causal_semloss.data.check FILE --task transitivity [--json]`: check an external set.

Prints the number of rows, valid rows and invalid rows by reason; with --json the last line is
one JSON object {"n": N, "valid": V, "invalid": {reason: count}}. Exit 2 on a malformed file.
"""

from __future__ import annotations

import argparse
import json

from causal_semloss.data.external import load_external
from causal_semloss.errors import exit_on_user_error
from causal_semloss.schema import TASKS


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="causal-semloss-check", description=__doc__.splitlines()[0]
    )
    parser.add_argument("file")
    parser.add_argument("--task", required=True, choices=TASKS)
    parser.add_argument("--json", action="store_true", help="end with one JSON summary line")
    args = parser.parse_args(argv)
    loaded = load_external(args.file, args.task, on_invalid="keep")
    summary = loaded.summary()
    print(f"{args.file}: {summary['n']} rows, {summary['valid']} valid")
    for reason, count in summary["invalid"].items():
        print(f"  {reason:<22} {count}")
    if args.json:
        print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()

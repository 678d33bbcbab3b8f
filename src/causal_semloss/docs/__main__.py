"""`python -m causal_semloss.docs [--check] [--repo DIR]`: rebuild docs/configuration.md and every
page whose template is under docs/templates/ (docs/templates/X.md -> docs/X.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from causal_semloss.docs import config_reference, pages

REPO = Path(__file__).resolve().parents[3]


def generated(repo: Path) -> dict[Path, str]:
    """Every generated page, by path, as it should read now."""
    out = {repo / "docs" / "configuration.md": config_reference.render()}
    templates = repo / "docs" / "templates"
    for template in sorted(templates.rglob("*.md")):
        out[repo / "docs" / template.relative_to(templates)] = pages.render(template, repo)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m causal_semloss.docs", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a page is stale"
    )
    parser.add_argument("--repo", type=Path, default=REPO)
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated(args.repo).items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(args.repo))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    verb = "stale" if args.check else "rebuilt"
    print(f"{verb}: {', '.join(map(str, stale))}" if stale else "docs up to date")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())

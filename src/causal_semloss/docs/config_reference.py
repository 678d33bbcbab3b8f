"""docs/configuration.md, generated: every config group, its options (with the comment that opens
each YAML file) and every key an option sets, with its type from the schema
(`causal_semloss.schema`), its value in the composed default config and the YAML comment that
explains it. Nothing here is hand-copied, so `tests/test_docs.py` can fail when the page is stale.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from causal_semloss.paths import CONFIG_DIR
from causal_semloss.schema import RootConfig

KEY_LINE = re.compile(r"^(\s*)([A-Za-z_][\w]*):(.*)$")
HELP_GROUPS = ("hydra",)  # Hydra's own settings: documented by Hydra
OPTIONS_ONLY = ("experiment",)  # named set-ups of many keys: each option and the keys it sets


def _header(lines: list[str]) -> str:
    """The comment block that opens a YAML file (after `# @package`)."""
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        if not line.startswith("# @package"):
            out.append(line.lstrip("#").strip())
    return " ".join(out)


def _drop_header(lines: list[str]):
    """The lines after the file's opening comment block (which `_header` reads)."""
    it = iter(lines)
    for line in it:
        if not line.startswith("#"):
            yield line
            break
    yield from it


def _comments(lines: list[str]) -> dict[str, str]:
    """Dotted key -> its comment: the trailing `# ...` on its line, else the block just above."""
    found: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    above: list[str] = []
    header = len(lines) - len(list(_drop_header(lines)))
    for line in lines[header:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            if not stripped.startswith("# @package"):
                above.append(stripped.lstrip("#").strip())
            continue
        match = KEY_LINE.match(line)
        if not match:
            if not stripped:
                above = []
            continue
        indent, key, rest = len(match.group(1)), match.group(2), match.group(3)
        stack = [(i, k) for i, k in stack if i < indent]
        dotted = ".".join([k for _, k in stack] + [key])
        stack.append((indent, key))
        trailing = rest.split(" #", 1)[1].strip() if " #" in rest else ""
        comment = trailing or " ".join(above)
        if comment and dotted != "defaults":
            found[dotted] = comment
        above = []
    return found


def _selects(path: Path) -> str:
    """The options an option file picks in other groups (its `override /group: option` defaults)."""
    entries = (OmegaConf.to_container(OmegaConf.load(path)) or {}).get("defaults", [])
    picked = [
        f"`{k.removeprefix('override ').lstrip('/')}={v}`"
        for entry in entries
        if isinstance(entry, dict)
        for k, v in entry.items()
        if k.startswith("override /")
    ]
    return f" Selects {', '.join(picked)}." if picked else ""


def _flatten(node, prefix: str = "") -> dict[str, object]:
    if isinstance(node, dict) and node:
        out: dict[str, object] = {}
        for key, value in node.items():
            if key == "defaults" and not prefix:
                continue
            out |= _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    return {prefix: node}


def _type_name(hint) -> str:
    text = str(hint).replace("typing.", "")
    return re.sub(r"<class '(\w+)'>", r"\1", text)


def _schema_type(path: str) -> str:
    """The schema's type of a dotted key, or '' where the schema holds a free dict."""
    node = RootConfig
    for part in path.split("."):
        if not (dataclasses.is_dataclass(node) and isinstance(node, type)):
            return ""
        hints = typing.get_type_hints(node)
        if part not in hints:
            return ""
        node = hints[part]
        origin = typing.get_args(node)
        if dataclasses.is_dataclass(node):
            continue
        # `X | None`: step into X when X is a dataclass
        dataclass_args = [a for a in origin if dataclasses.is_dataclass(a)]
        if dataclass_args and part != path.split(".")[-1]:
            node = dataclass_args[0]
    return "" if dataclasses.is_dataclass(node) else _type_name(node).replace("|", "\\|")


def _show(value) -> str:
    text = OmegaConf.to_yaml(value).strip() if isinstance(value, (dict, list)) else repr(value)
    text = "null" if value is None else text.replace("\n", " ")
    return "`" + text.replace("|", "\\|") + "`"


def _group_dirs(conf: Path) -> list[str]:
    groups = sorted(
        p.parent.relative_to(conf).as_posix() for p in conf.rglob("*.yaml") if p.parent != conf
    )
    return [g for g in dict.fromkeys(groups) if g.split("/")[0] not in HELP_GROUPS]


def render(conf: Path = CONFIG_DIR) -> str:
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        composed = OmegaConf.to_container(compose(config_name="config"), resolve=False)
    defaults = _flatten(composed)
    root_lines = (conf / "config.yaml").read_text().splitlines()
    out = [
        "<!-- Generated by `python -m causal_semloss.docs` from src/causal_semloss/schema.py and "
        "the YAML in conf/: do not edit by hand. -->",
        "# Configuration reference",
        "",
        "Every run composes `conf/config.yaml` (a link to `src/causal_semloss/conf/`) from the groups "
        "below; the schema (`src/causal_semloss/schema.py`) gives each key its type and Hydra checks "
        "it while composing, then `config_checks.py` checks ranges. Choose an option with "
        "`group=option`, set a key with `key=value`. *Default* is the value in the config a bare "
        "command composes; a group's default option is marked **(default)**. Options of the "
        "`recipe` and `experiment` groups are global (`# @package _global_`): they set keys "
        "anywhere, listed with their full path.",
        "",
        "## Root keys (`conf/config.yaml`)",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    root_comments = _comments(root_lines)
    root_keys = _flatten(OmegaConf.to_container(OmegaConf.load(conf / "config.yaml")))
    for key in sorted(k for k in root_keys if not k.startswith("hydra.")):
        out.append(
            f"| `{key}` | {_schema_type(key)} | {_show(defaults.get(key))} | {root_comments.get(key, '')} |"
        )
    chosen = {
        next(iter(d)): d[next(iter(d))]
        for d in OmegaConf.to_container(OmegaConf.load(conf / "config.yaml"))["defaults"]
        if isinstance(d, dict)
    }
    for group in _group_dirs(conf):
        out += [f"\n## `{group}`\n", "| option | what it is |", "|---|---|"]
        files = sorted((conf / group).glob("*.yaml"))
        for path in files:
            mark = " **(default)**" if chosen.get(group) == path.stem else ""
            about = _header(path.read_text().splitlines()) + _selects(path)
            if group in OPTIONS_ONLY:
                keys = _flatten(
                    {
                        k: v
                        for k, v in (OmegaConf.to_container(OmegaConf.load(path)) or {}).items()
                        if k != "defaults"
                    }
                )
                about += (
                    " Sets: "
                    + ", ".join(f"`{k}`" for k in sorted(keys) if not k.startswith("hydra."))
                    + "."
                )
            out.append(f"| `{path.stem}`{mark} | {about} |")
        if group in OPTIONS_ONLY:
            continue
        out += [
            "",
            "| key | type | default | set by (option: value) | meaning |",
            "|---|---|---|---|---|",
        ]
        rows: dict[str, dict] = {}
        for path in files:
            lines = path.read_text().splitlines()
            is_global = any(line.startswith("# @package _global_") for line in lines)
            prefix = "" if is_global else group.replace("/", ".")
            loaded = OmegaConf.to_container(OmegaConf.load(path))
            loaded = {k: v for k, v in (loaded or {}).items() if k != "defaults"}
            values = _flatten(loaded, prefix)
            comments = {f"{prefix}.{k}" if prefix else k: c for k, c in _comments(lines).items()}
            for key, value in values.items():
                if key.startswith("hydra."):
                    continue
                row = rows.setdefault(key, {"set": [], "meaning": ""})
                row["set"].append(f"{path.stem}: {_show(value)}")
                row["meaning"] = row["meaning"] or comments.get(key, "")
        # Keys no option sets: their default comes from the schema (schema.py).
        prefix = group.replace("/", ".") + "."
        subgroups = tuple(
            g.replace("/", ".") + "." for g in _group_dirs(conf) if g.startswith(group + "/")
        )
        for key in defaults:
            if key.startswith(prefix) and not key.startswith(subgroups) and key not in rows:
                rows[key] = {"set": ["schema default"], "meaning": ""}
        for key, row in sorted(rows.items()):
            out.append(
                f"| `{key}` | {_schema_type(key)} | {_show(defaults.get(key))} | "
                f"{'; '.join(row['set'])} | {row['meaning']} |"
            )
    return "\n".join(out) + "\n"

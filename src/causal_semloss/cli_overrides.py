"""What every Hydra entry point checks in its command line before Hydra composes it, and how
it ends on Ctrl-C: an unknown option of a config group (`task=foo`, `recipe=`, `model=`,
`experiment=`, ...) and a run or sweep dir that is an existing file are one `error:` line and
exit 2 (Hydra's own message is several lines, exit 1); Ctrl-C is one line and exit 130."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from causal_semloss.errors import ConfigError, exit_on_user_error
from causal_semloss.paths import CONFIG_DIR

_DIR_KEYS = ("hydra.run.dir", "hydra.sweep.dir")
_OTHER_CONFIG_FLAGS = ("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn")


def check_overrides(args: list[str], config_dir: Path = CONFIG_DIR) -> None:
    """ConfigError for the first override in `args` that names an option its config group (a
    dir of `config_dir`) lacks, or a run/sweep dir that exists as something else than a dir.
    Anything else is left to Hydra (its flags, keys, syntax errors)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    # Another config dir or search path may add options: then Hydra alone knows the groups.
    other_configs = any(
        a.split("=")[0] in _OTHER_CONFIG_FLAGS or a.lstrip("+").startswith("hydra.searchpath")
        for a in args
    )
    for arg in args:
        if arg.startswith("-") or "=" not in arg:
            continue
        try:
            override = parser.parse_override(arg)
        except HydraException:
            continue  # Hydra says what is wrong with its syntax
        key = override.key_or_group
        if key in _DIR_KEYS and not override.is_sweep_override():
            path = Path(str(override.value())).expanduser()
            if path.exists() and not path.is_dir():
                raise ConfigError(f"{key}={path}: exists and is not a dir")
            continue
        group = config_dir / key
        if other_configs or override.is_delete() or key.startswith("hydra") or not group.is_dir():
            continue
        values = (
            list(override.sweep_string_iterator())
            if override.is_sweep_override()
            else [override.value()]
        )
        known = sorted(p.stem for p in group.glob("*.yaml"))
        for value in values:
            if value is not None and str(value) not in known:
                raise ConfigError(f"config {key}: unknown option {str(value)!r}; one of {known}")


def hydra_entry(hydra_main: Callable[[], None]) -> Callable[[], None]:
    """The console entry of a `@hydra.main` function: its overrides checked first
    (`check_overrides`), and Ctrl-C one line, exit 130 (what is written is written atomically:
    no half-written file is left behind)."""

    def main() -> None:
        exit_on_user_error(check_overrides)(sys.argv[1:])
        try:
            hydra_main()
        except KeyboardInterrupt:
            print("stopped: interrupted (nothing half-written is left)", file=sys.stderr)
            sys.exit(130)

    return main

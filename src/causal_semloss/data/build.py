"""Build a task's whole data directory: every split, a manifest, all written atomically.

The directory is keyed by a hash of (task, data, seed) config, so a second run with the same
config reuses it; it is assembled in a temp dir and renamed into place, so a crash never
leaves a half-written data set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock
from omegaconf import DictConfig, OmegaConf

from causal_semloss.atomic import atomic_dir, remove_stale_staging, write_json, write_jsonl
from causal_semloss.config_checks import checked
from causal_semloss.data.adversarial import generate_adversarial
from causal_semloss.data.companions import add_companions
from causal_semloss.data.splits import generate_split, natural_yes_rate, split_rng
from causal_semloss.errors import DataError
from causal_semloss.graphs import plain_shape
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.schema import ALL_SPLITS, OOD_SPLITS, AdversarialSplitConfig, TaskConfig
from causal_semloss.tasks import get_task

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def data_identity(cfg: DictConfig) -> dict:
    """Everything that determines the data bytes. Companions switched off change no byte, so
    they are left out then, and every data dir cached before they existed stays valid."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    if not data.get("companions", {}).get("enabled"):
        data.pop("companions", None)
    return {
        "format": FORMAT_VERSION,
        "seed": int(cfg.seed),
        "task": OmegaConf.to_container(cfg.task, resolve=True),
        "data": data,
    }


def config_hash(cfg: DictConfig) -> str:
    blob = json.dumps(data_identity(cfg), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def data_dir_for(cfg: DictConfig) -> Path:
    return Path(cfg.paths.data_root) / f"{cfg.task.name}-{cfg.data.name}-{config_hash(cfg)}"


def config_for_task(cfg: DictConfig, task: str) -> DictConfig:
    """`cfg` with its task swapped for `cfg.tasks[task]` (the paper's tasks are composed into
    every config, so overrides such as `tasks.dseparation.splits.test.nodes=[3,8]` reach them),
    so the other task's data uses the same data settings. A registered task not composed there
    (`common_cause`) is read from its own conf/task/<name>.yaml, as `task=<name>` composes it;
    `+task@tasks.<name>=<name>` composes it instead, and overrides then reach it."""
    if cfg.task.name == task:
        return cfg
    plain = OmegaConf.to_container(cfg, resolve=True)
    if task in cfg.tasks:
        plain["task"] = plain["tasks"][task]
    else:
        get_task(task)  # an unknown name: a ConfigError naming the known ones
        own = OmegaConf.merge(
            OmegaConf.structured(TaskConfig), OmegaConf.load(CONFIG_DIR / "task" / f"{task}.yaml")
        )
        plain["task"] = OmegaConf.to_container(own, resolve=True)
    return checked(OmegaConf.create(plain))


def split_sizes(cfg: DictConfig) -> dict[str, int]:
    sizes = {"train": cfg.data.n_train, "test": cfg.data.n_test}
    sizes.update({name: cfg.data.n_eval for name in OOD_SPLITS})
    sizes["adversarial"] = cfg.data.n_adversarial
    return sizes


def target_yes_rate(cfg: DictConfig, split: str) -> float | None:
    """0.5 with data.balance; the task's paper_yes_rate where data says `paper`; else as set."""
    if cfg.data.balance:
        return 0.5
    rate = cfg.data.yes_rate.get(split)
    return cfg.task.paper_yes_rate[split] if rate == "paper" else rate


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def load_manifest(data_dir: Path) -> dict | None:
    """The manifest of a complete data dir, None if the dir is absent or incomplete. A split
    file whose bytes differ from the manifest's sha256 (edited by hand, truncated) is an error:
    the run would otherwise train or evaluate on data its manifest does not describe. So is a
    split without its recorded sha256 (every manifest records one), and a manifest that is not
    one (empty, truncated, not UTF-8, another shape)."""
    path = Path(data_dir) / MANIFEST
    if not path.exists():
        return None
    manifest = _read_manifest(path)
    files = [(Path(data_dir) / s["file"], s.get("sha256")) for s in manifest["splits"].values()]
    if not all(file.exists() for file, _ in files):
        return None
    for split, (file, digest) in zip(manifest["splits"], files, strict=True):
        if not isinstance(digest, str):  # taken out by hand: nothing to check the file against
            raise DataError(
                f"{path}: no sha256 recorded for split {split!r}; the manifest was edited after "
                "it was generated (delete the directory to regenerate it)"
            )
        if sha256_file(file) != digest:
            raise DataError(
                f"{file}: sha256 differs from {path}; the file changed after it was generated "
                "(delete the directory to regenerate it)"
            )
    return manifest


def _read_manifest(path: Path) -> dict:
    regenerate = f"delete {path.parent} to regenerate it"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataError(f"{path}: the data manifest is not UTF-8 text; {regenerate}") from None
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: the data manifest is not valid JSON ({exc.msg}, line {exc.lineno}; "
            f"empty or truncated?); {regenerate}"
        ) from None
    splits = manifest.get("splits") if isinstance(manifest, dict) else None
    if not isinstance(splits, dict) or not all(
        isinstance(entry, dict) and isinstance(entry.get("file"), str) for entry in splits.values()
    ):
        raise DataError(f"{path}: not a data manifest (no splits with their files); {regenerate}")
    return manifest


def build_data(
    cfg: DictConfig, progress: Callable[[int], None] | None = None
) -> tuple[Path, dict, bool]:
    """Generate (or reuse) the data dir for `cfg`. Returns (dir, manifest, reused)."""
    target = data_dir_for(cfg)
    manifest = load_manifest(target)
    if manifest is not None:
        return target, manifest, True
    target.parent.mkdir(parents=True, exist_ok=True)
    # One job generates; concurrent jobs wait for the lock, then find its manifest and reuse it.
    with FileLock(target.with_name(f"{target.name}.lock")):
        manifest = load_manifest(target)
        if manifest is not None:
            return target, manifest, True
        remove_stale_staging(target)  # of builds killed mid-write: no live one holds the lock
        with atomic_dir(target) as staging:  # replaces a stale dir without a valid manifest
            manifest = _write_splits(cfg, staging, progress)
    return target, manifest, False


def _write_splits(cfg: DictConfig, out: Path, progress) -> dict:
    task = cfg.task
    sizes = split_sizes(cfg)
    train_keys: set = set()
    splits: dict[str, dict] = {}
    for split in ALL_SPLITS:
        rng = split_rng(cfg.seed, task.name, split)
        if split == "adversarial":
            records = generate_adversarial(
                task=task.name,
                surface=AdversarialSplitConfig(**OmegaConf.to_container(task.splits.adversarial)),
                hypothesis_template=task.hypothesis,
                n=sizes[split],
                rng=rng,
                forbidden=train_keys,
                progress=progress,
            )
            natural = 0.5
        else:
            shape = plain_shape(task.splits[split])
            records = generate_split(
                task=task.name,
                split=split,
                shape=shape,
                hypothesis_template=task.hypothesis,
                n=sizes[split],
                yes_rate=target_yes_rate(cfg, split),
                queries_per_graph=cfg.data.queries_per_graph,
                rng=rng,
                forbidden=None if split == "train" else train_keys,
                seen_keys=train_keys if split == "train" else None,
                progress=progress,
            )
            if split == "train" and cfg.data.companions.enabled:
                records = add_companions(
                    records,
                    task=task.name,
                    hypothesis_template=task.hypothesis,
                    max_atoms=cfg.data.companions.max_atoms,
                    rng=split_rng(cfg.seed, task.name, "train:companions"),
                )
            natural = natural_yes_rate(
                task=task.name,
                shape=shape,
                n=cfg.data.natural_rate_sample,
                rng=split_rng(cfg.seed, task.name, f"{split}:natural"),
            )
        path = out / f"{split}.jsonl"
        write_jsonl(path, records)
        labeled = [r for r in records if not r.get("companion")]
        splits[split] = {
            "file": path.name,
            "n": len(labeled),
            "yes_rate": sum(r["oracle"] for r in labeled) / len(labeled),
            "natural_yes_rate": natural,
            "target_yes_rate": 0.5 if split == "adversarial" else target_yes_rate(cfg, split),
            "n_graphs": len({r["graph_id"] for r in records}),
            "sha256": sha256_file(path),
        }
        if len(labeled) < len(records):
            splits[split]["n_companions"] = len(records) - len(labeled)
    manifest = {
        "task": task.name,
        "config_hash": config_hash(cfg),
        **data_identity(cfg),
        "splits": splits,
    }
    write_json(out / MANIFEST, manifest)
    return manifest


def read_split(data_dir: str | Path, split: str) -> list[dict]:
    with open(Path(data_dir) / f"{split}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]

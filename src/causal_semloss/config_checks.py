"""Start-up checks of a composed config: `checked(cfg)` merges any config onto the schema
(types, names — also for configs built outside Hydra) and runs the range and name checks the
type system cannot express. Every failure is one ConfigError line naming the field."""

from __future__ import annotations

import math

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from causal_semloss.errors import ConfigError, DataError
from causal_semloss.input_files import require_distinct_input_files
from causal_semloss.prompt_checks import validate_prompt
from causal_semloss.schema import (
    ALL_SPLITS,
    GENERATED_SPLITS,
    MAX_CONSTRAINT_ATOMS,
    SHAPES,
    EvalConfig,
    ModelConfig,
    RootConfig,
    SplitShapeConfig,
)
from causal_semloss.tasks import TASK_NAMES


def checked(cfg: DictConfig, schema: type = RootConfig) -> DictConfig:
    """Return `cfg` merged onto `schema` (types, names), `eval.tasks` without repeats, then
    range-checked; raise ConfigError."""
    try:  # resolving can fail too: an interpolation whose value does not fit its field's type
        plain = OmegaConf.to_container(cfg, resolve=True)
        plain.pop("hydra", None)
        merged = OmegaConf.merge(OmegaConf.structured(schema), plain)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or ""
        msg = str(exc).splitlines()[0]
        raise ConfigError(f"config {key}: {msg}" if key else f"config: {msg}") from None
    if "eval" in merged:
        # A task listed twice is scored once: eval=paper_tasks lists the run's own task after
        # the paper's two.
        merged.eval.tasks = list(dict.fromkeys(merged.eval.tasks))
    validate(merged)
    return merged


# Seeds reach torch.manual_seed (64-bit, after the loop multiplies them by its epoch stride)
# and NumPy's generators: a bounded range keeps every derived seed valid.
SEED_LIMIT = 2**32


def _require(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"config {key}: {message}")


def _check_range(values: list, key: str, low: float, high: float | None = None) -> None:
    _require(len(values) == 2, key, f"expected [min, max], got {list(values)}")
    lo, hi = values
    _require(lo <= hi, key, f"min {lo} > max {hi}")
    _require(lo >= low, key, f"must be >= {low}, got {lo}")
    if high is not None:
        _require(hi <= high, key, f"must be <= {high}, got {hi}")


def _check_optimiser(lr, weight_decay, betas, grad_clip, key: str) -> None:
    """Finite, positive settings only: a NaN or infinite one trains a model of NaNs to the end."""
    _require(math.isfinite(lr) and lr > 0, f"{key}.lr", f"must be finite and > 0, got {lr}")
    _require(
        math.isfinite(weight_decay) and weight_decay >= 0,
        f"{key}.weight_decay",
        f"must be finite and >= 0, got {weight_decay}",
    )
    _require(
        len(betas) == 2 and all(0 <= b < 1 for b in betas),
        f"{key}.betas",
        f"expected two values in [0, 1), got {list(betas)}",
    )
    _require(
        math.isfinite(grad_clip) and grad_clip > 0,
        f"{key}.grad_clip",
        f"must be finite and > 0 (the largest gradient norm), got {grad_clip}",
    )


def validate_split_shape(shape: SplitShapeConfig, key: str) -> None:
    _require(
        shape.shape in SHAPES, f"{key}.shape", f"unknown shape {shape.shape!r}; one of {SHAPES}"
    )
    _check_range(shape.nodes, f"{key}.nodes", 2)
    _check_range(shape.name_length, f"{key}.name_length", 1)
    _check_range(shape.density, f"{key}.density", 0.0)
    _check_range(shape.branching_factor, f"{key}.branching_factor", 1.0, 4.0)
    _require(len(shape.flip_probs) > 0, f"{key}.flip_probs", "must not be empty")
    for p in shape.flip_probs:
        _require(0.0 <= p <= 1.0, f"{key}.flip_probs", f"probability {p} outside [0, 1]")
    _require(0.0 <= shape.leaf_prob <= 1.0, f"{key}.leaf_prob", "outside [0, 1]")
    _require(shape.max_given >= 0, f"{key}.max_given", "must be >= 0")


def validate_model(model: ModelConfig) -> None:
    _require(
        model.source in ("config", "backbone", "pretrained", "gguf", "gguf_package"),
        "model.source",
        f"unknown source {model.source!r}",
    )
    if model.source == "gguf_package":
        _require(model.package is not None, "model.package", "gguf_package needs a package")
        _require(bool(model.backbone_dir), "model.backbone_dir", "where to convert it to")
    if model.source == "config" or model.build is not None:
        from transformers import Gemma3TextConfig

        known = set(Gemma3TextConfig.__annotations__) | {"rope_theta", "rope_local_base_freq"}
        for key in model.architecture:
            _require(key in known, f"model.architecture.{key}", "not a Gemma3TextConfig field")
        sliding = model.architecture.get("sliding_window")
        _require(
            isinstance(sliding, int), "model.architecture.sliding_window", "must be an integer"
        )
    validate_prompt(model.prompt)
    pc = model.pretrain
    _check_seed(pc.seed, "model.pretrain.seed")
    _require(pc.steps >= 0, "model.pretrain.steps", "must be >= 0")
    _require(
        pc.steps == 0 or model.source == "config",
        "model.pretrain.steps",
        "only from-config models are pre-trained here",
    )
    _require(pc.batch_size > 0, "model.pretrain.batch_size", "must be > 0")
    _check_optimiser(pc.lr, pc.weight_decay, pc.betas, pc.grad_clip, "model.pretrain")
    _require(pc.corpus_per_task > 0, "model.pretrain.corpus_per_task", "must be > 0")
    for task in pc.tasks:
        _require(task in TASK_NAMES, "model.pretrain.tasks", f"unknown task {task!r}")


def validate_training(cfg: DictConfig) -> None:
    loss, train = cfg.loss, cfg.train
    _require(
        loss.scope in ("full", "answer"),
        "loss.scope",
        f"expected full or answer, got {loss.scope!r}",
    )
    for key in (
        "epochs",
        "batch_size",
        "grad_accum",
        "val_size",
        "eval_steps",
        "log_steps",
        "checkpoint_steps",
        "eval_batch_size",
    ):
        _require(train[key] > 0, f"train.{key}", f"must be > 0, got {train[key]}")
    _require(train.max_steps is None or train.max_steps > 0, "train.max_steps", "must be > 0")
    _check_optimiser(train.lr, train.weight_decay, train.betas, train.grad_clip, "train")
    _require(train.warmup_steps >= 0, "train.warmup_steps", "must be >= 0")
    _require(
        train.lr_schedule in ("constant", "linear", "cosine"),
        "train.lr_schedule",
        "expected constant, linear or cosine",
    )
    _require(
        train.sampler in ("auto", "rows", "groups"),
        "train.sampler",
        f"expected auto, rows or groups, got {train.sampler!r}",
    )
    lo, hi = train.collapse_band
    _require(0 <= lo < hi <= 1, "train.collapse_band", "expected [low, high] within [0, 1]")
    points = list(train.trajectory.examples)
    _require(
        all(p >= 0 for p in points) and points == sorted(set(points)),
        "train.trajectory.examples",
        f"expected increasing numbers of examples seen, >= 0; got {points}",
    )
    _require(train.trajectory.max_examples > 0, "train.trajectory.max_examples", "must be > 0")
    _require(
        cfg.logger.mode in ("offline", "online", "disabled"),
        "logger.mode",
        "expected offline, online or disabled",
    )


def _check_seed(seed: int, key: str) -> None:
    _require(0 <= seed < SEED_LIMIT, key, f"must be in [0, 2**32), got {seed}")


def validate(cfg: DictConfig) -> None:
    """Range and name checks the type system cannot express."""
    _check_seed(cfg.seed, "seed")
    task = cfg.task
    _require(
        task.name in TASK_NAMES, "task.name", f"unknown task {task.name!r}; one of {TASK_NAMES}"
    )
    # An unknown split is a key the schema rejects; a split left out is missing.
    for name in ALL_SPLITS:
        _require(name in task.splits, "task.splits", f"missing split {name!r}")
    for name in GENERATED_SPLITS:
        validate_split_shape(task.splits[name], f"task.splits.{name}")
    _check_range(task.splits.adversarial.name_length, "task.splits.adversarial.name_length", 1)
    data = cfg.data
    for key in ("n_train", "n_test", "n_eval", "n_adversarial", "queries_per_graph", "max_nodes"):
        _require(data[key] > 0, f"data.{key}", f"must be > 0, got {data[key]}")
    _require(data.n_adversarial % 2 == 0, "data.n_adversarial", "must be even (minimal pairs)")
    _require(data.natural_rate_sample > 0, "data.natural_rate_sample", "must be > 0")
    _require(
        data.queries_per_graph <= data.companions.max_atoms <= MAX_CONSTRAINT_ATOMS,
        "data.companions.max_atoms",
        f"must lie in [data.queries_per_graph, {MAX_CONSTRAINT_ATOMS}], got "
        f"{data.companions.max_atoms}",
    )
    for name, rate in data.yes_rate.items():
        _require(
            name in GENERATED_SPLITS,
            f"data.yes_rate.{name}",
            f"unknown split; one of {GENERATED_SPLITS}",
        )
        if rate is not None and rate != "paper":
            _require(
                isinstance(rate, (int, float)),
                f"data.yes_rate.{name}",
                f"expected a number, null or 'paper', got {rate!r}",
            )
            _require(0.0 <= rate <= 1.0, f"data.yes_rate.{name}", f"outside [0, 1]: {rate}")
    validate_model(cfg.model)
    validate_training(cfg)
    validate_eval(cfg.eval)


def validate_eval(ev: EvalConfig) -> None:
    for task in ev.tasks:
        _require(task in TASK_NAMES, "eval.tasks", f"unknown task {task!r}; one of {TASK_NAMES}")
    for split in ev.splits:
        _require(
            split in ALL_SPLITS, "eval.splits", f"unknown split {split!r}; one of {ALL_SPLITS}"
        )
    _require(
        ev.external_task is None or ev.external_task in TASK_NAMES,
        "eval.external_task",
        f"one of {TASK_NAMES}",
    )
    _require(
        ev.on_invalid in ("keep", "drop", "error"),
        "eval.on_invalid",
        "expected keep, drop or error",
    )
    _require(ev.method in ("logits", "generate"), "eval.method", "expected logits or generate")
    for key in ("batch_size", "threads", "generate_tokens", "max_prompt_tokens"):
        _require(ev[key] > 0, f"eval.{key}", f"must be > 0, got {ev[key]}")
    for key in ("cpu_batch_tokens", "min_shared_prefix"):
        _require(
            ev[key] is None or ev[key] > 0, f"eval.{key}", f"must be > 0 or null, got {ev[key]}"
        )
    _require(ev.bootstrap >= 0, "eval.bootstrap", "must be >= 0")
    _require(0.5 < ev.collapse_threshold <= 1, "eval.collapse_threshold", "must be in (0.5, 1]")
    _require(ev.collapse_min_answers >= 1, "eval.collapse_min_answers", "must be >= 1")
    _require(ev.max_examples is None or ev.max_examples > 0, "eval.max_examples", "must be > 0")
    validate_external_paths(ev.external)


def require_rows_to_score(ev: EvalConfig) -> None:
    """An evaluating job (`run`, `evaluate`) scores at least one eval set: a task's suite
    (eval.tasks x eval.splits) or an external file. One that would score nothing is refused at
    start, never finished as an "ok" job without a number."""
    if ev.external:
        return
    for key in ("tasks", "splits"):
        _require(
            len(ev[key]) > 0,
            f"eval.{key}",
            "is empty and eval.external lists no file: this job would score no row",
        )


def validate_external_paths(paths: list[str]) -> None:
    """Every eval.external file exists and can be read, checked at start-up (before any
    training); each is listed once (its metrics key is `<task>/external:<path>`)."""
    try:
        require_distinct_input_files(list(paths))  # one file by two names is twice too
    except DataError as exc:
        raise ConfigError(f"config eval.external: {exc}") from None

"""Structured-config schemas: types and names, registered with Hydra's ConfigStore as
`config_schema` (the first entry of conf/config.yaml's defaults), so Hydra checks every key and
type while it composes. The YAML in conf/ holds every value: a field here is `MISSING` unless
"not set" is its meaning (None), and a test composes every option of every group with no value
left missing. `checked(cfg)` re-checks configs built outside Hydra and adds the range checks of
`validate`, each failure one line naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from causal_semloss.errors import ConfigError

TASKS = ("transitivity", "dseparation")
OOD_SPLITS = ("length", "branching", "reversed", "shuffled", "long_names")
GENERATED_SPLITS = ("train", "test", *OOD_SPLITS)
ALL_SPLITS = (*GENERATED_SPLITS, "adversarial")
SHAPES = ("chain", "branched", "random_dag")


@dataclass
class SplitShapeConfig:
    shape: str = "chain"
    nodes: list[int] = field(default_factory=lambda: [3, 6])
    name_length: list[int] = field(default_factory=lambda: [1, 3])
    flip_probs: list[float] = field(default_factory=lambda: [0.0])
    leaf_prob: float = 0.0
    density: list[float] = field(default_factory=lambda: [0.3, 0.6])
    branching_factor: list[float] = field(default_factory=lambda: [1.4, 2.0])
    max_given: int = 0
    reverse_edges: bool = False
    shuffle: bool = False


@dataclass
class TaskConfig:
    name: str = MISSING
    hypothesis: str = MISSING
    splits: dict[str, SplitShapeConfig] = MISSING
    # null: not measured on the authors' data; data=paper then keeps the natural balance.
    paper_yes_rate: dict[str, float | None] = MISSING


# Atoms per premise group the constraint loss enumerates exactly: 2**atoms assignments.
MAX_CONSTRAINT_ATOMS = 10


@dataclass
class CompanionsConfig:
    enabled: bool = MISSING
    max_atoms: int = MISSING


@dataclass
class DataConfig:
    name: str = MISSING
    n_train: int = MISSING
    n_test: int = MISSING
    n_eval: int = MISSING
    n_adversarial: int = MISSING
    queries_per_graph: int = MISSING
    companions: CompanionsConfig = field(default_factory=CompanionsConfig)
    balance: bool = MISSING
    yes_rate: dict[str, Any] = MISSING
    natural_rate_sample: int = MISSING
    # External sets: a premise with more distinct nodes is invalid (`too_large`), not walked.
    max_nodes: int = MISSING


@dataclass
class PathsConfig:
    data_root: str = MISSING
    cache_root: str = MISSING


@dataclass
class PromptConfig:
    template: str = MISSING
    answer: str = MISSING
    yes_word: str = MISSING
    no_word: str = MISSING


@dataclass
class LoraConfig:
    r: int = MISSING
    alpha: int = MISSING
    dropout: float = MISSING
    target_modules: list[str] = MISSING


@dataclass
class PretrainConfig:
    steps: int = MISSING
    lr: float = MISSING
    batch_size: int = MISSING
    warmup_steps: int = MISSING
    seed: int = MISSING
    corpus_per_task: int = MISSING
    tasks: list[str] = MISSING


@dataclass
class ModelConfig:
    name: str = MISSING
    source: str = MISSING
    name_or_path: str | None = None
    gguf_file: str | None = None
    allow_download: bool = MISSING
    dtype: str = MISSING
    attn_implementation: str = MISSING
    architecture: dict[str, Any] = MISSING
    tokenizer_words: list[str] = MISSING
    lora: LoraConfig | None = None
    prompt: PromptConfig = field(default_factory=PromptConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    backbone_dir: str | None = None
    build: dict[str, Any] | None = None  # the pretrain stage's recipe (pretrain.py)


@dataclass
class LossConfig:
    name: str = MISSING
    scope: str = MISSING
    paper_ce_bug: bool = MISSING
    schedule: str = MISSING
    terms: list[str] = MISSING


@dataclass
class TrainConfig:
    name: str = MISSING
    epochs: int = MISSING
    max_steps: int | None = MISSING
    batch_size: int = MISSING
    grad_accum: int = MISSING
    sampler: str = MISSING
    lr: float = MISSING
    weight_decay: float = MISSING
    betas: list[float] = MISSING
    warmup_steps: int = MISSING
    lr_schedule: str = MISSING
    grad_clip: float = MISSING
    threads: int = MISSING
    val_size: int = MISSING
    eval_steps: int = MISSING
    collapse_band: list[float] = MISSING
    log_steps: int = MISSING
    checkpoint_steps: int = MISSING
    eval_batch_size: int = MISSING
    device: str = MISSING
    bf16: bool = MISSING
    compile: bool = MISSING


@dataclass
class LoggerConfig:
    name: str = MISSING
    mode: str = MISSING
    project: str = MISSING
    entity: str | None = None
    group: str | None = None
    tags: list[str] = MISSING


@dataclass
class EvalConfig:
    tasks: list[str] = MISSING
    splits: list[str] = MISSING
    external: list[str] = MISSING
    external_task: str | None = MISSING
    on_invalid: str = MISSING
    method: str = MISSING
    generate_tokens: int = MISSING
    batch_size: int = MISSING
    threads: int = MISSING
    cpu_batch_tokens: int | None = MISSING
    min_shared_prefix: int | None = MISSING
    bootstrap: int = MISSING
    collapse_threshold: float = MISSING
    max_examples: int | None = MISSING
    model_dir: str | None = MISSING


@dataclass
class VariantConfig:
    name: str = MISSING
    train: bool = MISSING


@dataclass
class ClaimsConfig:
    confidence: float = MISSING
    equivalence_margin: float = MISSING
    collapse_majority: float = MISSING


@dataclass
class ReportConfig:
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)


@dataclass
class RootConfig:
    seed: int = MISSING
    variant: VariantConfig = field(default_factory=VariantConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    data: DataConfig = field(default_factory=DataConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    report: ReportConfig = field(default_factory=ReportConfig)


ConfigStore.instance().store(name="config_schema", node=RootConfig)


def checked(cfg: DictConfig, schema: type = RootConfig) -> DictConfig:
    """Return `cfg` merged onto `schema` (types, names), then range-checked; raise ConfigError."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    plain.pop("hydra", None)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), plain)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or ""
        msg = str(exc).splitlines()[0]
        raise ConfigError(f"config {key}: {msg}" if key else f"config: {msg}") from None
    validate(merged)
    return merged


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
        model.source in ("config", "backbone", "pretrained", "gguf"),
        "model.source",
        f"unknown source {model.source!r}",
    )
    if model.source == "config" or model.build is not None:
        from transformers import Gemma3TextConfig

        known = set(Gemma3TextConfig.__annotations__) | {"rope_theta", "rope_local_base_freq"}
        for key in model.architecture:
            _require(key in known, f"model.architecture.{key}", "not a Gemma3TextConfig field")
        sliding = model.architecture.get("sliding_window")
        _require(
            isinstance(sliding, int), "model.architecture.sliding_window", "must be an integer"
        )
    for key in ("template", "answer"):
        _require("{" in model.prompt[key], f"model.prompt.{key}", "has no {field} to fill")
    pc = model.pretrain
    _require(pc.steps >= 0, "model.pretrain.steps", "must be >= 0")
    _require(
        pc.steps == 0 or model.source == "config",
        "model.pretrain.steps",
        "only from-config models are pre-trained here",
    )
    _require(pc.lr > 0 and pc.batch_size > 0, "model.pretrain", "lr and batch_size must be > 0")
    _require(pc.corpus_per_task > 0, "model.pretrain.corpus_per_task", "must be > 0")
    for task in pc.tasks:
        _require(task in TASKS, "model.pretrain.tasks", f"unknown task {task!r}")


def validate_training(cfg: DictConfig) -> None:
    from causal_semloss.losses import SEMANTIC_TERMS
    from causal_semloss.schedules import parse_schedule

    loss, train = cfg.loss, cfg.train
    _require(
        loss.scope in ("full", "answer"),
        "loss.scope",
        f"expected full or answer, got {loss.scope!r}",
    )
    for term in loss.terms:
        _require(
            term in SEMANTIC_TERMS,
            "loss.terms",
            f"unknown term {term!r}; one of {sorted(SEMANTIC_TERMS)}",
        )
    parse_schedule(loss.schedule)
    for key in (
        "epochs",
        "batch_size",
        "grad_accum",
        "threads",
        "val_size",
        "eval_steps",
        "log_steps",
        "checkpoint_steps",
        "eval_batch_size",
    ):
        _require(train[key] > 0, f"train.{key}", f"must be > 0, got {train[key]}")
    _require(train.max_steps is None or train.max_steps > 0, "train.max_steps", "must be > 0")
    _require(train.lr > 0, "train.lr", f"must be > 0, got {train.lr}")
    _require(train.weight_decay >= 0, "train.weight_decay", "must be >= 0")
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
    _require(train.device in ("auto", "cpu", "cuda"), "train.device", "expected auto, cpu or cuda")
    lo, hi = train.collapse_band
    _require(0 <= lo < hi <= 1, "train.collapse_band", "expected [low, high] within [0, 1]")
    _require(
        cfg.logger.mode in ("offline", "online", "disabled"),
        "logger.mode",
        "expected offline, online or disabled",
    )


def validate(cfg: DictConfig) -> None:
    """Range and name checks the type system cannot express."""
    task = cfg.task
    _require(task.name in TASKS, "task.name", f"unknown task {task.name!r}; one of {TASKS}")
    for name, shape in task.splits.items():
        _require(name in ALL_SPLITS, f"task.splits.{name}", f"unknown split; one of {ALL_SPLITS}")
        validate_split_shape(shape, f"task.splits.{name}")
    for name in ALL_SPLITS:
        _require(name in task.splits, "task.splits", f"missing split {name!r}")
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
        _require(task in TASKS, "eval.tasks", f"unknown task {task!r}; one of {TASKS}")
    for split in ev.splits:
        _require(
            split in ALL_SPLITS, "eval.splits", f"unknown split {split!r}; one of {ALL_SPLITS}"
        )
    _require(
        ev.external_task is None or ev.external_task in TASKS,
        "eval.external_task",
        f"one of {TASKS}",
    )
    _require(
        ev.on_invalid in ("keep", "drop", "error"),
        "eval.on_invalid",
        "expected keep, drop or error",
    )
    _require(ev.method in ("logits", "generate"), "eval.method", "expected logits or generate")
    _require(ev.batch_size > 0, "eval.batch_size", "must be > 0")
    _require(ev.bootstrap >= 0, "eval.bootstrap", "must be >= 0")
    _require(0.5 < ev.collapse_threshold <= 1, "eval.collapse_threshold", "must be in (0.5, 1]")
    _require(ev.max_examples is None or ev.max_examples > 0, "eval.max_examples", "must be > 0")

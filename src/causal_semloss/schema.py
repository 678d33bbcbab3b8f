"""Structured-config schemas: types and names checked at start-up, ranges checked by `validate`.

Hydra composes YAML from conf/; `checked(cfg)` merges it onto these dataclasses, so a misspelt
key or a wrong type fails before any work, with one line naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf
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
    name: str = "transitivity"
    hypothesis: str = ""
    splits: dict[str, SplitShapeConfig] = field(default_factory=dict)
    # null: not measured on the authors' data; data=paper then keeps the natural balance.
    paper_yes_rate: dict[str, float | None] = field(default_factory=dict)


# Atoms per premise group the constraint loss enumerates exactly: 2**atoms assignments.
MAX_CONSTRAINT_ATOMS = 10


@dataclass
class CompanionsConfig:
    enabled: bool = False
    max_atoms: int = 8


@dataclass
class DataConfig:
    name: str = "default"
    n_train: int = 20000
    n_test: int = 1000
    n_eval: int = 1000
    n_adversarial: int = 1000
    queries_per_graph: int = 2
    companions: CompanionsConfig = field(default_factory=CompanionsConfig)
    balance: bool = False
    yes_rate: dict[str, Any] = field(default_factory=dict)
    natural_rate_sample: int = 2000
    # External sets: a premise with more distinct nodes is invalid (`too_large`), not walked.
    max_nodes: int = 200


@dataclass
class PathsConfig:
    data_root: str = "data"
    cache_root: str = ".cache"


@dataclass
class PromptConfig:
    template: str = ""
    answer: str = "{label}"
    yes_word: str = "Yes"
    no_word: str = "No"


@dataclass
class LoraConfig:
    r: int = 32
    alpha: int = 32
    dropout: float = 0.1
    target_modules: list[str] = field(default_factory=list)


@dataclass
class PretrainConfig:
    steps: int = 0
    lr: float = 1e-3
    batch_size: int = 32
    warmup_steps: int = 100
    seed: int = 0
    corpus_per_task: int = 50000
    tasks: list[str] = field(default_factory=lambda: list(TASKS))


@dataclass
class ModelConfig:
    name: str = "tiny_gemma3"
    source: str = "config"
    name_or_path: str | None = None
    gguf_file: str | None = None
    allow_download: bool = False
    dtype: str = "float32"
    attn_implementation: str = "sdpa"
    architecture: dict[str, Any] = field(default_factory=dict)
    tokenizer_words: list[str] = field(default_factory=list)
    lora: LoraConfig | None = None
    prompt: PromptConfig = field(default_factory=PromptConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    backbone_dir: str | None = None  # model.source=backbone: a dir the pretrain stage wrote
    build: dict[str, Any] | None = (
        None  # the pretrain stage's recipe (src/causal_semloss/pretrain.py)
    )


@dataclass
class LossConfig:
    name: str = "none"
    scope: str = "full"
    paper_ce_bug: bool = False
    schedule: str = "constant(0.0)"
    terms: list[str] = field(default_factory=list)


@dataclass
class TrainConfig:
    name: str = "default"
    epochs: int = 1
    max_steps: int | None = None
    batch_size: int = 32
    grad_accum: int = 1
    sampler: str = "auto"
    lr: float = 2e-3
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.98])
    warmup_steps: int = 0
    lr_schedule: str = "constant"
    grad_clip: float = 1.0
    threads: int = 1
    val_size: int = 256
    eval_steps: int = 250
    collapse_band: list[float] = field(default_factory=lambda: [0.05, 0.95])
    log_steps: int = 25
    checkpoint_steps: int = 500
    eval_batch_size: int = 128
    device: str = "auto"
    bf16: bool = False
    compile: bool = False


@dataclass
class LoggerConfig:
    name: str = "none"
    mode: str = "disabled"
    project: str = "causal-semloss"
    entity: str | None = None
    group: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class EvalConfig:
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    splits: list[str] = field(default_factory=lambda: list(ALL_SPLITS[1:]))
    external: list[str] = field(default_factory=list)
    external_task: str | None = None
    on_invalid: str = "keep"
    method: str = "logits"
    generate_tokens: int = 2
    batch_size: int = 128
    threads: int = 1
    cpu_batch_tokens: int | None = 2048
    min_shared_prefix: int | None = 4
    bootstrap: int = 1000
    collapse_threshold: float = 0.95
    max_examples: int | None = None
    model_dir: str | None = None


@dataclass
class VariantConfig:
    name: str = "custom"
    train: bool = True


@dataclass
class ClaimsConfig:
    confidence: float = 0.95
    equivalence_margin: float = 2.0
    collapse_majority: float = 0.5


@dataclass
class ReportConfig:
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)


@dataclass
class RootConfig:
    seed: int = 0
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

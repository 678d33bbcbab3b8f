"""Structured-config schemas: types and names, registered with Hydra's ConfigStore as
`config_schema` (the first entry of conf/config.yaml's defaults), so Hydra checks every key and
type while it composes. The YAML in conf/ holds every value: a field here is `MISSING` unless
"not set" is its meaning (None) or its default is a list of the names defined here
(`eval.splits`), and a test composes every option of every group with no value left missing.
`config_checks.checked(cfg)` re-checks configs built outside Hydra and adds the range checks
Hydra cannot express.
"""

from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

# Task names are not here: the registry (`causal_semloss.tasks.TASK_NAMES`) owns them, and the
# schema sits below the tasks (graphs build from SplitShapeConfig; tasks use graphs), so naming
# the registry here would close an import cycle (tests/test_import_graph.py).
OOD_SPLITS = ("length", "branching", "reversed", "shuffled", "long_names")
GENERATED_SPLITS = ("train", "test", *OOD_SPLITS)
ALL_SPLITS = (*GENERATED_SPLITS, "adversarial")
# What `eval.splits` scores unless set: every split but train. Its only place: the eval YAML
# leaves it out, so a split added here is scored by default.
EVALUATION_SPLITS = tuple(split for split in ALL_SPLITS if split != "train")
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
class AdversarialSplitConfig:
    """The adversarial split has no graph shape: each minimal-pair kind builds its own graph
    (`Task.adversarial_kinds`). Only the surface is set: name lengths and sentence order."""

    name_length: list[int] = field(default_factory=lambda: [1, 3])
    shuffle: bool = False


# One field per split, built from the split names above so they are written once: a graph shape
# for each generated split, the adversarial split's surface. A split a task leaves out is missing.
TaskSplitsConfig = make_dataclass(
    "TaskSplitsConfig",
    [(name, SplitShapeConfig, field(default=MISSING)) for name in GENERATED_SPLITS]
    + [("adversarial", AdversarialSplitConfig, field(default=MISSING))],
)


@dataclass
class TaskConfig:
    name: str = MISSING
    hypothesis: str = MISSING
    splits: TaskSplitsConfig = MISSING
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
    name: str = MISSING
    template: str = MISSING
    answer: str = MISSING
    yes_word: str = MISSING
    no_word: str = MISSING


@dataclass
class GgufPackageConfig:
    """A GGUF shipped in PyPI packages (model.source=gguf_package; model/gguf_package.py)."""

    module: str = MISSING
    distribution: str = MISSING
    install: str = MISSING
    licence: str = MISSING


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
    lr_schedule: str = MISSING
    weight_decay: float = MISSING
    betas: list[float] = MISSING
    grad_clip: float = MISSING
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
    package: GgufPackageConfig | None = None
    build: dict[str, Any] | None = None  # the pretrain stage's recipe (pretrain.py)


@dataclass
class LossConfig:
    name: str = MISSING
    scope: str = MISSING
    paper_ce_bug: bool = MISSING
    schedule: str = MISSING
    terms: list[str] = MISSING
    term_options: dict[str, dict[str, float]] = MISSING


@dataclass
class TrajectoryConfig:
    examples: list[int] = MISSING
    max_examples: int = MISSING


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
    val_size: int = MISSING
    eval_steps: int = MISSING
    collapse_band: list[float] = MISSING
    log_steps: int = MISSING
    checkpoint_steps: int = MISSING
    eval_batch_size: int = MISSING
    trajectory: TrajectoryConfig = field(default_factory=TrajectoryConfig)


@dataclass
class RuntimeConfig:
    """Where and how the stages run (conf/runtime/; resolved by runtime.Runtime.of)."""

    device: str = MISSING
    bf16: bool = MISSING
    threads: int = MISSING
    compile: bool = MISSING


@dataclass
class LoggerConfig:
    _target_: str = MISSING
    name: str = MISSING
    mode: str = MISSING
    project: str = MISSING
    entity: str | None = None
    group: str | None = None
    tags: list[str] = MISSING


@dataclass
class EvalConfig:
    tasks: list[str] = MISSING
    splits: list[str] = field(default_factory=lambda: list(EVALUATION_SPLITS))
    external: list[str] = MISSING
    external_task: str | None = MISSING
    on_invalid: str = MISSING
    method: str = MISSING
    generate_tokens: int = MISSING
    max_prompt_tokens: int = MISSING
    batch_size: int = MISSING
    threads: int = MISSING
    cpu_batch_tokens: int | None = MISSING
    min_shared_prefix: int | None = MISSING
    cache: bool = MISSING
    bootstrap: int = MISSING
    collapse_threshold: float = MISSING
    collapse_min_answers: int = MISSING
    max_examples: int | None = MISSING
    model_dir: str | None = MISSING
    data: dict[str, Any] = MISSING


@dataclass
class RecipeConfig:
    """The loss set-up of a run (conf/recipe/): its name, and whether it trains at all."""

    name: str = MISSING
    train: bool = MISSING


@dataclass
class ClaimsConfig:
    confidence: float = MISSING
    equivalence_margin: float = MISSING
    collapse_majority: float = MISSING
    constraint_sample: int = MISSING


@dataclass
class PaperRescoredConfig:
    bootstrap: int = MISSING
    seed: int = MISSING


@dataclass
class ReportConfig:
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)
    paper_rescored: PaperRescoredConfig = field(default_factory=PaperRescoredConfig)
    # The paper's row names, by task then recipe; any other run is named <task>_<recipe>.
    paper_rows: dict[str, Any] = MISSING
    # Config keys (and everything under them) in which seeds of one arm may differ.
    same_arm_ignores: list[str] = MISSING


@dataclass
class RootConfig:
    seed: int = MISSING
    recipe: RecipeConfig = field(default_factory=RecipeConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    data: DataConfig = field(default_factory=DataConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    tasks: dict[str, TaskConfig] = MISSING  # every task's config, by name
    corpus_data: DataConfig = field(default_factory=DataConfig)  # the pre-training corpus


ConfigStore.instance().store(name="config_schema", node=RootConfig)

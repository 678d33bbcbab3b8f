"""What fine-tuning trains on: the training split less a validation set of whole premises,
encoded for the backbone, with premise groups when a loss term ties a premise's answers."""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from pathlib import Path

from omegaconf import DictConfig

from causal_semloss.data.build import build_data, read_split
from causal_semloss.data.records import take_by_class, truth
from causal_semloss.errors import ConfigError
from causal_semloss.model.backbone import Backbone, load_backbone
from causal_semloss.model.batches import EncodedSet, encode_records
from causal_semloss.train.losses import GROUP_TERMS, check_loss_config
from causal_semloss.train.premise_groups import PremiseGroups, build_premise_groups


@dataclass
class TrainingSet(EncodedSet):
    """The encoded training split plus its premise groups. The groups are a training concern
    (batches of whole premises, the constraint loss), so they live here, not on the model
    stage's `EncodedSet`."""

    groups: PremiseGroups | None = None  # set when whole-premise batches are used

    @classmethod
    def of(cls, encoded: EncodedSet, groups: PremiseGroups | None) -> TrainingSet:
        return cls(**{f.name: getattr(encoded, f.name) for f in fields(encoded)}, groups=groups)


def split_validation(records: list[dict], size: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Hold out whole premises as the validation set: `size` questions drawn half Yes, half No
    from distinct premises, plus the other labeled questions of those premises (kept, not thrown
    away: no premise is in both sets). Companion questions are never validated on."""
    rng = random.Random(f"validation:{seed}")
    order = list(range(len(records)))
    rng.shuffle(order)
    held_graphs: set[str] = set()
    held: set[int] = set()

    def new_premise(i: int) -> bool:
        return not records[i].get("companion") and records[i]["graph_id"] not in held_graphs

    for i in take_by_class(
        order,
        {True: size // 2, False: size - size // 2},
        truth_of=lambda i: truth(records[i]),
        accept=new_premise,
    ):
        held.add(i)
        held_graphs.add(records[i]["graph_id"])
    train = [r for r in records if r["graph_id"] not in held_graphs]
    validation = [r for r in records if r["graph_id"] in held_graphs and not r.get("companion")]
    return train, validation


def require_premise_groups(cfg: DictConfig) -> None:
    """A term over premise groups asked for on data without companions: fail at start-up, not
    with a silent zero."""
    check_loss_config(cfg.loss)
    if GROUP_TERMS & set(cfg.loss.terms) and not cfg.data.companions.enabled:
        raise ConfigError(
            f"loss.terms={list(cfg.loss.terms)} needs premise groups with companion questions: "
            "set data.companions.enabled=true (recipe=constraints does)"
        )


def uses_premise_batches(cfg: DictConfig) -> bool:
    """Whole premises a batch: asked for, or (auto) needed by a loss term."""
    sampler = cfg.train.sampler
    return sampler == "groups" or (sampler == "auto" and bool(GROUP_TERMS & set(cfg.loss.terms)))


def prepare(cfg: DictConfig) -> tuple[Backbone, TrainingSet, EncodedSet, Path]:
    """Data (generated or reused) + backbone + encoded train/validation sets."""
    require_premise_groups(cfg)
    data_dir, _, _ = build_data(cfg)
    records = read_split(data_dir, "train")
    train_records, val_records = split_validation(records, cfg.train.val_size, cfg.seed)
    if not train_records:
        raise ConfigError(
            f"no training examples: {data_dir}/train.jsonl has {len(records)} and "
            f"train.val_size={cfg.train.val_size} are held out for validation"
        )
    backbone = load_backbone(cfg)
    prompt = cfg.model.prompt
    groups = (
        build_premise_groups(train_records, cfg.task.name) if uses_premise_batches(cfg) else None
    )
    train_set = TrainingSet.of(encode_records(train_records, backbone.tokenizer, prompt), groups)
    return (
        backbone,
        train_set,
        encode_records(val_records, backbone.tokenizer, prompt),
        data_dir,
    )

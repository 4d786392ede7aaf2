"""Parses finetune-mcp's TrainingSpec (src/plugins/providers.ts) and maps it to TRL/PEFT arguments."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union


class SpecError(ValueError):
    """A spec the trainer cannot run, naming the field at fault."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


APPROACHES = ("lora", "qlora", "full")
SCHEDULERS = {"cosine": "cosine", "linear": "linear", "constant": "constant"}


@dataclass
class Hyperparameters:
    epochs: float
    max_steps: int
    learning_rate: float
    batch_size: int
    gradient_accumulation: int
    max_seq_length: int
    warmup_ratio: float
    lr_scheduler: str
    weight_decay: float
    adam_beta1: float
    adam_beta2: float
    adam_epsilon: float
    max_grad_norm: float
    lora_r: int
    lora_alpha: int
    lora_dropout: float
    target_modules: Union[List[str], str]
    use_rslora: bool
    dpo_beta: float
    loss_on: str
    packing: bool
    eval_steps: int
    save_steps: int
    save_total_limit: int
    early_stopping_patience: int
    early_stopping_min_delta: float
    seed: int


@dataclass
class TrainSpec:
    job_id: str
    method: str
    approach: str
    base_model: str
    hyperparameters: Hyperparameters
    train_path: str
    validation_path: Optional[str] = None
    resume_from: Optional[str] = None
    backend_options: Dict[str, Any] = field(default_factory=dict)


def _number(hp: Dict[str, Any], name: str, kind: type, minimum: float, default: Any = None) -> Any:
    value = hp.get(name, default)
    if value is None:
        raise SpecError(f"hyperparameters.{name}", "is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"hyperparameters.{name}", f"must be a number, got {value!r}")
    if kind is int and int(value) != value:
        raise SpecError(f"hyperparameters.{name}", f"must be a whole number, got {value!r}")
    if value < minimum:
        raise SpecError(f"hyperparameters.{name}", f"must be at least {minimum}, got {value!r}")
    return kind(value)


def parse_hyperparameters(hp: Dict[str, Any]) -> Hyperparameters:
    if not isinstance(hp, dict):
        raise SpecError("hyperparameters", "must be an object")
    scheduler = hp.get("lr_scheduler", "cosine")
    if scheduler not in SCHEDULERS:
        raise SpecError("hyperparameters.lr_scheduler", f"must be one of {sorted(SCHEDULERS)}, got {scheduler!r}")
    targets = hp.get("target_modules", "all-linear")
    if not (targets == "all-linear" or (isinstance(targets, list) and targets and all(isinstance(t, str) for t in targets))):
        raise SpecError("hyperparameters.target_modules", "must be 'all-linear' or a non-empty list of module names")
    loss_on = hp.get("loss_on", "completion")
    if loss_on not in ("completion", "all"):
        raise SpecError("hyperparameters.loss_on", "must be 'completion' or 'all'")
    return Hyperparameters(
        epochs=_number(hp, "epochs", float, 0, 1),
        max_steps=_number(hp, "max_steps", int, 0, 0),
        learning_rate=_number(hp, "learning_rate", float, 0),
        batch_size=_number(hp, "batch_size", int, 1),
        gradient_accumulation=_number(hp, "gradient_accumulation", int, 1, 1),
        max_seq_length=_number(hp, "max_seq_length", int, 8),
        warmup_ratio=_number(hp, "warmup_ratio", float, 0, 0),
        lr_scheduler=scheduler,
        weight_decay=_number(hp, "weight_decay", float, 0, 0),
        adam_beta1=_number(hp, "adam_beta1", float, 0, 0.9),
        adam_beta2=_number(hp, "adam_beta2", float, 0, 0.999),
        adam_epsilon=_number(hp, "adam_epsilon", float, 0, 1e-8),
        max_grad_norm=_number(hp, "max_grad_norm", float, 0, 1.0),
        lora_r=_number(hp, "lora_r", int, 1, 8),
        lora_alpha=_number(hp, "lora_alpha", int, 1, 16),
        lora_dropout=_number(hp, "lora_dropout", float, 0, 0.0),
        target_modules=targets,
        use_rslora=bool(hp.get("use_rslora", False)),
        dpo_beta=_number(hp, "dpo_beta", float, 0, 0.1),
        loss_on=loss_on,
        packing=bool(hp.get("packing", False)),
        eval_steps=_number(hp, "eval_steps", int, 0, 0),
        save_steps=_number(hp, "save_steps", int, 0, 0),
        save_total_limit=_number(hp, "save_total_limit", int, 1, 2),
        early_stopping_patience=_number(hp, "early_stopping_patience", int, 0, 0),
        early_stopping_min_delta=_number(hp, "early_stopping_min_delta", float, 0, 0),
        seed=_number(hp, "seed", int, 0, 42),
    )


def parse_spec(document: Union[str, Dict[str, Any]]) -> TrainSpec:
    """A TrainingSpec (as JSON text or a dict) as a TrainSpec, or a SpecError naming the field."""
    data = json.loads(document) if isinstance(document, str) else document
    if not isinstance(data, dict):
        raise SpecError("(spec)", "must be a JSON object")
    config = data.get("config")
    if not isinstance(config, dict):
        raise SpecError("config", "is required")
    method = config.get("method")
    if method not in ("sft", "dpo"):
        raise SpecError("config.method", f"must be 'sft' or 'dpo', got {method!r}")
    approach = config.get("approach", "lora")
    if approach not in APPROACHES:
        raise SpecError("config.approach", f"this trainer runs {', '.join(APPROACHES)}, got {approach!r}")
    options = config.get("backend_options") or {}
    if options.get("output_uri") is not None:
        from .artifacts import parse_artifact_uri

        # Checked before training, not after hours of it.
        parse_artifact_uri(options["output_uri"])
    base_model = options.get("hf_model") or config.get("base_model")
    if not isinstance(base_model, str) or not base_model:
        raise SpecError("config.base_model", "must name a Hugging Face model id (or set backend_options.hf_model)")
    dataset = data.get("dataset") or {}
    train_path = dataset.get("train_path")
    if not isinstance(train_path, str) or not train_path:
        raise SpecError("dataset.train_path", "is required")
    job_id = data.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        raise SpecError("job_id", "is required")
    return TrainSpec(
        job_id=job_id,
        method=method,
        approach=approach,
        base_model=base_model,
        hyperparameters=parse_hyperparameters(config.get("hyperparameters")),
        train_path=train_path,
        validation_path=dataset.get("validation_path") or None,
        resume_from=data.get("resume_from") or None,
        backend_options=options,
    )


def lora_arguments(spec: TrainSpec) -> Dict[str, Any]:
    """Keyword arguments for peft.LoraConfig."""
    hp = spec.hyperparameters
    return {
        "r": hp.lora_r,
        "lora_alpha": hp.lora_alpha,
        "lora_dropout": hp.lora_dropout,
        "target_modules": hp.target_modules,
        "use_rslora": hp.use_rslora,
        "bias": "none",
        "task_type": "CAUSAL_LM",
    }


# A full fine-tune on several processes shards weights, gradients and optimizer state (ZeRO-3's
# layout) with PyTorch FSDP, which ships in torch: nothing more to install, and it holds under any
# launcher (accelerate, Ray Train, Azure ML's PyTorch distribution) since the Trainer sets it up.
FSDP_FULL_SHARD = {
    "fsdp": "full_shard auto_wrap",
    "fsdp_config": {
        "backward_prefetch": "backward_pre",
        "use_orig_params": True,
        # Rank 0 loads the weights, the others receive them: one copy in CPU memory per node, not N.
        "cpu_ram_efficient_loading": True,
        "sync_module_states": True,
        # The saved model is one ordinary checkpoint (gathered on rank 0), not N shards.
        "state_dict_type": "FULL_STATE_DICT",
    },
}


def trainer_arguments(spec: TrainSpec, output_dir: str, has_validation: bool, world_size: int = 1) -> Dict[str, Any]:
    """Keyword arguments for trl.SFTConfig / trl.DPOConfig (both extend transformers.TrainingArguments).

    `world_size` is the number of training processes: a full fine-tune on more than one is sharded.
    """
    hp = spec.hyperparameters
    evaluate = has_validation
    args: Dict[str, Any] = {
        "output_dir": output_dir,
        "num_train_epochs": hp.epochs,
        "max_steps": hp.max_steps if hp.max_steps > 0 else -1,
        "learning_rate": hp.learning_rate,
        "per_device_train_batch_size": hp.batch_size,
        "per_device_eval_batch_size": hp.batch_size,
        "gradient_accumulation_steps": hp.gradient_accumulation,
        "warmup_ratio": hp.warmup_ratio,
        "lr_scheduler_type": SCHEDULERS[hp.lr_scheduler],
        "weight_decay": hp.weight_decay,
        "adam_beta1": hp.adam_beta1,
        "adam_beta2": hp.adam_beta2,
        "adam_epsilon": hp.adam_epsilon,
        "max_grad_norm": hp.max_grad_norm,
        "seed": hp.seed,
        "logging_steps": 1,
        # "epoch" saving when save_steps is 0: every run leaves at least its end checkpoint.
        "save_strategy": "steps" if hp.save_steps > 0 else "epoch",
        "save_total_limit": hp.save_total_limit,
        "eval_strategy": ("steps" if hp.eval_steps > 0 else "epoch") if evaluate else "no",
        "report_to": [],
    }
    if hp.save_steps > 0:
        args["save_steps"] = hp.save_steps
    if evaluate and hp.eval_steps > 0:
        args["eval_steps"] = hp.eval_steps
    if evaluate and hp.early_stopping_patience > 0:
        # EarlyStoppingCallback needs the best model tracked on eval_loss.
        args.update({"load_best_model_at_end": True, "metric_for_best_model": "eval_loss", "greater_is_better": False})
        if hp.save_steps > 0 and hp.eval_steps > 0 and hp.save_steps % hp.eval_steps != 0:
            raise SpecError("hyperparameters.save_steps", "must be a multiple of eval_steps when early stopping is on")
    if spec.approach == "full" and world_size > 1:
        args.update(FSDP_FULL_SHARD)
    if spec.method == "dpo":
        args["beta"] = hp.dpo_beta
        args["max_length"] = hp.max_seq_length
    else:
        args["max_length"] = hp.max_seq_length
        args["packing"] = hp.packing
        # TRL: completion_only_loss / assistant_only_loss decide which tokens carry the loss.
        args["completion_only_loss"] = hp.loss_on == "completion"
    return args

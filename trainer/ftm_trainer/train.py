"""Runs one job: SFT or DPO with LoRA through TRL, checkpoints under the job folder, resume after preemption.

Heavy libraries (torch, transformers, peft, trl, datasets) are imported inside run_training only.
"""

from __future__ import annotations

import json
import math
import os
from typing import Callable, Optional

from .artifacts import upload_artifact
from .data import load_records
from .events import JobRecord, ends_the_job, error_code_for, latest_checkpoint
from .spec import TrainSpec, lora_arguments, parse_spec, trainer_arguments

# Our metric series names for the Trainer's log keys.
LOG_NAMES = {"loss": "loss", "eval_loss": "eval_loss", "learning_rate": "lr", "grad_norm": "grad_norm", "epoch": "epoch"}


def _cancelled(job_dir: str) -> bool:
    return os.path.exists(os.path.join(job_dir, "cancel"))


def run_training(job_dir: str, commit: Optional[Callable[[], None]] = None, max_attempts: int = 1) -> str:
    """Trains the job in `job_dir` (spec.json, train.jsonl, validation.jsonl) and returns its end state.

    `commit` persists the folder (a Modal Volume commit) after each checkpoint and at the end.
    A failure that another attempt may fix is re-raised (so Modal retries, resuming from the last
    checkpoint) until `max_attempts`; a final one ends the job as failed with its code.
    """
    record = JobRecord(job_dir)
    persist = commit or (lambda: None)
    attempt = int(record.read_status().get("attempts", 0)) + 1
    record.update(attempts=attempt)
    try:
        with open(os.path.join(job_dir, "spec.json"), "r", encoding="utf-8") as handle:
            spec = parse_spec(handle.read())
        return _train(spec, job_dir, record, persist)
    except Exception as error:
        code = error_code_for(error)
        message = f"{type(error).__name__}: {error}"
        if ends_the_job(code, attempt, max_attempts):
            record.status("failed", message, error_code=code)
            persist()
            return "failed"
        record.append("event", message=f"Attempt {attempt} of {max_attempts} failed ({message}); retrying from the last checkpoint.")
        persist()
        raise


def _train(spec: TrainSpec, job_dir: str, record: JobRecord, persist: Callable[[], None]) -> str:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, EarlyStoppingCallback, TrainerCallback

    train_path = os.path.join(job_dir, "train.jsonl")
    validation_path = os.path.join(job_dir, "validation.jsonl")
    has_validation = os.path.exists(validation_path) and os.path.getsize(validation_path) > 0
    hp = spec.hyperparameters
    train = Dataset.from_list(load_records(train_path, spec.method, hp.loss_on))
    validation = Dataset.from_list(load_records(validation_path, spec.method, hp.loss_on)) if has_validation else None

    checkpoints_dir = os.path.join(job_dir, "checkpoints")
    resume = latest_checkpoint(checkpoints_dir)
    record.status("running", f"Resuming from {os.path.basename(resume)}." if resume else "Training started.")
    persist()

    tokenizer = AutoTokenizer.from_pretrained(spec.base_model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # bfloat16 where the GPU has it (A100, H100, L4, L40S, A10G); float16 on older ones (T4); float32 on CPU.
    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    dtype = torch.bfloat16 if bf16 else torch.float16 if cuda else torch.float32
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    quantization = None
    placement = {}
    if spec.approach == "qlora":
        from transformers import BitsAndBytesConfig

        quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype)
        # A 4-bit model is placed at load: each data-parallel process on its own GPU.
        placement = {"device_map": {"": int(os.environ.get("LOCAL_RANK", "0"))}} if cuda else {}
    model = AutoModelForCausalLM.from_pretrained(spec.base_model, torch_dtype=dtype, quantization_config=quantization, **placement)
    lora = LoraConfig(**lora_arguments(spec)) if spec.approach != "full" else None
    arguments = trainer_arguments(spec, checkpoints_dir, validation is not None, world_size)
    arguments.update({"bf16": bf16, "fp16": cuda and not bf16})

    class Report(TrainerCallback):
        """Streams the Trainer's logs, checkpoints and progress into the job record; honours cancel."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            for key, value in (logs or {}).items():
                name = LOG_NAMES.get(key) or (key if key.startswith(("rewards/", "logps/")) else None)
                if name and isinstance(value, (int, float)):
                    if key == "loss" and not math.isfinite(value):
                        raise FloatingPointError(f"loss is {value} at step {state.global_step} (nan loss)")
                    record.metric(name, state.global_step, value)
            record.progress(state.global_step, state.max_steps)

        def on_save(self, args, state, control, **kwargs):
            path = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
            record.append("checkpoint", step=state.global_step, path=path)
            persist()

        def on_step_end(self, args, state, control, **kwargs):
            # On Modal the cancel endpoint also stops the function; the marker serves plain-script runs.
            if _cancelled(job_dir):
                control.should_training_stop = True

    callbacks = [Report()]
    if validation is not None and hp.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(hp.early_stopping_patience, hp.early_stopping_min_delta))

    if spec.method == "dpo":
        from trl import DPOConfig, DPOTrainer

        trainer = DPOTrainer(model=model, args=DPOConfig(**arguments), train_dataset=train, eval_dataset=validation,
                             processing_class=tokenizer, peft_config=lora, callbacks=callbacks)
    else:
        from trl import SFTConfig, SFTTrainer

        trainer = SFTTrainer(model=model, args=SFTConfig(**arguments), train_dataset=train, eval_dataset=validation,
                             processing_class=tokenizer, peft_config=lora, callbacks=callbacks)
    trainer.train(resume_from_checkpoint=resume)
    if _cancelled(job_dir):
        record.status("cancelled", "Cancelled on request.")
        persist()
        return "cancelled"

    kind = "model" if spec.approach == "full" else "adapter"
    output_dir = os.path.join(job_dir, "output", kind)
    # Every process takes part (a sharded model is gathered); the Trainer writes on the main one only.
    trainer.save_model(output_dir)
    if not record.writer:
        return "succeeded"
    tokenizer.save_pretrained(output_dir)
    with open(os.path.join(output_dir, "finetune_mcp.json"), "w", encoding="utf-8") as handle:
        json.dump({"job_id": spec.job_id, "base_model": spec.base_model, "method": spec.method, "approach": spec.approach, "steps": trainer.state.global_step}, handle)
    publish_output(record, kind, output_dir, spec.backend_options.get("output_uri"))
    record.status("succeeded", f"{kind.capitalize()} saved after {trainer.state.global_step} steps.", step=trainer.state.global_step)
    persist()
    return "succeeded"


def publish_output(record: JobRecord, kind: str, folder: str, output_uri: Optional[str], upload: Callable[..., str] = upload_artifact) -> None:
    """The artifact event of the saved output, with the URI it was also written to (backend_options.output_uri)."""
    if output_uri:
        record.append("artifact", kind=kind, path=folder, uri=upload(folder, output_uri, os.environ))
    else:
        record.append("artifact", kind=kind, path=folder)

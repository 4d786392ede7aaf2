"""Runs finetune-mcp's GPU trainer as a plain script, without Modal.

    python trainer.py --spec spec.json [--job-dir DIR]

The spec is a finetune-mcp TrainingSpec; its dataset paths are copied into the job folder
(train.jsonl, validation.jsonl) so the folder alone is enough to resume after a restart.
Progress goes to DIR/events.jsonl and DIR/status.json; the adapter to DIR/output/adapter/ (a full
fine-tune's model to DIR/output/model/). With more than one GPU (backend_options.num_gpus, or
SageMaker's SM_NUM_GPUS / SM_HOSTS) this process starts the training ranks under `accelerate launch`
(ftm_trainer/launch.py); only rank 0 writes events and the output.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ftm_trainer.launch import launch_command, launch_plan, launched_by_a_launcher  # noqa: E402
from ftm_trainer.spec import parse_spec  # noqa: E402


def _copy_atomic(source: str, target: str) -> None:
    # Every rank of a launch the platform started (Azure ML) prepares the folder: none may read a half copy.
    temp = f"{target}.tmp-{os.getpid()}"
    shutil.copyfile(source, temp)
    os.replace(temp, target)


def prepare_job_dir(spec_path: str, job_dir: str) -> str:
    """Copies the spec and its splits into `job_dir` (once: a re-run resumes the same folder)."""
    with open(spec_path, "r", encoding="utf-8") as handle:
        document = json.load(handle)
    spec = parse_spec(document)
    os.makedirs(job_dir, exist_ok=True)
    for source, name in ((spec.train_path, "train.jsonl"), (spec.validation_path, "validation.jsonl")):
        target = os.path.join(job_dir, name)
        if source and not os.path.exists(target):
            _copy_atomic(source, target)
    temp = os.path.join(job_dir, f"spec.json.tmp-{os.getpid()}")
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    os.replace(temp, os.path.join(job_dir, "spec.json"))
    return job_dir


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="TrainingSpec JSON file")
    parser.add_argument("--job-dir", help="Folder for checkpoints, events and the adapter (default: the spec's output_dir)")
    parser.add_argument("--prepared", action="store_true", help=argparse.SUPPRESS)  # a launched rank: the folder is ready
    args = parser.parse_args(argv)
    with open(args.spec, "r", encoding="utf-8") as handle:
        document = json.load(handle)
    job_dir = args.job_dir or document.get("output_dir") or os.path.dirname(os.path.abspath(args.spec))
    if not args.prepared:
        prepare_job_dir(args.spec, job_dir)
    # A rank some launcher started (accelerate, Azure ML's PyTorch distribution) trains; otherwise this process may launch.
    plan = None if launched_by_a_launcher(os.environ) else launch_plan((document.get("config") or {}).get("backend_options") or {}, os.environ)
    if plan and plan.num_processes > 1:
        # This process only starts the ranks (one per GPU, this node's share); each trains from the prepared folder.
        script_args = ["--spec", os.path.join(job_dir, "spec.json"), "--job-dir", job_dir, "--prepared"]
        return subprocess.call(launch_command(plan, os.path.abspath(__file__), script_args, sys.executable))
    from ftm_trainer.train import run_training

    return 0 if run_training(job_dir) == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

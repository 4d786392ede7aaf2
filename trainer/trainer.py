"""Runs finetune-mcp's GPU trainer as a plain script, without Modal.

    python trainer.py --spec spec.json [--job-dir DIR]

The spec is a finetune-mcp TrainingSpec; its dataset paths are copied into the job folder
(train.jsonl, validation.jsonl) so the folder alone is enough to resume after a restart.
Progress goes to DIR/events.jsonl and DIR/status.json; the adapter to DIR/output/adapter/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ftm_trainer.spec import parse_spec  # noqa: E402


def prepare_job_dir(spec_path: str, job_dir: str) -> str:
    """Copies the spec and its splits into `job_dir` (once: a re-run resumes the same folder)."""
    with open(spec_path, "r", encoding="utf-8") as handle:
        document = json.load(handle)
    spec = parse_spec(document)
    os.makedirs(job_dir, exist_ok=True)
    for source, name in ((spec.train_path, "train.jsonl"), (spec.validation_path, "validation.jsonl")):
        target = os.path.join(job_dir, name)
        if source and not os.path.exists(target):
            shutil.copyfile(source, target)
    with open(os.path.join(job_dir, "spec.json"), "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return job_dir


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="TrainingSpec JSON file")
    parser.add_argument("--job-dir", help="Folder for checkpoints, events and the adapter (default: the spec's output_dir)")
    args = parser.parse_args(argv)
    with open(args.spec, "r", encoding="utf-8") as handle:
        output_dir = json.load(handle).get("output_dir")
    job_dir = prepare_job_dir(args.spec, args.job_dir or output_dir or os.path.dirname(os.path.abspath(args.spec)))
    from ftm_trainer.train import run_training

    return 0 if run_training(job_dir) == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

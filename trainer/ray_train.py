"""Runs the trainer on several nodes of a Ray cluster through Ray Train.

    python ray_train.py --spec spec.json --job-dir DIR --num-nodes 2 --gpus-per-node 4

A Ray job's entrypoint runs once, on one node; `accelerate launch` there cannot start processes
on the other nodes. Ray Train's TorchTrainer can: it starts one worker per GPU across the cluster
(ScalingConfig(num_workers, use_gpu=True)), sets up torch.distributed between them (RANK,
LOCAL_RANK, WORLD_SIZE, MASTER_ADDR in each worker's environment), and each worker runs the same
Hugging Face training as trainer.py; rank 0 writes the events and the output. The job folder must
be on storage every node sees (plugins.ray.storage_dir). Ray forwards each worker's stdout to the
job's log behind a `(RayTrainWorker pid=…, ip=…) ` prefix, which the event-line reader allows. Resume stays the trainer's own (its last
checkpoint in the job folder), so Ray Train's own checkpointing and retries are not used.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def scaling(num_nodes: int, gpus_per_node: int, accelerator_type: Optional[str] = None) -> Dict[str, Any]:
    """Ray Train's ScalingConfig arguments: one worker per GPU, each holding one (of that accelerator type, if named)."""
    if num_nodes < 1 or gpus_per_node < 1:
        raise ValueError(f"num_nodes and gpus_per_node must be ≥ 1, got {num_nodes} and {gpus_per_node}")
    config: Dict[str, Any] = {"num_workers": num_nodes * gpus_per_node, "use_gpu": True, "resources_per_worker": {"GPU": 1}}
    if accelerator_type:
        config["accelerator_type"] = accelerator_type
    return config


def train_worker(config: Dict[str, Any]) -> None:
    """One Ray Train worker: the trainer's own training in the shared job folder (the path rides in sys.path)."""
    sys.path.insert(0, config["trainer_dir"])
    from ftm_trainer.train import run_training

    state = run_training(config["job_dir"])
    if state == "failed":
        raise RuntimeError("the trainer reported the job failed (see its status event)")


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--job-dir", required=True)
    parser.add_argument("--num-nodes", type=int, required=True)
    parser.add_argument("--gpus-per-node", type=int, required=True)
    parser.add_argument("--accelerator-type", help="Ray's accelerator type for every worker, e.g. A100 (backend_options.gpu_type)")
    args = parser.parse_args(argv)
    from trainer import prepare_job_dir

    job_dir = prepare_job_dir(args.spec, args.job_dir)
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    trainer = TorchTrainer(
        train_worker,
        train_loop_config={"job_dir": job_dir, "trainer_dir": os.path.dirname(os.path.abspath(__file__))},
        scaling_config=ScalingConfig(**scaling(args.num_nodes, args.gpus_per_node, args.accelerator_type)),
        # Ray Train's own records go beside the trainer's, on the same shared storage.
        run_config=RunConfig(name="ray-train", storage_path=os.path.abspath(job_dir)),
    )
    result = trainer.fit()
    return 0 if result.error is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

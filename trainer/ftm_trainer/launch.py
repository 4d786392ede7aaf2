"""How many trainer processes a job runs, and the command that starts them.

One process is plain ``python trainer.py``; more run under ``accelerate launch`` (data parallel,
one process per GPU) with trainer/accelerate/multi_gpu.yaml. The counts come from the platform
when it says them (SageMaker's /opt/ml/input/config/resourceconfig.json, or SM_HOSTS / SM_CURRENT_HOST /
SM_NUM_GPUS where AWS's training toolkit set them), else from the spec's
backend_options (num_gpus per node, num_nodes). A process a launcher started (RANK or LOCAL_RANK in
its environment: accelerate, torchrun, Ray Train, Azure ML's PyTorch distribution) trains directly.
Standard library only, so it is tested anywhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional

from .spec import SpecError

ACCELERATE_CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "accelerate", "multi_gpu.yaml")
# torch.distributed's customary rendezvous port; every node of a job must agree on it.
MAIN_PROCESS_PORT = 29500


@dataclass(frozen=True)
class LaunchPlan:
    """Processes per machine, machines, this machine's rank, and the rank-0 machine's address."""

    gpus_per_node: int = 1
    num_nodes: int = 1
    machine_rank: int = 0
    main_address: Optional[str] = None

    @property
    def num_processes(self) -> int:
        return self.gpus_per_node * self.num_nodes


def _count(options: Mapping[str, Any], name: str) -> int:
    value = options.get(name, 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"config.backend_options.{name}", f"must be a whole number ≥ 1, got {value!r}")
    return value


# SageMaker writes the cluster of a training job here in every container it runs, the trainer's
# own image included ({"current_host": "algo-1", "hosts": ["algo-1", "algo-2"], …}); the SM_* variables
# come only from AWS's training toolkit, which images built on it have.
SAGEMAKER_RESOURCE_CONFIG = "/opt/ml/input/config/resourceconfig.json"


def visible_gpus() -> int:
    """CUDA devices this machine shows (torch is in the trainer image; without it, one process)."""
    try:
        import torch

        return max(1, torch.cuda.device_count())
    except ImportError:
        return 1


def _sagemaker_plan(options: Mapping[str, Any], env: Mapping[str, str], resource_config: str, count_gpus: Callable[[], int]) -> Optional[LaunchPlan]:
    """SageMaker runs the container once per instance and says the cluster in resourceconfig.json (or SM_HOSTS)."""
    if "SM_HOSTS" in env and "SM_CURRENT_HOST" in env:
        hosts, current = json.loads(env["SM_HOSTS"]), env["SM_CURRENT_HOST"]
    elif os.path.exists(resource_config):
        with open(resource_config, "r", encoding="utf-8") as handle:
            config = json.load(handle)
        hosts, current = config["hosts"], config["current_host"]
    else:
        return None
    hosts = sorted(hosts)
    # Every GPU of the instance: SM_NUM_GPUS where the toolkit set it, else num_gpus when the spec says, else the devices seen.
    gpus = int(env["SM_NUM_GPUS"]) if env.get("SM_NUM_GPUS") else _count(options, "num_gpus") if "num_gpus" in options else count_gpus()
    return LaunchPlan(gpus_per_node=max(1, gpus), num_nodes=len(hosts), machine_rank=hosts.index(current), main_address=hosts[0])


def launch_plan(options: Mapping[str, Any], env: Mapping[str, str], resource_config: str = SAGEMAKER_RESOURCE_CONFIG, count_gpus: Callable[[], int] = visible_gpus) -> LaunchPlan:
    """The job's process layout: the platform's word first, else backend_options.num_gpus / num_nodes."""
    platform = _sagemaker_plan(options, env, resource_config, count_gpus)
    if platform:
        return platform
    gpus = options.get("num_gpus", 1)
    # num_gpus 0 (Ray's CPU-only test clusters) still runs one process.
    gpus_per_node = 1 if gpus == 0 else _count(options, "num_gpus")
    nodes = _count(options, "num_nodes")
    if nodes > 1:
        # Several machines need a launcher that starts a process on each (SageMaker, Ray Train, Azure ML):
        # a single `python trainer.py` cannot reach the other nodes.
        raise SpecError("config.backend_options.num_nodes", f"{nodes} nodes need the platform to start the trainer on each node; this process sees no other node")
    return LaunchPlan(gpus_per_node=gpus_per_node)


def launched_by_a_launcher(env: Mapping[str, str]) -> bool:
    """Whether this process is one rank of a distributed launch already (so it must train, not launch)."""
    return "LOCAL_RANK" in env or "RANK" in env


def launch_command(plan: LaunchPlan, script: str, script_args: List[str], python: str) -> List[str]:
    """The command that runs `script` with `plan`'s processes: the script itself for one, accelerate for more."""
    if plan.num_processes == 1:
        return [python, script, *script_args]
    command = [python, "-m", "accelerate.commands.launch", "--config_file", ACCELERATE_CONFIG, "--num_processes", str(plan.num_processes)]
    if plan.num_nodes > 1:
        command += [
            "--num_machines", str(plan.num_nodes),
            "--machine_rank", str(plan.machine_rank),
            "--main_process_ip", plan.main_address or "127.0.0.1",
            "--main_process_port", str(MAIN_PROCESS_PORT),
        ]
    return [*command, script, *script_args]

"""How many trainer processes a job runs, and the command that starts them.

One process is plain ``python trainer.py``; more run under ``accelerate launch`` (data parallel,
one process per GPU) with trainer/accelerate/multi_gpu.yaml. The counts come from the platform
when it says them (SageMaker's SM_HOSTS / SM_CURRENT_HOST / SM_NUM_GPUS), else from the spec's
backend_options (num_gpus per node, num_nodes). A process a launcher started (RANK or LOCAL_RANK in
its environment: accelerate, torchrun, Ray Train, Azure ML's PyTorch distribution) trains directly.
Standard library only, so it is tested anywhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional

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


def _sagemaker_plan(env: Mapping[str, str]) -> Optional[LaunchPlan]:
    """SageMaker runs the container once per instance and says the cluster in its environment."""
    if "SM_HOSTS" not in env or "SM_CURRENT_HOST" not in env:
        return None
    hosts = sorted(json.loads(env["SM_HOSTS"]))
    gpus = max(1, int(env.get("SM_NUM_GPUS", "1") or 1))
    return LaunchPlan(gpus_per_node=gpus, num_nodes=len(hosts), machine_rank=hosts.index(env["SM_CURRENT_HOST"]), main_address=hosts[0])


def launch_plan(options: Mapping[str, Any], env: Mapping[str, str]) -> LaunchPlan:
    """The job's process layout: the platform's word first, else backend_options.num_gpus / num_nodes."""
    platform = _sagemaker_plan(env)
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

import io
import json
import os
import tempfile
import unittest

from ftm_trainer.events import JobRecord, is_main_process
from ftm_trainer.launch import ACCELERATE_CONFIG, LaunchPlan, launch_command, launch_plan, launched_by_a_launcher
from ftm_trainer.spec import SpecError, parse_spec, trainer_arguments

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


class LaunchPlanTest(unittest.TestCase):
    def test_one_gpu_is_one_process_run_as_the_script_itself(self):
        plan = launch_plan({}, {}, resource_config="/nonexistent")
        self.assertEqual(plan.num_processes, 1)
        self.assertEqual(launch_command(plan, "/t/trainer.py", ["--spec", "s.json"], "python3"), ["python3", "/t/trainer.py", "--spec", "s.json"])
        # Ray's CPU-only clusters ask for 0 GPUs: still one process.
        self.assertEqual(launch_plan({"num_gpus": 0}, {}, resource_config="/nonexistent").num_processes, 1)

    def test_num_gpus_on_one_node_runs_accelerate_with_that_many_processes(self):
        plan = launch_plan({"num_gpus": 4}, {}, resource_config="/nonexistent")
        command = launch_command(plan, "/t/trainer.py", ["--spec", "s.json", "--prepared"], "python3")
        self.assertEqual(command, ["python3", "-m", "accelerate.commands.launch", "--config_file", ACCELERATE_CONFIG, "--num_processes", "4", "/t/trainer.py", "--spec", "s.json", "--prepared"])
        self.assertTrue(os.path.exists(ACCELERATE_CONFIG))

    def test_sagemaker_cluster_from_its_environment(self):
        env = {"SM_HOSTS": json.dumps(["algo-2", "algo-1"]), "SM_CURRENT_HOST": "algo-2", "SM_NUM_GPUS": "8"}
        plan = launch_plan({"num_gpus": 1}, env)
        self.assertEqual(plan, LaunchPlan(gpus_per_node=8, num_nodes=2, machine_rank=1, main_address="algo-1"))
        command = launch_command(plan, "/t/trainer.py", [], "python")
        self.assertEqual(command[command.index("--num_processes") + 1], "16")
        self.assertEqual(command[command.index("--num_machines") + 1], "2")
        self.assertEqual(command[command.index("--machine_rank") + 1], "1")
        self.assertEqual(command[command.index("--main_process_ip") + 1], "algo-1")
        self.assertEqual(command[command.index("--main_process_port") + 1], "29500")

    def test_sagemaker_cluster_from_its_resource_config_in_a_bring_your_own_image(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "resourceconfig.json")
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"current_host": "algo-1", "hosts": ["algo-1", "algo-2", "algo-3"], "network_interface_name": "eth0"}, handle)
            seen = launch_plan({}, {}, resource_config=path, count_gpus=lambda: 4)
            self.assertEqual(seen, LaunchPlan(gpus_per_node=4, num_nodes=3, machine_rank=0, main_address="algo-1"))
            self.assertEqual(launch_plan({"num_gpus": 8}, {}, resource_config=path, count_gpus=lambda: 4).gpus_per_node, 8)
            # One instance with one GPU stays a plain process.
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"current_host": "algo-1", "hosts": ["algo-1"]}, handle)
            self.assertEqual(launch_plan({}, {}, resource_config=path, count_gpus=lambda: 1).num_processes, 1)

    def test_bad_counts_and_unlaunchable_nodes_name_the_field(self):
        for options, field in (({"num_gpus": -1}, "num_gpus"), ({"num_gpus": 1.5}, "num_gpus"), ({"num_nodes": True}, "num_nodes"), ({"num_nodes": 2}, "num_nodes")):
            with self.assertRaises(SpecError) as caught:
                launch_plan(options, {}, resource_config="/nonexistent")
            self.assertEqual(caught.exception.field, f"config.backend_options.{field}")

    def test_a_launched_rank_trains_instead_of_launching_again(self):
        self.assertFalse(launched_by_a_launcher({}))
        self.assertTrue(launched_by_a_launcher({"LOCAL_RANK": "0"}))
        self.assertTrue(launched_by_a_launcher({"RANK": "3", "WORLD_SIZE": "4"}))


class RankZeroTest(unittest.TestCase):
    def test_only_rank_zero_is_main(self):
        self.assertTrue(is_main_process({}))
        self.assertTrue(is_main_process({"RANK": "0"}))
        self.assertFalse(is_main_process({"RANK": "2"}))

    def test_other_ranks_write_no_events_status_or_lines(self):
        with tempfile.TemporaryDirectory() as folder:
            stream = io.StringIO()
            other = JobRecord(folder, stream=stream, writer=False)
            other.status("running", "Training started.")
            other.metric("loss", 1, 2.0)
            other.progress(1, 10)
            other.update(attempts=1)
            self.assertEqual(stream.getvalue(), "")
            self.assertEqual(sorted(os.listdir(folder)), [])
            main = JobRecord(folder, stream=stream, writer=True)
            main.metric("loss", 1, 2.0)
            self.assertEqual(stream.getvalue().count("FTM_EVENT "), 1)
            self.assertEqual(main.events_after(0)[0]["seq"], 1)


class ShardingTest(unittest.TestCase):
    def spec(self, approach):
        with open(os.path.join(FIXTURES, "spec.json"), "r", encoding="utf-8") as handle:
            document = json.load(handle)
        document["config"]["approach"] = approach
        return parse_spec(document)

    def test_a_full_fine_tune_on_several_processes_is_fully_sharded(self):
        args = trainer_arguments(self.spec("full"), "/c", False, world_size=8)
        self.assertEqual(args["fsdp"], "full_shard auto_wrap")
        self.assertEqual(args["fsdp_config"]["state_dict_type"], "FULL_STATE_DICT")

    def test_adapters_and_single_processes_are_not_sharded(self):
        self.assertNotIn("fsdp", trainer_arguments(self.spec("full"), "/c", False, world_size=1))
        self.assertNotIn("fsdp", trainer_arguments(self.spec("lora"), "/c", False, world_size=8))


class RayTrainTest(unittest.TestCase):
    def test_one_worker_per_gpu_across_the_nodes(self):
        import sys

        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from ray_train import scaling

        self.assertEqual(scaling(2, 4), {"num_workers": 8, "use_gpu": True, "resources_per_worker": {"GPU": 1}})
        self.assertEqual(scaling(1, 2, "A100")["accelerator_type"], "A100")
        with self.assertRaises(ValueError):
            scaling(0, 4)


if __name__ == "__main__":
    unittest.main()

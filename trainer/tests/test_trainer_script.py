import json
import os
import subprocess
import sys
import tempfile
import unittest

APP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_spec(folder, backend_options=None):
    """The fixture spec with a one-row training split in `folder`; returns the spec's path."""
    train = os.path.join(folder, "src-train.jsonl")
    with open(train, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"prompt": "a", "completion": "b"}) + "\n")
    with open(os.path.join(APP, "tests", "fixtures", "spec.json"), "r", encoding="utf-8") as handle:
        spec = json.load(handle)
    spec["dataset"].update({"train_path": train, "validation_path": None})
    if backend_options is not None:
        spec["config"]["backend_options"] = backend_options
    spec_path = os.path.join(folder, "spec.json")
    with open(spec_path, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    return spec_path


class TrainerScriptTest(unittest.TestCase):
    def test_prepare_job_dir_copies_spec_and_splits(self):
        sys.path.insert(0, APP)
        from trainer import prepare_job_dir

        with tempfile.TemporaryDirectory() as folder:
            job = prepare_job_dir(write_spec(folder), os.path.join(folder, "job"))
            self.assertEqual(sorted(os.listdir(job)), ["spec.json", "train.jsonl"])

    def test_every_module_compiles_and_the_trainer_imports_without_torch_or_modal(self):
        # The Modal app imports the shared trainer from here (plugins/modal/app/modal_app.py).
        for name in (os.path.join("..", "plugins", "modal", "app", "modal_app.py"), "trainer.py", os.path.join("ftm_trainer", "train.py")):
            with open(os.path.join(APP, name), "r", encoding="utf-8") as handle:
                compile(handle.read(), name, "exec")
        sys.path.insert(0, APP)
        import ftm_trainer.train as train

        self.assertTrue(callable(train.run_training))

    def test_help_runs_as_a_plain_script_without_torch(self):
        result = subprocess.run([sys.executable, os.path.join(APP, "trainer.py"), "--help"], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("--spec", result.stdout)

    def test_more_than_one_gpu_prepares_once_then_launches_the_ranks_under_accelerate(self):
        sys.path.insert(0, APP)
        import trainer
        from unittest import mock

        with tempfile.TemporaryDirectory() as folder:
            spec_path = write_spec(folder, {"num_gpus": 2})
            job = os.path.join(folder, "job")
            clean = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "SM_HOSTS", "SM_CURRENT_HOST")}
            from ftm_trainer.launch import launch_plan

            with mock.patch.dict(os.environ, clean, clear=True), mock.patch.object(trainer.subprocess, "call", return_value=0) as call, mock.patch.object(trainer, "launch_plan", lambda options, env: launch_plan(options, env, resource_config="/nonexistent")):
                self.assertEqual(trainer.main(["--spec", spec_path, "--job-dir", job]), 0)
            command = call.call_args.args[0]
            self.assertEqual(command[1:3], ["-m", "accelerate.commands.launch"])
            self.assertEqual(command[command.index("--num_processes") + 1], "2")
            self.assertEqual(command[-6:], [os.path.join(APP, "trainer.py"), "--spec", os.path.join(job, "spec.json"), "--job-dir", job, "--prepared"])
            self.assertEqual(sorted(os.listdir(job)), ["spec.json", "train.jsonl"])

    def test_a_bad_spec_fails_with_the_field(self):
        with tempfile.TemporaryDirectory() as folder:
            spec_path = os.path.join(folder, "spec.json")
            with open(spec_path, "w", encoding="utf-8") as handle:
                json.dump({"job_id": "j", "config": {"method": "ppo"}}, handle)
            result = subprocess.run([sys.executable, os.path.join(APP, "trainer.py"), "--spec", spec_path], capture_output=True, text=True, timeout=60)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("config.method", result.stderr)


if __name__ == "__main__":
    unittest.main()

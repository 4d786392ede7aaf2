import json
import os
import unittest

from ftm_trainer.spec import SpecError, lora_arguments, parse_spec, trainer_arguments

HERE = os.path.dirname(os.path.abspath(__file__))


def load_spec():
    with open(os.path.join(HERE, "fixtures", "spec.json"), "r", encoding="utf-8") as handle:
        return json.load(handle)


class ParseSpecTest(unittest.TestCase):
    def test_reads_the_typescript_training_spec(self):
        spec = parse_spec(json.dumps(load_spec()))
        self.assertEqual(spec.job_id, "job_01abc")
        self.assertEqual(spec.method, "sft")
        self.assertEqual(spec.base_model, "Qwen/Qwen2.5-0.5B-Instruct")
        self.assertEqual(spec.hyperparameters.lora_r, 16)
        self.assertEqual(spec.hyperparameters.target_modules, ["q_proj", "v_proj"])
        self.assertEqual(spec.train_path, "/runs/job_01abc/train.jsonl")

    def test_hf_model_option_overrides_the_record_name(self):
        document = load_spec()
        document["config"]["backend_options"] = {"hf_model": "org/other-model"}
        self.assertEqual(parse_spec(document).base_model, "org/other-model")

    def test_refuses_bad_fields_by_name(self):
        cases = [
            (("config", "method"), "ppo", "config.method"),
            (("config", "approach"), "dora", "config.approach"),
            (("config", "backend_options"), {"output_uri": "gs://bucket/x"}, "config.backend_options.output_uri"),
            (("config", "hyperparameters", "lora_r"), 0, "hyperparameters.lora_r"),
            (("config", "hyperparameters", "batch_size"), 2.5, "hyperparameters.batch_size"),
            (("config", "hyperparameters", "lr_scheduler"), "step", "hyperparameters.lr_scheduler"),
            (("config", "hyperparameters", "learning_rate"), "fast", "hyperparameters.learning_rate"),
        ]
        for path, value, field in cases:
            document = load_spec()
            node = document
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            with self.assertRaises(SpecError) as caught:
                parse_spec(document)
            self.assertEqual(caught.exception.field, field)

    def test_missing_train_path(self):
        document = load_spec()
        del document["dataset"]["train_path"]
        with self.assertRaises(SpecError) as caught:
            parse_spec(document)
        self.assertEqual(caught.exception.field, "dataset.train_path")


class ArgumentsTest(unittest.TestCase):
    def test_lora_arguments(self):
        self.assertEqual(
            lora_arguments(parse_spec(load_spec())),
            {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": ["q_proj", "v_proj"], "use_rslora": False, "bias": "none", "task_type": "CAUSAL_LM"},
        )

    def test_sft_trainer_arguments(self):
        args = trainer_arguments(parse_spec(load_spec()), "/tmp/out", has_validation=True)
        self.assertEqual(args["num_train_epochs"], 2.0)
        self.assertEqual(args["max_steps"], -1)
        self.assertEqual(args["per_device_train_batch_size"], 4)
        self.assertEqual(args["gradient_accumulation_steps"], 2)
        self.assertEqual(args["lr_scheduler_type"], "cosine")
        self.assertEqual(args["save_strategy"], "steps")
        self.assertEqual(args["save_steps"], 10)
        self.assertEqual(args["eval_strategy"], "steps")
        self.assertEqual(args["eval_steps"], 5)
        self.assertEqual(args["max_length"], 1024)
        self.assertTrue(args["completion_only_loss"])
        self.assertTrue(args["load_best_model_at_end"])
        self.assertNotIn("beta", args)

    def test_dpo_and_no_validation(self):
        document = load_spec()
        document["config"]["method"] = "dpo"
        document["config"]["hyperparameters"].update({"max_steps": 50, "save_steps": 0, "early_stopping_patience": 0})
        args = trainer_arguments(parse_spec(document), "/tmp/out", has_validation=False)
        self.assertEqual(args["beta"], 0.1)
        self.assertEqual(args["max_steps"], 50)
        self.assertEqual(args["eval_strategy"], "no")
        self.assertEqual(args["save_strategy"], "epoch")
        self.assertNotIn("completion_only_loss", args)

    def test_early_stopping_needs_aligned_save_and_eval_steps(self):
        document = load_spec()
        document["config"]["hyperparameters"].update({"save_steps": 7, "eval_steps": 5})
        with self.assertRaises(SpecError):
            trainer_arguments(parse_spec(document), "/tmp/out", has_validation=True)


if __name__ == "__main__":
    unittest.main()

import os
import tempfile
import unittest

from ftm_trainer.data import DataError
from ftm_trainer.events import JobRecord, ends_the_job, error_code_for, latest_checkpoint


class JobRecordTest(unittest.TestCase):
    def test_sequence_numbers_continue_after_a_restart(self):
        with tempfile.TemporaryDirectory() as folder:
            first = JobRecord(folder)
            first.status("running", "started")
            first.metric("loss", 1, 2.5)
            # A preempted writer may leave a torn last line: it is skipped, not fatal.
            with open(first.events_path, "a", encoding="utf-8") as handle:
                handle.write('{"seq": 99, "ty')
            second = JobRecord(folder)
            second.metric("loss", 2, 2.0)
            events = second.events_after(0)
            self.assertEqual([e["seq"] for e in events], [1, 2, 3])
            self.assertEqual(events[-1], {**events[-1], "type": "metric", "name": "loss", "step": 2, "value": 2.0})
            self.assertEqual([e["seq"] for e in second.events_after(2)], [3])
            self.assertEqual(second.read_status()["state"], "running")

    def test_progress_keeps_the_state(self):
        with tempfile.TemporaryDirectory() as folder:
            record = JobRecord(folder)
            record.status("running")
            record.progress(5, 20)
            self.assertEqual({k: record.read_status()[k] for k in ("state", "step", "total_steps")}, {"state": "running", "step": 5, "total_steps": 20})


class RetryTest(unittest.TestCase):
    def test_only_fixable_failures_are_retried_and_only_while_attempts_remain(self):
        self.assertFalse(ends_the_job("UPSTREAM_ERROR", 1, 4))
        self.assertTrue(ends_the_job("UPSTREAM_ERROR", 4, 4))
        self.assertTrue(ends_the_job("DATASET_INVALID", 1, 4))
        self.assertTrue(ends_the_job("OUT_OF_MEMORY", 1, 4))

    def test_update_changes_fields_without_an_event(self):
        with tempfile.TemporaryDirectory() as folder:
            record = JobRecord(folder)
            record.status("queued")
            record.update(call_id="fc-1", attempts=2)
            self.assertEqual({k: record.read_status()[k] for k in ("state", "call_id", "attempts")}, {"state": "queued", "call_id": "fc-1", "attempts": 2})
            self.assertEqual(len(record.events_after(0)), 1)


class CheckpointTest(unittest.TestCase):
    def test_latest_complete_checkpoint(self):
        with tempfile.TemporaryDirectory() as folder:
            for step, complete in ((10, True), (20, True), (30, False), (5, True)):
                path = os.path.join(folder, f"checkpoint-{step}")
                os.makedirs(path)
                if complete:
                    open(os.path.join(path, "trainer_state.json"), "w").close()
            os.makedirs(os.path.join(folder, "runs"))
            self.assertEqual(latest_checkpoint(folder), os.path.join(folder, "checkpoint-20"))
            self.assertIsNone(latest_checkpoint(os.path.join(folder, "missing")))


class ErrorCodeTest(unittest.TestCase):
    def test_codes(self):
        class OutOfMemoryError(RuntimeError):
            pass

        self.assertEqual(error_code_for(OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")), "OUT_OF_MEMORY")
        self.assertEqual(error_code_for(DataError("t.jsonl", 3, "messages", "bad")), "DATASET_INVALID")
        self.assertEqual(error_code_for(FloatingPointError("loss is nan at step 7 (nan loss)")), "TRAINING_DIVERGED")
        self.assertEqual(error_code_for(RuntimeError("connection reset")), "UPSTREAM_ERROR")


if __name__ == "__main__":
    unittest.main()

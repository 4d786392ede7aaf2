import io
import json
import os
import tempfile
import unittest

from ftm_trainer.data import DataError
from ftm_trainer.events import EVENT_LINE_PREFIX, JobRecord, ends_the_job, error_code_for, latest_checkpoint

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "event-lines.log")


def a_short_run(folder: str, stream: io.StringIO) -> None:
    """The events of a 20-step run with a checkpoint and an adapter, at fixed times (the fixture's source)."""
    ticks = iter(1764928800.0 + 0.5 * i for i in range(100))
    record = JobRecord(folder, stream=stream, clock=lambda: next(ticks))
    record.status("running", "Training started.")
    record.progress(5, 20)
    record.metric("loss", 5, 2.5)
    record.metric("lr", 5, 0.0002)
    record.progress(10, 20)
    record.metric("loss", 10, 1.84)
    record.metric("eval_loss", 10, 1.9)
    record.append("checkpoint", step=10, path=os.path.join("/runs/job_01abc/checkpoints", "checkpoint-10"))
    record.append("event", message="Attempt 1 of 4 failed (RuntimeError: connection reset); retrying from the last checkpoint.")
    record.progress(20, 20)
    record.metric("loss", 20, 1.1)
    record.append("artifact", kind="adapter", path="/runs/job_01abc/output/adapter")
    record.status("succeeded", "Adapter saved after 20 steps.", step=20)


class JobRecordTest(unittest.TestCase):
    def test_sequence_numbers_continue_after_a_restart(self):
        with tempfile.TemporaryDirectory() as folder:
            first = JobRecord(folder, stream=io.StringIO())
            first.status("running", "started")
            first.metric("loss", 1, 2.5)
            # A preempted writer may leave a torn last line: it is skipped, not fatal.
            with open(first.events_path, "a", encoding="utf-8") as handle:
                handle.write('{"seq": 99, "ty')
            second = JobRecord(folder, stream=io.StringIO())
            second.metric("loss", 2, 2.0)
            events = second.events_after(0)
            self.assertEqual([e["seq"] for e in events], [1, 2, 3])
            self.assertEqual(events[-1], {**events[-1], "type": "metric", "name": "loss", "step": 2, "value": 2.0})
            self.assertEqual([e["seq"] for e in second.events_after(2)], [3])
            self.assertEqual(second.read_status()["state"], "running")

    def test_progress_keeps_the_state(self):
        with tempfile.TemporaryDirectory() as folder:
            record = JobRecord(folder, stream=io.StringIO())
            record.status("running")
            record.progress(5, 20)
            self.assertEqual({k: record.read_status()[k] for k in ("state", "step", "total_steps")}, {"state": "running", "step": 5, "total_steps": 20})


class EventLineTest(unittest.TestCase):
    def test_every_event_is_also_one_line_on_the_stream(self):
        with tempfile.TemporaryDirectory() as folder:
            stream = io.StringIO()
            record = JobRecord(folder, stream=stream)
            record.status("failed", "CUDA out of memory", error_code="OUT_OF_MEMORY")
            line = stream.getvalue().splitlines()[0]
            self.assertTrue(line.startswith(EVENT_LINE_PREFIX))
            self.assertEqual(json.loads(line[len(EVENT_LINE_PREFIX):]), {**json.loads(line[len(EVENT_LINE_PREFIX):]), "v": 1, "seq": 1, "type": "status", "state": "failed", "error_code": "OUT_OF_MEMORY"})

    def test_the_shared_fixture_is_what_the_trainer_writes(self):
        """trainer/tests/fixtures/event-lines.log is parsed by the TypeScript side: its event lines must be ours, byte for byte."""
        with tempfile.TemporaryDirectory() as folder:
            stream = io.StringIO()
            a_short_run(folder, stream)
            emitted = stream.getvalue().splitlines()
        with open(FIXTURE, "r", encoding="utf-8") as handle:
            in_fixture = [line for line in handle.read().splitlines() if line.startswith(EVENT_LINE_PREFIX)]
        self.assertEqual(in_fixture, emitted)
        self.assertEqual(len(emitted), 13)


class RetryTest(unittest.TestCase):
    def test_only_fixable_failures_are_retried_and_only_while_attempts_remain(self):
        self.assertFalse(ends_the_job("UPSTREAM_ERROR", 1, 4))
        self.assertTrue(ends_the_job("UPSTREAM_ERROR", 4, 4))
        self.assertTrue(ends_the_job("DATASET_INVALID", 1, 4))
        self.assertTrue(ends_the_job("OUT_OF_MEMORY", 1, 4))

    def test_update_changes_fields_without_an_event(self):
        with tempfile.TemporaryDirectory() as folder:
            record = JobRecord(folder, stream=io.StringIO())
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

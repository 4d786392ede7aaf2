"""The job's record: an append-only events.jsonl, an atomically replaced status.json, and event lines on stdout.

Every event is also printed as one line ``FTM_EVENT {json}`` (see trainer/EVENTS.md and
trainer/event-line.schema.json): backends that only see the job's logs (Ray, SageMaker) read
progress, metrics and checkpoints from those lines with finetune-mcp's one parser.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, TextIO

TERMINAL = ("succeeded", "failed", "cancelled")

# The marker that starts an event line in a log; the format's version rides in each event's "v".
EVENT_LINE_PREFIX = "FTM_EVENT "
EVENT_LINE_VERSION = 1


def event_line(event: Dict[str, Any]) -> str:
    """One event as the log line every finetune-mcp parser reads (one line, no spaces inside the JSON)."""
    return EVENT_LINE_PREFIX + json.dumps({"v": EVENT_LINE_VERSION, **event}, separators=(",", ":"), allow_nan=False)


def is_main_process(env: Mapping[str, str]) -> bool:
    """Whether this process is the job's rank 0 (or the only process): the one that writes the record.

    Every launcher the trainer runs under (accelerate, torchrun, Ray Train, Azure ML, SageMaker
    through accelerate) sets RANK to the global rank; a single process has none.
    """
    return env.get("RANK", "0") in ("", "0")


def _write_atomic(path: str, text: str) -> None:
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


class JobRecord:
    """Events get increasing `seq` numbers that survive restarts (a preempted run appends after the last).

    Only the main process writes (`writer`, default from RANK): with N training processes the other
    ranks would repeat every line and race on status.json. Their calls return the event unwritten.
    """

    def __init__(self, job_dir: str, stream: Optional[TextIO] = None, clock: Callable[[], float] = time.time, writer: Optional[bool] = None):
        self.dir = job_dir
        self.writer = is_main_process(os.environ) if writer is None else writer
        # Event lines go to stdout unless told otherwise (tests pass a buffer; None means sys.stdout at write time).
        self.stream = stream
        self.clock = clock
        os.makedirs(job_dir, exist_ok=True)
        self.events_path = os.path.join(job_dir, "events.jsonl")
        self.status_path = os.path.join(job_dir, "status.json")
        self.seq = self._last_seq()

    def _last_seq(self) -> int:
        last = 0
        if os.path.exists(self.events_path):
            with open(self.events_path, "r", encoding="utf-8") as handle:
                for text in handle:
                    try:
                        last = max(last, int(json.loads(text)["seq"]))
                    except (ValueError, KeyError, TypeError):
                        continue  # a torn last line from a killed writer
        return last

    def append(self, event_type: str, /, **fields: Any) -> Dict[str, Any]:
        # Positional-only: an artifact event has its own `kind` field (the adapter), which once collided here.
        self.seq += 1
        event = {"seq": self.seq, "time": self.clock(), "type": event_type, **fields}
        if not self.writer:
            return event
        with open(self.events_path, "ab+") as handle:
            # After a torn last line (a killed writer), start on a fresh line so this event parses.
            torn = False
            if handle.seek(0, os.SEEK_END) > 0:
                handle.seek(-1, os.SEEK_END)
                torn = handle.read(1) != b"\n"
            handle.write((("\n" if torn else "") + json.dumps(event) + "\n").encode("utf-8"))
        self._emit(event)
        return event

    def _emit(self, event: Dict[str, Any]) -> None:
        stream = self.stream or sys.stdout
        stream.write(event_line(event) + "\n")
        stream.flush()  # a log reader polls; a buffered line would arrive late or, on a kill, never

    def metric(self, name: str, step: int, value: float) -> None:
        self.append("metric", name=name, step=int(step), value=float(value))

    def status(self, state: str, message: str = "", **fields: Any) -> Dict[str, Any]:
        current = self.read_status()
        current.update({"state": state, "message": message, "updated_at": self.clock(), **fields})
        if not self.writer:
            return current
        _write_atomic(self.status_path, json.dumps(current))
        self.append("status", state=state, message=message, **{k: v for k, v in fields.items() if k in ("error_code",)})
        return current

    def read_status(self) -> Dict[str, Any]:
        if not os.path.exists(self.status_path):
            return {"state": "queued", "message": "", "step": 0, "total_steps": 0}
        with open(self.status_path, "r", encoding="utf-8") as handle:
            return json.load(handle)

    def update(self, **fields: Any) -> Dict[str, Any]:
        """Changes status fields (call id, attempts) without a status event."""
        current = self.read_status()
        current.update(fields)
        if self.writer:
            _write_atomic(self.status_path, json.dumps(current))
        return current

    def progress(self, step: int, total_steps: int) -> None:
        if not self.writer:
            return
        current = self.read_status()
        current.update({"step": int(step), "total_steps": int(total_steps), "updated_at": self.clock()})
        _write_atomic(self.status_path, json.dumps(current))
        # Progress is status.json's on disk; a log reader has only this line (no seq: it is not in events.jsonl).
        self._emit({"time": self.clock(), "type": "progress", "step": int(step), "total_steps": int(total_steps)})

    def events_after(self, after: int, limit: int = 500) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = []
        if not os.path.exists(self.events_path):
            return out
        with open(self.events_path, "r", encoding="utf-8") as handle:
            for text in handle:
                try:
                    event = json.loads(text)
                except ValueError:
                    continue
                if event.get("seq", 0) > after:
                    out.append(event)
                    if len(out) >= limit:
                        break
        return out


CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def latest_checkpoint(folder: str) -> Optional[str]:
    """The `checkpoint-N` folder with the highest N that holds a complete trainer state, if any."""
    if not os.path.isdir(folder):
        return None
    best: Optional[tuple] = None
    for name in os.listdir(folder):
        match = CHECKPOINT.match(name)
        path = os.path.join(folder, name)
        # A checkpoint cut short by preemption has no trainer_state.json yet: skip it.
        if match and os.path.exists(os.path.join(path, "trainer_state.json")):
            step = int(match.group(1))
            if best is None or step > best[0]:
                best = (step, path)
    return best[1] if best else None


def error_code_for(error: BaseException) -> str:
    """finetune-mcp's error code for a training failure."""
    text = f"{type(error).__name__}: {error}"
    if "OutOfMemory" in text or "out of memory" in text.lower():
        return "OUT_OF_MEMORY"
    if type(error).__name__ in ("DataError", "SpecError"):
        return "DATASET_INVALID" if type(error).__name__ == "DataError" else "CONFIG_INVALID"
    if "nan" in text.lower() and "loss" in text.lower():
        return "TRAINING_DIVERGED"
    if "401" in text or "gated repo" in text.lower() or "access to model" in text.lower():
        return "AUTH_INVALID"
    if "does not appear to have" in text or "is not a valid model identifier" in text or "Repository Not Found" in text:
        return "MODEL_UNSUPPORTED"
    return "UPSTREAM_ERROR"


# Failures a new attempt cannot fix: the job ends at once instead of being retried.
FINAL_CODES = ("DATASET_INVALID", "CONFIG_INVALID", "OUT_OF_MEMORY", "TRAINING_DIVERGED", "AUTH_INVALID", "MODEL_UNSUPPORTED")


def ends_the_job(code: str, attempt: int, max_attempts: int) -> bool:
    """Whether a failure with `code` on `attempt` (1-based) is final, or the platform should retry."""
    return code in FINAL_CODES or attempt >= max_attempts

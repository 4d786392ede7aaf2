"""finetune-mcp's Modal app: a GPU trainer function and a small HTTP API behind Modal proxy auth.

Deploy:  modal deploy modal_app.py   (see ../README.md)

Endpoints (all need the Modal-Key / Modal-Secret headers of a Proxy Auth Token):
  POST /jobs                      submit {job_id, spec, train_jsonl, validation_jsonl?} -> job status
  GET  /jobs/{job_id}             status {job_id, state, message, step, total_steps, error_code?, call_id}
  GET  /jobs/{job_id}/events      ?after=SEQ&limit=N -> {data: [events with seq], last_seq, has_more}
  POST /jobs/{job_id}/cancel      stops the GPU function; idempotent
  GET  /jobs/{job_id}/adapter     {files: [{name, bytes}]} of the PEFT adapter
  GET  /jobs/{job_id}/adapter/{name}   one adapter file
"""

from __future__ import annotations

import json
import os
import re
import sys

import modal

# The trainer is shared with every container backend (trainer/ at the repo root); `modal deploy`
# imports it from there and add_local_python_source ships it into the images.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "trainer"))

GPU = os.environ.get("FINETUNE_MCP_GPU", "A100-80GB")
MAX_RETRIES = 3
RUNS = "/runs"

TRAINER_REQUIREMENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "trainer", "requirements.txt")

# The same pinned requirements as trainer/Dockerfile: one list for every backend.
trainer_image = modal.Image.debian_slim(python_version="3.11").pip_install_from_requirements(TRAINER_REQUIREMENTS).add_local_python_source("ftm_trainer")
web_image = modal.Image.debian_slim(python_version="3.11").pip_install("fastapi[standard]==0.116.1").add_local_python_source("ftm_trainer")

app = modal.App("finetune-mcp-trainer")
runs = modal.Volume.from_name("finetune-mcp-runs", create_if_missing=True)

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@app.function(
    image=trainer_image,
    gpu=GPU,
    volumes={RUNS: runs},
    timeout=24 * 60 * 60,
    # A preempted or crashed run starts again and resumes from its latest checkpoint on the volume.
    retries=modal.Retries(max_retries=MAX_RETRIES, initial_delay=10.0, backoff_coefficient=2.0),
    # Gated base models (Llama, Gemma) need a Hugging Face token: name a Modal Secret holding HF_TOKEN.
    secrets=[modal.Secret.from_name(os.environ["FINETUNE_MCP_HF_SECRET"])] if os.environ.get("FINETUNE_MCP_HF_SECRET") else [],
)
def train_job(job_id: str) -> str:
    from ftm_trainer.train import run_training

    runs.reload()
    return run_training(os.path.join(RUNS, job_id), commit=runs.commit, max_attempts=MAX_RETRIES + 1)


@app.function(image=web_image, volumes={RUNS: runs})
@modal.asgi_app(requires_proxy_auth=True)
def api():
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import FileResponse

    from ftm_trainer.events import TERMINAL, JobRecord
    from ftm_trainer.spec import SpecError, parse_spec

    web = FastAPI(title="finetune-mcp trainer")

    def job_dir(job_id: str) -> str:
        if not JOB_ID.match(job_id):
            raise HTTPException(400, detail={"message": f"job id {job_id!r} has characters outside A-Z a-z 0-9 _ -"})
        path = os.path.join(RUNS, job_id)
        return path

    def existing(job_id: str) -> str:
        runs.reload()
        path = job_dir(job_id)
        if not os.path.exists(os.path.join(path, "spec.json")):
            raise HTTPException(404, detail={"message": f"no job {job_id}"})
        return path

    def public(job_id: str, record: JobRecord) -> dict:
        return {"job_id": job_id, **record.read_status()}

    @web.post("/jobs")
    async def submit(request: Request):
        body = await request.json()
        job_id = str(body.get("job_id", ""))
        path = job_dir(job_id)
        try:
            parse_spec(body.get("spec") or {})
        except SpecError as error:
            raise HTTPException(400, detail={"message": str(error), "param": error.field})
        runs.reload()
        record = JobRecord(path)
        if os.path.exists(os.path.join(path, "spec.json")):
            # Submitting the same job id twice (a retried request) returns the job already there.
            return public(job_id, record)
        with open(os.path.join(path, "train.jsonl"), "w", encoding="utf-8") as handle:
            handle.write(body.get("train_jsonl") or "")
        if body.get("validation_jsonl"):
            with open(os.path.join(path, "validation.jsonl"), "w", encoding="utf-8") as handle:
                handle.write(body["validation_jsonl"])
        with open(os.path.join(path, "spec.json"), "w", encoding="utf-8") as handle:
            json.dump(body["spec"], handle)
        record.status("queued", "Waiting for a GPU.")
        runs.commit()
        call = train_job.spawn(job_id)
        record.update(call_id=call.object_id)
        runs.commit()
        return public(job_id, record)

    @web.get("/jobs/{job_id}")
    async def status(job_id: str):
        return public(job_id, JobRecord(existing(job_id)))

    @web.get("/jobs/{job_id}/events")
    async def events(job_id: str, after: int = 0, limit: int = 500):
        record = JobRecord(existing(job_id))
        data = record.events_after(after, min(max(limit, 1), 1000))
        return {"data": data, "last_seq": data[-1]["seq"] if data else after, "has_more": len(data) >= limit}

    @web.post("/jobs/{job_id}/cancel")
    async def cancel(job_id: str):
        path = existing(job_id)
        record = JobRecord(path)
        current = record.read_status()
        if current.get("state") in TERMINAL:
            return public(job_id, record)
        open(os.path.join(path, "cancel"), "w").close()
        if current.get("call_id"):
            modal.FunctionCall.from_id(current["call_id"]).cancel()
        record.status("cancelled", "Cancelled on request.")
        runs.commit()
        return public(job_id, record)

    @web.get("/jobs/{job_id}/adapter")
    async def adapter(job_id: str):
        folder = os.path.join(existing(job_id), "output", "adapter")
        if not os.path.isdir(folder):
            raise HTTPException(404, detail={"message": f"job {job_id} has no adapter yet"})
        return {"files": [{"name": n, "bytes": os.path.getsize(os.path.join(folder, n))} for n in sorted(os.listdir(folder)) if os.path.isfile(os.path.join(folder, n))]}

    @web.get("/jobs/{job_id}/adapter/{name}")
    async def adapter_file(job_id: str, name: str):
        folder = os.path.join(existing(job_id), "output", "adapter")
        path = os.path.join(folder, name)
        if os.path.dirname(os.path.abspath(path)) != os.path.abspath(folder) or not os.path.isfile(path):
            raise HTTPException(404, detail={"message": f"no adapter file {name}"})
        return FileResponse(path)

    return web

"""Canonical finetune-mcp rows (docs/CONVENTIONS.md) as TRL dataset records, with located errors."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Tuple

ROLES = ("system", "developer", "user", "assistant", "tool")


class DataError(ValueError):
    """A row the trainer cannot use, with its 1-based line and field."""

    def __init__(self, path: str, line: int, field: str, message: str):
        super().__init__(f"{path} line {line}, field {field}: {message}")
        self.path, self.line, self.field = path, line, field


def read_jsonl(path: str) -> Iterator[Tuple[int, Any]]:
    """(line number, value) for each non-blank line."""
    with open(path, "r", encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                yield number, json.loads(text)
            except json.JSONDecodeError as error:
                raise DataError(path, number, "(row)", f"not valid JSON ({error.msg})") from None


def _messages(value: Any, where: Tuple[str, int], field: str) -> List[Dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise DataError(where[0], where[1], field, "expected a non-empty list of {role, content} messages")
    out = []
    for index, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise DataError(where[0], where[1], f"{field}[{index}].role", f"role must be one of {', '.join(ROLES)}")
        if not isinstance(message.get("content"), str):
            raise DataError(where[0], where[1], f"{field}[{index}].content", "content must be a string")
        out.append({"role": message["role"], "content": message["content"]})
    return out


def sft_record(row: Any, where: Tuple[str, int], loss_on: str) -> Dict[str, Any]:
    """A chat or completion row as a TRL SFT record.

    With loss on the completion only, a chat becomes a conversational prompt-completion pair
    split before its last assistant message (TRL then masks the prompt); with loss on all
    tokens it stays a plain conversation.
    """
    if not isinstance(row, dict):
        raise DataError(where[0], where[1], "(row)", "expected a JSON object")
    if "messages" in row:
        messages = _messages(row["messages"], where, "messages")
        last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=-1)
        if last < 0:
            raise DataError(where[0], where[1], "messages", "needs at least one assistant message")
        if loss_on == "all":
            return {"messages": messages}
        if last == 0:
            raise DataError(where[0], where[1], "messages", "the assistant answer needs a prompt before it")
        return {"prompt": messages[:last], "completion": [messages[last]]}
    if isinstance(row.get("prompt"), str) and isinstance(row.get("completion"), str):
        if loss_on == "all":
            return {"text": row["prompt"] + row["completion"]}
        return {"prompt": row["prompt"], "completion": row["completion"]}
    if isinstance(row.get("text"), str):
        return {"text": row["text"]}
    raise DataError(where[0], where[1], "(row)", "expected chat {messages}, completion {prompt, completion} or text {text}")


def _as_answer(value: Any, where: Tuple[str, int], field: str) -> List[Dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "assistant", "content": value}]
    return _messages(value, where, field)


def dpo_pair(row: Any, where: Tuple[str, int]) -> Dict[str, Any]:
    """A preference row as a TRL conversational preference record {prompt, chosen, rejected}.

    Rows whose chosen and rejected are whole conversations (prompt included) are split at their
    longest common prefix, which becomes the prompt, so the two answers are what differs.
    """
    if not isinstance(row, dict) or "chosen" not in row or "rejected" not in row:
        raise DataError(where[0], where[1], "chosen", "a preference row needs chosen and rejected")
    chosen = _as_answer(row["chosen"], where, "chosen")
    rejected = _as_answer(row["rejected"], where, "rejected")
    prompt = _messages(row["prompt"], where, "prompt") if row.get("prompt") not in (None, "", []) else []
    shared = 0
    while shared < min(len(chosen), len(rejected)) - 1 and chosen[shared] == rejected[shared]:
        shared += 1
    prompt, chosen, rejected = prompt + chosen[:shared], chosen[shared:], rejected[shared:]
    if not prompt:
        raise DataError(where[0], where[1], "prompt", "a preference pair needs a prompt")
    if chosen == rejected:
        raise DataError(where[0], where[1], "rejected", "chosen and rejected are the same: the pair teaches nothing")
    if chosen[0]["role"] != "assistant" or rejected[0]["role"] != "assistant":
        raise DataError(where[0], where[1], "chosen", "chosen and rejected must be assistant answers after the prompt")
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def load_records(path: str, method: str, loss_on: str = "completion") -> List[Dict[str, Any]]:
    """All rows of a split as TRL records for `method` ('sft' or 'dpo')."""
    records = []
    for line, row in read_jsonl(path):
        where = (path, line)
        records.append(dpo_pair(row, where) if method == "dpo" else sft_record(row, where, loss_on))
    if not records:
        raise DataError(path, 0, "(file)", "has no rows")
    kinds = {tuple(sorted(r)) for r in records}
    if len(kinds) > 1:
        raise DataError(path, 0, "(file)", f"mixes row shapes {sorted(kinds)}; TRL needs one shape per split")
    return records

"""Where the trained output goes besides the job folder: backend_options.output_uri.

A local path (or file://), s3://bucket/key, hf://[datasets/|spaces/]owner/name[@revision][/path]
(the Hugging Face Hub, as huggingface_hub's HfFileSystem spells it) or
abfs://container[@account.dfs.core.windows.net]/path (Azure Blob / ADLS Gen2, as adlfs spells it).
Parsing is standard library; each upload imports its client only when called, and tests inject them.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, Mapping, Optional, Tuple

from .spec import SpecError

FIELD = "config.backend_options.output_uri"


@dataclass(frozen=True)
class ArtifactTarget:
    """A parsed output URI: its scheme and, per scheme, where inside it."""

    scheme: str  # file, s3, hf, abfs
    uri: str
    path: str  # file: the folder; s3/abfs: the URI itself; hf: the path inside the repo ('' for its root)
    repo_id: str = ""
    repo_type: str = "model"
    revision: Optional[str] = None


_HF = re.compile(r"^hf://(?:(datasets|spaces)/)?([\w.-]+/[\w.-]+)(?:@([\w.\-/%]+?))?(?:/(.*))?$")
_S3 = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
_ABFS = re.compile(r"^abfss?://[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?(@[a-z0-9]{3,24}\.dfs\.core\.windows\.net)?(/.*)?$")


def parse_artifact_uri(uri: str) -> ArtifactTarget:
    """The target of an output URI, or a SpecError naming backend_options.output_uri."""
    if not isinstance(uri, str) or not uri:
        raise SpecError(FIELD, "must be a non-empty string")
    if uri.startswith("hf://"):
        match = _HF.match(uri)
        if not match:
            raise SpecError(FIELD, f"{uri!r} is not hf://[datasets/|spaces/]<owner>/<name>[@<revision>][/<path>]")
        kind, repo_id, revision, path = match.groups()
        return ArtifactTarget("hf", uri, (path or "").strip("/"), repo_id=repo_id, repo_type=(kind or "models")[:-1], revision=revision)
    if uri.startswith("s3://"):
        if not _S3.match(uri):
            raise SpecError(FIELD, f"{uri!r} is not s3://<bucket>/<key prefix>")
        return ArtifactTarget("s3", uri, uri.rstrip("/"))
    if uri.startswith(("abfs://", "abfss://")):
        if not _ABFS.match(uri):
            raise SpecError(FIELD, f"{uri!r} is not abfs://<container>[@<account>.dfs.core.windows.net]/<path>")
        return ArtifactTarget("abfs", uri, uri.rstrip("/"))
    if uri.startswith("file://"):
        return ArtifactTarget("file", uri, uri[len("file://"):])
    if "://" in uri:
        raise SpecError(FIELD, f"{uri!r}: the trainer writes to a local path, s3://, hf:// or abfs://")
    if not os.path.isabs(uri):
        raise SpecError(FIELD, f"{uri!r} must be an absolute path (relative to what would be unclear on the cluster)")
    return ArtifactTarget("file", uri, uri)


def _files(folder: str) -> Iterator[Tuple[str, str]]:
    """(absolute path, path relative to `folder` with / separators) of every file, in a stable order."""
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(root, name)
            yield full, os.path.relpath(full, folder).replace(os.sep, "/")


def _copy_local(folder: str, target: ArtifactTarget, env: Mapping[str, str]) -> None:
    shutil.copytree(folder, target.path, dirs_exist_ok=True)


def _fsspec_put(folder: str, target: ArtifactTarget, env: Mapping[str, str]) -> None:
    """s3:// through s3fs, abfs:// through adlfs, both reached by fsspec with the platform's credentials."""
    import fsspec

    options: Dict[str, object] = {}
    if target.scheme == "abfs" and not any(env.get(k) for k in ("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_SAS_TOKEN")):
        # No key in the environment: the compute's managed identity (DefaultAzureCredential), not anonymous access.
        options["anon"] = False
    fs, root = fsspec.core.url_to_fs(target.path, **options)
    for full, relative in _files(folder):
        fs.put_file(full, f"{root}/{relative}")


def _hf_upload(folder: str, target: ArtifactTarget, env: Mapping[str, str]) -> None:
    """One commit of the folder to a Hub repo (created private when missing); the token is HF_TOKEN."""
    token = env.get("HF_TOKEN")
    if not token:
        raise SpecError(FIELD, f"{target.uri} needs HF_TOKEN (a write token) in the trainer's environment")
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(target.repo_id, repo_type=target.repo_type, private=True, exist_ok=True)
    api.upload_folder(
        folder_path=folder,
        repo_id=target.repo_id,
        repo_type=target.repo_type,
        revision=target.revision,
        path_in_repo=target.path or None,
        commit_message="finetune-mcp: trained output",
    )


Uploader = Callable[[str, ArtifactTarget, Mapping[str, str]], None]
UPLOADERS: Dict[str, Uploader] = {"file": _copy_local, "s3": _fsspec_put, "abfs": _fsspec_put, "hf": _hf_upload}


class ArtifactUploadError(RuntimeError):
    """The output was trained and saved in the job folder, but could not be written to its URI."""


def upload_artifact(folder: str, uri: str, env: Mapping[str, str], uploaders: Optional[Mapping[str, Uploader]] = None) -> str:
    """Writes every file of `folder` under `uri`; returns the URI. Failures say where the output still is."""
    target = parse_artifact_uri(uri)
    upload = (uploaders or UPLOADERS)[target.scheme]
    try:
        upload(folder, target, env)
    except SpecError:
        raise
    except Exception as error:
        raise ArtifactUploadError(f"writing {folder} to {uri} failed ({type(error).__name__}: {error}); the output is still in the job folder") from error
    return uri

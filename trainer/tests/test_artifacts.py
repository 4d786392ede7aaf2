import io
import os
import tempfile
import unittest

from ftm_trainer.artifacts import ArtifactUploadError, parse_artifact_uri, upload_artifact
from ftm_trainer.events import JobRecord
from ftm_trainer.spec import SpecError
from ftm_trainer.train import publish_output


class ParseTest(unittest.TestCase):
    def test_each_scheme(self):
        hf = parse_artifact_uri("hf://acme/llama-support@main/adapters/v1")
        self.assertEqual((hf.scheme, hf.repo_id, hf.repo_type, hf.revision, hf.path), ("hf", "acme/llama-support", "model", "main", "adapters/v1"))
        self.assertEqual(parse_artifact_uri("hf://datasets/acme/runs").repo_type, "dataset")
        self.assertEqual(parse_artifact_uri("hf://acme/m").path, "")
        self.assertEqual(parse_artifact_uri("s3://my-bucket/ftm/job_1/").path, "s3://my-bucket/ftm/job_1")
        self.assertEqual(parse_artifact_uri("abfs://models@acmestore.dfs.core.windows.net/ftm/job_1").scheme, "abfs")
        self.assertEqual(parse_artifact_uri("abfs://models/ftm/job_1").scheme, "abfs")
        self.assertEqual(parse_artifact_uri("file:///mnt/out").path, "/mnt/out")
        self.assertEqual(parse_artifact_uri("/mnt/out").scheme, "file")

    def test_refusals_name_the_field(self):
        for uri in ("gs://b/x", "hf://no-owner", "s3://", "abfs://UPPER/x", "relative/dir", ""):
            with self.assertRaises(SpecError, msg=uri) as caught:
                parse_artifact_uri(uri)
            self.assertEqual(caught.exception.field, "config.backend_options.output_uri")


class UploadTest(unittest.TestCase):
    def folder(self, root):
        out = os.path.join(root, "adapter")
        os.makedirs(out)
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            with open(os.path.join(out, name), "w", encoding="utf-8") as handle:
                handle.write(name)
        return out

    def test_dispatches_by_scheme_to_the_injected_uploader(self):
        calls = []
        fake = {scheme: (lambda folder, target, env, s=scheme: calls.append((s, folder, target.repo_id or target.path, env.get("HF_TOKEN")))) for scheme in ("file", "s3", "hf", "abfs")}
        with tempfile.TemporaryDirectory() as root:
            out = self.folder(root)
            for uri in ("hf://acme/m", "s3://bkt/k", "abfs://c/p"):
                self.assertEqual(upload_artifact(out, uri, {"HF_TOKEN": "hf_x"}, fake), uri)
        self.assertEqual(calls, [("hf", out, "acme/m", "hf_x"), ("s3", out, "s3://bkt/k", "hf_x"), ("abfs", out, "abfs://c/p", "hf_x")])

    def test_local_copy_is_real(self):
        with tempfile.TemporaryDirectory() as root:
            out = self.folder(root)
            target = os.path.join(root, "published")
            upload_artifact(out, target, {})
            self.assertEqual(sorted(os.listdir(target)), ["adapter_config.json", "adapter_model.safetensors"])

    def test_hf_needs_a_token(self):
        with tempfile.TemporaryDirectory() as root:
            with self.assertRaises(SpecError) as caught:
                upload_artifact(self.folder(root), "hf://acme/m", {})
            self.assertIn("HF_TOKEN", str(caught.exception))

    def test_a_failed_upload_says_where_the_output_still_is(self):
        def broken(folder, target, env):
            raise ConnectionError("reset")

        with tempfile.TemporaryDirectory() as root:
            with self.assertRaises(ArtifactUploadError) as caught:
                upload_artifact(self.folder(root), "s3://bkt/k", {}, {"s3": broken})
            self.assertIn("still in the job folder", str(caught.exception))

    def test_the_artifact_event_carries_the_uri(self):
        with tempfile.TemporaryDirectory() as root:
            stream = io.StringIO()
            record = JobRecord(os.path.join(root, "job"), stream=stream, writer=True)
            publish_output(record, "adapter", "/job/output/adapter", "hf://acme/m", upload=lambda folder, uri, env: uri)
            publish_output(record, "adapter", "/job/output/adapter", None)
            events = record.events_after(0)
            self.assertEqual(events[0]["uri"], "hf://acme/m")
            self.assertNotIn("uri", events[1])


if __name__ == "__main__":
    unittest.main()

"""rule download_model's logic (rait.models.download_model). The hub cannot be reached from tests: the listing
and the fetch are stand-ins with huggingface_hub's signatures; what is tested is rait's choice of files, the
pinned commit, the resumable scratch folder and the errors."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from rait.errors import RaitError
from rait.models import DOWNLOAD_RECORD, download_model, files_to_fetch, is_pinned

LLAMA2_FILES = ["config.json", "generation_config.json", "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors", "model.safetensors.index.json", "pytorch_model-00001-of-00002.bin",
                "pytorch_model-00002-of-00002.bin", "pytorch_model.bin.index.json", "special_tokens_map.json",
                "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "README.md", "LICENSE.txt"]
COMMIT = "f5db02db724555f92da89c216ac04704f23d4590"


def test_safetensors_are_fetched_instead_of_the_same_weights_as_pickles():
    files = files_to_fetch(LLAMA2_FILES)
    assert "model-00001-of-00002.safetensors" in files and "tokenizer.model" in files
    assert not [f for f in files if f.endswith(".bin")]
    assert "pytorch_model.bin.index.json" in files  # small, and harmless beside the safetensors index


def test_meta_consolidated_checkpoints_are_skipped_and_bin_only_repositories_keep_their_bins():
    llama3 = ["config.json", "model-00001-of-00004.safetensors", "original/consolidated.00.pth",
              "original/params.json", "tokenizer.json"]
    assert files_to_fetch(llama3) == ["config.json", "model-00001-of-00004.safetensors", "tokenizer.json"]
    assert files_to_fetch(["config.json", "pytorch_model.bin"]) == ["config.json", "pytorch_model.bin"]
    with pytest.raises(RaitError, match="no safetensors or PyTorch .bin weights"):
        files_to_fetch(["config.json", "README.md"])


class Hub:
    """model_info and snapshot_download as huggingface_hub calls them, on files held in memory."""

    def __init__(self, files, sha=COMMIT, fail_after=None):
        self.files, self.sha, self.fail_after, self.calls = files, sha, fail_after, []

    def model_info(self, repo, revision=None, files_metadata=False):
        return SimpleNamespace(sha=self.sha, siblings=[SimpleNamespace(rfilename=f) for f in self.files])

    def fetch(self, repo, revision, local_dir, allow_patterns):
        self.calls.append((repo, revision, sorted(allow_patterns)))
        for count, name in enumerate(allow_patterns):
            if self.fail_after is not None and count == self.fail_after:
                raise ConnectionError("connection reset")
            if not (local_dir / name).exists():  # huggingface_hub skips what a previous attempt finished
                (local_dir / name).parent.mkdir(parents=True, exist_ok=True)
                (local_dir / name).write_text(name)
        (local_dir / ".cache" / "huggingface").mkdir(parents=True, exist_ok=True)


def test_a_branch_is_fetched_at_the_commit_it_resolves_to_and_the_commit_is_recorded(tmp_path, caplog):
    hub = Hub(LLAMA2_FILES)
    out = tmp_path / "models" / "llama2_7b"
    out.parent.mkdir()
    record = download_model("meta-llama/Llama-2-7b-chat-hf", "main", out, api=hub, fetch=hub.fetch)
    assert hub.calls[0][1] == COMMIT and record["commit"] == COMMIT
    assert "revision 'main' is not a commit; it resolved to " + COMMIT in caplog.text
    assert json.loads((out / DOWNLOAD_RECORD).read_text())["files"] == files_to_fetch(LLAMA2_FILES)
    assert not (out / ".cache").exists() and sorted(p.name for p in out.parent.iterdir()) == ["llama2_7b"]
    assert is_pinned(COMMIT) and not is_pinned("main") and not is_pinned(COMMIT.upper())


def test_an_interrupted_download_resumes_in_its_scratch_folder_and_nothing_sits_at_the_output(tmp_path):
    out = tmp_path / "llama2_7b"
    broken = Hub(LLAMA2_FILES, fail_after=3)
    with pytest.raises(ConnectionError):
        download_model("meta-llama/Llama-2-7b-chat-hf", COMMIT, out, api=broken, fetch=broken.fetch)
    assert not out.exists()
    (scratch,) = tmp_path.glob(f".llama2_7b.download-{COMMIT}")
    done = sorted(p.name for p in scratch.iterdir() if p.is_file())
    assert len(done) == 3
    hub = Hub(LLAMA2_FILES)
    download_model("meta-llama/Llama-2-7b-chat-hf", COMMIT, out, api=hub, fetch=hub.fetch)
    assert sorted(p.name for p in out.iterdir()) == sorted([*files_to_fetch(LLAMA2_FILES), DOWNLOAD_RECORD])
    assert not scratch.exists()


def test_a_gated_or_unknown_model_is_a_clear_error(tmp_path):
    from huggingface_hub.errors import GatedRepoError

    class Gated:
        def model_info(self, repo, revision=None, files_metadata=False):
            response = SimpleNamespace(headers={}, request=None, status_code=401)
            raise GatedRepoError("401 Client Error: access to model meta-llama/Llama-2-7b-chat-hf is restricted",
                                 response=response)

    with pytest.raises(RaitError, match=r"model 'meta-llama/Llama-2-7b-chat-hf' at revision 'main': GatedRepoError: "
                                        r"401 .* `huggingface-cli login`"):
        download_model("meta-llama/Llama-2-7b-chat-hf", "main", tmp_path / "m", api=Gated(), fetch=None)
    assert list(tmp_path.iterdir()) == []

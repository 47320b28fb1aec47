"""Hugging Face Hub access: validate a repo id, preview what a causal LM needs, download it resumably.

Metadata comes from `HfApi.model_info(files_metadata=True)`: file sizes, LFS sha256, git blob ids and the
Hub's safetensors parameter count, in one request. Bytes come from `hf_hub_url` + `get_session()` with
`build_hf_headers` and `hf_raise_for_status`, i.e. the library's URLs, HTTP client, auth and error classes,
streamed by our own short Range-resume loop. Why not `hf_hub_download(local_dir=...)`: its `http_get`
buffers `DOWNLOAD_CHUNK_SIZE` (10 MiB) per write and resumes from the last whole chunk, so a dropped file
under 10 MiB restarts from zero, progress arrives once per 10 MiB and a cancel waits for the next 10 MiB;
it also has no cancel hook. Writing every chunk as it arrives makes resume, progress and cancel exact.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2
from huggingface_hub import HfApi, constants, get_session, get_token, hf_hub_url, hf_raise_for_status
from huggingface_hub import errors as hf_errors
from huggingface_hub.utils import build_hf_headers

from mistudio.lens.errors import AccessDenied, InvalidArgument, LensError, NoCapacity, NotFound
from mistudio.lens.hub_download import (
    CorruptedFile,
    DownloadCancelled,
    DownloadProgress,
    InsufficientDisk,
    RepoFile,
    fetch_files,
    verify_file,
)

logger = logging.getLogger(__name__)

REPO_ID_RULE = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
_STOP_CHECK_SECONDS = 0.1  # should_stop may be a database read: ask at most this often
# What messages call a repo of each type, and where its page lives on the Hub (models at the root).
_KINDS = {"model": "repository", "dataset": "dataset repository"}
_URL_PREFIXES = {"model": "", "dataset": "datasets/"}
T = TypeVar("T")


# --- errors: each one a caller can act on; the API maps them to HTTP through their base classes -------------
class InvalidRepoId(InvalidArgument):
    code = "invalid_repo_id"


class RepoNotFound(NotFound):
    code = "repo_not_found"


class GatedRepoError(AccessDenied):
    code = "gated_repo"


class HubUnavailable(NoCapacity):
    code = "hub_unavailable"


def gated_repo_error(repo_id: str, endpoint: str, *, token_given: bool, repo_type: str = "model") -> GatedRepoError:
    """The one message for a repo whose files need accepted licence terms and a token."""
    has_token = "the token given has no access" if token_given else "no token was given"
    page = f"{endpoint}/{_URL_PREFIXES.get(repo_type, '')}{repo_id}"
    return GatedRepoError(f"{_KINDS.get(repo_type, 'repository')} '{repo_id}' is gated ({has_token}): accept its "
                          f"licence at {page} and provide a token (token field, HF_TOKEN or `hf auth login`)")


# --- plain data ------------------------------------------------------------------------------------------
@dataclass
class RepoPreview:
    repo_id: str
    revision: str  # the commit sha the branch or tag resolved to
    files: list[RepoFile]  # the selected files
    total_files: int
    download_bytes: int
    gated: bool
    private: bool
    license: str | None
    pipeline_tag: str | None
    tags: list[str]
    config: dict[str, Any] | None
    parameter_count: int | None
    has_safetensors: bool


@dataclass
class DownloadResult:
    revision: str
    files: list[RepoFile]
    bytes_total: int
    bytes_transferred: int  # received over the network by this call


# --- ids, tokens, file selection -------------------------------------------------------------------------
def validate_repo_id(repo_id: str) -> str:
    """Return repo_id if it is `owner/name` per REPO_ID_RULE, else raise InvalidRepoId naming the rule."""
    # fullmatch: `$` alone would accept a trailing newline; "." and ".." would walk the Hub's URL tree.
    if (not isinstance(repo_id, str) or not re.fullmatch(REPO_ID_RULE[1:-1], repo_id)
            or any(part in (".", "..") for part in repo_id.split("/"))):
        shown = repr(repo_id)[:80]
        raise InvalidRepoId(f"repo id {shown} is not valid: it must match {REPO_ID_RULE} (owner/name of letters, "
                            "digits, '_', '.', '-'), e.g. 'HuggingFaceTB/SmolLM2-135M'")
    return repo_id


def resolve_token(explicit: str | None) -> str | None:
    """The explicit token, else the user's Hugging Face login (HF_TOKEN or the `hf auth login` token file)."""
    if explicit and explicit.strip():
        return explicit.strip()
    return get_token()


_CONFIG_AND_TOKENIZER = frozenset({
    "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "tokenizer.model", "spiece.model", "vocab.json", "vocab.txt", "merges.txt", "added_tokens.json",
    "chat_template.jinja", "chat_template.json",
})
# Remote code is fetched so an explicit trust_remote_code later works; it is never run unless the user asks.
_REMOTE_CODE = re.compile(r"(configuration|modeling|tokenization)_\w+\.py")
_NOT_WEIGHTS = ("training_args.bin", "optimizer.bin", "scheduler.bin", "rng_state")


def _weight_files(names: list[str], suffix: str) -> list[str]:
    weights = [n for n in names if n.endswith(suffix) and not n.startswith(_NOT_WEIGHTS)]
    # Mistral repos carry the same weights twice: consolidated.* (mistral-inference) beside the HF shards.
    hf_layout = [n for n in weights if not n.startswith("consolidated")]
    return (hf_layout or weights) + [n for n in names if n.endswith(f"{suffix}.index.json")]


def select_model_files(paths: list[str]) -> list[str]:
    """The files a causal LM needs: safetensors weights (else .bin), config, tokenizer; sorted.

    Only top-level files count, which leaves out onnx/, original/, checkpoint folders and the like; flax/tf
    weights, GGUF, images and the README are never matched.
    """
    names = [p for p in paths if "/" not in p]
    weights = _weight_files(names, ".safetensors") or _weight_files(names, ".bin")
    support = [n for n in names if n in _CONFIG_AND_TOKENIZER or n.endswith(".tiktoken") or _REMOTE_CODE.fullmatch(n)]
    return sorted(set(weights + support))


# --- talking to the Hub: retries and error translation in one place ----------------------------------------
class _Hub:
    """One repo (of repo_type "model" or "dataset") at one revision on one endpoint, with the retry policy and the
    caller's cancel flag."""

    def __init__(self, repo_id: str, revision: str | None, token: str | None, endpoint: str | None,
                 max_retries: int = 3, backoff_seconds: float = 1.0,
                 should_stop: Callable[[], bool] | None = None, repo_type: str = "model") -> None:
        self.repo_id, self.revision, self.token, self.repo_type = repo_id, revision, token, repo_type
        self.kind = _KINDS[repo_type]
        self.endpoint_arg = endpoint.rstrip("/") if endpoint else None
        self.endpoint = self.endpoint_arg or constants.ENDPOINT
        self.max_retries, self.backoff_seconds = max_retries, backoff_seconds
        self.should_stop = should_stop
        self.received = 0  # body bytes read from the network
        self._last_stop_check = 0.0

    def stopped(self, force: bool = False) -> bool:
        now = time.monotonic()
        if self.should_stop is None or (not force and now - self._last_stop_check < _STOP_CHECK_SECONDS):
            return False
        self._last_stop_check = now
        return self.should_stop()

    def call(self, attempt: Callable[[], T], doing: str) -> T:
        """Run attempt, retrying transient failures with exponential backoff; a retry that moved bytes resets the
        count, so a flaky link that keeps making progress finishes, one that makes none gives up."""
        failures = 0
        while True:
            received_before = self.received
            try:
                return attempt()
            except (httpx2.TransportError, hf_errors.HfHubHTTPError) as error:
                if isinstance(error, hf_errors.HfHubHTTPError) and _status(error) not in _TRANSIENT_STATUS:
                    raise self.translate(error) from error
                failures = 1 if self.received > received_before else failures + 1
                if failures > self.max_retries:
                    raise HubUnavailable(
                        f"the Hub at {self.endpoint} failed while {doing} ({_describe(error)}), also after "
                        f"{self.max_retries} retries: check the network and HF_ENDPOINT, then try again (a download "
                        "resumes where it stopped)") from error
                logger.warning("hub error while %s (%s); retry %d of %d", doing, _describe(error), failures,
                               self.max_retries)
                self.sleep(self.backoff_seconds * 2 ** (failures - 1))

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.stopped(force=True):
                raise DownloadCancelled(f"download of '{self.repo_id}' cancelled")
            time.sleep(min(left, _STOP_CHECK_SECONDS))

    def translate(self, error: hf_errors.HfHubHTTPError) -> LensError:
        repo, where, status = self.repo_id, self.endpoint, _status(error)
        if isinstance(error, hf_errors.RevisionNotFoundError):
            return RepoNotFound(f"revision '{self.revision}' of {self.kind} '{repo}' was not found on {where} "
                                "(check the id and revision)")
        if isinstance(error, hf_errors.RemoteEntryNotFoundError):
            return RepoNotFound(f"a file of {self.kind} '{repo}' was not found on {where} at revision "
                                f"'{self.revision}' (check the id and revision)")
        gated = isinstance(error, hf_errors.GatedRepoError)
        if (isinstance(error, hf_errors.RepositoryNotFoundError) and not gated) or status == 404:
            hint = "" if self.token else (
                "; if it is private, provide a token (token field, HF_TOKEN or `hf auth login`)")
            return RepoNotFound(f"{self.kind} '{repo}' was not found on {where} (check the id and revision{hint})")
        if gated or status in (401, 403):
            return gated_repo_error(repo, where, token_given=bool(self.token), repo_type=self.repo_type)
        return LensError(f"the Hub at {where} answered HTTP {status} for '{repo}': check the id and revision, "
                             "then try again", code="hub_error")

    def headers(self) -> dict[str, str]:
        # token=False: we resolved the token already; the library must not add one of its own.
        return build_hf_headers(token=self.token or False, library_name="mistudio")

    def info(self) -> Any:
        """model_info (dataset_info) with file sizes and hashes; pins self.revision to the commit sha it resolved to."""
        api = HfApi(endpoint=self.endpoint_arg, library_name="mistudio")
        info = self.call(lambda: api.repo_info(self.repo_id, revision=self.revision, repo_type=self.repo_type,
                                               files_metadata=True, token=self.token or False),
                         "reading the repository's metadata")
        self.revision = info.sha
        return info

    def url(self, path: str) -> str:
        return hf_hub_url(self.repo_id, path, revision=self.revision, endpoint=self.endpoint_arg,
                          repo_type=self.repo_type)

    def read_bytes(self, path: str, first_bytes: int | None = None) -> bytes:
        """A small file's whole content (a config, a README), or its first bytes, with the retry policy."""
        def attempt() -> bytes:
            headers = self.headers() | ({"Range": f"bytes=0-{first_bytes - 1}"} if first_bytes else {})
            response = get_session().get(self.url(path), headers=headers, timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT)
            hf_raise_for_status(response)
            self.received += len(response.content)
            return response.content

        return self.call(attempt, f"reading {path}")

    def read_json(self, path: str) -> Any:
        try:
            return json.loads(self.read_bytes(path))
        except ValueError:
            return None  # not JSON: the preview shows no config rather than failing

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8", "replace")


def _status(error: hf_errors.HfHubHTTPError) -> int | None:
    return error.response.status_code if error.response is not None else None


def _describe(error: Exception) -> str:
    # Neither shape carries request headers, so no token can leak into a message.
    if isinstance(error, hf_errors.HfHubHTTPError):
        return f"HTTP {_status(error)}"
    return f"{type(error).__name__}: {str(error)[:200]}"


def _license(info: Any) -> str | None:
    """The card's license, else the Hub's `license:` tag."""
    card = info.card_data
    license = getattr(card, "license", None) if card else None
    license = license or next((t.split(":", 1)[1] for t in info.tags or [] if t.startswith("license:")), None)
    return str(license) if license else None


def _repo_files(info: Any) -> list[RepoFile]:
    return [RepoFile(s.rfilename, s.size or 0, s.lfs.sha256 if s.lfs else None, s.blob_id)
            for s in info.siblings or []]


def preview_repo(repo_id: str, *, revision: str | None = None, token: str | None = None,
                 endpoint: str | None = None) -> RepoPreview:
    """Describe a repo and what downloading it would fetch; reads config.json but no weights."""
    hub = _Hub(validate_repo_id(repo_id), revision, resolve_token(token), endpoint)
    info = hub.info()
    all_files = _repo_files(info)
    by_path = {f.path: f for f in all_files}
    selected = [by_path[p] for p in select_model_files(list(by_path))]
    config = None
    if "config.json" in by_path:
        try:
            config = hub.read_json("config.json")
        except GatedRepoError:
            config = None  # a gated repo's metadata is public, its files are not: the preview still says "gated"
    return RepoPreview(
        repo_id=repo_id, revision=info.sha, files=selected, total_files=len(all_files),
        download_bytes=sum(f.size for f in selected), gated=bool(info.gated), private=bool(info.private),
        license=_license(info), pipeline_tag=info.pipeline_tag, tags=list(info.tags or []),
        config=config if isinstance(config, dict) else None,
        parameter_count=info.safetensors.total if info.safetensors else None,
        has_safetensors=any(f.path.endswith(".safetensors") for f in all_files))


def download_repo(repo_id: str, dest: Path, *, revision: str | None = None, token: str | None = None,
                  files: list[RepoFile] | None = None, endpoint: str | None = None,
                  on_progress: Callable[[DownloadProgress], None] | None = None,
                  should_stop: Callable[[], bool] | None = None, max_retries: int = 3,
                  backoff_seconds: float = 1.0) -> DownloadResult:
    """Download a repo's model files (or `files`) into dest/<path>, resuming partial data and verifying each file.

    Files are fetched one after another at the commit the revision resolves to; sizes and hashes always come
    from the Hub's listing, `files` only says which paths. Files already complete and matching in dest are
    skipped. Partial data lives in dest/.partial/ so a later call continues with a Range request. Raises
    CorruptedFile (that file deleted, the others kept), InsufficientDisk, GatedRepoError, RepoNotFound,
    HubUnavailable or DownloadCancelled (the partial file of the transfer in flight removed).
    """
    hub = _Hub(validate_repo_id(repo_id), revision, resolve_token(token), endpoint, max_retries, backoff_seconds,
               should_stop)
    info = hub.info()
    listing = {f.path: f for f in _repo_files(info)}
    paths = select_model_files(list(listing)) if files is None else list(dict.fromkeys(f.path for f in files))
    return fetch_listed(hub, info, listing, paths, dest, on_progress)


def fetch_listed(hub: _Hub, info: Any, listing: dict[str, RepoFile], paths: list[str], dest: Path,
                 on_progress: Callable[[DownloadProgress], None] | None) -> DownloadResult:
    """Fetch `paths` of a repo whose listing was read: sizes and hashes from the listing, a missing path a 404."""
    missing = [p for p in paths if p not in listing]
    if missing:
        kind = _KINDS.get(hub.repo_type, "repository")
        raise RepoNotFound(f"{kind} '{hub.repo_id}' has no file {missing[0]!r} at revision '{info.sha}' on "
                           f"{hub.endpoint} (check the id and revision)")
    wanted = [listing[p] for p in paths]
    fetch_files(hub, dest, wanted, on_progress)
    return DownloadResult(info.sha, wanted, sum(f.size for f in wanted), hub.received)


__all__ = [
    "REPO_ID_RULE", "CorruptedFile", "DownloadCancelled", "DownloadProgress", "DownloadResult", "GatedRepoError",
    "HubUnavailable", "InsufficientDisk", "InvalidRepoId", "RepoFile", "RepoNotFound", "RepoPreview",
    "download_repo", "fetch_listed", "gated_repo_error", "preview_repo", "resolve_token", "select_model_files",
    "validate_repo_id", "verify_file",
]

"""A fake HuggingFace Hub: a real HTTP server that unmodified `huggingface_hub` and `datasets` talk to.

Point `HF_ENDPOINT` (and the constants read at import time, see `hub_fixtures.hf_env`) at `FakeHub.url`.
Routes follow what huggingface_hub 2.x calls: repo info, tree listing (paginated), paths-info, refs,
whoami-v2, and HEAD/GET `resolve` with Range support and the Hub's error headers.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import socket
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

DEFAULT_TOKEN = "hf_test_token"
_CHUNK = 64 * 1024
# Files a gated repo still serves without access, as on the real Hub (the model card is public).
_UNGATED_FILES = {"README.md", ".gitattributes"}

FileContent = bytes | str | Path
RepoContent = Path | str | Mapping[str, FileContent]


# --- repo model: files stored by content, hashed the way the real Hub reports them -------------------
_LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".parquet")
LFS_THRESHOLD = 1024 * 1024
_DATE = "2024-01-01T00:00:00.000Z"


class RepoError(Exception):
    """Carries the error response a route answers with."""

    def __init__(self, response: _Response) -> None:
        super().__init__(response.headers.get("X-Error-Message", ""))
        self.response = response


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class HubFile:
    """A file in a repo revision: `sha256` is set for LFS files, `blob_id` is the git blob (or LFS pointer) sha1."""

    path: str
    size: int
    blob_id: str
    sha256: str | None
    source: bytes | Path = field(repr=False)

    @classmethod
    def from_content(cls, path: str, content: FileContent) -> HubFile:
        """Hash content (bytes, text, or a file on disk that is read on demand)."""
        source: bytes | Path = Path(content) if isinstance(content, Path) else (
            content.encode() if isinstance(content, str) else bytes(content))
        size = source.stat().st_size if isinstance(source, Path) else len(source)
        if not (path.endswith(_LFS_SUFFIXES) or size > LFS_THRESHOLD):
            data = source.read_bytes() if isinstance(source, Path) else source
            return cls(path, size, _git_blob_sha1(data), None, source)
        digest = hashlib.sha256()
        for chunk in cls(path, size, "", None, source).iter_range(0, size, 1 << 20):
            digest.update(chunk)
        sha256 = digest.hexdigest()
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
        return cls(path, size, _git_blob_sha1(pointer), sha256, source)

    @property
    def etag(self) -> str:
        """What the Hub sends as ETag: the sha256 for LFS files, the git blob sha1 otherwise."""
        return self.sha256 or self.blob_id

    @property
    def pointer_size(self) -> int:
        """Size of the git-lfs pointer file the repo's git history holds instead of the content."""
        return len(f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n")

    def iter_range(self, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
        """The bytes [start, end) in chunks."""
        if isinstance(self.source, bytes):
            for offset in range(start, end, chunk_size):
                yield self.source[offset:min(offset + chunk_size, end)]
            return
        with self.source.open("rb") as handle:
            handle.seek(start)
            while start < end:
                chunk = handle.read(min(chunk_size, end - start))
                if not chunk:
                    return
                start += len(chunk)
                yield chunk

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        """The bytes [start, end)."""
        return b"".join(self.iter_range(start, self.size if end is None else end, 1 << 20))

    def tree_entry(self, commit: str | None = None) -> dict[str, Any]:
        """The entry `tree` and `paths-info` list for this file."""
        entry: dict[str, Any] = {"type": "file", "oid": self.blob_id, "size": self.size, "path": self.path}
        if self.sha256:
            entry["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": self.pointer_size}
        if commit:
            entry["lastCommit"] = {"id": commit, "title": "Upload", "date": _DATE}
        return entry

    def sibling(self, blobs: bool) -> dict[str, Any]:
        """The entry in repo info's `siblings` (sizes and hashes only with `?blobs=true`)."""
        if not blobs:
            return {"rfilename": self.path}
        lfs = {"size": self.size, "sha256": self.sha256, "pointerSize": self.pointer_size} if self.sha256 else None
        return {"rfilename": self.path, "size": self.size, "blobId": self.blob_id, **({"lfs": lfs} if lfs else {})}


@dataclass
class Snapshot:
    """One revision: a commit sha and its files."""

    commit: str
    files: dict[str, HubFile]

    def folders(self) -> set[str]:
        """Every folder path that holds a file, at any depth."""
        return {"/".join(p.split("/")[:i]) for p in self.files for i in range(1, p.count("/") + 1)}

    def _folder_entry(self, path: str, expand: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "directory", "oid": hashlib.sha1(f"{self.commit}:{path}".encode()).hexdigest(),
                                 "size": 0, "path": path}
        if expand:
            entry["lastCommit"] = {"id": self.commit, "title": "Upload", "date": _DATE}
        return entry

    def tree(self, path: str, recursive: bool, expand: bool) -> list[dict[str, Any]] | None:
        """Folder listing as the tree endpoint returns it (folders first); None if the folder is missing."""
        path = path.strip("/")
        folders = self.folders()
        if path and path not in folders:
            return None
        prefix = f"{path}/" if path else ""

        def wanted(item: str) -> bool:
            return item.startswith(prefix) and (recursive or "/" not in item[len(prefix):])

        commit = self.commit if expand else None
        return ([self._folder_entry(f, expand) for f in sorted(folders) if wanted(f)]
                + [self.files[f].tree_entry(commit) for f in sorted(self.files) if wanted(f)])

    def paths_info(self, paths: list[str], expand: bool) -> list[dict[str, Any]]:
        """Entries for the given paths; missing paths are left out, as on the Hub."""
        folders, commit = self.folders(), self.commit if expand else None
        return [self.files[p].tree_entry(commit) if p in self.files else self._folder_entry(p, expand)
                for p in (p.strip("/") for p in paths) if p in self.files or p in folders]

    def safetensors_parameters(self) -> dict[str, Any] | None:
        """Parameter counts per dtype from the *.safetensors headers, as the Hub's `safetensors` field."""
        counts: dict[str, int] = {}
        for hub_file in self.files.values():
            if not hub_file.path.endswith(".safetensors"):
                continue
            (header_len,) = struct.unpack("<Q", hub_file.read(0, 8))
            header = json.loads(hub_file.read(8, 8 + header_len))
            for name, tensor in header.items():
                if name != "__metadata__":
                    counts[tensor["dtype"]] = counts.get(tensor["dtype"], 0) + math.prod(tensor["shape"])
        return {"parameters": counts, "total": sum(counts.values())} if counts else None

    def readme_metadata(self) -> dict[str, Any]:
        """The README.md YAML front matter: what the Hub serves as `cardData`."""
        readme = self.files.get("README.md")
        text = readme.read().decode("utf-8", "replace") if readme else ""
        if not text.startswith("---"):
            return {}
        front = text[3:].split("\n---", 1)[0]
        loaded = yaml.safe_load(front)
        return loaded if isinstance(loaded, dict) else {}

    def json_file(self, path: str) -> dict[str, Any] | None:
        """A JSON file's content, or None when the revision lacks it."""
        hub_file = self.files.get(path)
        return json.loads(hub_file.read()) if hub_file else None


def build_snapshot(repo_type: str, repo_id: str, revision: str, content: RepoContent) -> Snapshot:
    """Hash a folder or a {path: content} mapping into a revision with a stable commit sha."""
    if isinstance(content, Mapping):
        items: dict[str, FileContent] = dict(content)
    else:
        root = Path(content)
        items = {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
                 if p.is_file() and not {".git", ".cache"} & set(p.relative_to(root).parts)}
    files = {path: HubFile.from_content(path, data) for path, data in items.items()}
    seed = f"{repo_type}:{repo_id}:{revision}:" + ",".join(f"{p}={f.etag}" for p, f in sorted(files.items()))
    return Snapshot(hashlib.sha1(seed.encode()).hexdigest(), files)


@dataclass
class Repo:
    """A published repo: branches of snapshots plus what repo info reports."""

    repo_type: str
    repo_id: str
    gated: bool | str = False
    private: bool = False
    card_data: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    branches: dict[str, Snapshot] = field(default_factory=dict)

    def snapshot(self, revision: str) -> Snapshot | None:
        """A branch name or a full commit sha."""
        if revision in self.branches:
            return self.branches[revision]
        return next((s for s in self.branches.values() if s.commit == revision), None)

    def refs_payload(self) -> dict[str, Any]:
        """The JSON of `api/{models|datasets}/{repo}/refs`."""
        branches = [{"name": name, "ref": f"refs/heads/{name}", "targetCommit": snapshot.commit}
                    for name, snapshot in self.branches.items()]
        return {"branches": branches, "converts": [], "tags": [], "pullRequests": []}

    def info_payload(self, snapshot: Snapshot, query: Mapping[str, list[str]]) -> dict[str, Any]:
        """The JSON of `api/{models|datasets}/{repo}[/revision/{rev}]`."""
        blobs = query.get("blobs", ["false"])[0].lower() in ("1", "true")
        license = self.card_data.get("license")
        payload: dict[str, Any] = {
            "_id": hashlib.sha1(self.repo_id.encode()).hexdigest()[:24], "id": self.repo_id,
            "author": self.repo_id.split("/")[0] if "/" in self.repo_id else None, "sha": snapshot.commit,
            "lastModified": _DATE, "createdAt": _DATE, "private": self.private, "gated": self.gated,
            "disabled": False, "downloads": 0, "likes": 0,
            "tags": list(self.info.get("tags") or []) + ([f"license:{license}"] if license else []),
            "cardData": self.card_data or None,
            "siblings": [snapshot.files[p].sibling(blobs) for p in sorted(snapshot.files)],
            "usedStorage": sum(f.size for f in snapshot.files.values()),
        }
        if self.repo_type == "model":
            payload["modelId"] = self.repo_id
            config = snapshot.json_file("config.json")
            if config is not None:
                keep = ("architectures", "model_type", "quantization_config")
                payload["config"] = {k: config[k] for k in keep if k in config}
                payload["library_name"] = "transformers"
            payload["safetensors"] = snapshot.safetensors_parameters()
        payload.update({k: v for k, v in self.info.items() if k != "tags"})
        if "expand" in query:
            payload = {k: v for k, v in payload.items() if k in {"_id", "id", *query["expand"]}}
        return {k: v for k, v in payload.items() if v is not None}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake hub received; header names are lower-cased."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int = 0

    @property
    def range(self) -> str | None:
        """The `Range` header, if any (e.g. `bytes=1024-` on a resumed download)."""
        return self.headers.get("range")


@dataclass
class _Fault:
    glob: str
    times: int
    n_bytes: int = 0
    status: int = 0
    method: str | None = None

    def matches(self, method: str, repo_id: str, path: str) -> bool:
        if self.times <= 0 or (self.method and self.method != method):
            return False
        return fnmatch.fnmatch(path, self.glob) or fnmatch.fnmatch(f"{repo_id}/{path}", self.glob)


@dataclass
class _Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    file: HubFile | None = None
    start: int = 0
    end: int = 0  # exclusive
    drop_after: int | None = None


class FakeHub:
    """A local Hub on 127.0.0.1:<random port>; use as a context manager or call start()/stop()."""

    def __init__(self, *, page_size: int = 1000) -> None:
        self.page_size = page_size
        self._repos: dict[tuple[str, str], Repo] = {}
        self._lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []
        self._token: str | None = DEFAULT_TOKEN
        self._throttle: tuple[float, str] | None = None
        self._faults: list[_Fault] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeHub:
        """Serve in a daemon thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.hub = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:43121 (what HF_ENDPOINT should be)."""
        assert self._server, "FakeHub is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- repos -----------------------------------------------------------------------------------
    def add_model_repo(self, repo_id: str, content: RepoContent, **options: Any) -> str:
        """Publish a model repo (a folder, or {path: bytes|str|Path}); returns the revision's commit sha.

        Options: revision="main", gated=False|True|"auto"|"manual", private=False, license=None,
        card_data=None, tags=None, pipeline_tag=None, library_name=None, safetensors=None (override of
        the parameter counts otherwise read from the *.safetensors headers).
        """
        return self._add_repo("model", repo_id, content, **options)

    def add_dataset_repo(self, repo_id: str, content: RepoContent, **options: Any) -> str:
        """Publish a dataset repo; same options as add_model_repo."""
        return self._add_repo("dataset", repo_id, content, **options)

    def _add_repo(self, repo_type: str, repo_id: str, content: RepoContent, *, revision: str = "main",
                  gated: bool | str = False, private: bool = False, license: str | None = None,
                  card_data: dict[str, Any] | None = None, **info: Any) -> str:
        snapshot = build_snapshot(repo_type, repo_id, revision, content)
        with self._lock:
            repo = self._repos.setdefault((repo_type, repo_id), Repo(repo_type, repo_id))
            repo.gated = "auto" if gated is True else gated
            repo.private = private
            repo.card_data = {**snapshot.readme_metadata(), **(card_data or {})}
            if license:
                repo.card_data["license"] = license
            repo.info = info
            repo.branches[revision] = snapshot
        return snapshot.commit

    def remove_repo(self, repo_id: str, repo_type: str = "model") -> None:
        """Forget a repo (later requests get RepoNotFound)."""
        with self._lock:
            self._repos.pop((repo_type, repo_id), None)

    def commit_sha(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> str:
        """The commit sha a branch of a published repo resolves to."""
        return self._repos[(repo_type, repo_id)].branches[revision].commit

    def file(self, repo_id: str, path: str, revision: str = "main", repo_type: str = "model") -> HubFile:
        """A published file's metadata (size, sha256, blob_id, etag)."""
        return self._repos[(repo_type, repo_id)].branches[revision].files[path]

    # --- auth and faults ---------------------------------------------------------------------------
    def set_token(self, token: str | None) -> None:
        """The one token that opens gated and private repos (default `hf_test_token`)."""
        self._token = token

    def throttle(self, bytes_per_second: float | None, path_glob: str = "*") -> None:
        """Slow down file bodies matching path_glob (None: full speed)."""
        self._throttle = (bytes_per_second, path_glob) if bytes_per_second else None

    def drop_connection_after(self, path_glob: str, n_bytes: int, times: int = 1) -> None:
        """Close the socket after n_bytes of a matching file body, `times` times (tests resume)."""
        self._faults.append(_Fault(path_glob, times, n_bytes=n_bytes, method="GET"))

    def fail_requests(self, path_glob: str, status: int = 503, times: int = 1, method: str | None = None) -> None:
        """Answer matching resolve requests with an HTTP error status, `times` times (tests retries)."""
        self._faults.append(_Fault(path_glob, times, status=status, method=method))

    def reset(self) -> None:
        """Back to defaults: default token, no throttle, no faults, empty request log. Repos are kept."""
        self._token = DEFAULT_TOKEN
        self._throttle = None
        self._faults.clear()
        self.clear_requests()

    # --- request log -------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, oldest first."""
        with self._lock:
            return list(self._log)

    def requests_for(self, path_part: str, method: str | None = None) -> list[RecordedRequest]:
        """Requests whose path contains path_part (and with that method, if given)."""
        return [r for r in self.requests if path_part in r.path and (method is None or r.method == method)]

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self._lock:
            self._log.clear()
            self.unhandled.clear()

    # --- request handling (called from the server threads) ------------------------------------------
    def _record(self, request: RecordedRequest, handled: bool) -> None:
        with self._lock:
            self._log.append(request)
            if not handled:
                self.unhandled.append(request)

    def _handle(self, method: str, segments: list[str], query: dict[str, list[str]], headers: Mapping[str, str],
                form: dict[str, list[str]]) -> _Response | None:
        if segments[:2] == ["api", "whoami-v2"]:
            return self._whoami(headers)
        if segments[:2] == ["api", "agent-harnesses"]:  # huggingface_hub fetches this registry once a day
            return _json({"standardEnvVars": [], "harnesses": {}})
        if len(segments) >= 3 and segments[0] == "api" and segments[1] in ("models", "datasets"):
            return self._api(method, segments[1][:-1], segments[2:], query, headers, form)
        if method in ("GET", "HEAD"):
            repo_type, rest = ("dataset", segments[1:]) if segments[0] == "datasets" else ("model", segments)
            for width in (2, 1):
                if len(rest) > width + 1 and rest[width] == "resolve":
                    return self._resolve(method, repo_type, "/".join(rest[:width]), rest[width + 1:], headers)
        return None

    def _whoami(self, headers: Mapping[str, str]) -> _Response:
        if self._token is None or _bearer(headers) != self._token:
            return _error(401, None, "Invalid credentials in Authorization header")
        return _json({"type": "user", "name": "tester", "fullname": "Test User", "orgs": [],
                      "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "read"}}})

    def _find_repo(self, repo_type: str, rest: list[str]) -> tuple[Repo, list[str]]:
        for width in (2, 1):
            repo = self._repos.get((repo_type, "/".join(rest[:width])))
            if repo and len(rest) >= width:
                return repo, rest[width:]
        raise RepoError(_error(404, "RepoNotFound", "Repository not found"))

    def _check_access(self, repo: Repo, headers: Mapping[str, str], path: str | None) -> None:
        token = _bearer(headers)
        if repo.private and (self._token is None or token != self._token):
            raise RepoError(_error(401 if token is None else 404, "RepoNotFound", "Repository not found"))
        if repo.gated and path is not None and path not in _UNGATED_FILES and token != self._token:
            message = "Access to this gated repo is restricted; you must be authenticated and granted access."
            raise RepoError(_error(401 if token is None else 403, "GatedRepo", message))

    def _snapshot(self, repo: Repo, revision: str) -> Snapshot:
        snapshot = repo.snapshot(revision)
        if snapshot is None:
            raise RepoError(_error(404, "RevisionNotFound", f"Invalid rev id: {revision}"))
        return snapshot

    def _api(self, method: str, repo_type: str, rest: list[str], query: dict[str, list[str]],
             headers: Mapping[str, str], form: dict[str, list[str]]) -> _Response:
        repo, tail = self._find_repo(repo_type, rest)
        self._check_access(repo, headers, None)
        if method == "GET" and not tail:
            return _json(repo.info_payload(self._snapshot(repo, "main"), query))
        if method == "GET" and len(tail) == 2 and tail[0] == "revision":
            return _json(repo.info_payload(self._snapshot(repo, tail[1]), query))
        if method == "GET" and tail == ["refs"]:
            return _json(repo.refs_payload())
        if method == "GET" and len(tail) >= 2 and tail[0] == "tree":
            snapshot = self._snapshot(repo, tail[1])
            entries = snapshot.tree("/".join(tail[2:]), _flag(query, "recursive"), _flag(query, "expand"))
            if entries is None:
                raise RepoError(_error(404, "EntryNotFound", "Path not found", snapshot.commit))
            return self._page(entries, query, rest, repo_type)
        if method == "POST" and len(tail) == 2 and tail[0] == "paths-info":
            snapshot = self._snapshot(repo, tail[1])
            return _json(snapshot.paths_info(form.get("paths", []), _flag(form, "expand")))
        return _error(404, None, "Not found")

    def _page(self, entries: list[dict[str, Any]], query: dict[str, list[str]], rest: list[str],
              repo_type: str) -> _Response:
        cursor = int(query.get("cursor", ["0"])[0])
        response = _json(entries[cursor:cursor + self.page_size])
        if cursor + self.page_size < len(entries):
            recursive = "true" if _flag(query, "recursive") else "false"
            expand = "true" if _flag(query, "expand") else "false"
            next_url = (f"{self.url}/api/{repo_type}s/{'/'.join(rest)}?recursive={recursive}&expand={expand}"
                        f"&cursor={cursor + self.page_size}")
            response.headers["Link"] = f'<{next_url}>; rel="next"'
        return response

    def _resolve(self, method: str, repo_type: str, repo_id: str, rest: list[str],
                 headers: Mapping[str, str]) -> _Response:
        repo, _ = self._find_repo(repo_type, repo_id.split("/"))
        revision, path = rest[0], "/".join(rest[1:])
        self._check_access(repo, headers, path)
        snapshot = self._snapshot(repo, revision)
        hub_file = snapshot.files.get(path)
        if hub_file is None:
            raise RepoError(_error(404, "EntryNotFound", f"{path} does not exist on \"{revision}\"", snapshot.commit))
        failure = self._take_fault(method, repo_id, path, status=True)
        if failure:
            return _error(failure.status, None, "Injected failure")
        response = _Response(200, {"ETag": f'"{hub_file.etag}"', "X-Repo-Commit": snapshot.commit,
                                   "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"})
        if hub_file.sha256:
            response.headers.update({"X-Linked-Etag": f'"{hub_file.sha256}"', "X-Linked-Size": str(hub_file.size)})
        start, end = 0, hub_file.size
        if "range" in headers:
            parsed = _parse_range(headers["range"], hub_file.size)
            if parsed is None:
                response.status = 416
                response.headers["Content-Range"] = f"bytes */{hub_file.size}"
                return response
            start, end = parsed
            response.status = 206
            response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{hub_file.size}"
        response.file, response.start, response.end = hub_file, start, end
        drop = self._take_fault(method, repo_id, path, status=False)
        if drop:
            response.drop_after = drop.n_bytes
        return response

    def _take_fault(self, method: str, repo_id: str, path: str, *, status: bool) -> _Fault | None:
        # Under the lock: snapshot_download fetches files from several threads at once.
        with self._lock:
            for fault in self._faults:
                if bool(fault.status) == status and fault.matches(method, repo_id, path):
                    fault.times -= 1
                    return fault
        return None

    def _bytes_per_second(self, repo_id: str, path: str) -> float | None:
        if self._throttle is None:
            return None
        rate, glob = self._throttle
        matched = fnmatch.fnmatch(path, glob) or fnmatch.fnmatch(f"{repo_id}/{path}", glob)
        return rate if matched else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real Hub; every response carries a Content-Length

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log on FakeHub is the record."""

    def _dispatch(self, method: str) -> None:
        hub: FakeHub = self.server.hub  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        segments = [unquote(part) for part in split.path.strip("/").split("/")]
        query = parse_qs(split.query)
        headers = {name.lower(): value for name, value in self.headers.items()}
        length = int(headers.get("content-length", "0") or 0)
        raw_body = self.rfile.read(length) if length else b""
        form = parse_qs(raw_body.decode("utf-8", "replace")) if method == "POST" else {}
        try:
            response = hub._handle(method, segments, query, headers, form)
        except RepoError as error:
            response = error.response
        handled = response is not None
        if response is None:
            response = _error(404, None, f"No route for {method} {split.path}")
        hub._record(RecordedRequest(method, unquote(split.path), query, headers, response.status), handled)
        try:
            self._send(hub, method, segments, response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (e.g. a cancelled download)

    def _send(self, hub: FakeHub, method: str, segments: list[str], response: _Response) -> None:
        length = response.end - response.start if response.file else len(response.body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if method == "HEAD" or not length:
            return
        if response.file is None:
            self.wfile.write(response.body)
            return
        repo_segments = segments[1:] if segments[0] == "datasets" else segments  # dataset URLs: /datasets/{repo}
        rate = hub._bytes_per_second("/".join(repo_segments[:2]), response.file.path)
        # Small chunks when throttled, so a slow transfer still moves (and can be cancelled) every ~50 ms.
        chunk_size = max(1024, min(_CHUNK, int(rate / 20))) if rate else _CHUNK
        sent = 0
        for chunk in response.file.iter_range(response.start, response.end, chunk_size):
            if response.drop_after is not None and sent + len(chunk) >= response.drop_after:
                self.wfile.write(chunk[: max(response.drop_after - sent, 0)])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # mid-body EOF: the client sees an incomplete body
                self.close_connection = True
                return
            self.wfile.write(chunk)
            sent += len(chunk)
            if rate:
                time.sleep(len(chunk) / rate)


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    return value[7:].strip() if value.lower().startswith("bearer ") else None


def _flag(params: Mapping[str, list[str]], name: str) -> bool:
    return params.get(name, ["false"])[0].lower() in ("1", "true")


def _json(payload: Any, status: int = 200) -> _Response:
    return _Response(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())


def _error(status: int, code: str | None, message: str, commit: str | None = None) -> _Response:
    response = _json({"error": message}, status)
    response.headers["X-Error-Message"] = message
    if code:
        response.headers["X-Error-Code"] = code
    if commit:
        response.headers["X-Repo-Commit"] = commit
    return response


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """`bytes=a-b`, `bytes=a-` or `bytes=-n` as a [start, end) pair; None when unsatisfiable."""
    spec = header.strip().removeprefix("bytes=").split(",")[0].strip()
    first, _, last = spec.partition("-")
    if not first:
        start, end = max(size - int(last), 0), size
    else:
        start, end = int(first), min(int(last) + 1, size) if last else size
    return (start, end) if start < end else None



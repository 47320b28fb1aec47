"""Checkpoints of a training run: `step_{n}/` folders with everything an exact resume needs.

Each holds, per SAE of the run, its weights and config (`sae_{i}.safetensors`), its optimizer state
(`optimizer_{i}.pt`) and its dead-latent counters (`activity_{i}.pt`), plus `state.json` (the step — which is also
the data position, see `lens.sae.buffer` — and the hold-out score). A checkpoint is written to a hidden folder and
renamed into place, so a crash or a full disk leaves the previous ones whole. The newest `keep` and the best by
hold-out score are kept; older ones are deleted.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from mistudio.lens.errors import InvalidArgument, LensError, NotFound

_STEP = re.compile(r"^step_(\d+)$")


class CheckpointDiskFull(LensError):
    """The disk filled up while writing a checkpoint; the previous checkpoints are intact."""

    code = "disk_full"


@dataclass(frozen=True)
class CheckpointInfo:
    step: int
    path: Path
    score: float | None
    size_bytes: int


class CheckpointStore:
    def __init__(self, folder: Path, keep: int = 2) -> None:
        self.folder, self.keep = Path(folder), max(1, keep)

    def list(self) -> list[CheckpointInfo]:
        """Every complete checkpoint, oldest first."""
        found = []
        if not self.folder.is_dir():
            return found
        for path in self.folder.iterdir():
            match = _STEP.match(path.name)
            state = path / "state.json"
            if match and state.is_file():
                score = json.loads(state.read_text()).get("score")
                size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
                found.append(CheckpointInfo(int(match.group(1)), path, score, size))
        return sorted(found, key=lambda info: info.step)

    def latest_step(self) -> int | None:
        checkpoints = self.list()
        return checkpoints[-1].step if checkpoints else None

    def path(self, step: int) -> Path:
        return self.folder / f"step_{step:09d}"

    def save(self, step: int, members: list[Any], score: float | None = None) -> Path:
        final = self.path(step)
        temporary = self.folder / f".step_{step:09d}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(temporary, ignore_errors=True)
            temporary.mkdir()
            for index, member in enumerate(members):
                save_sae_state(member.sae, temporary / f"sae_{index}.safetensors")
                torch.save(member.optimizer.state_dict(), temporary / f"optimizer_{index}.pt")
                torch.save(member.activity.state_dict(), temporary / f"activity_{index}.pt")
            (temporary / "state.json").write_text(json.dumps({"step": step, "score": score, "saes": len(members)}))
            if final.exists():
                shutil.rmtree(final)
            os.replace(temporary, final)
        except OSError as error:
            shutil.rmtree(temporary, ignore_errors=True)
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                kept = self.latest_step()
                raise CheckpointDiskFull(
                    f"the disk is full: the checkpoint at step {step:,} could not be written to {self.folder}"
                    + (f"; the checkpoint of step {kept:,} is kept" if kept else "")
                    + "; free space and resume the run", details={"step": step}) from error
            raise
        self._prune()
        return final

    def _prune(self) -> None:
        checkpoints = self.list()
        keep = {info.step for info in checkpoints[-self.keep:]}
        scored = [info for info in checkpoints if info.score is not None]
        if scored:
            keep.add(min(scored, key=lambda info: info.score).step)
        for info in checkpoints:
            if info.step not in keep:
                shutil.rmtree(info.path, ignore_errors=True)

    def delete(self, step: int) -> None:
        path = self.path(step)
        if not path.is_dir():
            raise NotFound(f"there is no checkpoint at step {step} in {self.folder}")
        shutil.rmtree(path)

    def restore(self, step: int, members: list[Any]) -> int:
        """Load weights, optimizer and counters of the checkpoint at `step` into `members`; returns the step."""
        path = self.path(step)
        state = json.loads((path / "state.json").read_text())
        if state["saes"] != len(members):
            raise InvalidArgument(f"the checkpoint at step {step} holds {state['saes']} SAEs, the run has "
                                  f"{len(members)}")
        for index, member in enumerate(members):
            load_sae_state(member.sae, path / f"sae_{index}.safetensors")
            member.optimizer.load_state_dict(torch.load(path / f"optimizer_{index}.pt", weights_only=True,
                                                        map_location=member.sae.W_enc.device))
            member.activity.load_state_dict(torch.load(path / f"activity_{index}.pt", weights_only=True,
                                                       map_location=member.sae.W_enc.device))
        return int(state["step"])

    def restore_latest(self, members: list[Any]) -> int:
        step = self.latest_step()
        return 0 if step is None else self.restore(step, members)


def save_sae_state(sae: Any, path: Path) -> None:
    """Weights (and buffers) with the config in the safetensors header, in the SAE's own parameter names."""
    tensors = {name: tensor.detach().contiguous() for name, tensor in sae.state_dict().items()}
    save_file(tensors, str(path), metadata={"config": json.dumps(sae.config.to_dict())})


def load_sae_state(sae: Any, path: Path) -> None:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        config = json.loads((handle.metadata() or {}).get("config", "{}"))
    # The input and output scales were measured when the run started: they are part of the state.
    for name in ("input_scale", "output_scale"):
        if name in config:
            setattr(sae.config, name, config[name])
    sae.load_state_dict(load_file(str(path), device=str(sae.W_enc.device)))

"""The trainers `benchmarks/training.py` compares, one per process: miStudio, SAELens and sparsify, and the encoder
product alone. This file runs in either venv: ours and `matmul` in .venv, the peers in .venv-saepeers (through
`tests.support.saepeers.run_in_peers`, with our `src` on PYTHONPATH), so it imports only the standard library,
numpy, torch and mistudio at the top, and each library inside its own case.

    python benchmarks/training_cases.py CASE --data ACTS.npy --train-tokens N --seq-len S --out FOLDER ...

Every trainer reads the same batches: the first `--train-tokens` rows of the .npy (read into memory, not mapped, so the
file's pages do not count in the process's RSS), as [samples, seq, d] in a `lens.sae.TensorSource` with no hold-out,
shuffled by its seed 0; batch i is the same tokens for everyone. The SAE-init sample (ours: input scale and b_dec;
SAELens: its norm estimate) is that source's `sample(init_tokens)` for both. Timing: the moment each training batch is
handed to the trainer is recorded; tokens/s is the tokens of batches `warmup` … `steps - 1` over the time between
handing over batch `warmup` and batch `steps - 1` (so start-up, the first steps and the final save are outside). Peak
memory is the process's own peak RSS right after training: VmHWM of /proc/self/status, which is what
`getrusage(RUSAGE_SELF).ru_maxrss` reports too except that Linux carries the parent's peak into ru_maxrss across fork +
exec (a child of a 2.3 GB parent reports at least 2.3 GB); getrusage only where /proc is missing. Each case saves its
SAE in its library's own format under --out and its own reconstruction of `--check-rows` held-out rows
(check_reconstruction.npy), which the main script compares with its shared loader. Prints one JSON line.
"""

from __future__ import annotations

import os
import sys
import time

STARTED = time.perf_counter()  # before torch is imported: start-up includes the imports
# Run as a script, this folder heads sys.path, and benchmarks/tokenize.py would shadow the stdlib's `tokenize` (which
# dataclasses imports): drop it before anything else is imported.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

CASES = ("ours-topk", "ours-standard", "saelens-topk", "saelens-topk-sparse", "saelens-standard", "sparsify-topk",
         "matmul")
HOOK_POINT = "blocks.6.resid_post"
OPTIMIZERS = {"ours": "Adam (fused)", "saelens": "Adam (its trainer's)", "sparsify": "Adam (torch default)"}


@dataclass
class Settings:
    data: Path
    train_tokens: int
    seq_len: int
    out: Path
    check_rows: int = 256
    d_sae: int = 4608
    k: int = 32
    batch: int = 4096
    steps: int = 24
    warmup: int = 4
    lr: float = 4e-4
    l1: float = 5.0
    init_tokens: int = 16_384
    dead_window_tokens: int = 1_000_000
    threads: int = 2
    profile: Path | None = None
    init: Path | None = None  # a SAELens folder to continue training from (training_sparse.py), else a fresh init
    init_scale: float = 1.0  # the input scale that SAE was trained with (its saved weights have it folded in)
    check_start: int | None = None  # the first row of the check reconstruction (default: right after the training rows)


def read_rows(path: Path, start: int, stop: int) -> np.ndarray:
    """Rows [start, stop) of a 2-D float32 .npy, read with plain file I/O (no memory map)."""
    with path.open("rb") as handle:
        major, _ = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(handle)
        if fortran or dtype != np.float32 or len(shape) != 2:
            raise SystemExit(f"{path}: expected a C-order float32 [tokens, d] array, got {dtype} {shape}")
        d = shape[1]
        handle.seek(start * d * 4, os.SEEK_CUR)
        rows = np.fromfile(handle, dtype=np.float32, count=(stop - start) * d)
    return rows.reshape(stop - start, d)


def _status_bytes(field: str) -> int | None:
    status = Path("/proc/self/status")
    if not status.is_file():
        return None
    for line in status.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return None


def _rss_bytes() -> int:
    return _status_bytes("VmRSS") or 0


def _peak_rss_bytes() -> int:
    """This process's peak RSS (VmHWM: not inherited from the parent, unlike ru_maxrss)."""
    peak = _status_bytes("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class Clock:
    """When each training batch was handed over (wall and CPU time); cProfile over the timed steps if asked."""

    warmup: int
    steps: int
    profile: Path | None = None
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_start: int = 0
    result: dict[str, float] | None = None
    start_loss: float | None = None  # with --init: the loss of the loaded SAE on the check rows, before training
    _profiler: object = None

    def wrap(self, batches: Iterator) -> Iterator:
        for batch in batches:
            self.mark()
            yield batch

    def mark(self) -> None:
        index = len(self.wall)
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())
        if index == 0:
            self.rss_start = _rss_bytes()
        if self.profile and index == self.warmup:
            import cProfile

            self._profiler = cProfile.Profile()
            self._profiler.enable()
        if self._profiler is not None and index == self.steps - 1:
            self._profiler.disable()
            self._profiler.dump_stats(str(self.profile))
            self._profiler = None

    def finish(self) -> None:
        """Called by each trainer right after its last step, before it saves anything."""
        peak_rss = _peak_rss_bytes()
        if len(self.wall) < self.steps:
            raise SystemExit(f"only {len(self.wall)} of {self.steps} batches were asked for")
        first, last = self.warmup, self.steps - 1
        intervals = np.diff(self.wall[first:last + 1])
        self.result = {"timed_steps": last - first, "seconds": self.wall[last] - self.wall[first],
                       "cpu_seconds": self.cpu[last] - self.cpu[first],
                       "step_ms_median": float(np.median(intervals)) * 1e3, "startup_seconds": self.wall[0] - STARTED,
                       "rss_start_bytes": self.rss_start, "peak_rss_bytes": peak_rss}


def _check_rows(s: Settings) -> torch.Tensor:
    """The rows each case reconstructs for the main script's check (by default, right after the training rows)."""
    start = s.train_tokens if s.check_start is None else s.check_start
    return torch.from_numpy(read_rows(s.data, start, start + s.check_rows))


def _train_data(s: Settings) -> np.ndarray:
    rows = read_rows(s.data, 0, s.train_tokens)
    return rows.reshape(-1, s.seq_len, rows.shape[1])


def _source(s: Settings, clock: Clock | None = None):  # noqa: ANN202
    """The shared TensorSource; with a clock, its batches are timed (ours asks the source itself)."""
    from mistudio.lens.sae import TensorSource

    class TimedSource(TensorSource):
        def batches(self, batch_tokens: int, start_batch: int = 0) -> Iterator:
            batches = super().batches(batch_tokens, start_batch)
            return clock.wrap(batches) if clock is not None else batches

    return TimedSource(_train_data(s), holdout_fraction=0.0, seed=0)


# --- the trainers ---------------------------------------------------------------------------------------------------

def ours(s: Settings, architecture: str, clock: Clock) -> Callable[[torch.Tensor], torch.Tensor]:
    """`lens.sae.train` as a notebook user calls it."""
    # The function from its module: `from mistudio.lens.sae import ..., train` after a name that lives in the
    # submodule `train` gets the submodule (the package attribute the import system sets) instead.
    from mistudio.lens.sae import Hyperparameters, SAEConfig, SparseAutoencoder, TrainConfig, save_saelens
    from mistudio.lens.sae.trainer import train

    source = _source(s, clock)
    if s.init is not None:
        sae = _ours_from(s)
        from mistudio.lens.sae.losses import StepInput, training_step

        with torch.no_grad():
            x = _check_rows(s) * s.init_scale
            clock.start_loss = float(training_step(sae, StepInput(x, x, s.l1)).loss)
        train([sae], source, TrainConfig(steps=s.steps, batch_tokens=s.batch, dead_window_tokens=s.dead_window_tokens),
              hyperparameters=Hyperparameters(lr=s.lr, sparsity_coefficient=s.l1), initialize=False)
        clock.finish()
        save_saelens(sae, s.out)
        return sae
    if architecture == "topk":
        config = SAEConfig("topk", d_in=source.d_in, d_sae=s.d_sae, k=s.k, hook_point=HOOK_POINT)
        hyper = Hyperparameters(lr=s.lr)
    else:  # SAELens' standard SAE: decoder rows free, the L1 penalty weighted by their norms
        config = SAEConfig("standard", d_in=source.d_in, d_sae=s.d_sae, decoder_norm="in_loss", hook_point=HOOK_POINT)
        hyper = Hyperparameters(lr=s.lr, sparsity_coefficient=s.l1)
    sae = SparseAutoencoder(config, seed=0)
    train([sae], source, TrainConfig(steps=s.steps, batch_tokens=s.batch, init_tokens=s.init_tokens,
                                     dead_window_tokens=s.dead_window_tokens), hyperparameters=hyper)
    clock.finish()
    save_saelens(sae, s.out)
    return sae


def _ours_from(s: Settings):  # noqa: ANN202
    """Our SAE from the SAELens folder `s.init`, back in the space it trained in (weights unfolded by `init_scale`,
    which the config keeps, as training leaves it); `train(..., initialize=False)` then starts from the file."""
    from mistudio.lens.sae import load

    sae = load(s.init)
    with torch.no_grad():
        sae.W_enc.div_(s.init_scale)
        sae.W_dec.mul_(s.init_scale)
        sae.b_dec.mul_(s.init_scale)
    sae.config.input_scale = sae.config.output_scale = s.init_scale
    return sae


def saelens(s: Settings, architecture: str, clock: Clock) -> Callable[[torch.Tensor], torch.Tensor]:
    """`SAETrainer.fit` over a data provider, wandb off, then `save_inference_model` (SAELens' README path)."""
    from sae_lens import SAE, LoggingConfig, StandardTrainingSAEConfig, TopKTrainingSAEConfig, TrainingSAE
    from sae_lens.config import SAETrainerConfig
    from sae_lens.saes.sae import TrainStepInput
    from sae_lens.training.sae_trainer import SAETrainer

    torch.manual_seed(0)
    source = _source(s)
    common = {"d_in": source.d_in, "d_sae": s.d_sae, "dtype": "float32", "device": "cpu",
              "normalize_activations": "expected_average_only_in"}
    if architecture == "standard":
        sae_config = StandardTrainingSAEConfig(l1_coefficient=s.l1, **common)
    elif architecture == "topk-sparse":  # its sparse-tensor option fails in backward with the default decoder-norm
        sae_config = TopKTrainingSAEConfig(k=s.k, use_sparse_activations=True,  # rescaling (sae-lens 6.54, torch 2.13)
                                           rescale_acts_by_decoder_norm=False, **common)
    else:
        sae_config = TopKTrainingSAEConfig(k=s.k, **common)
    if s.init is not None:  # its fine-tuning path (`from_pretrained_path`), in the space it trained in, as ours
        sae = TrainingSAE.load_from_disk(str(s.init))
        sae.cfg.l1_coefficient, sae.cfg.normalize_activations = s.l1, "expected_average_only_in"
        with torch.no_grad():
            sae.W_enc.div_(s.init_scale)
            sae.W_dec.mul_(s.init_scale)
            sae.b_dec.mul_(s.init_scale)
            x = _check_rows(s) * s.init_scale
            clock.start_loss = float(sae.training_forward_pass(TrainStepInput(
                sae_in=x, dead_neuron_mask=None, coefficients={"l1": s.l1}, n_training_steps=0,
                is_logging_step=False)).loss)
        init_batches = []
    else:
        sae = TrainingSAE.from_dict(sae_config.to_dict())
        init_batches = list(source.sample(s.init_tokens).x.split(s.batch))

    def provider() -> Iterator[torch.Tensor]:
        yield from init_batches  # its norm estimate reads the same sample our init reads
        for batch in clock.wrap(source.batches(s.batch)):
            yield batch.x

    trainer_config = SAETrainerConfig(
        total_training_samples=s.steps * s.batch, train_batch_size_samples=s.batch, lr=s.lr, lr_end=s.lr,
        lr_scheduler_name="constant", n_batches_for_norm_estimate=max(1, len(init_batches)),
        dead_feature_window=max(1, s.dead_window_tokens // s.batch), logger=LoggingConfig(log_to_wandb=False))
    trainer = SAETrainer(cfg=trainer_config, sae=sae, data_provider=provider())
    if s.init is not None:  # a known factor is kept, not estimated again (its rule when resuming a checkpoint)
        trainer.activation_scaler.scaling_factor = s.init_scale
    trained = trainer.fit()
    clock.finish()
    trained.cfg.metadata.hook_name = "blocks.6.hook_resid_post"
    trained.save_inference_model(str(s.out))
    loaded = SAE.load_from_disk(str(s.out))
    return lambda x: loaded(x)


def sparsify(s: Settings, clock: Clock) -> Callable[[torch.Tensor], torch.Tensor]:
    """`SparseCoder` with sparsify's own training step (its Trainer's, on tensors) in a plain loop, Adam."""
    from sparsify import SparseCoder, SparseCoderConfig

    torch.manual_seed(0)
    source = _source(s)
    sae = SparseCoder(source.d_in, SparseCoderConfig(num_latents=s.d_sae, k=s.k), device="cpu", dtype=torch.float32)
    optimizer = torch.optim.Adam(sae.parameters(), lr=s.lr)
    auxk_alpha = 1 / 32  # as ours (sparsify's Trainer default is 0); no latent is dead this early anyway
    since_fired = torch.zeros(sae.num_latents, dtype=torch.long)
    for step, batch in zip(range(s.steps), clock.wrap(source.batches(s.batch)), strict=False):
        x = batch.x
        if step == 0:
            sae.b_dec.data = x.mean(0)
        sae.set_decoder_norm_to_unit_norm()
        out = sae(x, dead_mask=since_fired > s.dead_window_tokens)
        (out.fvu + auxk_alpha * out.auxk_loss + out.multi_topk_fvu / 8).backward()
        sae.remove_gradient_parallel_to_decoder_directions()
        optimizer.step()
        optimizer.zero_grad()
        fired = torch.zeros(sae.num_latents, dtype=torch.bool)
        fired[out.latent_indices.flatten()] = True
        since_fired += x.shape[0]
        since_fired[fired] = 0
    clock.finish()
    sae.save_to_disk(s.out)
    loaded = SparseCoder.load_from_disk(s.out)
    return lambda x: loaded(x).sae_out


def matmul(s: Settings, clock: Clock) -> None:
    """The physical floor of any SAE step: the dense encoder product [batch, d] × [d, width] + bias."""
    d = read_rows(s.data, 0, 1).shape[1]
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(s.batch, d, generator=generator)
    weight, bias = torch.randn(d, s.d_sae, generator=generator) / d**0.5, torch.zeros(s.d_sae)
    out = torch.empty(s.batch, s.d_sae)
    for _ in range(s.steps):
        clock.mark()
        torch.addmm(bias, x, weight, out=out)
    clock.mark()  # the last product's end
    clock.steps += 1
    clock.finish()


def run(case: str, s: Settings) -> dict[str, object]:
    torch.set_num_threads(s.threads)
    s.out.mkdir(parents=True, exist_ok=True)
    clock = Clock(s.warmup, s.steps, s.profile)
    library, _, architecture = case.partition("-")
    check = _check_rows(s)
    if case == "matmul":
        matmul(s, clock)
        forward = None
    elif library == "ours":
        forward = ours(s, architecture, clock)
    elif library == "saelens":
        forward = saelens(s, architecture, clock)
    else:
        forward = sparsify(s, clock)
    if forward is not None:
        with torch.no_grad():
            np.save(s.out / "check_reconstruction.npy", forward(check).float().numpy())
    timing = clock.result
    assert timing is not None
    tokens = timing["timed_steps"] * s.batch
    return {"case": case, **timing, "tokens": tokens, "tokens_per_second": tokens / timing["seconds"],
            "cpu_tokens_per_second": tokens / timing["cpu_seconds"], "threads": torch.get_num_threads(),
            "optimizer": OPTIMIZERS.get(library, "-"), "torch": torch.__version__, "start_loss": clock.start_loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=CASES)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--train-tokens", type=int, required=True)
    parser.add_argument("--seq-len", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    for name, default in (("d-sae", 4608), ("k", 32), ("batch", 4096), ("steps", 24), ("warmup", 4),
                          ("threads", 2), ("init-tokens", 16_384), ("check-rows", 256)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--l1", type=float, default=5.0)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--init", type=Path, help="continue from this SAELens folder (standard cases)")
    parser.add_argument("--init-scale", type=float, default=1.0, help="the input scale --init was trained with")
    parser.add_argument("--check-start", type=int, help="first check row (default: --train-tokens)")
    args = parser.parse_args()
    settings = Settings(data=args.data, train_tokens=args.train_tokens, seq_len=args.seq_len, out=args.out,
                        check_rows=args.check_rows, d_sae=args.d_sae, k=args.k, batch=args.batch, steps=args.steps,
                        warmup=args.warmup, lr=args.lr, l1=args.l1, init_tokens=args.init_tokens,
                        threads=args.threads, profile=args.profile, init=args.init, init_scale=args.init_scale,
                        check_start=args.check_start)
    print(json.dumps(run(args.case, settings)))


if __name__ == "__main__":
    main()

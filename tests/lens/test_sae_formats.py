"""lens.sae.formats: our SAEs come back from disk unchanged, SAELens opens them, we open what SAELens and sparsify
save, and a folder we cannot read is refused with a message that names the problem.

The peers run for real in their own venv (`.venv-saepeers`, see tests/support/saepeers.py): SAELens loads our
folders and trains its own SAEs, sparsify trains a SparseCoder; only their outputs cross back, through files.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.sae import formats
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.buffer import TensorSource
from mistudio.lens.sae.config import SAEConfig
from mistudio.lens.sae.formats import UnsupportedSAEFormat
from mistudio.lens.sae.trainer import TrainConfig, train
from tests.lens.sae_data import sparse_activations
from tests.support.saepeers import run_in_peers

D, WIDTH, D_OUT, K = 32, 128, 16, 6
HOOK, TARGET, MODEL = "blocks.0.resid_pre", "blocks.0.mlp_out", "tiny-model"
SAES = ["standard", "topk", "batchtopk", "jumprelu", "gated", "matryoshka"]
TRANSCODERS = ["transcoder", "batchtopk_transcoder"]
# What SAELens builds from each of our folders: it has no inference class for BatchTopK or Matryoshka, and both
# are written (as SAELens itself writes them) as JumpReLU with their learned threshold.
SAELENS_CLASS = {"standard": "StandardSAE", "topk": "TopKSAE", "batchtopk": "JumpReLUSAE", "jumprelu": "JumpReLUSAE",
                 "gated": "GatedSAE", "matryoshka": "JumpReLUSAE", "transcoder": "Transcoder",
                 "batchtopk_transcoder": "JumpReLUTranscoder"}
TIGHT = {"atol": 1e-5, "rtol": 1e-5}


def _config(name: str) -> SAEConfig:
    architecture = {"transcoder": "standard", "batchtopk_transcoder": "batchtopk"}.get(name, name)
    k_rule = architecture in ("topk", "batchtopk", "matryoshka")
    transcoder = {"d_out": D_OUT, "target_hook_point": TARGET} if name in TRANSCODERS else {}
    return SAEConfig(architecture, d_in=D, d_sae=WIDTH, k=K if k_rule else None,
                     matryoshka_prefixes=[32, WIDTH] if architecture == "matryoshka" else None,
                     decoder_norm="unit" if k_rule else "in_loss", model_name=MODEL, hook_point=HOOK, **transcoder)


@pytest.fixture(scope="module")
def activations() -> torch.Tensor:
    return sparse_activations(tokens=4096, d=D)


@pytest.fixture(scope="module")
def x_eval(activations: torch.Tensor) -> torch.Tensor:
    return activations[-256:].clone()


@pytest.fixture(scope="module")
def trained(activations: torch.Tensor) -> dict[str, SparseAutoencoder]:
    """Every architecture and two transcoders, briefly trained (which sets input_scale ≠ 1, so saving folds it)."""
    saes = {name: SparseAutoencoder(_config(name), seed=1) for name in [*SAES, *TRANSCODERS]}
    config = TrainConfig(steps=30, batch_tokens=256)
    mlp = torch.nn.functional.normalize(torch.randn(D, D_OUT, generator=torch.Generator().manual_seed(3)), dim=0)
    target = 3.0 * torch.relu(activations @ mlp)  # another space and scale: output_scale ≠ input_scale
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # matrices this small gain nothing from threads, which spin on a busy machine
    try:
        train([saes[name] for name in SAES], TensorSource(activations), config)
        train([saes[name] for name in TRANSCODERS], TensorSource(activations, target), config)
    finally:
        torch.set_num_threads(threads)
    return saes


def _outputs(sae: SparseAutoencoder, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        latents = sae.encode(x)
        return latents, sae.decode(latents)


# --- our own round trip -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*SAES, *TRANSCODERS])
def test_a_saved_sae_loads_back_as_the_architecture_it_was_trained_as_with_equal_outputs(name, trained, x_eval,
                                                                                         tmp_path):
    sae = trained[name]
    assert sae.config.input_scale != pytest.approx(1.0)  # the save has a scale to fold
    if name in TRANSCODERS:
        assert sae.config.output_scale != pytest.approx(sae.config.input_scale)
    loaded = formats.load(formats.save_saelens(sae, tmp_path / name))
    assert loaded.config == replace(sae.config, input_scale=1.0, output_scale=1.0)
    latents, reconstruction = _outputs(sae, x_eval)
    assert 0 < (latents > 0).sum(-1).float().mean() < WIDTH / 2
    loaded_latents, loaded_reconstruction = _outputs(loaded, x_eval)
    torch.testing.assert_close(loaded_latents, latents, **TIGHT)
    torch.testing.assert_close(loaded_reconstruction, reconstruction, **TIGHT)


# --- SAELens opens ours -------------------------------------------------------------------------------------------
SAELENS_OPENS = r'''
import json, sys
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file
from sae_lens import SAE
from sae_lens.loading import pretrained_sae_loaders

torch.set_num_threads(1)  # tiny matrices: more threads only spin against each other on a busy machine
root, names, with_sparsity = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
x = load_file(str(root / "x.safetensors"))["x"]
outputs, built = {}, {}
for name in names:
    sae = SAE.load_from_disk(root / name)
    with torch.no_grad():
        latents = sae.encode(x)
        outputs[f"{name}.encode"], outputs[f"{name}.decode"] = latents, sae.decode(latents)
    built[name] = {"class": type(sae).__name__, "hook_name": sae.cfg.metadata.hook_name,
                   "model_name": sae.cfg.metadata.model_name}
# SAELens reads sparsity.safetensors only on its Hub path: serve the folder's files as the Hub would.
pretrained_sae_loaders.hf_hub_download = lambda repo_id, filename, **_: str(Path(repo_id) / filename)
_, _, outputs["log_sparsity"] = pretrained_sae_loaders.sae_lens_huggingface_loader(str(root), with_sparsity)
save_file({key: value.contiguous() for key, value in outputs.items()}, str(root / "outputs.safetensors"))
(root / "built.json").write_text(json.dumps(built))
'''


@pytest.mark.slow
def test_saelens_opens_our_saes_of_every_architecture_with_equal_outputs(trained, x_eval, tmp_path):
    names = [*SAES, *TRANSCODERS]
    with torch.no_grad():
        fired = (trained["topk"].encode(x_eval) > 0).sum(0)
    log10_sparsity = formats.log10_frequency(fired, len(x_eval))
    for name in names:
        formats.save_saelens(trained[name], tmp_path / name,
                             log10_sparsity=log10_sparsity if name == "topk" else None)
    save_file({"x": x_eval}, str(tmp_path / "x.safetensors"))
    run_in_peers(SAELENS_OPENS, args=[str(tmp_path), ",".join(names), "topk"], timeout=120)
    theirs = load_file(str(tmp_path / "outputs.safetensors"))
    built = json.loads((tmp_path / "built.json").read_text())
    for name in names:
        assert built[name] == {"class": SAELENS_CLASS[name], "hook_name": "blocks.0.hook_resid_pre",
                               "model_name": MODEL}, name
        latents, reconstruction = _outputs(trained[name], x_eval)
        torch.testing.assert_close(theirs[f"{name}.encode"], latents, **TIGHT, msg=lambda m, n=name: f"{n}: {m}")
        torch.testing.assert_close(theirs[f"{name}.decode"], reconstruction, **TIGHT,
                                   msg=lambda m, n=name: f"{n}: {m}")
    assert torch.equal(theirs["log_sparsity"], log10_sparsity)


# --- we open theirs -----------------------------------------------------------------------------------------------
PEERS_TRAIN = r'''
import sys
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file

out, steps = Path(sys.argv[1]), int(sys.argv[2])
x_eval = load_file(str(out / "x.safetensors"))["x"]
D_IN, D_SAE, K, BATCH = x_eval.shape[1], 128, 6, 128
torch.set_num_threads(1)  # tiny matrices: more threads only spin against each other on a busy machine
torch.manual_seed(0)
true_dict = torch.nn.functional.normalize(torch.randn(256, D_IN), dim=-1)

def batches():
    while True:  # sparse mixtures of 256 directions, ~5 active each
        codes = (torch.rand(BATCH, 256) < 5 / 256) * torch.rand(BATCH, 256) * 3
        yield codes @ true_dict + 0.5

from sae_lens import (SAE, BatchTopKTrainingSAEConfig, GatedTrainingSAEConfig, JumpReLUTrainingSAEConfig,
                      LoggingConfig, StandardTrainingSAEConfig, TopKTrainingSAEConfig, TrainingSAE)
from sae_lens.config import SAETrainerConfig
from sae_lens.training.sae_trainer import SAETrainer

configs = {"topk": TopKTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, k=K),
           "standard": StandardTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, l1_coefficient=1.0),
           "jumprelu": JumpReLUTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, l0_coefficient=1.0),
           "gated": GatedTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, l1_coefficient=1.0),
           "batchtopk": BatchTopKTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, k=K)}
for name, sae_config in configs.items():
    trainer_config = SAETrainerConfig(total_training_samples=BATCH * steps, train_batch_size_samples=BATCH, lr=3e-3,
                                      lr_end=3e-3, dead_feature_window=50, feature_sampling_window=100,
                                      n_batches_for_norm_estimate=10, logger=LoggingConfig(log_to_wandb=False))
    trained = SAETrainer(cfg=trainer_config, sae=TrainingSAE.from_dict(sae_config.to_dict()),
                         data_provider=batches()).fit()
    trained.cfg.metadata.hook_name = "blocks.1.hook_resid_post"
    trained.save_inference_model(out / name)
    if name == "topk":  # the training form: rescale_acts_by_decoder_norm with decoder rows off norm 1
        trained.save_model(out / "topk_training")
outputs = {}
for name in [*configs, "topk_training"]:
    sae = SAE.load_from_disk(out / name)
    with torch.no_grad():
        latents = sae.encode(x_eval)
        outputs[f"{name}.encode"], outputs[f"{name}.decode"] = latents, sae.decode(latents)

from schedulefree import ScheduleFreeWrapper
from sparsify import SparseCoder, SparseCoderConfig
from sparsify.sign_sgd import SignSGD

coder = SparseCoder(D_IN, SparseCoderConfig(num_latents=D_SAE, k=K), device="cpu", dtype=torch.float32)
optimizer = ScheduleFreeWrapper(SignSGD([{"params": coder.parameters(),
                                          "lr": 5e-3 / (coder.num_latents / 2**14) ** 0.5}]), momentum=0.95)
optimizer.train()
since_fired = torch.zeros(D_SAE, dtype=torch.long)
for step, x in zip(range(steps), batches()):  # the sparsify Trainer's step, on in-memory batches
    if step == 0:
        coder.b_dec.data = x.mean(0)
    coder.set_decoder_norm_to_unit_norm()
    result = coder(x, dead_mask=since_fired > BATCH * 50)
    (result.fvu + result.auxk_loss / 32 + result.multi_topk_fvu / 8).backward()
    coder.remove_gradient_parallel_to_decoder_directions()
    optimizer.step()
    optimizer.zero_grad()
    fired = torch.zeros(D_SAE, dtype=torch.bool)
    fired[result.latent_indices.flatten()] = True
    since_fired += x.shape[0]
    since_fired[fired] = 0
optimizer.eval()  # schedule-free: the averaged weights, as the sparsify Trainer saves them
coder.save_to_disk(out / "sparsify")
coder = SparseCoder.load_from_disk(out / "sparsify")
with torch.no_grad():
    top = coder.encode(x_eval)
    outputs["sparsify.encode"] = torch.zeros(len(x_eval), D_SAE).scatter_(-1, top.top_indices, top.top_acts)
    outputs["sparsify.decode"] = coder.decode(top.top_acts, top.top_indices)
save_file({key: value.contiguous() for key, value in outputs.items()}, str(out / "outputs.safetensors"))
'''
# Peer folder → what we load it as (SAELens writes BatchTopK as JumpReLU), and the hook point it names.
PEER_SAES = {"topk": "topk", "topk_training": "topk", "standard": "standard", "jumprelu": "jumprelu",
             "gated": "gated", "batchtopk": "jumprelu", "sparsify": "topk"}


@pytest.fixture(scope="module")
def peer_saes(tmp_path_factory, x_eval) -> Path:
    """Folders of SAEs trained and saved by SAELens and sparsify, with their outputs on x_eval."""
    folder = tmp_path_factory.mktemp("peer_saes")
    save_file({"x": x_eval}, str(folder / "x.safetensors"))
    run_in_peers(PEERS_TRAIN, args=[str(folder), "300"], timeout=180)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PEER_SAES))
def test_we_open_saes_saved_by_saelens_and_sparsify_with_equal_outputs(name, peer_saes, x_eval):
    sae = formats.load(peer_saes / name)
    assert sae.config.architecture == PEER_SAES[name]
    assert sae.config.k == (K if PEER_SAES[name] == "topk" else None)
    assert sae.config.hook_point == (None if name == "sparsify" else "blocks.1.resid_post")
    if name == "topk_training":  # the decoder-norm rescaling we fold on load is really there to fold
        cfg = json.loads((peer_saes / name / "cfg.json").read_text())
        norms = load_file(str(peer_saes / name / "sae_weights.safetensors"))["W_dec"].norm(dim=1)
        assert cfg["rescale_acts_by_decoder_norm"] and (norms - 1).abs().max() > 0.1
    theirs = load_file(str(peer_saes / "outputs.safetensors"))
    latents, reconstruction = _outputs(sae, x_eval)
    assert 0 < (latents > 0).sum(-1).float().mean() < WIDTH
    torch.testing.assert_close(latents, theirs[f"{name}.encode"], **TIGHT)
    torch.testing.assert_close(reconstruction, theirs[f"{name}.decode"], **TIGHT)


# --- what we refuse -----------------------------------------------------------------------------------------------
def _saelens_folder(folder: Path, cfg: dict, tensors: dict[str, torch.Tensor]) -> Path:
    """A folder as SAELens writes it, without our metadata."""
    folder.mkdir(parents=True)
    (folder / "cfg.json").write_text(json.dumps(cfg))
    save_file(tensors, str(folder / "sae_weights.safetensors"))
    return folder


def _standard_cfg(**overrides) -> dict:
    return {"architecture": "standard", "d_in": D, "d_sae": WIDTH, "dtype": "float32",
            "metadata": {"sae_lens_version": "6.54.12"}, **overrides}


def _standard_weights(d_sae: int = WIDTH) -> dict[str, torch.Tensor]:
    return {"W_enc": torch.randn(D, d_sae), "b_enc": torch.zeros(d_sae), "W_dec": torch.randn(d_sae, D),
            "b_dec": torch.zeros(D)}


def test_a_plain_saelens_folder_loads(tmp_path):
    """The baseline the refusals below differ from by one thing each."""
    weights = _standard_weights()
    sae = formats.load(_saelens_folder(tmp_path / "sae", _standard_cfg(), weights))
    assert sae.config.architecture == "standard" and torch.equal(sae.W_dec.detach(), weights["W_dec"])


def test_a_saelens_folder_from_before_6_0_keeps_its_top_level_hook_and_model(tmp_path):
    cfg = {"d_in": D, "d_sae": WIDTH, "dtype": "float32", "hook_name": "blocks.4.hook_mlp_out", "model_name": "gpt2"}
    sae = formats.load(_saelens_folder(tmp_path / "sae", cfg, _standard_weights()))
    assert (sae.config.architecture, sae.config.model_name, sae.config.hook_point) == ("standard", "gpt2",
                                                                                       "blocks.4.mlp_out")
    assert sae.config.subtracts_b_dec  # SAELens' default for a config that does not say


def test_a_saelens_transcoder_reads_its_target_and_never_subtracts_b_dec(tmp_path):
    cfg = _standard_cfg(architecture="transcoder", d_out=D_OUT, apply_b_dec_to_input=False,
                        hook_name="blocks.1.hook_resid_pre", hook_name_out="blocks.1.hook_mlp_out")
    weights = {**_standard_weights(), "W_dec": torch.randn(WIDTH, D_OUT), "b_dec": torch.randn(D_OUT)}
    sae = formats.load(_saelens_folder(tmp_path / "sae", cfg, weights))
    assert (sae.config.hook_point, sae.config.target_hook_point) == ("blocks.1.resid_pre", "blocks.1.mlp_out")
    assert sae.config.d_out == D_OUT and not sae.config.subtracts_b_dec


def test_a_saelens_sae_naming_an_output_hook_still_subtracts_b_dec(tmp_path):
    cfg = _standard_cfg(metadata={"sae_lens_version": "6.54.12", "hook_name": "blocks.1.hook_resid_post",
                                  "hook_name_out": "blocks.1.hook_mlp_out"})
    sae = formats.load(_saelens_folder(tmp_path / "sae", cfg, _standard_weights()))
    assert sae.config.subtracts_b_dec and sae.config.target_hook_point is None


def test_a_folder_without_cfg_json_is_refused(trained, tmp_path):
    folder = formats.save_saelens(trained["standard"], tmp_path / "sae")
    (folder / "cfg.json").unlink()
    with pytest.raises(UnsupportedSAEFormat, match="holds no SAE: expected cfg.json"):
        formats.load(folder)


def test_a_path_that_is_not_a_folder_is_refused(tmp_path):
    with pytest.raises(InvalidArgument, match="is not a folder"):
        formats.load(tmp_path / "missing")


def test_a_cfg_json_that_is_not_json_is_refused(trained, tmp_path):
    folder = formats.save_saelens(trained["standard"], tmp_path / "sae")
    (folder / "cfg.json").write_text('{"architecture": "standard", "d_in": 32,')
    with pytest.raises(UnsupportedSAEFormat, match=r"cfg.json is not valid JSON"):
        formats.load(folder)


def test_an_unknown_saelens_architecture_is_refused(tmp_path):
    folder = _saelens_folder(tmp_path / "sae", _standard_cfg(architecture="temporal"), _standard_weights())
    with pytest.raises(UnsupportedSAEFormat, match="SAELens architecture 'temporal' is not supported"):
        formats.load(folder)


def test_weights_whose_shapes_disagree_with_the_cfg_are_refused(tmp_path):
    folder = _saelens_folder(tmp_path / "sae", _standard_cfg(), _standard_weights(d_sae=64))
    with pytest.raises(UnsupportedSAEFormat, match=r"'W_enc' has shape \(32, 64\), the config implies \(32, 128\)"):
        formats.load(folder)


def test_weights_whose_shapes_disagree_with_our_own_cfg_are_refused(trained, tmp_path):
    folder = formats.save_saelens(trained["topk"], tmp_path / "sae")
    weights = load_file(str(folder / "sae_weights.safetensors"))
    save_file({**weights, "W_dec": weights["W_dec"][:64].contiguous()}, str(folder / "sae_weights.safetensors"))
    with pytest.raises(UnsupportedSAEFormat, match=r"'W_dec' has shape \(64, 32\), the config implies \(128, 32\)"):
        formats.load(folder)


def test_a_topk_folder_whose_shapes_disagree_is_refused_before_its_decoder_norms_are_folded(tmp_path):
    weights = {**_standard_weights(), "W_enc": torch.randn(D, 64)}
    folder = _saelens_folder(tmp_path / "sae", _standard_cfg(architecture="topk", k=K,
                                                             rescale_acts_by_decoder_norm=True), weights)
    with pytest.raises(UnsupportedSAEFormat, match=r"'W_enc' has shape \(32, 64\)"):
        formats.load(folder)


def test_a_cfg_without_its_widths_is_refused(tmp_path):
    cfg = _standard_cfg()
    del cfg["d_sae"]
    with pytest.raises(UnsupportedSAEFormat, match="cfg.json lacks d_sae"):
        formats.load(_saelens_folder(tmp_path / "sae", cfg, _standard_weights()))


def test_a_jumprelu_without_its_threshold_is_refused(tmp_path):
    folder = _saelens_folder(tmp_path / "sae", _standard_cfg(architecture="jumprelu"), _standard_weights())
    with pytest.raises(UnsupportedSAEFormat, match="the weights lack threshold"):
        formats.load(folder)


def test_a_weights_file_that_is_not_safetensors_is_refused(tmp_path):
    folder = _saelens_folder(tmp_path / "sae", _standard_cfg(), _standard_weights())
    (folder / "sae_weights.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(UnsupportedSAEFormat, match="sae_weights.safetensors is not a safetensors file"):
        formats.load(folder)


def test_a_sparsify_folder_without_its_encoder_is_refused(tmp_path):
    folder = tmp_path / "sae"
    folder.mkdir()
    (folder / "cfg.json").write_text(json.dumps({"activation": "topk", "num_latents": WIDTH, "k": K, "d_in": D}))
    save_file({"W_dec": torch.randn(WIDTH, D), "b_dec": torch.zeros(D)}, str(folder / "sae.safetensors"))
    with pytest.raises(UnsupportedSAEFormat, match="the weights lack encoder.bias, encoder.weight"):
        formats.load(folder)


@pytest.mark.parametrize("hook_point", ["blocks.2.resid_post", "blocks.2.hook_resid_post", "embed", "blocks.2.attn.z"])
def test_any_hook_point_survives_a_save(hook_point, tmp_path):
    sae = SparseAutoencoder(replace(_config("standard"), hook_point=hook_point))
    folder = formats.save_saelens(sae, tmp_path / "sae")
    saelens_name = json.loads((folder / "cfg.json").read_text())["metadata"]["hook_name"]
    assert saelens_name == ("blocks.2.hook_resid_post" if hook_point.endswith("resid_post") else hook_point)
    assert formats.load(folder).config.hook_point == hook_point


def test_a_sparsity_of_the_wrong_width_is_refused(trained, tmp_path):
    with pytest.raises(InvalidArgument, match=r"log10_sparsity has shape \(64,\); the SAE has 128 latents"):
        formats.save_saelens(trained["topk"], tmp_path / "sae", log10_sparsity=torch.zeros(64))

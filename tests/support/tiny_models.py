"""Tiny random-init HF model folders (config, safetensors, generation config, tokenizer) for fast tests.

Nothing is downloaded: the tokenizer is a byte-level BPE trained on an in-memory corpus, the weights are random
with a fixed seed. `build_tiny_model("llama", dir)` takes well under a second per family once torch is imported.
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

# The causal LM families; "bert" is built too, as the incompatible (non-causal) model.
TINY_FAMILIES: tuple[str, ...] = (
    "llama", "mistral", "mixtral", "qwen2", "gemma2", "gpt2", "gpt_neox", "phi3", "falcon",
)
ALL_FAMILIES: tuple[str, ...] = (*TINY_FAMILIES, "bert")

SPECIAL_TOKENS = ("<unk>", "<s>", "</s>", "<pad>", "<mask>")  # ids 0..4 in every tiny tokenizer
UNK_ID, BOS_ID, EOS_ID, PAD_ID, MASK_ID = range(5)
VOCAB_SIZE = 512
HIDDEN, INTERMEDIATE, LAYERS, HEADS, KV_HEADS, MAX_POSITIONS = 64, 128, 2, 4, 2, 256
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

_WORDS = """
the of and to in is was that for on with as by at from his her they we you it he she this which be have had are
not but or an were their one all there been has more if will would who so can when what out up about into than
them some could time only other new these two may first then do any like my now over such our man me even most
made after also did many before must through back years where much your way well down should because each just
those people how too little state good very make world still own see men work long get here between both life
being under never day same another know while last might us great old year off come since against go came right
used take three house light word water sun moon star river tree stone hand head eye face door road city king
queen lord lady love night morning evening heart mind voice song book letter paper story music colour green red
blue white black small large strong gentle quiet loud warm cold bright dark early late quick slow happy sad
simple clear open close begin end walk run speak hear read write think feel learn teach build carry follow
answer question reason number model layer feature token signal pattern neuron circuit vector matrix sparse
dense attention memory language sentence meaning capital country france paris london river city garden field
forest mountain ocean island summer winter spring autumn bread cheese apple honey milk fire earth wind rain snow
""".split()


def _corpus() -> list[str]:
    """A few hundred sentences over the word list, deterministic."""
    rng = random.Random(0)
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(5, 14))).capitalize() + "." for _ in range(400)]


@functools.lru_cache(maxsize=1)
def _tokenizer_json() -> str:
    """A trained byte-level BPE (any text encodes, no unknown tokens), serialized."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_WORDS + _corpus(), trainer=trainer)
    # Llama-style: a BOS before every sequence.
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", BOS_ID)])
    return tokenizer.to_str()


def tiny_tokenizer() -> Any:
    """The shared tiny tokenizer as a `PreTrainedTokenizerFast` with bos/eos/unk/pad/mask and a chat template."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_tokenizer_json()), bos_token="<s>", eos_token="</s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=MAX_POSITIONS)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _config_kwargs(family: str, vocab_size: int) -> dict[str, Any]:
    ids = {"vocab_size": vocab_size, "bos_token_id": BOS_ID, "eos_token_id": EOS_ID, "pad_token_id": PAD_ID}
    llama_like = {"hidden_size": HIDDEN, "intermediate_size": INTERMEDIATE, "num_hidden_layers": LAYERS,
                  "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
                  "max_position_embeddings": MAX_POSITIONS, **ids}
    if family in ("llama", "mistral", "qwen2", "phi3"):
        return llama_like
    if family == "mixtral":
        return {**llama_like, "num_local_experts": 4, "num_experts_per_tok": 2}
    if family == "gemma2":
        return {**llama_like, "head_dim": HIDDEN // HEADS, "query_pre_attn_scalar": HIDDEN // HEADS,
                "sliding_window": 64}
    if family == "gpt2":
        return {"n_embd": HIDDEN, "n_inner": INTERMEDIATE, "n_layer": LAYERS, "n_head": HEADS,
                "n_positions": MAX_POSITIONS, **ids}
    if family == "gpt_neox":
        return {"hidden_size": HIDDEN, "intermediate_size": INTERMEDIATE, "num_hidden_layers": LAYERS,
                "num_attention_heads": HEADS, "max_position_embeddings": MAX_POSITIONS, "rotary_pct": 0.25, **ids}
    if family == "falcon":
        return {"hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
                "new_decoder_architecture": True, "num_kv_heads": KV_HEADS, "max_position_embeddings": MAX_POSITIONS,
                **ids}
    if family == "bert":
        return {"hidden_size": HIDDEN, "intermediate_size": INTERMEDIATE, "num_hidden_layers": LAYERS,
                "num_attention_heads": HEADS, "max_position_embeddings": MAX_POSITIONS, **ids}
    raise ValueError(f"unknown tiny family {family!r}; known: {', '.join(ALL_FAMILIES)}")


def build_tiny_model(family: str, out_dir: Path, *, seed: int = 0) -> Path:
    """Save a complete random-init HF model folder for `family` into out_dir and return it."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM

    tokenizer = tiny_tokenizer()
    config = AutoConfig.for_model(family, **_config_kwargs(family, len(tokenizer)))
    torch.manual_seed(seed)
    auto_class = AutoModelForMaskedLM if family == "bert" else AutoModelForCausalLM
    model = auto_class.from_config(config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def tiny_model_card(family: str) -> str:
    """A README.md with YAML front matter, like a real model repo's."""
    meta = {"license": "apache-2.0", "library_name": "transformers", "tags": ["tiny", family],
            "pipeline_tag": "fill-mask" if family == "bert" else "text-generation"}
    front = "\n".join(f"{key}: {json.dumps(value)}" for key, value in meta.items())
    return f"---\n{front}\n---\n\n# tiny-random-{family}\n\nRandom weights for tests; outputs are noise.\n"


def publish_tiny_model(hub: Any, family: str, model_dir: Path, repo_id: str | None = None, **options: Any) -> str:
    """Publish a built tiny model (plus a model card) to a FakeHub as `tiny/<family>`; returns the repo id."""
    repo_id = repo_id or f"tiny/{family.replace('_', '-')}"
    files: dict[str, Any] = {p.relative_to(model_dir).as_posix(): p for p in Path(model_dir).rglob("*") if p.is_file()}
    files.setdefault("README.md", tiny_model_card(family))
    card = {"license": "apache-2.0", "library_name": "transformers", "tags": ["tiny", family]}
    pipeline_tag = "fill-mask" if family == "bert" else "text-generation"
    options = {"license": "apache-2.0", "card_data": card, "pipeline_tag": pipeline_tag, **options}
    hub.add_model_repo(repo_id, files, **options)
    return repo_id

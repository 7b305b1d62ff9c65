"""NSPModel: frozen VLM + learnable queries -> connector -> LTX DiT (+ frozen VAE), and its checkpoint format.

A checkpoint is a directory:
    nsp_config.json          the ModelConfig and, per component, its class and where it lives; which large
                             components training changed; whether SFT/RL gave text beside the clip (`text_with_clip`)
    nsp_weights.safetensors  queries, connector and null condition (always trained, always here)
    vlm/ transformer/ vae/ scheduler/
                             `save_pretrained` folders for what is embedded: components built with random weights
                             (tiny) and components that were trained. Frozen base models stay where they are and are
                             referenced, never copied (a 16 GB VLM): by the absolute path they were read from and by
                             a name another machine finds them by (`nsp.local_models.portable_reference`: a Hugging
                             Face repo id in the local hub cache, or a directory name under $NSP_MODELS_DIR).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from nsp.config import ModelConfig, as_patch, deep_merge, validate_config
from nsp.connectors import build_connector
from nsp.errors import NSPError
from nsp.files import atomic_path, load_safetensors
from nsp.generation import flow
from nsp.generation.ltx import LTXGenerator, build_generator, frames_to_video
from nsp.local_models import portable_reference, resolve_local, where_looked
from nsp.understanding.context import ContextBatch, ContextCache, ContextEncoder
from nsp.understanding.vlm import build_vlm
from nsp.video.frames import last_frames, resize_frames
from nsp.video.io import Clip

CONFIG_FILE = "nsp_config.json"
WEIGHTS_FILE = "nsp_weights.safetensors"
LORA_FILE = "transformer_lora.safetensors"
FORMAT_VERSION = 1

# What each stage trains. The VLM and the VAE are always frozen.
STAGE_TRAINABLE: dict[str, tuple[str, ...]] = {
    "vae": ("vae",),  # tiny models only: the VAE's reconstruction pre-step (real VAEs are loaded and frozen)
    "vlm": ("vlm",),  # tiny models only: the VLM's understanding pre-step (real VLMs are loaded and frozen)
    "t2v_images": ("queries", "connector"),  # curriculum phase 1: images, DiT frozen
    "t2v": ("queries", "connector", "transformer"),
    "sft": ("queries", "connector", "transformer"),
    "rl": ("queries", "connector", "transformer"),
}


def save_without_lora(transformer, folder: Path) -> None:
    """A DiT carrying a peft LoRA, saved as the plain diffusers model under it (its own key names, so that
    `from_pretrained` loads it; the LoRA is stored in a file of its own). Nothing is unloaded: training goes on."""
    folder.mkdir(parents=True, exist_ok=True)
    transformer.save_config(folder)
    state = {k.replace(".base_layer.", "."): v.detach().contiguous()
             for k, v in transformer.state_dict().items() if "lora_" not in k}
    save_file(state, str(folder / "diffusion_pytorch_model.safetensors"))


class NSPModel(nn.Module):
    def __init__(self, config: ModelConfig, context_encoder: ContextEncoder, connector: nn.Module,
                 generator: LTXGenerator, sources: dict[str, str | None]):
        super().__init__()
        self.config = config
        self.context_encoder = context_encoder
        self.connector = connector
        self.generator = generator
        # CFG's unconditional input: a learned embedding (zeros at init, trained with condition dropout) or fixed zeros.
        learned = config.connector.null_condition == "learned"
        self.null_condition = nn.Parameter(torch.zeros(config.connector.num_queries, generator.caption_channels),
                                           requires_grad=learned)
        # Where each frozen base component came from (None: random init, so it must be embedded when saved).
        self.sources = sources
        self.trained: set[str] = set()  # large components changed by training, embedded when saved
        self.lora: dict | None = None  # {"rank", "alpha"} once a LoRA is attached to the DiT
        # Whether SFT or RL ever gave a context's text beside its clip (None: not recorded, e.g. pretrained only): a
        # model that read clips alone can be misled by text beside one (NSPPipeline.text_note).
        self.text_with_clip: bool | None = None

    def add_dit_lora(self, rank: int, alpha: float | None = None) -> None:
        """Attach a LoRA to the DiT's attention projections (peft); training then changes only the LoRA."""
        from peft import LoraConfig

        self.lora = {"rank": rank, "alpha": alpha or rank}
        self.generator.transformer.add_adapter(LoraConfig(r=rank, lora_alpha=alpha or rank,
                                                          init_lora_weights="gaussian",
                                                          target_modules=["to_q", "to_k", "to_v", "to_out.0"]))

    # ---- composition --------------------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: ModelConfig, generator_sources: dict | None = None) -> "NSPModel":
        vlm, tokenizer, spec = build_vlm(config.vlm)
        encoder = ContextEncoder(vlm, tokenizer, spec, config.vlm, config.connector.num_queries)
        generator = build_generator(config.generator, generator_sources)
        connector = build_connector(config.connector, encoder.hidden_size, generator.caption_channels)
        sources = {"vlm": config.vlm.path, "generator": config.generator.path, "vae": config.generator.vae_path}
        return cls(config, encoder, connector, generator, sources)

    # ---- forward pieces -----------------------------------------------------------------------------------------
    def prepare_context(self, texts: list[str | None], clips: list[Clip | None], prompt: str | None = None
                        ) -> ContextBatch:
        """Texts and decoded clips -> a tokenised, position-annotated context batch (on the CPU)."""
        enc = self.context_encoder
        return enc.prepare(texts, [None if c is None else enc.video_input(c.frames, c.fps) for c in clips], prompt)

    def condition(self, batch: ContextBatch | ContextCache) -> torch.Tensor:
        """Context -> (B, num_queries, caption_channels): the DiT's `encoder_hidden_states`. A `ContextCache`
        (`read_context`): the frozen VLM's reading of the contexts, made once, reused by every call."""
        return self.connector(self.context_encoder(batch))

    def read_context(self, batch: ContextBatch) -> ContextCache:
        """The frozen VLM's pass over the contexts (and its think tokens), no grad: what `condition` needs besides the
        queries, to reuse where the same contexts are conditioned on many times."""
        return self.context_encoder.encode_context(batch)

    def null(self, batch_size: int) -> torch.Tensor:
        return self.null_condition.unsqueeze(0).expand(batch_size, -1, -1)

    def encode_history(self, clips: list[Clip | None], generator: torch.Generator | None = None
                       ) -> torch.Tensor | None:
        """The history the DiT sees when sampling (generator.history_frames > 0): each context clip fitted to the
        generator's size and frame count, VAE-encoded, its last latent frames packed (or its last frame encoded on
        its own, `generator.history_source: last_frame`); zeros for rows without a clip. Noised at
        `generator.history_sigma` where that is set (the noise from `generator`)."""
        g = self.config.generator
        if not g.history_frames or all(c is None for c in clips):
            return None
        gen = self.generator
        device = gen.vae.device  # (where the VAE is: with offloading, not where the rest of the model is)
        length = g.num_frames * g.context_clips
        blank = np.zeros((length, g.height, g.width, 3), np.uint8)
        frames = np.stack([blank if c is None else last_frames(resize_frames(c.frames, g.height, g.width), length)
                           for c in clips])
        video = frames_to_video(frames).to(device)
        if g.history_source == "last_frame":  # the last frame on its own: exactly what the context ends on
            latents = gen.encode_latents(video[:, :, -1:], sample=False)
        else:
            latents = gen.encode_clips(video, g.num_frames)
        history = gen.history_tokens(latents, g.history_frames)
        missing = torch.tensor([c is None for c in clips], device=device)
        return self.noise_history(torch.where(missing[:, None, None], torch.zeros_like(history), history), generator)

    def noise_history(self, history: torch.Tensor | None, generator: torch.Generator | None = None
                      ) -> torch.Tensor | None:
        """Clean history tokens -> as sampling gives them: noised at `generator.history_sigma` (unchanged at 0)."""
        level = self.config.generator.history_sigma
        if history is None or level == 0:
            return history
        if generator is None:  # every row the same draw: a row's history does not depend on its batch
            noise = torch.randn(history.shape[1:], generator=torch.Generator().manual_seed(0), dtype=history.dtype)
            noise = noise.expand_as(history)
        else:
            noise = torch.randn(history.shape, generator=generator, dtype=history.dtype)
        noise = noise.to(history.device)
        return flow.add_noise(history, noise, torch.full((len(history),), level, device=history.device))

    def forward(self, context: ContextBatch, latents: torch.Tensor, grid: tuple[int, int, int], fps: float,
                drop: torch.Tensor | None = None, generator: torch.Generator | None = None,
                history: torch.Tensor | None = None, sigma_shift: float = 0.0,
                history_noise: float = 0.0) -> torch.Tensor:
        """The training loss: context -> condition (the null condition where `drop`) -> flow matching on `latents`
        (after the clean `history` tokens, where given; `sigma_shift`, `history_noise`: the run's dit section).

        Everything a training step touches runs inside this forward, so DeepSpeed's hooks (ZeRO-3) see it."""
        condition = self.condition(context)
        if drop is not None:  # always through torch.where: every rank must give the null condition a gradient
            null = self.null(len(condition)).to(condition.dtype)
            condition = torch.where(drop.to(condition.device)[:, None, None], null, condition)
        return self.flow_matching_loss(condition, latents, fps, grid, generator, history, sigma_shift, history_noise)

    def flow_matching_loss(self, condition: torch.Tensor, latents: torch.Tensor, fps: float,
                           grid: tuple[int, int, int], generator: torch.Generator | None = None,
                           history: torch.Tensor | None = None, sigma_shift: float = 0.0,
                           history_noise: float = 0.0) -> torch.Tensor:
        """One flow-matching loss on clean latent tokens (B, S, C) given the DiT condition (history: no loss).
        `sigma_shift` is added to the noise levels' logit-normal mean (training at higher noise); `history_noise` >
        0 noises each row's history at a level drawn uniformly up to it."""
        # Random draws come from `generator` on its own device (the CPU), so runs replay exactly on any device.
        sigma = flow.sample_sigmas(latents.shape[0], latents.shape[1], self.generator.scheduler.config, generator,
                                   sigma_shift)
        noise = torch.randn(latents.shape, generator=generator, dtype=latents.dtype)
        sigma, noise = sigma.to(latents.device), noise.to(latents.device)
        noisy = flow.add_noise(latents, noise, sigma)
        history_sigma = 0.0
        if history is not None and history_noise > 0:  # drawn after the clip's: runs without it replay as before
            history_sigma = torch.rand(len(latents), generator=generator) * history_noise
            history_noise_draw = torch.randn(history.shape, generator=generator, dtype=history.dtype)
            history_sigma = history_sigma.to(latents.device)
            history = flow.add_noise(history, history_noise_draw.to(history.device), history_sigma)
        velocity = self.generator.velocity(noisy, sigma, condition, grid, fps, history=history,
                                           history_sigma=history_sigma)
        return flow.flow_matching_loss(velocity, latents, noise)

    # ---- trainable sets -----------------------------------------------------------------------------------------
    def groups(self) -> dict[str, list[nn.Parameter]]:
        connector = list(self.connector.parameters())
        if self.config.connector.null_condition == "learned":
            connector.append(self.null_condition)
        dit = self.generator.transformer
        # With a LoRA on the DiT, "transformer" means the LoRA weights; the base DiT stays frozen.
        transformer = [p for n, p in dit.named_parameters() if "lora_" in n] if self.lora else list(dit.parameters())
        return {
            "queries": [self.context_encoder.queries],
            "connector": connector,
            "transformer": transformer,
            "vlm": list(self.context_encoder.vlm.parameters()),
            "vae": list(self.generator.vae.parameters()),
        }

    def set_trainable(self, stage_or_groups: str | tuple[str, ...] | list[str]) -> list[str]:
        names = STAGE_TRAINABLE.get(stage_or_groups) if isinstance(stage_or_groups, str) else tuple(stage_or_groups)
        if names is None:
            raise NSPError(f"stage {stage_or_groups!r}: unknown (choose from {', '.join(STAGE_TRAINABLE)})")
        groups = self.groups()
        unknown = set(names) - set(groups)
        if unknown:
            raise NSPError(f"trainable groups {sorted(unknown)}: unknown (choose from {', '.join(groups)})")
        for own in ("vlm", "vae"):
            if own in names and set(names) != {own}:
                raise NSPError(f"the {own.upper()} is frozen in the NSP stages; it is trained only on its own "
                               f"(the tiny {own.upper()}'s pre-step)")
        for name, params in groups.items():
            for p in params:
                p.requires_grad_(name in names)
        if self.config.connector.null_condition == "zero":
            self.null_condition.requires_grad_(False)
        if "transformer" in names:
            self.trained.add("transformer_lora" if self.lora else "transformer")
        for own in ("vlm", "vae"):
            if own in names:
                self.trained.add(own)
        return list(names)

    def parameter_report(self) -> dict:
        report = {}
        seen: set[int] = set()
        for name, params in self.groups().items():
            unique = [p for p in params if id(p) not in seen]
            seen.update(id(p) for p in unique)
            report[name] = {"parameters": sum(p.numel() for p in unique),
                            "trainable": sum(p.numel() for p in unique if p.requires_grad)}
        report["total"] = {k: sum(v[k] for v in report.values()) for k in ("parameters", "trainable")}
        return report

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        state = {"queries": self.context_encoder.queries, "null_condition": self.null_condition}
        state.update({f"connector.{k}": v for k, v in self.connector.state_dict().items()})
        return {k: v.detach().float().cpu().contiguous() for k, v in state.items()}

    # ---- checkpoints --------------------------------------------------------------------------------------------
    def save_pretrained(self, path: str | Path) -> Path:
        """Write the checkpoint directory atomically (a temporary sibling, then a rename)."""
        path = Path(path)
        with atomic_path(path, is_dir=True) as tmp:
            components = {}
            # Embedded: random (tiny) and trained components, and the small shipped tiny assets ("nsp:...").
            vlm_source = self.sources["vlm"]
            embed_vlm = vlm_source is None or vlm_source.startswith("nsp:") or "vlm" in self.trained
            if embed_vlm:
                self.context_encoder.vlm.save_pretrained(tmp / "vlm")
                self.context_encoder.tokenizer.save_pretrained(tmp / "vlm")
            components["vlm"] = {"class": type(self.context_encoder.vlm).__name__, "path": "vlm"}
            if not embed_vlm:
                components["vlm"].update(_reference(vlm_source, "vlm.path"))
            for name in ("transformer", "vae", "scheduler"):
                module = getattr(self.generator, name)
                base, subfolder = self.sources["generator"], name
                if name == "vae" and self.sources.get("vae"):  # a VAE given on its own (generator.vae_path)
                    base, subfolder = self.sources["vae"], None
                embed = base is None or base.startswith("nsp:") or name in self.trained or name == "scheduler"
                if embed and name == "transformer" and self.lora:
                    save_without_lora(module, tmp / name)
                elif embed:
                    module.save_pretrained(tmp / name)
                components[name] = {"class": type(module).__name__, "path": name, "subfolder": None}
                if not embed:
                    components[name].update(_reference(base, f"{name} path"), subfolder=subfolder)
            if self.lora:
                from peft.utils import get_peft_model_state_dict

                lora = get_peft_model_state_dict(self.generator.transformer)
                save_file({k: v.detach().float().cpu().contiguous() for k, v in lora.items()}, str(tmp / LORA_FILE))
                components["transformer_lora"] = {"path": LORA_FILE, **self.lora}
            save_file(self.trainable_state_dict(), str(tmp / WEIGHTS_FILE))
            components["trainable"] = {"path": WEIGHTS_FILE}
            meta = {"format": "nsp", "format_version": FORMAT_VERSION, "model": self.config.model_dump(mode="json"),
                    "components": components, "trained": sorted(self.trained)}
            if self.text_with_clip is not None:
                meta["text_with_clip"] = self.text_with_clip
            (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        return path

    @classmethod
    def from_pretrained(cls, path: str | Path, changes: list[str] | dict | None = None) -> "NSPModel":
        """`changes`: to the saved model config, as `key=value` strings or a nested dict (e.g. history frames)."""
        path = Path(path)
        meta = read_checkpoint_meta(path)
        data = deep_merge(meta["model"], as_patch(changes))
        config = validate_config(data, f"{path}/{CONFIG_FILE}")
        comps = meta["components"]

        def where(name: str) -> tuple[str, str | None]:
            c = comps[name]
            if not Path(c["path"]).is_absolute():  # embedded
                return str(path / c["path"]), c.get("subfolder")
            return str(_find_base(c, name, path)), c.get("subfolder")

        def source(value: str | None, name: str) -> str | None:
            """The config's base-model entry as this machine finds it: as saved, else the checkpoint's reference."""
            if value is None or value.startswith("nsp:") or not Path(comps[name]["path"]).is_absolute():
                return value
            try:
                resolve_local(value, name)
                return value
            except NSPError:
                return comps[name].get("ref", value)

        # Load through exactly the code path a user's base models take: local directories.
        saved = meta["model"]
        # The generator snapshot's reference is on whichever of its parts was read from it (a subfolder of it).
        from_snapshot = next((n for n in ("transformer", "vae") if comps[n].get("subfolder")), "transformer")
        sources = {"vlm": source(saved["vlm"]["path"], "vlm"),
                   "generator": source(saved["generator"]["path"], from_snapshot),
                   "vae": source(saved["generator"].get("vae_path"), "vae")}
        config.vlm.path = where("vlm")[0]
        config.generator.path, config.generator.vae_path = sources["generator"], sources["vae"]
        model = cls.from_config(config, {n: where(n) for n in ("transformer", "vae", "scheduler")})
        model.sources = sources
        model.config.vlm.path = sources["vlm"]
        model.trained = set(meta.get("trained", []))
        model.text_with_clip = meta.get("text_with_clip")
        model.load_trainable(path / comps["trainable"]["path"])
        if "transformer_lora" in comps:
            from peft.utils import set_peft_model_state_dict

            lora = comps["transformer_lora"]
            model.add_dit_lora(lora["rank"], lora["alpha"])
            set_peft_model_state_dict(model.generator.transformer, load_safetensors(path / lora["path"]))
        return model

    def load_trainable(self, file: Path) -> None:
        if not file.is_file():
            raise NSPError(f"{file}: trainable weights missing from the checkpoint")
        state = load_safetensors(file)
        for name, param in (("queries", self.context_encoder.queries), ("null_condition", self.null_condition)):
            if name not in state or state[name].shape != param.shape:
                got = tuple(state[name].shape) if name in state else "nothing"
                raise NSPError(f"{file}: {name} is {got}, this model's config needs {tuple(param.shape)}")
        with torch.no_grad():
            self.context_encoder.queries.copy_(state.pop("queries"))
            self.null_condition.copy_(state.pop("null_condition"))
            connector = {k.removeprefix("connector."): v for k, v in state.items()}
            missing, unexpected = self.connector.load_state_dict(connector, strict=False)
        if missing or unexpected:
            raise NSPError(f"{file}: connector weights do not match connector.type="
                           f"{self.config.connector.type} (missing {missing[:3]}, unexpected {unexpected[:3]})")


def _reference(value: str, what: str) -> dict:
    """A frozen base model's entry in a checkpoint: where it was read from, and the name it is found by elsewhere."""
    found = resolve_local(value, what)
    return {"path": str(found.resolve()), "ref": portable_reference(value, found)}


def _find_base(component: dict, name: str, checkpoint: Path) -> Path:
    """A referenced base model on this machine: at the path it was saved from, else found by its reference."""
    saved = Path(component["path"])
    if saved.is_dir() or "ref" not in component:  # (checkpoints from before references: the path only)
        return saved
    try:
        return resolve_local(component["ref"], name)
    except NSPError:
        raise NSPError(f"{checkpoint}: its {name} base model {component['ref']} is not on this machine: not at "
                       f"{saved}, {where_looked(component['ref'])} (point $NSP_MODELS_DIR at a directory holding "
                       f"{Path(component['ref']).name})") from None


def read_checkpoint_meta(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_dir():
        raise NSPError(f"{path}: checkpoint directory not found")
    file = path / CONFIG_FILE
    if not file.is_file():
        raise NSPError(f"{path}: not an NSP checkpoint (no {CONFIG_FILE})")
    try:
        meta = json.loads(file.read_text())
    except json.JSONDecodeError as err:
        raise NSPError(f"{file}: not valid JSON ({err.msg})") from None
    if meta.get("format") != "nsp" or meta.get("format_version", 0) > FORMAT_VERSION:
        raise NSPError(f"{file}: unsupported checkpoint format {meta.get('format')}/{meta.get('format_version')}")
    return meta

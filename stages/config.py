"""The typed training config: one YAML file drives a run (see stages/configs/*.yaml for commented examples).

Every section is strict: an unknown key, a wrong type, a missing data directory or a frame count that is not 8k+1
fails before any work starts, with one line that names the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from nsp.config import PRESETS, ModelConfig, deep_merge, format_validation_error, parse_overrides
from nsp.errors import NSPError

STAGE_CONFIGS = Path(__file__).parent / "configs"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSection(_Strict):
    init: str | None = None  # a checkpoint to start from (`--init`); None: the preset
    preset: str = "tiny"
    # Changes to the model, as a tree shaped like nsp.config.ModelConfig (`nsp info --preset tiny --config` prints it), applied
    # to the init checkpoint's config, else to the preset's: e.g. {generator: {history_frames: 1}} lets the DiT see
    # the context's last latent frame clean (Video-GPT's history). From the command line: model.patch.vlm.path=DIR.
    patch: dict[str, Any] = {}

    @model_validator(mode="after")
    def _patch_fits(self) -> "ModelSection":
        # With the rest of the run config when it applies to the preset; applied to an init checkpoint's config, it is
        # checked when that is read (check_paths), still before any work.
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r} (choose from {', '.join(PRESETS)})")
        if self.init:
            return self
        try:
            ModelConfig.model_validate(deep_merge(PRESETS[self.preset](), self.patch))
        except ValidationError as err:
            raise PydanticCustomError("model_patch", format_validation_error(err, "patch")) from None
        return self


class DataSection(_Strict):
    path: str | None = None  # dataset directory (`--data`)
    cache: str | None = None  # latent cache from `nsp data cache` (skips decoding and VAE encoding)
    batch_size: int = Field(8, ge=1)  # per process, per micro-step
    shuffle_buffer: int = Field(256, ge=1)
    prompt: str | None = None  # the VLM prompt before the text; None: the model's vlm.prompt
    context_clip: float = Field(1.0, ge=0, le=1)  # sft: probability that the context clip is given
    context_text: float = Field(0.5, ge=0, le=1)  # sft: probability that the context caption is given
    condition_dropout: float = Field(0.1, ge=0, le=1)  # share of samples trained with the null condition (CFG)
    # t2v: the caption written as the VLM's answer after the prompt, where vlm.think_tokens puts its own words at SFT
    # (so the queries learn to read words where they will find them), instead of in the user's turn
    text_as_answer: bool = False
    read_text: float = Field(0.0, ge=0, le=1)  # vlm: share of examples that are random words rendered as frames to read
    judge: float = Field(0.0, ge=0, le=1)  # vlm: share of examples that ask whether a candidate next clip follows
    val_batches: int = Field(4, ge=0)


class Phase(_Strict):
    name: str
    steps: int = Field(ge=1)  # optimizer steps
    trainable: list[Literal["queries", "connector", "transformer", "vae", "vlm"]]
    images: float = Field(0.0, ge=0, le=1)  # t2v: share of batches that are single frames (images)
    lr: float | None = Field(None, gt=0, allow_inf_nan=False)  # overrides optim.lr for this phase
    # sft: overrides data.context_text for this phase (e.g. clip-only steps first, then some with the caption; one
    # such schedule is measured in benchmarks/demo_tried.py)
    context_text: float | None = Field(None, ge=0, le=1)


class OptimSection(_Strict):
    name: Literal["adamw", "adamw8bit", "prodigy"] = "adamw"
    lr: float = Field(1e-4, gt=0, allow_inf_nan=False)  # prodigy: use 1.0 (it estimates the step size itself)
    weight_decay: float = Field(0.0, ge=0, allow_inf_nan=False)
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = Field(1e-8, gt=0, allow_inf_nan=False)
    warmup_steps: int = Field(0, ge=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)  # cosine decays to lr * min_lr_ratio
    grad_accum: int = Field(1, ge=1)
    grad_clip: float = Field(1.0, ge=0, allow_inf_nan=False)


class DeepSpeedSection(_Strict):
    config: str = "stages/deepspeed/zero0.json"  # ZeRO stage and friends; batch sizes and clipping are filled in
    # auto: bf16 where the GPU has it, fp32 on CPU; bf16 on a CPU: autocast (fp32 weights; faster where the CPU has
    # AVX512-BF16 or AMX)
    precision: Literal["auto", "fp32", "bf16"] = "auto"


class DiTSection(_Strict):
    """How the DiT is trained (what the model is composed of is model.patch's)."""

    gradient_checkpointing: bool = False
    lora_rank: int = Field(0, ge=0)  # > 0: train a LoRA on the DiT's attention instead of the whole DiT
    lora_alpha: float | None = None  # default: lora_rank
    # Added to the mean of the training noise levels' logit-normal (LTX's shift by token count stays): > 0 trains
    # more at high noise, where a target that is one of a few fixed frames (a classification answer) is decided.
    sigma_shift: float = 0.0
    # > 0: each row's clean history (generator.history_frames) is noised at a level drawn uniformly up to this, and
    # the DiT is told the level (Video-GPT-style noise-augmented history): it learns not to copy the history's
    # flaws, which is what a rollout feeds it. Sample such a model with generator.history_sigma > 0.
    history_noise: float = Field(0.0, ge=0.0, le=1.0)
    # torch.compile the DiT in place (its checkpoint keys stay as they are): faster steps after a compile on the
    # first ones (and once more for each new input shape, e.g. T2V's images, then its videos).
    compile: bool = False


class EMASection(_Strict):
    decay: float = Field(0.0, ge=0, lt=1)  # 0: off; e.g. 0.999 keeps an average of the trainable weights
    use_for_eval: bool = True  # validate, sample and save the final checkpoint with the averaged weights


class RunSection(_Strict):
    out: str = "runs/run"
    seed: int = 0
    log_every: int = Field(10, ge=1)
    val_every: int = Field(100, ge=1)
    sample_every: int = Field(0, ge=0)  # 0: with every validation
    sample_steps: int = Field(10, ge=2)  # denoising steps for the contact sheet
    save_every: int = Field(200, ge=1)
    keep_last: int = Field(2, ge=1)


class RLSection(_Strict):
    """Stage 3 (GRPO for flow matching); see stages/configs/rl_tiny.yaml."""

    group_size: int = Field(8, ge=2)  # candidates per context, over all ranks (paper: 24)
    contexts: int = Field(2, ge=1)  # contexts per rollout, the same on every rank
    keep_best: int = Field(0, ge=0)  # >0: only the best-k and worst-k of a group keep advantages (paper: 4 + 4)
    keep_worst: int = Field(0, ge=0)
    sampling_steps: int = Field(10, ge=2)
    train_steps: int | None = Field(None, ge=1)  # denoising steps trained per rollout (None: all)
    # Where the trained steps are: None: evenly spread; [a, b]: drawn at random from steps a..b-1 for each rollout
    # (Flow-GRPO-Fast trains early, high-noise steps, where what the scene will show is decided).
    train_window: tuple[int, int] | None = None
    # True: noise is drawn only at the trained steps, the others are deterministic, and a group's candidates are one
    # trajectory until the first of them (Flow-GRPO-Fast): cheaper, and the group's spread is what those steps did.
    noise_only_trained: bool = False
    # With noise_only_trained: the trajectory after the last trained step, which only the reward sees, in this many
    # longer deterministic steps (None: every step of the schedule). Validation samples always take every step.
    tail_steps: int | None = Field(None, ge=1)
    updates_per_rollout: int = Field(2, ge=1)  # optimizer steps on one rollout
    noise_level: float = Field(0.7, gt=0)  # the SDE's a
    # CFG in rollouts. None: the model's own sampling.guidance, so the policy is trained as the checkpoint RL writes
    # will be sampled and evaluated.
    guidance: float | None = None
    clip_range: float = Field(1e-3, gt=0)  # ratio clip (log-probs are per-element means: ratios stay near 1)
    kl_beta: float = Field(0.0, ge=0)  # KL to the reference model
    advantage_clip: float = Field(5.0, gt=0)
    # Groups whose rewards spread less than this get no advantage: normalising a spread of noise only trains on noise
    # (DAPO's filter of all-correct / all-wrong groups; e.g. 0.05 with the oracle's `mode: pass`).
    min_group_std: float = Field(0.0, ge=0)
    # Contexts drawn at most per rollout to find `contexts` groups that spread at least min_group_std (DAPO's
    # dynamic sampling): flat groups are dropped, not trained on with zero advantage. None: just `contexts`. (With
    # screen, contexts are then rolled out in full until there are `contexts` groups.)
    max_draws: int | None = Field(None, ge=1)
    # >0: each drawn context first gets this many candidates (on each rank); where they all pass (a reward with
    # pass/fail), the rest of its group is not rolled out and the context counts as a flat draw. Rollouts go to
    # contexts the model sometimes fails: cheaper draws for DAPO's search (max_draws), at the price of missing groups
    # that fail rarely. After max_draws, contexts are rolled out in full. (With noise_only_trained, the screen's
    # candidates share a trajectory of their own until the branch point, the rest another.)
    screen: int = Field(0, ge=0)
    # Contexts screened together, their first candidates in one batch of the DiT (and one VAE decode): a batch of
    # two candidates leaves most of a CPU's throughput unused. A batch's contexts past what the rollout still needs
    # are screened but not used (they count as draws); 1: one context at a time.
    screen_batch: int = Field(8, ge=1)
    # Times a context whose group spread is drawn again, in the next rollouts before fresh ones: DAPO's search finds
    # few such contexts among many (the screen passes most), so using each again is cheaper than finding another.
    # Replays are screened and filtered as fresh draws are (one the model has learnt is dropped) and count as draws.
    # The buffer is not checkpointed: a resumed run starts it empty.
    replay: int = Field(0, ge=0)
    # False: advantages are the rewards minus the group mean, not divided by the group's spread (Dr. GRPO), so a group
    # whose candidates barely differ barely moves the model and the informative groups lead the update.
    scale_by_group_std: bool = True
    # Give the context's caption with the clip. Off by default, as `nsp eval` is: a synthetic context's caption names
    # what decides the next scene, so with it nearly every group passes alike and teaches nothing.
    context_text: bool = False
    # The policy gradient through classifier-free guidance: "conditional" (Flow-GRPO) only through the conditional
    # branch, the unconditional one run without a graph (a backward over half the batch); "both": through both.
    guidance_grad: Literal["conditional", "both"] = "conditional"
    # What the update optimises. "grpo": the clipped ratio of each trained SDE step's log-probability (Flow-GRPO).
    # "awm": advantage-weighted flow matching on the group's own samples (as AWM does): the rollout is
    # the deterministic sampler evaluation uses, each candidate from its own starting noise (noise_level,
    # noise_only_trained and tail_steps do not apply); each kept candidate's final latents are noised afresh at the
    # trained steps' noise levels, and its flow-matching loss on the conditional velocity is weighted by its
    # advantage (kl_beta: plus the squared distance to the reference model's velocity).
    # "nft": the same samples and levels, with the negative-aware loss of DiffusionNFT: the velocity is pulled toward
    # the old policy's moved toward a better candidate's target and away from a worse one's (by its advantage,
    # clipped to [-1, 1]), so a candidate with no advantage anchors the model to the policy that sampled it.
    objective: Literal["grpo", "awm", "nft"] = "grpo"
    # awm, nft: denoising steps of the rollout's deterministic sampler (None: sampling_steps). The trained noise
    # levels stay those of sampling_steps' schedule (train_window indexes it): a coarser rollout is a cheaper one.
    rollout_steps: int | None = Field(None, ge=2)
    nft_beta: float = Field(1.0, gt=0)  # nft: how far the implicit positive / negative policies lean from the old
    rewards: dict[str, float] = {"oracle": 1.0}  # name -> weight: oracle, judge, reference, http
    reward_options: dict[str, dict] = {}  # e.g. {judge: {mode: binary}, http: {url: ..., model_name: ...}}
    val_contexts: int = Field(16, ge=0)  # held-out contexts scored at every validation (deterministic sampling)
    # Rewards only measured on those contexts, never trained on (name -> its options): reward hacking shows as the
    # trained reward rising while these fall. Logged as val_watch_<name>, beside val_reward_<name> of each trained one.
    watch: dict[str, dict] = {}

    @model_validator(mode="after")
    def _check(self) -> "RLSection":
        if (self.keep_best or self.keep_worst) and self.keep_best + self.keep_worst > self.group_size:
            raise ValueError("keep_best + keep_worst exceed group_size")
        if self.train_window is not None:
            first, end = self.train_window
            if not 0 <= first < end <= self.sampling_steps:
                raise ValueError(f"train_window {list(self.train_window)} is not within the {self.sampling_steps} "
                                 f"sampling steps")
            if end - first < (self.train_steps or self.sampling_steps):
                raise ValueError(f"train_window {list(self.train_window)} holds fewer than train_steps steps")
        if self.screen and self.max_draws is None:
            raise ValueError("screen makes DAPO's search (max_draws) cheaper: set max_draws too")
        if self.rollout_steps is not None and self.objective == "grpo":
            raise ValueError("rollout_steps applies to objective awm / nft (GRPO trains the rollout's own steps)")
        return self


class TrainConfig(_Strict):
    stage: Literal["vae", "vlm", "t2v", "sft", "rl"]
    model: ModelSection = ModelSection()
    data: DataSection = DataSection()
    phases: list[Phase]
    optim: OptimSection = OptimSection()
    deepspeed: DeepSpeedSection = DeepSpeedSection()
    dit: DiTSection = DiTSection()
    ema: EMASection = EMASection()
    run: RunSection = RunSection()
    rl: RLSection = RLSection()  # stage 3's own settings

    @model_validator(mode="after")
    def _check(self) -> "TrainConfig":
        if not self.phases:
            raise ValueError("at least one phase is needed")
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError(f"phase names must be unique, got {names}")
        for p in self.phases:
            for own in ("vae", "vlm"):
                if (own in p.trainable) != (self.stage == own):
                    raise ValueError(f"phase {p.name}: the {own} is trained only by the {own} stage, which trains "
                                     f"only it")
        return self

    @property
    def total_steps(self) -> int:
        return sum(p.steps for p in self.phases)


def load_train_config(path: str | Path, overrides: list[str] | None = None, **cli) -> TrainConfig:
    """YAML file + dotted overrides + CLI flags (`data.path`, `run.out`, `model.init`) -> a validated config. The
    file is a path, or a shipped config by its path in the repository or its name (`sft_tiny`), from anywhere."""
    path = shipped_config(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise NSPError(f"--config {path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise NSPError(f"--config {path}: expected a mapping at the top level")
    data = deep_merge(data, parse_overrides(overrides or []))
    for dotted, value in cli.items():
        if value is not None:
            data = deep_merge(data, parse_overrides([f"{dotted}={value}"]))
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as err:
        raise NSPError(format_validation_error(err, f"--config {path}")) from None


def check_paths(cfg: TrainConfig) -> None:
    """What must exist before any work: the data, the cache, the init checkpoint, the DeepSpeed config."""
    from nsp.data.shards import read_manifest

    if cfg.data.cache:
        read_manifest(cfg.data.cache)
    elif cfg.data.path:
        read_manifest(cfg.data.path)
    else:
        raise NSPError("no data: give --data DIR (a dataset from `nsp data synth|build`) or data.cache=DIR")
    from nsp.config import validate_config
    from nsp.model import read_checkpoint_meta

    if cfg.model.init:  # the init checkpoint's model config, with the patch, must validate too
        meta = read_checkpoint_meta(cfg.model.init)
        validate_config(deep_merge(meta["model"], cfg.model.patch), f"--init {cfg.model.init}: model.patch")
    resolve_shipped(cfg.deepspeed.config, "deepspeed.config")


def shipped_config(value: str | Path) -> Path:
    """`--config`: a file as given, else a shipped one: "stages/configs/sft_tiny.yaml", "sft_tiny.yaml", "sft_tiny"."""
    path = Path(value)
    if path.is_file():
        return path
    name = path.name if str(value).startswith("stages/configs/") else str(value)
    for candidate in (STAGE_CONFIGS / name, STAGE_CONFIGS / f"{name}.yaml"):
        if "/" not in name and candidate.is_file():
            return candidate
    raise NSPError(f"--config {value}: file not found (nor a shipped config: "
                   f"{', '.join(sorted(p.stem for p in STAGE_CONFIGS.glob('*.yaml')))})")


def resolve_shipped(value: str, what: str) -> Path:
    """A path as given, or one of the files shipped in stages/ ("stages/deepspeed/zero2.json" works installed too)."""
    path = Path(value)
    if path.is_file():
        return path
    shipped = Path(__file__).parent.parent / value
    if value.startswith("stages/") and shipped.is_file():
        return shipped
    raise NSPError(f"{what}={value}: file not found")

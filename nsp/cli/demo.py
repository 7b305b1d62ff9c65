"""`nsp demo`: the whole project on a CPU in one command (what `make demo` runs).

Synthetic data (by default the scene-cut world: the next clip is another shot after a cut) -> latent cache -> stage 1
(T2V) -> stage 2 (SFT) -> stage 3 (RL, on fresh scenes SFT never trained on) -> the NSP benchmark with baselines,
the stage ablation (pretrain-only, +SFT, +RL, SFT without pretraining) and the path ablation (which path carries the
scene to the DiT) -> a predicted next scene for a held-out clip -> REPORT.md. The tiny VAE and VLM pre-steps are not
re-run: their shipped weights (nsp/assets, with the commands that made them) are used, as a real run uses pretrained
LTX and Qwen weights.

Every step leaves its result in the run directory and is skipped when run again; an interrupted training stage
resumes from its last checkpoint. The plan's numbers can be changed as key=value (e.g. `nsp demo sft_steps=3000`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable

from nsp.environment import usable_cores
from nsp.errors import NSPError

# The shipped tiny VAE and VLM of each world (a real run's pretrained LTX VAE and Qwen-VL know both).
TINY_ASSETS = {"cuts": ["generator.vae_path=nsp:tiny_vae_cuts", "vlm.path=nsp:tiny_vlm_cuts"],
               "continuation": ["generator.vae_path=nsp:tiny_vae", "vlm.path=nsp:tiny_vlm"]}
# Classifier-free guidance of the demo's models (sampling, evaluation and RL rollouts), chosen per world by measuring
# the SFT model's held-out pass rate over guidance scales (README, "The demo"). On the cut world any guidance above 1
# pushes the next shot's ball off its colour, and 1 (no unconditional pass) also halves the sampling compute.
GUIDANCE = {"cuts": 1.0, "continuation": 3.0}
# How often SFT's contexts carry their caption beside the clip (data.context_text). The cut world's caption names the
# outcome: given it half the time, SFT leans on it and learns to read the clip (what the demo evaluates) about half as
# fast. Clip-only SFT reached in 2400 steps what SFT with captions did in 4800, but its model is lost when a caption
# is given beside the clip (nsp eval --text; CUTS_TRIED in benchmarks/demo_tried.py).
SFT_CONTEXT_TEXT = {"cuts": 0.0, "continuation": 0.5}
# The VLM's words before the queries (vlm.think_tokens): the frozen VLM first writes that many tokens of its answer
# (in the cut world, what comes next), and T2V writes each caption there (data.text_as_answer), so that the queries
# and connector T2V trains read where SFT's will. That is what lets T2V pretraining help a short SFT; with the
# caption in the user turn, a T2V as long helps it not at all (CUTS_TRIED in benchmarks/demo_tried.py).
THINK_TOKENS = {"cuts": 24, "continuation": 0}


@dataclass
class DemoPlan:
    train: int = 4000  # synthetic training pairs
    val: int = 200
    test: int = 200
    t2v_image_steps: int = 100  # stage 1, phase 1: images, queries + connector
    # Stage 1, phase 2: images + videos, + DiT. Pretraining long and fine-tuning short, as the paper does: what T2V
    # gives SFT is a head start, which SFT without pretraining makes up the longer SFT runs (with the shipped VLM,
    # all of it by 1000 steps; README, "T2V pretraining matters").
    t2v_steps: int = 2900
    sft_steps: int = 600
    # 15 steps (a few minutes on 2 cores) keep most of what 40 gain (README, Stage 3); from a weaker SFT, 25 had not
    # been dependable.
    rl_steps: int = 15
    # awm: flow matching on each group's own samples, weighted by a pass/fail advantage, its search cut short and
    # its finds replayed (RL_RECIPES); awm_full: the search uncut (measured at rl_steps=40, before replays: slower,
    # no more gain); grpo: rl_tiny.yaml's Flow-GRPO, with no gain on the cut world (README, Stage 3).
    rl_recipe: str = "awm"
    # RL's contexts: fresh scenes, none of which SFT trained on (nsp data synth --disjoint-from): on its own training
    # contexts the SFT model passes every candidate of a group alike, and a flat group teaches nothing.
    rl_contexts: int = 2000
    scratch_sft_steps: int = 600  # the ablation: SFT without pretraining, as long as the SFT it is compared with
    eval_contexts: int = 200
    eval_steps: int = 10  # the tiny preset's sampling steps: more did not pass more (benchmarks/demo_tried.py)
    history_frames: int = 1  # SFT/RL models see the context's last latent frame clean (0: queries only, the paper)
    # last_frame: that history is the context's last frame encoded on its own; clip: the last latent frame of the
    # whole context encoded, which sees far back in the clip (the continuation demo's numbers were measured so)
    history_source: str = "last_frame"
    # 1: T2V, SFT and (its awm recipes) RL in bf16 where the hardware has it (a CPU: autocast), and evaluation and
    # prediction sampling in bf16 there too (`nsp eval --bf16`); 0: fp32
    bf16: int = 1
    seed: int = 0
    world: str = "cuts"  # cuts: the NSP benchmark; continuation: the next clip continues the shot (nsp data synth)
    # 2: the ablation's SFT without pretraining trains beside the SFT, each on half the cores (more SFT steps per
    # second in all where one run leaves cores idle between its small ops), and then evaluates it and pretrain-only
    # there; the steps after it have all the cores again. On one core, one step after another. 1: one step after
    # another. Thread counts change fp32 rounding, so a run's numbers may differ slightly from jobs=1's.
    jobs: int = 2


QUICK = DemoPlan(train=600, val=32, test=32, t2v_image_steps=20, t2v_steps=200, sft_steps=300, rl_steps=4,
                 rl_recipe="grpo", rl_contexts=64, scratch_sft_steps=300, eval_contexts=32)

# The RL recipes a demo can run, as changes to stages/configs/rl_tiny.yaml, each measured on the cut world in
# bench_rl_demo_gain.py ALSO_TRIED. awm_full: 8 contexts per step whose 8 candidates disagree, searched for among up
# to 40 fresh contexts. awm: the same search over up to 64, only contexts where one of the first two candidates fails
# rolled out in full (screened 8 at a time), in 5 deterministic steps instead of 10, and each context whose group
# spread drawn once more in the next rollout (fewer contexts to screen), and the checkpoint it writes an average of
# its weights over about its last ten steps (ema.decay; the policy that samples is the live one): a run's last
# updates move a 40-step run's result by as much as its gain, and the average does not hang on them.
AWM = ["rl.objective=awm", "optim.lr=1e-4", "rl.reward_options={oracle: {mode: pass}}", "rl.min_group_std=0.05",
       "rl.contexts=8", "rl.updates_per_rollout=1"]
RL_RECIPES = {"awm": [*AWM, "rl.max_draws=64", "rl.screen=2", "rl.rollout_steps=5", "rl.replay=1", "ema.decay=0.9"],
              "awm_full": [*AWM, "rl.max_draws=40"],
              "grpo": []}


# What the demo's RL run measures beside its training reward (the oracle) and never trains on: its likeness to the
# real next scene (reference) and, in the cut world, the tiny judge VLM's verdict. Reward hacking would show there.
WATCHED = {"cuts": {"reference": {}, "judge": {"path": "nsp:tiny_judge_cuts"}}, "continuation": {"reference": {}}}
CHOICES = {"world": tuple(TINY_ASSETS), "history_source": ("last_frame", "clip"), "rl_recipe": tuple(RL_RECIPES)}
RL_VAL_CONTEXTS = 16  # the RL run's validation contexts (rl.val_contexts; at most the plan's val), fresh scenes too
ZERO_OK = ("rl_steps", "scratch_sft_steps", "history_frames", "bf16", "seed")
# With jobs=2, a step that trains beside the others: started when the step named here starts, waited for at its own;
# once trained, it evaluates there the ablation's checkpoints named with it (its own, and pretrain-only's: T2V has
# finished before). T2V, the longest step, has all the cores; the two SFT runs, as long as each other, share them.
BESIDE = {"sft_scratch": "sft"}
EVALUATED_BESIDE = {"sft_scratch": ("sft_scratch", "t2v")}


def make_plan(quick: bool, overrides: list[str]) -> DemoPlan:
    from nsp.config import parse_overrides

    plan = asdict(QUICK if quick else DemoPlan())
    names = {f.name for f in fields(DemoPlan)}
    for key, value in parse_overrides(overrides).items():
        if key not in names:
            raise NSPError(f"{key}={value}: unknown demo setting (choose from {', '.join(sorted(names))})")
        if key in CHOICES:
            if value not in CHOICES[key]:
                raise NSPError(f"{key}={value}: expected one of {', '.join(CHOICES[key])}")
        elif not isinstance(value, int) or value < (0 if key in ZERO_OK else 1):
            raise NSPError(f"{key}={value}: expected a positive whole number")
        if key == "bf16" and value > 1:
            raise NSPError(f"{key}={value}: expected 0 or 1")
        if key == "jobs" and value > 2:
            raise NSPError(f"{key}={value}: expected 1 or 2 (the demo has two independent training chains)")
        plan[key] = value
    return DemoPlan(**plan)


def training_precision(plan: DemoPlan) -> str:
    """bf16 on a GPU, or on a CPU with native bf16 (AVX512-BF16, AMX); elsewhere emulated bf16 would be slower."""
    import torch

    if plan.bf16 and (torch.cuda.is_available() or torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        return "bf16"
    return "fp32"


def nsp_command(args) -> list[str]:
    return [sys.executable, "-m", "nsp.cli.main", *map(str, args)]


def nsp(*args, cores: set[int] | None = None) -> None:
    """One step as its own `nsp` process (its own progress bar with ETA), on `cores` (None: all); a failure stops
    the demo."""
    affinity = (lambda: os.sched_setaffinity(0, cores)) if cores else None
    if subprocess.run(nsp_command(args), preexec_fn=affinity).returncode != 0:
        raise NSPError(f"step failed: nsp {' '.join(map(str, args))}")


class Beside:
    """Demo steps run one after another in their own processes beside the others, on their own cores, their output
    in one log file: a training step, then the evaluations that can follow it there. Each is `(name, arguments)`,
    its arguments made when its turn comes (None: skipped)."""

    def __init__(self, steps: list[tuple[str, Callable[[], list | None]]], cores: set[int], log: Path):
        self.steps, self.cores, self.log = steps, cores, log
        self.seconds: dict[str, float] = {}  # by step name, once finished
        self.failed: str | None = None
        self.process: subprocess.Popen | None = None
        self.stopped, self._lock = False, threading.Lock()
        self._watch = threading.Thread(target=self._run, daemon=True)
        self._watch.start()

    def _run(self) -> None:
        args = None
        try:
            with self.log.open("w") as f:
                for name, make_args in self.steps:
                    args = make_args()
                    with self._lock:
                        if self.stopped:
                            return
                        if args is None:
                            continue
                        started = time.perf_counter()
                        self.process = subprocess.Popen(nsp_command(args), stdout=f, stderr=subprocess.STDOUT,
                                                        preexec_fn=lambda: os.sched_setaffinity(0, self.cores))
                    if self.process.wait() != 0:
                        self.failed = f"nsp {' '.join(map(str, args))} (its output: {self.log})"
                        return
                    self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 1)
        except Exception as err:  # a step that could not start fails the demo too, not silently
            self.failed = f"{' '.join(map(str, args or ['a step beside']))}: {err}"

    @property
    def trained(self) -> bool:
        """Its first step (the training) has finished: what follows it is short."""
        return self.steps[0][0] in self.seconds or not self._watch.is_alive()

    def join(self) -> None:
        self._watch.join()

    def wait(self) -> dict[str, float]:
        """Each step's own wall time, once all have finished; a failure stops the demo."""
        self._watch.join()
        if self.failed:
            raise NSPError(f"step failed: {self.failed}")
        return self.seconds

    def stop(self) -> None:
        """The demo stopped early: end these too (a training run resumes from its last checkpoint next time)."""
        with self._lock:
            self.stopped = True
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                self.process.wait()


def phases(*items: tuple[str, int, str, float]) -> str:
    return "phases=[" + ", ".join(f"{{name: {n}, steps: {s}, trainable: [{t}], images: {i}}}"
                                  for n, s, t, i in items if s > 0) + "]"


class Demo:
    def __init__(self, out: Path, plan: DemoPlan):
        self.out, self.plan, self.timings = out, plan, {}
        self.beside: dict[str, Beside] = {}  # jobs=2: steps running beside the others, by name
        self.cores: set[int] | None = None  # the other steps' cores while a step runs beside them (None: all)
        # seconds a step waited for the evaluations beside it to end before taking all the cores, by the name of
        # what ran beside: counted as that one's wait, not as the waiting step's time
        self.waited: dict[str, float] = {}
        self.steps = [("data", self.data), ("init", self.init), ("cache", self.cache), ("t2v", self.t2v),
                      ("sft", self.sft), ("sft_eval", self.evaluate_sft), ("rl", self.rl),
                      ("sft_scratch", self.sft_scratch), ("eval", self.evaluate),
                      ("predict", self.predict)]

    def run(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        plan_file = self.out / "plan.json"
        # A plan written before a setting existed holds that setting's default.
        if plan_file.is_file() and {**asdict(DemoPlan()), **json.loads(plan_file.read_text())} != asdict(self.plan):
            raise NSPError(f"--out {self.out}: holds a demo run with another plan (see {plan_file}); "
                           "use another --out or delete it")
        plan_file.write_text(json.dumps(asdict(self.plan), indent=2) + "\n")
        timings_file = self.out / "timings.json"
        self.timings = json.loads(timings_file.read_text()) if timings_file.is_file() else {}
        try:
            for i, (name, step) in enumerate(self.steps, 1):
                done = self.out / f".done-{name}"
                if done.is_file():
                    print(f"nsp demo [{i}/{len(self.steps)}] {name}: done earlier, skipped")
                    continue
                self.start_beside(name)
                print(f"nsp demo [{i}/{len(self.steps)}] {name}", flush=True)
                start = time.perf_counter()
                if name in self.beside:
                    # Only the wait counts toward the demo's wall time; the steps' own times are kept beside it.
                    self.timings.update(self.beside.pop(name).wait())
                    self.timings[f"{name}_wait"] = round(time.perf_counter() - start + self.waited.pop(name, 0.0), 1)
                    self.cores = None
                else:
                    waited_before = sum(self.waited.values())
                    step()
                    waited = sum(self.waited.values()) - waited_before
                    self.timings[name] = round(time.perf_counter() - start - waited, 1)
                timings_file.write_text(json.dumps(self.timings, indent=2) + "\n")
                done.touch()
        finally:
            for running in self.beside.values():
                running.stop()
        self.write_report()

    def start_beside(self, name: str) -> None:
        """jobs=2: when `name` starts, start the steps that train beside it (BESIDE), on the second half of the
        cores, each followed there by its evaluations (EVALUATED_BESIDE, those of checkpoints that are ready by
        then): its cores would otherwise idle until the other chain's SFT ends. The steps from `name` on get the
        first half of the cores until what runs beside has trained."""
        cores = usable_cores() if hasattr(os, "sched_setaffinity") else []  # else: one step after another
        for later, starts_with in BESIDE.items():
            if (starts_with != name or self.plan.jobs < 2 or len(cores) < 2 or later in self.beside
                    or (self.out / f".done-{later}").is_file()):
                continue
            args = self.command(later)
            if not args:
                continue
            half = len(cores) // 2
            log = self.out / f"{later}.log"
            print(f"nsp demo: {later} trains beside the next steps, on cores {cores[half:]} "
                  f"(its progress: tail -f {log})", flush=True)
            evaluations = [(f"{later}_eval", lambda run=run, later=later: self.eval_args(run)
                            if self.trained(run, later) else None) for run in EVALUATED_BESIDE.get(later, ())]
            self.beside[later] = Beside([(later, lambda args=args: args), *evaluations], set(cores[half:]), log)
            self.cores = set(cores[:half])

    def trained(self, run: str, beside: str) -> bool:
        """Whether `run`'s checkpoint is ready for the evaluations beside `beside`'s training (which just ended)."""
        return run == beside or (self.out / f".done-{run}").is_file()

    def command(self, name: str) -> list | None:
        """The `nsp` arguments of a step that can run beside the others (None: it has nothing to do)."""
        if name == "sft_scratch" and self.plan.scratch_sft_steps:
            return self.train_args("sft", "sft_scratch", self.out / "init",
                                   phases(("pairs", self.plan.scratch_sft_steps, "queries, connector, transformer",
                                           0.0)), model=self.sft_model())
        return None

    # ---- the steps ------------------------------------------------------------------------------------------------
    def data(self):
        p = self.plan
        self.nsp("data", "synth", "--world", p.world, "--out", self.out / "data", "--train", p.train, "--val",
                 p.val, "--test", p.test, "--seed", p.seed, "--force")

    def init(self):
        self.nsp("init", "--preset", "tiny", "--out", self.out / "init", "--seed", self.plan.seed, "--force",
                 *self.model_settings())

    def cache(self):
        shutil.rmtree(self.out / "latents", ignore_errors=True)
        # the splits training reads (its pairs, its validation); the test split is evaluated from its clips
        self.nsp("data", "cache", "--data", self.out / "data", "--checkpoint", self.out / "init", "--out",
                 self.out / "latents", "--split", "train", "--split", "val")

    def model_settings(self) -> list[str]:
        """What every demo checkpoint is made of and samples with: the world's tiny VAE and VLM, its guidance, and
        how many words the VLM writes before the queries."""
        world = self.plan.world
        return [*TINY_ASSETS[world], f"sampling.guidance={GUIDANCE[world]}", f"vlm.think_tokens={THINK_TOKENS[world]}"]

    def nsp(self, *args, join: bool = True) -> None:
        """One step on this chain's cores; `join`: first wait for what runs beside, if it has trained, and take all the
        cores (a small step that gains little from them, join=False, runs on the half it has while that finishes)."""
        if join and self.cores and all(b.trained for b in self.beside.values()):
            for name, running in self.beside.items():
                start = time.perf_counter()
                running.join()  # only evaluations are left there (short): this step then gets all the cores
                self.waited[name] = self.waited.get(name, 0.0) + time.perf_counter() - start
            self.cores = None
        nsp(*args, cores=self.cores)

    def train(self, stage: str, name: str, init: Path | None, *overrides: str, model: tuple[str, ...] = (),
              cache: Path | None = None) -> None:
        self.nsp(*self.train_args(stage, name, init, *overrides, model=model, cache=cache))

    def train_args(self, stage: str, name: str, init: Path | None, *overrides: str,
                   model: tuple[str, ...] = (), cache: Path | None = None) -> list:
        """`nsp train` arguments. `model`: changes to the model (key=value) on top of `model_settings`; `cache`:
        latents other than the demo's own."""
        patch = [f"model.patch.{change}" for change in (*self.model_settings(), *model)]
        args = ["train", stage, "--config", f"stages/configs/{stage}_tiny.yaml", "--out", self.out / name,
                "--resume", f"run.seed={self.plan.seed}", *patch, *overrides]
        if stage == "rl":
            args += ["--data", self.out / "data_rl"]
        else:
            if stage == "sft":
                args.append(f"data.context_text={SFT_CONTEXT_TEXT[self.plan.world]}")
            args.append(f"data.cache={cache or self.out / 'latents'}")
        # grpo in fp32: its ratio clip (1e-3) is finer than bf16's rounding of the policy's velocity (awm's flow
        # matching has no ratio)
        if not (stage == "rl" and self.plan.rl_recipe == "grpo"):
            args.append(f"deepspeed.precision={training_precision(self.plan)}")
        return [*args, *(["--init", init] if init else [])]

    def t2v(self):
        p = self.plan
        self.train("t2v", "t2v", None, phases(("images", p.t2v_image_steps, "queries, connector", 1.0),
                                              ("mixed", p.t2v_steps, "queries, connector, transformer", 0.3)),
                   f"data.text_as_answer={str(THINK_TOKENS[p.world] > 0).lower()}")

    def sft_model(self) -> tuple[str, ...]:
        """SFT starts the model's NSP life: whether its DiT also sees clean context frames is decided here."""
        p = self.plan
        return (f"generator.history_frames={p.history_frames}",
                f"generator.history_source={p.history_source if p.history_frames else 'clip'}")

    def sft(self):
        self.train("sft", "sft", self.out / "t2v" / "final",
                   phases(("pairs", self.plan.sft_steps, "queries, connector, transformer", 0.0)),
                   model=self.sft_model())

    def evaluate_sft(self):
        """+SFT's evaluation, before RL: with jobs=2 on this chain's half of the cores, which would otherwise idle
        while the evaluations beside finish and RL waits to have all the cores."""
        if args := self.eval_args("sft"):
            self.nsp(*args, join=False)

    def rl(self):
        p = self.plan
        if p.rl_steps:
            val = min(RL_VAL_CONTEXTS, p.val)
            self.nsp("data", "synth", "--world", p.world, "--out", self.out / "data_rl", "--train", p.rl_contexts,
                     "--val", val, "--test", 0, "--seed", p.seed + 1, "--disjoint-from", self.out / "data", "--force",
                     join=False)
            self.train("rl", "rl", self.out / "sft" / "final",
                       phases(("grpo", p.rl_steps, "queries, connector, transformer", 0.0)),
                       f"rl.watch={json.dumps(WATCHED[p.world])}", f"rl.val_contexts={val}", *RL_RECIPES[p.rl_recipe])
        else:
            shutil.copytree(self.out / "sft" / "final", self.out / "rl" / "final", dirs_exist_ok=True)

    def sft_scratch(self):
        if self.plan.scratch_sft_steps:
            self.nsp(*self.command("sft_scratch"))

    def eval_args(self, run: str) -> list | None:
        """`nsp eval` of the ablation checkpoint `run`: the final one with the baselines and the path ablation.
        None where it has nothing to do: no such checkpoint in this plan, or evaluated already (beside a training),
        with these settings, since the checkpoint was written."""
        from nsp.evaluation.ablation import FINAL

        p = self.plan
        if run == "sft_scratch" and not p.scratch_sft_steps:
            return None
        report, checkpoint = self.out / "eval" / run / "report.json", self.out / run / "final" / "nsp_config.json"
        final = run == FINAL
        if report.is_file() and checkpoint.is_file() and report.stat().st_mtime >= checkpoint.stat().st_mtime:
            made = json.loads(report.read_text())["settings"]
            wanted = {"limit": p.eval_contexts, "steps": p.eval_steps, "seed": p.seed, "bf16": bool(self.sampling()),
                      "baselines": final, "paths": final}
            if all(made.get(k) == v for k, v in wanted.items()):
                return None
        return ["eval", "--checkpoint", self.out / run / "final", "--data", self.out / "data", "--out",
                self.out / "eval" / run, "--limit", p.eval_contexts, "--steps", p.eval_steps, "--seed", p.seed,
                *self.sampling(), *(["--baselines", "--paths"] if final else [])]

    def sampling(self) -> list[str]:
        """Evaluation and prediction sample in bf16 where T2V and SFT train in it (as awm's RL rollouts do)."""
        return ["--bf16"] if training_precision(self.plan) == "bf16" else []

    def evaluate(self):
        from nsp.evaluation.ablation import ABLATION

        for run in ABLATION.values():
            if args := self.eval_args(run):
                self.nsp(*args)

    def predict(self):
        from PIL import Image

        from nsp.evaluation.predict import load_pairs
        from nsp.video.frames import sheet, side_by_side
        from nsp.video.io import read_video, write_video

        final = self.out / "final"
        if final.is_symlink() or final.exists():
            final.unlink() if final.is_symlink() else shutil.rmtree(final)
        final.symlink_to(Path("rl") / "final", target_is_directory=True)  # the default checkpoint of predict/serve
        pair = load_pairs(self.out / "data", "test", 1)[0]
        example = self.out / "example"
        example.mkdir(exist_ok=True)
        write_video(example / "context.mp4", pair.context.frames, pair.context.fps)
        write_video(example / "real_next.mp4", pair.next.frames, pair.next.fps)
        self.nsp("predict", example / "context.mp4", "--checkpoint", final, "--out", example / "predicted_next.mp4",
            "--steps", self.plan.eval_steps, "--seed", self.plan.seed, *self.sampling())
        predicted = read_video(example / "predicted_next.mp4").frames
        Image.fromarray(sheet([[pair.context.frames, predicted, pair.next.frames]], frames_per_clip=9)).save(
            example / "side_by_side.png")
        write_video(example / "side_by_side.mp4", side_by_side(pair.context.frames, predicted, pair.next.frames),
                    pair.next.fps)  # context | prediction | real next scene, frame by frame

    # ---- the report -----------------------------------------------------------------------------------------------
    def write_report(self) -> None:
        from nsp.evaluation.ablation import demo_report

        summary, markdown = demo_report(self.out, self.plan, self.timings)
        (self.out / "demo_report.json").write_text(json.dumps(summary, indent=2) + "\n")
        (self.out / "REPORT.md").write_text(markdown)
        print(markdown)
        print(f"nsp demo: wrote {self.out / 'REPORT.md'}; predict your own clip with "
              f"`nsp predict CLIP.mp4 --checkpoint {self.out / 'final'} --out next.mp4`")


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="the one-command demo (what `make demo` runs): data, 3 stages, benchmark",
                       description="Synthetic data -> T2V -> SFT -> RL -> the NSP benchmark with baselines and the "
                                   "stage ablation -> a predicted next scene for a held-out clip -> REPORT.md in "
                                   "--out. 20 to 40 minutes on 2 CPU cores, by host (--quick: 3 to 10). Re-running "
                                   "resumes: finished steps are skipped. The plan's numbers can be set as key=value, "
                                   "e.g. sft_steps=3000, rl_steps=25, or jobs=1 to run the steps one after another "
                                   "(by default the ablation's SFT without pretraining trains beside the SFT, "
                                   "each on half the cores; see nsp/cli/demo.py: DemoPlan).")
    p.add_argument("--out", default="runs/demo", help="run directory (default runs/demo; its final/ is the default "
                                                      "checkpoint of predict and serve)")
    p.add_argument("--quick", action="store_true", help="a smaller plan (3 to 10 minutes on 2 CPU cores, by host)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="demo plan settings (e.g. sft_steps=3000)")
    p.set_defaults(handler=run)


def run(args) -> int:
    plan = make_plan(args.quick, getattr(args, "overrides", []))
    Demo(Path(args.out), plan).run()
    return 0

"""The `nsp` command. Parsers are cheap; each command's module (and torch & co.) is imported only when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys

from nsp import __version__

OVERRIDES_HELP = "config overrides as dotted key=value (e.g. vlm.path=/models/Qwen2.5-VL-7B-Instruct sampling.steps=8)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nsp", description="Next Scene Prediction: generate the video of what happens after a clip.")
    parser.add_argument("--version", action="version", version=f"nsp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("info", help="describe a model: components, parameters, trainable sets, shapes",
                       description="Describe a preset or a checkpoint: component classes, parameter counts "
                                   "(trainable vs frozen per stage), queries, connector, frame/size constraints.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="tiny or paper (paper without weight paths: real shapes, nothing loaded)")
    src.add_argument("--checkpoint", help="an NSP checkpoint directory")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("overrides", nargs="*", metavar="key=value", help=OVERRIDES_HELP)
    p.set_defaults(module="nsp.cli.info")

    p = sub.add_parser("init", help="write an untrained checkpoint composed from a preset",
                       description="Compose a model from a preset and write it as an (untrained) checkpoint. tiny: "
                                   "everything random and embedded. paper: references the local Qwen2.5-VL and "
                                   "LTX-Video snapshots given as vlm.path=DIR generator.path=DIR.")
    p.add_argument("--preset", required=True, help="tiny or paper")
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    p.add_argument("--seed", type=int, default=0, help="seed for the random initialisation (default 0)")
    p.add_argument("--random-weights", action="store_true",
                   help="paper preset only: real shapes with random weights instead of local snapshots")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("overrides", nargs="*", metavar="key=value", help=OVERRIDES_HELP)
    p.set_defaults(module="nsp.cli.init")

    p = sub.add_parser("predict", help="predict the next scene of a clip (or of every clip in a directory)",
                       description="Generate the next scene after CLIP (mp4, mov, webm, mkv, avi; any size, frame "
                                   "rate and length; audio ignored). The clip's end is fitted to the model as its "
                                   "training contexts were: the model's frame rate, its last frames, a centre crop "
                                   "to the model's aspect ratio (no letterbox). Given a directory, predicts every "
                                   "video in it into the --out directory, keeping predictions already there. "
                                   "--image, --audio and --text-frames render other inputs as frames of the context "
                                   "(after the clip, in that order), for models trained on them (README, Everything "
                                   "is a video).")
    p.add_argument("clip", nargs="?", help="the preceding scene: a video file, or a directory of them (optional "
                                           "with --image, --audio, --text-frames or --text)")
    p.add_argument("--text", help="optional description added to the context")
    p.add_argument("--checkpoint", help="checkpoint directory (default: the demo's, runs/demo/final, or "
                                        "$NSP_CHECKPOINT)")
    p.add_argument("--out", required=True, help="output video (.mp4, .mov, .mkv or .avi), or a directory when CLIP "
                                                "is one")
    p.add_argument("--example", nargs=2, metavar=("A", "A2"),
                   help="a visual sentence: the example pair A -> A2 (two clips) defines the task, and the model "
                        "continues CLIP the same way (needs a model trained with generator.context_clips=3)")
    p.add_argument("--image", help="everything is a video: an image file, rendered as one context frame")
    p.add_argument("--audio", help="an audio file (any FFmpeg reads), rendered as spectrogram frames")
    p.add_argument("--text-frames", metavar="TEXT", help="text rendered into the context, a token per frame (unlike "
                                                        "--text, which the VLM reads as text)")
    p.add_argument("--labels", nargs="+", metavar="LABEL", help="classification: print which of these labels' "
                                                                "rendered frames the prediction is nearest to")
    p.add_argument("--scenes", type=int, default=1, help="roll out N scenes, each one the next one's context")
    p.add_argument("--side-by-side", action="store_true", help="write the context (as the model saw it) and the "
                                                               "prediction next to each other in one video")
    p.add_argument("--steps", type=int, help="denoising steps (default: the checkpoint's sampling.steps)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (default: sampling.guidance)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same video")
    p.add_argument("--history-frames", type=int, help="clean context latent frames the DiT sees before the noisy "
                                                     "clip (default: the checkpoint's generator.history_frames)")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--force", action="store_true", help="with a directory: redo predictions that already exist")
    p.set_defaults(module="nsp.cli.predict")

    p = sub.add_parser("serve", help="a web page and an HTTP API that predict the next scene of uploaded clips",
                       description="Serve the model: a page at http://HOST:PORT/ to upload a clip, set the sampling "
                                   "and watch the prediction, and an HTTP API (POST /api/predict with a multipart "
                                   "field clip -> the mp4; POST /api/jobs + GET /api/jobs/ID for progress). Requests "
                                   "are queued and run one at a time; uploads live in a private temporary directory "
                                   "only until decoded.")
    p.add_argument("--checkpoint", help="checkpoint directory (default: the demo's, runs/demo/final, or "
                                        "$NSP_CHECKPOINT)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only; "
                                                       "0.0.0.0 lets anyone who can reach it in)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--max-upload-mb", type=float, default=200.0, help="largest upload accepted (default 200 MB)")
    p.add_argument("--max-clip-seconds", type=float, default=300.0, help="longest clip accepted (default 300 s)")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds from a request to its finished prediction, queueing included, before it is "
                        "stopped (default 600)")
    p.add_argument("--max-queued", type=int, default=8, help="requests that may wait; more get 503 (default 8)")
    p.add_argument("--max-steps", type=int, default=100, help="most denoising steps a request may ask (default 100)")
    p.add_argument("--max-scenes", type=int, default=8, help="most scenes a request may ask (default 8)")
    p.set_defaults(module="nsp.cli.serve")

    p = sub.add_parser("data", help="datasets: synthetic world, pairs from real videos, inspection, latent cache",
                       description="Make and look at NSP datasets (webdataset shards of (preceding, next) pairs).")
    dsub = p.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)
    d = dsub.add_parser("synth", help="the embedded synthetic world as train/val/test shards",
                        description="Write a synthetic world, with its oracle, as train/val/test shards. "
                                    "Deterministic by seed; splits are disjoint.")
    d.add_argument("--out", required=True, help="dataset directory to write")
    d.add_argument("--world", choices=("cuts", "continuation"), default="cuts",
                   help="cuts: the next clip is another shot after a cut (four cut kinds; the NSP benchmark); "
                        "continuation: the next clip continues the shot (five rule families; history and rollout "
                        "benchmarks) (default cuts)")
    d.add_argument("--train", type=int, default=2000, help="training pairs (default 2000)")
    d.add_argument("--val", type=int, default=200, help="validation pairs (default 200)")
    d.add_argument("--test", type=int, default=200, help="test pairs (default 200)")
    d.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    d.add_argument("--frames", type=int, default=9, help="frames per clip, 8k+1 (default 9)")
    d.add_argument("--size", type=int, default=64, help="square side in pixels, a multiple of 32 (default 64)")
    d.add_argument("--fps", type=float, default=8.0, help="frame rate (default 8)")
    d.add_argument("--workers", type=int, default=None, help="processes (default: up to 4)")
    d.add_argument("--force", action="store_true", help="replace --out if it holds something else")
    d.set_defaults(module="nsp.cli.data")
    d = dsub.add_parser("sentences", help="visual sentences (A, A', B) -> B' from a pair dataset",
                        description="Turn a pair dataset (synthetic or built from real videos) into visual sentences "
                                    "(UniVid): the context is an example pair A, A' and a query B back to back, the "
                                    "target B'; the example pair defines the task (nsp, mirror, reverse, colour_swap, "
                                    "speed). Train on it with generator.context_clips=3 (see README).")
    d.add_argument("--data", required=True, help="the pair dataset to draw examples and queries from")
    d.add_argument("--out", required=True, help="sentence dataset directory to write")
    d.add_argument("--tasks", default=",".join(["nsp", "mirror", "reverse", "colour_swap", "speed"]),
                   help="comma-separated tasks (default: all five)")
    d.add_argument("--train", type=int, default=20, help="queries per task from the train split (default 20)")
    d.add_argument("--val", type=int, default=4, help="queries per task from the val split (default 4)")
    d.add_argument("--test", type=int, default=40, help="queries per task from the test split (default 40)")
    d.add_argument("--inverse", action="store_true", help="also each sentence read backwards (A', A, B') -> B")
    d.add_argument("--seed", type=int, default=0, help="seed for drawing the example pairs (default 0)")
    d.add_argument("--force", action="store_true", help="replace --out if it exists")
    d.set_defaults(module="nsp.cli.data")

    d = dsub.add_parser("everything", help="classification tasks rendered as video (image, audio, text)",
                        description="Everything is a video: three small classification tasks whose input is rendered "
                                    "as frames (shapes: an image; chirps: audio as spectrogram frames; topics: text, "
                                    "a token per frame) and whose answer is the label's text frame. Train on it with "
                                    "stages/configs/everything_tiny.yaml; nsp eval reads the answers back.")
    d.add_argument("--out", required=True, help="dataset directory to write")
    d.add_argument("--tasks", default="shapes,chirps,topics", help="comma-separated tasks (default: all three)")
    d.add_argument("--train", type=int, default=500, help="samples per task in train (default 500)")
    d.add_argument("--val", type=int, default=12, help="samples per task in val (default 12)")
    d.add_argument("--test", type=int, default=60, help="samples per task in test (default 60)")
    d.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    d.add_argument("--frames", type=int, default=9, help="frames of the answer clip, 8k+1 (default 9)")
    d.add_argument("--size", type=int, default=64, help="square side in pixels, a multiple of 32 (default 64)")
    d.add_argument("--fps", type=float, default=8.0, help="the model's frame rate (default 8)")
    d.add_argument("--context-clips", type=int, default=4, help="context length in clips of --frames, as the "
                                                                 "model's generator.context_clips (default 4: the "
                                                                 "tiny VLM reads 8 tokens in it)")
    d.add_argument("--preset", default="tiny", help="the model preset whose VLM frame sampling (vlm.video) the "
                                                    "contexts are laid out for (default tiny)")
    d.add_argument("--force", action="store_true", help="replace --out if it exists")
    d.set_defaults(module="nsp.cli.data")

    d = dsub.add_parser("build", help="NSP pairs from real videos (scene cuts -> consecutive scene pairs)",
                        description="Detect scene cuts (PySceneDetect), pair consecutive scenes as (preceding, "
                                    "next), resample to --frames at --fps, crop/resize to a size bucket, filter, and "
                                    "write shards. Re-running skips finished videos.")
    d.add_argument("inputs", nargs="+", metavar="VIDEO_OR_DIR", help="video files or directories (searched recursively)")
    d.add_argument("--out", required=True, help="dataset directory (created or resumed)")
    d.add_argument("--captions", help="JSON or JSONL file: video file name (or name#scene) -> caption")
    d.add_argument("--captioner", help="local VLM snapshot directory used to caption scenes without captions")
    d.add_argument("--frames", type=int, default=9, help="frames per clip, 8k+1 (default 9)")
    d.add_argument("--size", default="64x64", help="size bucket(s) HxW, comma-separated; each video takes the bucket "
                                                   "closest to its aspect ratio (default 64x64)")
    d.add_argument("--fps", type=float, default=8.0, help="frame rate of the clips (default 8)")
    d.add_argument("--val-fraction", type=float, default=0.05, help="share of videos held out as val (default 0.05)")
    d.add_argument("--min-motion", type=float, default=0.002, help="share of pixels changing between frames "
                                                                   "below which a scene is static (default 0.002)")
    d.add_argument("--max-similarity", type=float, default=0.97, help="scenes more similar than this are "
                                                                      "near-duplicates (default 0.97)")
    d.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    d.set_defaults(module="nsp.cli.data")
    d = dsub.add_parser("inspect", help="counts and a contact sheet of a few pairs",
                        description="Count pairs per split and write a contact sheet PNG (context | next).")
    d.add_argument("data", help="dataset directory")
    d.add_argument("--out", help="contact sheet PNG (default DATA/contact_sheet.png)")
    d.add_argument("--count", type=int, default=8, help="pairs on the sheet (default 8)")
    d.add_argument("--split", help="split to show (default: the first present)")
    d.add_argument("--json", action="store_true", help="print machine-readable JSON")
    d.set_defaults(module="nsp.cli.data")
    d = dsub.add_parser("cache", help="precompute VAE latents and VLM video inputs for training",
                        description="Encode every pair once with the checkpoint's VAE (latents of the next clip, "
                                    "the context clip and its first frame) and preprocess the context for the VLM, "
                                    "so training skips decoding and encoding.")
    d.add_argument("--data", required=True, help="dataset directory")
    d.add_argument("--checkpoint", required=True, help="checkpoint whose VAE and VLM input format to use")
    d.add_argument("--out", required=True, help="cache directory to write")
    d.add_argument("--split", action="append", help="split(s) to cache (default: all present)")
    d.add_argument("--batch-size", type=int, default=8, help="clips per VAE batch (default 8)")
    d.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    d.set_defaults(module="nsp.cli.data")

    p = sub.add_parser("train", help="train a stage: vae (tiny only), t2v, sft, rl",
                       description="Train one stage on DeepSpeed. Alone: `nsp train sft --config ...`; several "
                                   "processes: `torchrun --nproc_per_node N -m nsp.cli.main train ...` or "
                                   "`deepspeed --num_gpus N -m nsp.cli.main train ...` (see README).")
    p.add_argument("stage", choices=["vae", "vlm", "t2v", "sft", "rl"], help="which stage (vae, vlm: tiny only)")
    p.add_argument("--config", required=True, help="stage config YAML (examples: stages/configs/*.yaml)")
    p.add_argument("--data", help="dataset directory (sets data.path)")
    p.add_argument("--out", help="run directory (sets run.out)")
    p.add_argument("--init", help="checkpoint to start from (sets model.init)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    p.add_argument("--max-steps", type=int, help="stop after this many steps (the run can be resumed later)")
    p.add_argument("--local_rank", "--local-rank", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides (e.g. optim.lr=3e-4)")
    p.set_defaults(module="nsp.cli.train")

    p = sub.add_parser("eval", help="the NSP benchmark: predict every context of a split and measure it",
                       description="Predict the next scene for every context of a split (fixed seeds, K samples per "
                                   "context, batched) and report scene consistency (pass rate and score by the "
                                   "reward, with bootstrap intervals), fidelity to the real next scene (PSNR, SSIM), "
                                   "continuity with the context, diversity and speed/memory. Writes report.json, "
                                   "REPORT.md, contact_sheet.png and pass_rates.png into --out.")
    p.add_argument("--checkpoint", required=True, help="checkpoint directory")
    p.add_argument("--data", required=True, help="dataset directory (`nsp data synth` or `nsp data build`)")
    p.add_argument("--out", required=True, help="directory for the report files")
    p.add_argument("--split", default="test", help="split to evaluate (default test)")
    p.add_argument("--reward", default=None, help="scene-consistency reward: oracle (synthetic data, the default "
                                                  "there) or judge (the local VLM, the default elsewhere)")
    p.add_argument("--samples", type=int, default=1, help="K predictions per context (default 1; 2+ gives diversity)")
    p.add_argument("--limit", type=int, help="only the first N contexts of the split")
    p.add_argument("--baselines", action="store_true", help="also copy-last-frame, no-context, shuffled-context, "
                                                            "history-only (models with clean history) and "
                                                            "real-next-scene")
    p.add_argument("--paths", action="store_true",
                   help="the path ablation: the condition from the VLM queries real / null / shuffled x the clean "
                        "history on / off (zeros), same contexts and noise, paired intervals (report.json 'paths')")
    p.add_argument("--text", action="store_true", help="also give the samples' context captions")
    p.add_argument("--steps", type=int, help="denoising steps (default: the checkpoint's sampling.steps)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance (default: the checkpoint's)")
    p.add_argument("--batch-size", type=int, default=16, help="clips denoised together (default 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of the starting noise (default 0)")
    p.add_argument("--rollout", type=int, default=1,
                   help="also chain N clips from each context, each predicted from the one before, and report "
                        "every clip's pass rate and continuity (default 1: the next scene only)")
    p.add_argument("--history-frames", type=int, help="clean context latent frames the DiT sees before the noisy "
                                                     "clip (default: the checkpoint's generator.history_frames)")
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(module="nsp.cli.eval")

    p = sub.add_parser("demo", help="the one-command demo (what `make demo` runs): data, 3 stages, benchmark",
                       description="Synthetic data -> T2V -> SFT -> RL -> the NSP benchmark with baselines and the "
                                   "stage ablation -> a predicted next scene for a held-out clip -> REPORT.md in "
                                   "--out. About 20 minutes on 2 CPU cores (--quick: about 5). Re-running resumes: "
                                   "finished steps are skipped. The plan's numbers can be set as key=value, e.g. "
                                   "sft_steps=3000 (see nsp/cli/demo.py: DemoPlan).")
    p.add_argument("--out", default="runs/demo", help="run directory (default runs/demo; its final/ is the default "
                                                      "checkpoint of predict and serve)")
    p.add_argument("--quick", action="store_true", help="a smaller plan (about 5 minutes)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="demo plan settings (e.g. sft_steps=3000)")
    p.set_defaults(module="nsp.cli.demo")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides may follow options (argparse only takes trailing positionals before them).
    if extra and hasattr(args, "overrides") and all("=" in x and not x.startswith("-") for x in extra):
        args.overrides = list(args.overrides) + extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # our own bars say what is happening
    from nsp.errors import NSPError

    try:
        return importlib.import_module(args.module).run(args) or 0
    except NSPError as err:
        print(f"nsp {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nsp {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

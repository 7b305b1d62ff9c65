"""Argument types and help the commands share. Range checks happen while parsing; an error is one line naming the
flag, the value and what it must be (`OneLineParser`)."""

from __future__ import annotations

import argparse
import re

OVERRIDES_HELP = "config overrides as dotted key=value (e.g. vlm.path=/models/Qwen2.5-VL-7B-Instruct sampling.steps=8)"


class OneLineParser(argparse.ArgumentParser):
    """argparse, with errors as one line (`nsp eval: error: --samples 0: must be at least 1`) instead of the usage
    block: the message is what a user (or a script reading stderr) needs; `--help` has the rest."""

    def error(self, message: str):
        message = re.sub(r"^argument ([^:]+): ", r"\1 ", message)
        self.exit(2, f"{self.prog}: error: {message}\n")


def at_least(low: int):
    """A whole number >= `low`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text}: not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{text}: must be {'0 or more' if low == 0 else f'at least {low}'}")
        return value

    return parse


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: not a number") from None


def positive_float(text: str) -> float:
    if not (value := _float(text)) > 0:
        raise argparse.ArgumentTypeError(f"{text}: must be more than 0")
    return value


def fraction(text: str) -> float:
    if not 0 <= (value := _float(text)) <= 1:
        raise argparse.ArgumentTypeError(f"{text}: must be between 0 and 1")
    return value


count, positive = at_least(0), at_least(1)


BF16_HELP = ("denoise in bf16 (autocast, weights kept): faster where the hardware has bf16 (GPUs; CPUs with "
             "AVX512-BF16 or AMX), slower where it is emulated; videos differ from fp32's by rounding")


def add_history_arguments(p) -> None:
    """Inference overrides of the model's Video-GPT history (eval and predict)."""
    p.add_argument("--history-frames", type=count, help="clean context latent frames the DiT sees before the noisy "
                                                        "clip (default: the checkpoint's generator.history_frames)")
    p.add_argument("--history-sigma", type=fraction, help="the noise level the history is given at, 0-1 (default: "
                                                          "the checkpoint's generator.history_sigma)")

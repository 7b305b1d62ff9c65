"""The `nsp` command: each command's module (nsp/cli/<command>.py) owns its parser (`add_parser`) and its handler
(`run`). The modules import only what parsing needs; torch & co. are imported by a handler when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys

from nsp import __version__
from nsp.cli.args import OneLineParser

COMMANDS = ("info", "init", "predict", "serve", "data", "train", "export", "eval", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="nsp", description="Next Scene Prediction: generate the video of what happens after a clip.")
    parser.add_argument("--version", action="version", version=f"nsp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"nsp.cli.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides may follow options (argparse only takes trailing positionals before them).
    if extra and hasattr(args, "overrides") and all("=" in x and not x.startswith("-") for x in extra):
        args.overrides = list(args.overrides) + extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from nsp.environment import configure_command_process
    from nsp.errors import NSPError, Stopped

    configure_command_process()

    try:
        return args.handler(args) or 0
    except NSPError as err:
        print(f"nsp {args.command}: error: {err}", file=sys.stderr)
        return 2
    except Stopped as err:
        print(f"nsp {args.command}: {err}", file=sys.stderr)
        return 128 + err.signum
    except KeyboardInterrupt:
        print(f"nsp {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

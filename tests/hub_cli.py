"""Running a ``hub`` command line inside the test process: the real parser, every command
registered (``hub.cli.main.build_parser``), without main()'s logging and signal set-up, so
a test sees the handler's exit code and its exceptions."""

from __future__ import annotations

import argparse

from hub.cli.main import build_parser


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def run_hub(*argv: str) -> int:
    args = parse(*argv)
    code: int = args.handler(args)
    return code

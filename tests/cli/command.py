"""A ``hub`` command line run in the test's process: parsed by the command's own parser
(``hub.cli.main.build_parser``, so the wiring in main.py is tested too) and its handler
called directly, so that a ``HubError`` reaches the test (``main`` would turn it into exit
code 2)."""

from __future__ import annotations

import argparse

from hub.cli.main import build_parser


def parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def run(argv: list[str]) -> int:
    args = parse(argv)
    code: int = args.handler(args)
    return code

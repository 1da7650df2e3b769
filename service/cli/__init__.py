"""The `bevakning` command. Machine-readable output (--json) is part of the interface.

One module per command group; each registers its subcommands on the shared parser.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from service.app import App
from service.cli import indicators, mail, plans, report, store, translation
from service.config import ConfigError, load_config
from service.problems import InputError
from service.schema import SchemaError

GROUPS = (plans, mail, store, report, indicators)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        app = App(load_config(args.config))
        return int(args.handler(app, args) or 0)
    except ConfigError as exc:
        print(f"Fel i konfigurationen: {exc}", file=sys.stderr)
        return 2
    except SchemaError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except InputError as exc:
        if getattr(args, "json", False):
            print(
                json.dumps(
                    {"ok": False, "problems": [p.as_dict() for p in exc.problems]},
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            print("Inget ändrades, eftersom filen har fel:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    translation.install()
    parser = argparse.ArgumentParser(prog="bevakning", description="Bevakning av handlingsplaner.")
    parser.add_argument(
        "--config",
        metavar="FIL",
        help="konfigurationsfil (standard ./config.toml eller $BEVAKNING_CONFIG)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="visa logg")
    sub = parser.add_subparsers(title="kommandon", metavar="KOMMANDO")

    for group in GROUPS:
        group.register(sub)
    return parser

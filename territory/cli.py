"""Command-line interface: ``python -m territory {check,balance} ...``.

The CLI calls the same functions as the app, so sales-ops automation and the dashboard agree.
Every expected failure (unreadable file, bad parameter) prints one line to stderr and exits 2;
no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from territory.errors import TerritoryError

EXIT_OK = 0
EXIT_USAGE = 2


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints the whole usage block on a bad argument; we print one line instead."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser; the README's CLI section documents every option here."""
    parser = _OneLineParser(
        prog="python -m territory",
        description="Territory Studio: check account files and balance sales territories.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    commands.required = True

    check = commands.add_parser(
        "check",
        help="load an accounts file and report loaded, rejected and questionable rows",
        description="Load a CSV or XLSX accounts file and print the validation report.",
    )
    check.add_argument("file", metavar="FILE", help="CSV or XLSX accounts file (CRM export)")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    check.set_defaults(handler=_cmd_check)

    return parser


def _cmd_check(args: argparse.Namespace) -> int:
    from territory.io import format_report, load_accounts

    result = load_accounts(args.file)
    if args.json:
        import json

        print(json.dumps(result.report.to_dict(), ensure_ascii=False))
    else:
        print(format_report(result.report))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except TerritoryError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

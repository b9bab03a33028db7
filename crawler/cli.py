"""The ``crawler`` command's entry point: builds the parser from :mod:`crawler.commands`
and turns a :class:`CommandError` into one line on standard error and exit status 2.

Commands that print JSON print nothing else on standard output; logs go to
standard error. Errors are one line and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from crawler.commands import EXAMPLES, command_modules
from crawler.commands._common import CommandError, resolve_sites
from crawler.exit_codes import EXIT_FAILED, EXIT_USAGE


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the command ``only`` and those its module adds
    (the same parser for that command's arguments, its help and its errors)."""
    parser = argparse.ArgumentParser(
        prog="crawler",
        description="Archive defence news: crawl sites, clean the text, write a Parquet archive.",
        epilog="Run 'crawler CMD --help' for the options and an example of each command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="CMD", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example: {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    for module in command_modules(only):
        module.register(sub, command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    # The command comes first: the top-level parser has no option but --help.
    args = build_parser(words[0] if words else None).parse_args(words)
    try:
        if getattr(args, "site", None):  # one meaning of --site in every command
            args.site = resolve_sites(args.site, args.archive)
        status: int = args.func(args)
        return status
    except CommandError as error:
        print(f"crawler {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

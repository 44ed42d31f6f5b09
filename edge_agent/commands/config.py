"""`tandem config`: the effective configuration."""

from __future__ import annotations

import argparse
import dataclasses

from edge_agent.config import SECTIONS, Config


def register(commands: argparse._SubParsersAction) -> None:
    commands.add_parser("config", help="print the effective configuration and where it came from").set_defaults(
        handler=show_config
    )


def show_config(args: argparse.Namespace, config: Config) -> int:
    print(f"# effective configuration (file: {config.source}; TANDEM_<SECTION>_<KEY> variables override)")
    for section in SECTIONS:
        print(f"\n[{section}]")
        for key, value in dataclasses.asdict(getattr(config, section)).items():
            if isinstance(value, bool):
                rendered = str(value).lower()
            elif isinstance(value, str):
                rendered = f'"{value}"'
            else:
                rendered = str(value)
            print(f"{key} = {rendered}")
    return 0

"""Fixtures for the collaboration pieces: real small chat models (the MiniLM `embedder` is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.collab import Generate, edge_generate
from edge_agent.local_model import EdgeModel

NOTES = [
    "Name: Daniela Ferreira-Lindqvist",
    "Phone: +46 70 555 0142",
    "Address: Storgatan 17, lgh 1204, 411 38 Göteborg",
    "Landlord: Mr. Holm, holm.fastigheter@example.com",
    "Bedroom radiator has been cold since Monday",
    "Parents visiting from Porto on March 14, staying 5 nights",
    "Gym membership renews April 1",
    "Dentist: Dr. Åberg, next check-up in June",
]
INSTRUCTION = "Write a short email to my landlord asking to fix the heating before my guests arrive."


@pytest.fixture(scope="session")
def smol_generate(smol_path: Path) -> Generate:
    """SmolLM2-135M as the edge: fast, for mechanics whose outcome must not depend on the model's skill."""
    return edge_generate(EdgeModel(smol_path, n_ctx=2048, n_threads=1))


@pytest.fixture(scope="session")
def edge_generate_05(edge_path: Path) -> Generate:
    """The default edge model (Qwen 0.5B), for behaviour that needs its skill."""
    return edge_generate(EdgeModel(edge_path, n_ctx=2048, n_threads=1))

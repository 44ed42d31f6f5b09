"""KALMV-style verification of answers by the edge model, and bounded rectification."""

from edge_agent.verify.rectify import Attempt, Rectified, rectify
from edge_agent.verify.verifier import OPTIONS, WORDINGS, Verdict, verify

__all__ = ["OPTIONS", "WORDINGS", "Attempt", "Rectified", "Verdict", "rectify", "verify"]

"""Logit fusion with a cloud session: rules, private-span holding, speculative decoding."""

from edge_agent.fusion.decoder import FusedDecoder, FuseSettings, FuseStats
from edge_agent.fusion.rules import RULES, FusionRule, make_rule

__all__ = ["FuseSettings", "FuseStats", "FusedDecoder", "FusionRule", "RULES", "make_rule"]

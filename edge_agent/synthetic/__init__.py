"""Synthetic tasks for training on the device (the fusion gate) and in tools/ (the scorer)."""

from edge_agent.synthetic.tasks import SynthTask, make_task, make_tasks

__all__ = ["SynthTask", "make_task", "make_tasks"]

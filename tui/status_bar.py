"""The line above the key bar: cloud state, edge model state (a bar while loading), strategy, backend."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import ProgressBar, Static

from tui.backend import ModelState

CLOUD_STYLES = {
    "connected": ("●", "bold #9ece6a"),
    "offline": ("○", "bold #f7768e"),
    "degraded": ("◐", "bold #e0af68"),
    "checking": ("…", "#a9b1d6"),
    "unknown": ("?", "#a9b1d6"),
}
MODEL_STYLES = {"ready": "#9ece6a", "loading": "#e0af68", "error": "bold #f7768e"}


class StatusBar(Horizontal):
    cloud: reactive[str] = reactive("checking")
    strategy: reactive[str] = reactive("edge")
    mode: reactive[str] = reactive("in-process")
    model: reactive[ModelState] = reactive(ModelState(""))

    def compose(self) -> ComposeResult:
        yield Static(id="status-text")
        yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="status-progress")

    def on_mount(self) -> None:
        self.show()

    def watch_cloud(self) -> None:
        self.show()

    def watch_model(self) -> None:
        self.show()

    def watch_strategy(self) -> None:
        self.show()

    def watch_mode(self) -> None:
        self.show()

    def describe(self) -> Text:
        """'● cloud connected · edge smollm2-135m ready · sketch · in-process'."""
        icon, style = CLOUD_STYLES.get(self.cloud, ("?", ""))
        model = self.model
        return Text.assemble(
            (icon + " ", style), f"cloud {self.cloud}", " · edge ", (model.name, "bold"),
            (f" {model.state}", MODEL_STYLES.get(model.state, "")), " · ", (self.strategy, "bold #7aa2f7"),
            (f" · {self.mode}", "dim"),
        )

    def show(self) -> None:
        if not self.is_mounted:
            return
        self.query_one("#status-text", Static).update(self.describe())
        model = self.model
        self.query_one("#status-text", Static).tooltip = model.detail if model.state == "error" else None
        bar = self.query_one("#status-progress", ProgressBar)
        bar.display = model.state == "loading"
        if model.progress is not None and model.state == "loading":
            bar.update(total=1.0, progress=model.progress)

"""Prompts to token ids with a model's own chat template (both backends that fuse need it)."""

from __future__ import annotations

from collections.abc import Sequence

from cloud_service.backends.base import Append, Prompt
from runtime.llm import ChatMessage, ChatTemplate


class PromptTokenizer:
    """Prompts to token ids with a model's own chat template (also works on a vocabulary-only load)."""

    def __init__(self, llm) -> None:
        self.llm = llm
        self.template = ChatTemplate(llm)
        self._last: tuple[Prompt, list[int]] | None = None  # the servicer counts a prompt, then runs it

    def tokens(self, prompt: Prompt) -> list[int]:
        """Rendered with the chat template unless raw."""
        if self._last is None or self._last[0] != prompt:
            self._last = (prompt, self._tokenize(prompt))
        return list(self._last[1])

    def _tokenize(self, prompt: Prompt) -> list[int]:
        if prompt.raw:
            return self.llm.tokenize(prompt.text.encode("utf-8"), add_bos=True, special=False)
        messages = [ChatMessage(role, content) for role, content in prompt.chat()]
        return self.llm.tokenize(self.template.render(messages).encode("utf-8"), add_bos=False, special=True)

    def text_tokens(self, text: str) -> list[int]:
        """Plain text (e.g. a placeholder) to token ids, no special tokens, no BOS."""
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def append_ids(self, appends: Sequence[Append]) -> list[list[int]]:
        """A Fuse step's appends as token-id runs (text appends tokenized)."""
        return [list(a.ids) + (self.text_tokens(a.text) if a.text else []) for a in appends]

    def detokenize(self, tokens: list[int]) -> str:
        """Token ids as text with special tokens spelled out (servers parse them back)."""
        return self.llm.detokenize(tokens, special=True).decode("utf-8", errors="replace")

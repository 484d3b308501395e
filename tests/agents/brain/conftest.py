"""Scripted chat models for the LLM-brain tests: LangChain's own fake chat models, not mocks of intern.

`Scripted` is LangChain's FakeListChatModel (replies in order) that also records what it was sent,
so a test can read the prompt the brain built. `use_brain` registers one as the workspace's brain
through intern.yaml, the way a user would name any other brain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage

from agents.brain import forget_built_models, register_chat_model
from bus import Workspace


class Scripted(FakeListChatModel):
    sent: list[list[BaseMessage]] = []

    def _call(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> str:
        self.sent.append(list(messages))
        return super()._call(messages, stop, run_manager, **kwargs)


@pytest.fixture
def use_brain(set_goal) -> Iterator[Callable[..., Scripted]]:
    """Make a scripted model with `replies` the brain of `ws`; returns the model (its `.sent` holds the prompts)."""

    def use(ws: Workspace, replies: list[str], tokens: int = 200_000, name: str = "scripted") -> Scripted:
        model = Scripted(responses=replies)
        spec = register_chat_model(name, model)
        set_goal(ws, brain=spec, brain_budget={"tokens": tokens})
        return model

    yield use
    forget_built_models()

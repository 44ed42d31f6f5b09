"""Exceptions that mean a user mistake or an unmet precondition: printed in one line, no traceback."""

from edge_agent.cloud_client import CloudError, PrivacyViolation
from edge_agent.config import ConfigError
from edge_agent.context import ContextError
from edge_agent.daemon.client import DaemonError
from edge_agent.local_model import PromptTooLong
from edge_agent.models import ModelError
from edge_agent.store.types import StoreError
from edge_agent.strategies import StrategyRefused

USER_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError,
    ContextError,
    ModelError,
    PromptTooLong,
    StrategyRefused,
    CloudError,
    PrivacyViolation,
    StoreError,
    DaemonError,
    OSError,
)

from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINISH_REASON_UNSPECIFIED: _ClassVar[FinishReason]
    FINISH_REASON_STOP: _ClassVar[FinishReason]
    FINISH_REASON_LENGTH: _ClassVar[FinishReason]
    FINISH_REASON_CONTEXT: _ClassVar[FinishReason]
FINISH_REASON_UNSPECIFIED: FinishReason
FINISH_REASON_STOP: FinishReason
FINISH_REASON_LENGTH: FinishReason
FINISH_REASON_CONTEXT: FinishReason

class InfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InfoResponse(_message.Message):
    __slots__ = ("model_id", "vocab_fingerprint", "n_vocab", "n_ctx", "capabilities", "backend", "max_tokens_limit")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    VOCAB_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    N_VOCAB_FIELD_NUMBER: _ClassVar[int]
    N_CTX_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    vocab_fingerprint: str
    n_vocab: int
    n_ctx: int
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    backend: str
    max_tokens_limit: int
    def __init__(self, model_id: _Optional[str] = ..., vocab_fingerprint: _Optional[str] = ..., n_vocab: _Optional[int] = ..., n_ctx: _Optional[int] = ..., capabilities: _Optional[_Iterable[str]] = ..., backend: _Optional[str] = ..., max_tokens_limit: _Optional[int] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("prompt", "raw", "system", "max_tokens", "temperature", "seed", "stop", "contains_context", "history")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    CONTAINS_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    raw: bool
    system: str
    max_tokens: int
    temperature: float
    seed: int
    stop: _containers.RepeatedScalarFieldContainer[str]
    contains_context: bool
    history: _containers.RepeatedCompositeFieldContainer[Turn]
    def __init__(self, prompt: _Optional[str] = ..., raw: _Optional[bool] = ..., system: _Optional[str] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., seed: _Optional[int] = ..., stop: _Optional[_Iterable[str]] = ..., contains_context: _Optional[bool] = ..., history: _Optional[_Iterable[_Union[Turn, _Mapping]]] = ...) -> None: ...

class Turn(_message.Message):
    __slots__ = ("instruction", "answer")
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    instruction: str
    answer: str
    def __init__(self, instruction: _Optional[str] = ..., answer: _Optional[str] = ...) -> None: ...

class GenerateChunk(_message.Message):
    __slots__ = ("text", "token_ids", "finish_reason", "prompt_tokens", "completion_tokens")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    text: str
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    def __init__(self, text: _Optional[str] = ..., token_ids: _Optional[_Iterable[int]] = ..., finish_reason: _Optional[_Union[FinishReason, str]] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ...) -> None: ...

class SketchRequest(_message.Message):
    __slots__ = ("instruction", "max_points", "max_tokens", "seed", "history")
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    MAX_POINTS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    instruction: str
    max_points: int
    max_tokens: int
    seed: int
    history: _containers.RepeatedCompositeFieldContainer[Turn]
    def __init__(self, instruction: _Optional[str] = ..., max_points: _Optional[int] = ..., max_tokens: _Optional[int] = ..., seed: _Optional[int] = ..., history: _Optional[_Iterable[_Union[Turn, _Mapping]]] = ...) -> None: ...

class SketchResponse(_message.Message):
    __slots__ = ("points", "text", "prompt_tokens", "completion_tokens")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedScalarFieldContainer[str]
    text: str
    prompt_tokens: int
    completion_tokens: int
    def __init__(self, points: _Optional[_Iterable[str]] = ..., text: _Optional[str] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ...) -> None: ...

class FuseRequest(_message.Message):
    __slots__ = ("open", "step")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    open: FuseOpen
    step: FuseStep
    def __init__(self, open: _Optional[_Union[FuseOpen, _Mapping]] = ..., step: _Optional[_Union[FuseStep, _Mapping]] = ...) -> None: ...

class FuseOpen(_message.Message):
    __slots__ = ("vocab_fingerprint", "prompt", "system", "top_k", "history")
    VOCAB_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    vocab_fingerprint: str
    prompt: str
    system: str
    top_k: int
    history: _containers.RepeatedCompositeFieldContainer[Turn]
    def __init__(self, vocab_fingerprint: _Optional[str] = ..., prompt: _Optional[str] = ..., system: _Optional[str] = ..., top_k: _Optional[int] = ..., history: _Optional[_Iterable[_Union[Turn, _Mapping]]] = ...) -> None: ...

class FuseAppend(_message.Message):
    __slots__ = ("ids", "text")
    IDS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    text: str
    def __init__(self, ids: _Optional[_Iterable[int]] = ..., text: _Optional[str] = ...) -> None: ...

class FuseStep(_message.Message):
    __slots__ = ("keep", "append", "draft_ids")
    KEEP_FIELD_NUMBER: _ClassVar[int]
    APPEND_FIELD_NUMBER: _ClassVar[int]
    DRAFT_IDS_FIELD_NUMBER: _ClassVar[int]
    keep: int
    append: _containers.RepeatedCompositeFieldContainer[FuseAppend]
    draft_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, keep: _Optional[int] = ..., append: _Optional[_Iterable[_Union[FuseAppend, _Mapping]]] = ..., draft_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class TopK(_message.Message):
    __slots__ = ("ids", "logprobs")
    IDS_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    logprobs: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, ids: _Optional[_Iterable[int]] = ..., logprobs: _Optional[_Iterable[float]] = ...) -> None: ...

class FuseResponse(_message.Message):
    __slots__ = ("positions", "session_tokens")
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    positions: _containers.RepeatedCompositeFieldContainer[TopK]
    session_tokens: int
    def __init__(self, positions: _Optional[_Iterable[_Union[TopK, _Mapping]]] = ..., session_tokens: _Optional[int] = ...) -> None: ...

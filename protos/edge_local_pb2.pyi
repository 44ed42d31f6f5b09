from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("state", "error", "model", "cloud", "cloud_address", "cloud_detail", "pid", "uptime_s", "load_s", "socket", "store", "items", "conversations", "active_requests", "cached_states", "cached_bytes")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CLOUD_FIELD_NUMBER: _ClassVar[int]
    CLOUD_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CLOUD_DETAIL_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    UPTIME_S_FIELD_NUMBER: _ClassVar[int]
    LOAD_S_FIELD_NUMBER: _ClassVar[int]
    SOCKET_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    CACHED_STATES_FIELD_NUMBER: _ClassVar[int]
    CACHED_BYTES_FIELD_NUMBER: _ClassVar[int]
    state: str
    error: str
    model: str
    cloud: str
    cloud_address: str
    cloud_detail: str
    pid: int
    uptime_s: float
    load_s: float
    socket: str
    store: str
    items: int
    conversations: int
    active_requests: int
    cached_states: int
    cached_bytes: int
    def __init__(self, state: _Optional[str] = ..., error: _Optional[str] = ..., model: _Optional[str] = ..., cloud: _Optional[str] = ..., cloud_address: _Optional[str] = ..., cloud_detail: _Optional[str] = ..., pid: _Optional[int] = ..., uptime_s: _Optional[float] = ..., load_s: _Optional[float] = ..., socket: _Optional[str] = ..., store: _Optional[str] = ..., items: _Optional[int] = ..., conversations: _Optional[int] = ..., active_requests: _Optional[int] = ..., cached_states: _Optional[int] = ..., cached_bytes: _Optional[int] = ...) -> None: ...

class AskRequest(_message.Message):
    __slots__ = ("instruction", "strategy", "max_tokens", "temperature", "seed", "has_context", "context_text", "context_source", "conversation_id", "edit_of")
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    HAS_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_TEXT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    EDIT_OF_FIELD_NUMBER: _ClassVar[int]
    instruction: str
    strategy: str
    max_tokens: int
    temperature: float
    seed: int
    has_context: bool
    context_text: str
    context_source: str
    conversation_id: int
    edit_of: int
    def __init__(self, instruction: _Optional[str] = ..., strategy: _Optional[str] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., seed: _Optional[int] = ..., has_context: _Optional[bool] = ..., context_text: _Optional[str] = ..., context_source: _Optional[str] = ..., conversation_id: _Optional[int] = ..., edit_of: _Optional[int] = ...) -> None: ...

class AskEvent(_message.Message):
    __slots__ = ("started", "text", "report")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    started: Started
    text: str
    report: Report
    def __init__(self, started: _Optional[_Union[Started, _Mapping]] = ..., text: _Optional[str] = ..., report: _Optional[_Union[Report, _Mapping]] = ...) -> None: ...

class Started(_message.Message):
    __slots__ = ("request_id", "conversation_id", "message_id", "context_source", "user_message_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    USER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    conversation_id: int
    message_id: int
    context_source: str
    user_message_id: int
    def __init__(self, request_id: _Optional[str] = ..., conversation_id: _Optional[int] = ..., message_id: _Optional[int] = ..., context_source: _Optional[str] = ..., user_message_id: _Optional[int] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("found",)
    FOUND_FIELD_NUMBER: _ClassVar[int]
    found: bool
    def __init__(self, found: _Optional[bool] = ...) -> None: ...

# claude_stream -- stream Claude Messages API responses with the standard library only.
#
# MIT License
#
# Copyright (c) 2026 The claude_stream authors
#
# Permission is hereby granted, free of charge, to any person obtaining a copy of this
# software and associated documentation files (the "Software"), to deal in the Software
# without restriction, including without limitation the rights to use, copy, modify,
# merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
# permit persons to whom the Software is furnished to do so, subject to the following
# conditions:
#
# The above copyright notice and this permission notice shall be included in all copies
# or substantial portions of the Software.
#
# THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
# INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
# PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
# HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
# CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR
# THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""Stream Claude Messages API responses with nothing but the standard library.

A drop-in subset of the official ``anthropic`` SDK's streaming surface::

    import claude_stream as anthropic
    with anthropic.Anthropic().messages.stream(model=..., max_tokens=1024, messages=[...]) as s:
        for text in s.text_stream: print(text, end="", flush=True)

The core is sans-IO: ``iter_sse`` turns bytes into ``ServerSentEvent``s, ``parse_event``
turns those into typed events and ``MessageAccumulator`` folds them into a ``Message``.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    # errors
    "AnthropicError", "APIError", "APIConnectionError", "APITimeoutError",
    "APIResponseValidationError", "APIStatusError", "BadRequestError",
    "AuthenticationError", "PermissionDeniedError", "NotFoundError", "ConflictError",
    "RequestTooLargeError", "UnprocessableEntityError", "RateLimitError",
    "InternalServerError", "OverloadedError",
    # models
    "BaseModel", "Message", "Usage", "MessageDeltaUsage", "CacheCreation", "ServerToolUsage",
    "TextBlock", "ThinkingBlock", "RedactedThinkingBlock", "ToolUseBlock",
    "ServerToolUseBlock", "WebSearchToolResultBlock", "WebFetchToolResultBlock",
    "CodeExecutionToolResultBlock", "BashCodeExecutionToolResultBlock",
    "TextEditorCodeExecutionToolResultBlock", "ToolSearchToolResultBlock",
    "ContainerUploadBlock", "CitationCharLocation", "CitationPageLocation",
    "CitationContentBlockLocation", "CitationsWebSearchResultLocation",
    "CitationsSearchResultLocation", "TextDelta", "InputJSONDelta", "CitationsDelta",
    "ThinkingDelta", "SignatureDelta", "MessageDelta", "RawMessageStartEvent",
    "RawMessageDeltaEvent", "RawMessageStopEvent", "RawContentBlockStartEvent",
    "RawContentBlockDeltaEvent", "RawContentBlockStopEvent", "TextEvent", "CitationEvent",
    "ThinkingEvent", "SignatureEvent", "InputJsonEvent", "ContentBlockStopEvent",
    "MessageStopEvent", "ParsedContentBlockStopEvent", "ParsedMessageStopEvent",
    # sans-IO core
    "ServerSentEvent", "iter_lines", "iter_sse", "parse_event", "MessageAccumulator",
    "accumulate",
]

import json
import re
from dataclasses import MISSING, dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional

DEFAULT_MAX_LINE_SIZE = 16 * 1024 * 1024  # bytes in one SSE line or event before we give up


# -- Errors -------------------------------------------------------------------------------

class AnthropicError(Exception):
    """Base of every error this module raises."""


class APIError(AnthropicError):
    """An error tied to an API request: ``message``, ``request`` and ``body``."""

    def __init__(self, message: str, *, request: Any = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body


class APIConnectionError(APIError, ConnectionError):
    """The connection failed, dropped, or the stream ended before ``message_stop``."""

    def __init__(self, message: str = "Connection error.", *, request: Any = None) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError, TimeoutError):
    """Connecting, or waiting for the next bytes of the response, took too long."""

    def __init__(self, message: str = "Request timed out.", *, request: Any = None) -> None:
        super().__init__(message, request=request)


class APIResponseValidationError(APIError, ValueError):
    """The body is not a valid event stream: bad JSON, an oversized line, a non-SSE 200."""

    def __init__(self, message: str, *, response: Any = None, body: Any = None) -> None:
        super().__init__(message, body=body)
        self.response = response
        self.status_code = getattr(response, "status", None)


class APIStatusError(APIError):
    """The API answered with an error: an HTTP error status or an ``error`` event."""

    def __init__(self, message: str, *, response: Any = None, body: Any = None,
                 status_code: Optional[int] = None, request_id: Optional[str] = None) -> None:
        super().__init__(message, body=body)
        self.response = response
        self.status_code = status_code
        self.request_id = request_id
        error = body.get("error") if isinstance(body, dict) else None
        self.type = error.get("type") if isinstance(error, dict) else None


class BadRequestError(APIStatusError): """HTTP 400."""
class AuthenticationError(APIStatusError): """HTTP 401."""
class PermissionDeniedError(APIStatusError): """HTTP 403."""
class NotFoundError(APIStatusError): """HTTP 404."""
class ConflictError(APIStatusError): """HTTP 409."""
class RequestTooLargeError(APIStatusError): """HTTP 413."""
class UnprocessableEntityError(APIStatusError): """HTTP 422."""
class RateLimitError(APIStatusError): """HTTP 429."""
class InternalServerError(APIStatusError): """HTTP 500 and above."""
class OverloadedError(InternalServerError): """HTTP 529: the API is overloaded."""


_STATUS_ERRORS = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
    404: NotFoundError, 409: ConflictError, 413: RequestTooLargeError,
    422: UnprocessableEntityError, 429: RateLimitError, 529: OverloadedError,
}

# An ``error`` event arrives on a 200 response; its ``error.type`` names the status it
# stands for, so class-based handling works the same mid-stream as before it.
_ERROR_TYPE_STATUS = {
    "invalid_request_error": 400, "authentication_error": 401, "billing_error": 402,
    "permission_error": 403, "not_found_error": 404, "request_too_large": 413,
    "rate_limit_error": 429, "api_error": 500, "timeout_error": 504,
    "overloaded_error": 529,
}


def _status_error(status: int, body: Any, *, response: Any = None,
                  request_id: Optional[str] = None) -> APIStatusError:
    """Build the error class for ``status`` with a one-line message."""
    cls = _STATUS_ERRORS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    detail = _describe_body(body)
    message = "Error code: %d" % status + (" - " + detail if detail else "")
    if request_id:
        message += " (request-id %s)" % request_id
    return cls(message, response=response, body=body, status_code=status, request_id=request_id)


def _describe_body(body: Any) -> str:
    """``overloaded_error: Overloaded`` for an API error body, else the start of the text."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return "%s: %s" % (error.get("type"), error.get("message"))
    text = body if isinstance(body, str) else json.dumps(body) if body is not None else ""
    text = " ".join(text.split())
    return text[:200] + ("..." if len(text) > 200 else "")


def _error_from_event(data: Dict[str, Any], *, response: Any = None,
                      request_id: Optional[str] = None) -> APIStatusError:
    """The exception for a mid-stream ``error`` event, chosen by its ``error.type``."""
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    status = _ERROR_TYPE_STATUS.get(error.get("type"), 500 if error.get("type") else 200)
    return _status_error(status, data, response=response,
                         request_id=request_id or data.get("request_id"))


# -- Models -------------------------------------------------------------------------------
#
# Design notes. A model's attributes are the JSON object's fields, held in the instance
# ``__dict__`` -- which *is* the dict ``json.loads`` made, so building an event costs one
# object and no copy. Every field is declared with a default, so a field the JSON left out
# reads as its default (as with the SDK) while ``to_dict()`` gives back exactly the fields
# that arrived, unknown ones included. Nested objects are converted by the class's
# ``_nested`` table; anything without an entry (tool ``input``, unknown fields) stays raw.

def _dump(value: Any) -> Any:
    """The JSON shape of a model, list or value (new containers, so callers may mutate)."""
    if isinstance(value, BaseModel):
        return value.to_dict()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


class BaseModel:
    """Base of every model: attributes are the JSON fields; unknown fields are kept."""

    _nested: Dict[str, Callable[[Any], Any]] = {}

    @classmethod
    def construct(cls, **fields: Any) -> "BaseModel":
        """Build from JSON fields without validation (as the SDK's ``construct``)."""
        return cls._from(fields)

    @classmethod
    def _from(cls, data: Dict[str, Any]) -> Any:
        obj = cls.__new__(cls)
        for name, convert in cls._nested.items():
            value = data.get(name)
            if value is not None:
                data[name] = convert(value)
        obj.__dict__ = data
        return obj

    def __getattr__(self, name: str) -> Any:
        # Only called for a missing attribute: a list/dict field the JSON left out reads as
        # its (fresh, unstored) default, like the simple fields' class-level defaults.
        spec = getattr(type(self), "__dataclass_fields__", {}).get(name)
        if spec is not None and spec.default_factory is not MISSING:
            return spec.default_factory()
        raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))

    def _fields(self) -> Dict[str, Any]:
        return self.__dict__

    def to_dict(self) -> Dict[str, Any]:
        """The JSON object this model stands for, unknown fields included."""
        return {k: _dump(v) for k, v in self._fields().items()}

    def to_json(self, *, indent: Optional[int] = 2) -> str:
        """``to_dict()`` as JSON text (indented by 2, as the SDK's)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def __repr__(self) -> str:
        args = ", ".join("%s=%r" % kv for kv in self._fields().items())
        return "%s(%s)" % (type(self).__name__, args)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._fields() == self._fields()  # type: ignore

    __hash__ = None  # type: ignore  # mutable, like the SDK's models


def _model(cls: type) -> type:
    """Make ``cls`` a dataclass model (our ``__repr__``/``__eq__`` keep unknown fields)."""
    return dataclass(repr=False, eq=False)(cls)


def _any(value: Any) -> Any:
    """Convert nested JSON: objects become models (typed by ``type`` where known)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                value[k] = _any(v)
        return _KNOWN_TYPES.get(value.get("type"), BaseModel)._from(value)
    if isinstance(value, list):
        return [_any(v) for v in value]
    return value


def _typed(table: Dict[str, type]) -> Callable[[Any], Any]:
    """A converter choosing the class by the object's ``type`` (unknown: ``BaseModel``)."""
    def convert(value: Any) -> Any:
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return table.get(value.get("type"), BaseModel)._from(value)
        return value
    return convert


def _as(cls: type) -> Callable[[Any], Any]:
    return lambda value: cls._from(value) if isinstance(value, dict) else value


@_model
class CacheCreation(BaseModel):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


@_model
class ServerToolUsage(BaseModel):
    web_search_requests: int = 0
    web_fetch_requests: Optional[int] = None


@_model
class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: Optional[int] = None
    cache_read_input_tokens: Optional[int] = None
    cache_creation: Optional[CacheCreation] = None
    server_tool_use: Optional[ServerToolUsage] = None
    service_tier: Optional[str] = None
    _nested = {"cache_creation": _as(CacheCreation), "server_tool_use": _as(ServerToolUsage)}


@_model
class MessageDeltaUsage(BaseModel):
    output_tokens: int = 0
    input_tokens: Optional[int] = None
    cache_creation_input_tokens: Optional[int] = None
    cache_read_input_tokens: Optional[int] = None
    server_tool_use: Optional[ServerToolUsage] = None
    _nested = Usage._nested


@_model
class CitationCharLocation(BaseModel):
    type: str = "char_location"
    cited_text: str = ""
    document_index: int = 0
    document_title: Optional[str] = None
    start_char_index: int = 0
    end_char_index: int = 0
    file_id: Optional[str] = None


@_model
class CitationPageLocation(BaseModel):
    type: str = "page_location"
    cited_text: str = ""
    document_index: int = 0
    document_title: Optional[str] = None
    start_page_number: int = 0
    end_page_number: int = 0
    file_id: Optional[str] = None


@_model
class CitationContentBlockLocation(BaseModel):
    type: str = "content_block_location"
    cited_text: str = ""
    document_index: int = 0
    document_title: Optional[str] = None
    start_block_index: int = 0
    end_block_index: int = 0
    file_id: Optional[str] = None


@_model
class CitationsWebSearchResultLocation(BaseModel):
    type: str = "web_search_result_location"
    cited_text: str = ""
    url: str = ""
    title: Optional[str] = None
    encrypted_index: str = ""


@_model
class CitationsSearchResultLocation(BaseModel):
    type: str = "search_result_location"
    cited_text: str = ""
    source: str = ""
    title: Optional[str] = None
    search_result_index: int = 0
    start_block_index: int = 0
    end_block_index: int = 0


_CITATION_TYPES = {
    "char_location": CitationCharLocation, "page_location": CitationPageLocation,
    "content_block_location": CitationContentBlockLocation,
    "web_search_result_location": CitationsWebSearchResultLocation,
    "search_result_location": CitationsSearchResultLocation,
}
_citation = _typed(_CITATION_TYPES)


@_model
class TextBlock(BaseModel):
    type: str = "text"
    text: str = ""
    citations: Optional[List[Any]] = None
    _nested = {"citations": _citation}


@_model
class ThinkingBlock(BaseModel):
    type: str = "thinking"
    thinking: str = ""
    signature: str = ""


@_model
class RedactedThinkingBlock(BaseModel):
    type: str = "redacted_thinking"
    data: str = ""


@_model
class ToolUseBlock(BaseModel):
    type: str = "tool_use"
    id: str = ""
    name: str = ""
    input: Any = field(default_factory=dict)
    caller: Any = None
    _nested = {"caller": _any}


@_model
class ServerToolUseBlock(BaseModel):
    type: str = "server_tool_use"
    id: str = ""
    name: str = ""
    input: Any = field(default_factory=dict)
    caller: Any = None
    _nested = {"caller": _any}


@_model
class _ToolResultBlock(BaseModel):
    """Shared shape of the server tools' result blocks: ``tool_use_id`` and ``content``."""
    type: str = ""
    tool_use_id: str = ""
    content: Any = None
    caller: Any = None
    _nested = {"content": _any, "caller": _any}


@_model
class WebSearchToolResultBlock(_ToolResultBlock):
    type: str = "web_search_tool_result"


@_model
class WebFetchToolResultBlock(_ToolResultBlock):
    type: str = "web_fetch_tool_result"


@_model
class CodeExecutionToolResultBlock(_ToolResultBlock):
    type: str = "code_execution_tool_result"


@_model
class BashCodeExecutionToolResultBlock(_ToolResultBlock):
    type: str = "bash_code_execution_tool_result"


@_model
class TextEditorCodeExecutionToolResultBlock(_ToolResultBlock):
    type: str = "text_editor_code_execution_tool_result"


@_model
class ToolSearchToolResultBlock(_ToolResultBlock):
    type: str = "tool_search_tool_result"


@_model
class ContainerUploadBlock(BaseModel):
    type: str = "container_upload"
    file_id: str = ""


_BLOCK_TYPES = {
    "text": TextBlock, "thinking": ThinkingBlock, "redacted_thinking": RedactedThinkingBlock,
    "tool_use": ToolUseBlock, "server_tool_use": ServerToolUseBlock,
    "web_search_tool_result": WebSearchToolResultBlock,
    "web_fetch_tool_result": WebFetchToolResultBlock,
    "code_execution_tool_result": CodeExecutionToolResultBlock,
    "bash_code_execution_tool_result": BashCodeExecutionToolResultBlock,
    "text_editor_code_execution_tool_result": TextEditorCodeExecutionToolResultBlock,
    "tool_search_tool_result": ToolSearchToolResultBlock,
    "container_upload": ContainerUploadBlock,
}
_KNOWN_TYPES = dict(_BLOCK_TYPES, **_CITATION_TYPES)
_block = _typed(_BLOCK_TYPES)


@_model
class Message(BaseModel):
    id: str = ""
    type: str = "message"
    role: str = "assistant"
    model: str = ""
    content: List[Any] = field(default_factory=list)
    stop_reason: Optional[str] = None
    stop_sequence: Optional[str] = None
    stop_details: Any = None
    container: Any = None
    usage: Usage = field(default_factory=Usage)
    _nested = {"content": _block, "usage": _as(Usage), "stop_details": _any, "container": _any}


@_model
class TextDelta(BaseModel):
    type: str = "text_delta"
    text: str = ""


@_model
class InputJSONDelta(BaseModel):
    type: str = "input_json_delta"
    partial_json: str = ""


@_model
class CitationsDelta(BaseModel):
    type: str = "citations_delta"
    citation: Any = None
    _nested = {"citation": _citation}


@_model
class ThinkingDelta(BaseModel):
    type: str = "thinking_delta"
    thinking: str = ""


@_model
class SignatureDelta(BaseModel):
    type: str = "signature_delta"
    signature: str = ""


@_model
class MessageDelta(BaseModel):
    """The ``delta`` of a ``message_delta`` event."""
    stop_reason: Optional[str] = None
    stop_sequence: Optional[str] = None
    stop_details: Any = None
    container: Any = None
    _nested = {"stop_details": _any, "container": _any}


_DELTA_TYPES = {
    "text_delta": TextDelta, "input_json_delta": InputJSONDelta,
    "citations_delta": CitationsDelta, "thinking_delta": ThinkingDelta,
    "signature_delta": SignatureDelta,
}


@_model
class RawMessageStartEvent(BaseModel):
    type: str = "message_start"
    message: Optional[Message] = None
    _nested = {"message": _as(Message)}


@_model
class RawMessageDeltaEvent(BaseModel):
    type: str = "message_delta"
    delta: MessageDelta = field(default_factory=MessageDelta)
    usage: Optional[MessageDeltaUsage] = None
    _nested = {"delta": _as(MessageDelta), "usage": _as(MessageDeltaUsage)}


@_model
class RawMessageStopEvent(BaseModel):
    type: str = "message_stop"


@_model
class RawContentBlockStartEvent(BaseModel):
    type: str = "content_block_start"
    index: int = 0
    content_block: Any = None
    _nested = {"content_block": _block}


@_model
class RawContentBlockDeltaEvent(BaseModel):
    type: str = "content_block_delta"
    index: int = 0
    delta: Any = None
    _nested = {"delta": _typed(_DELTA_TYPES)}


@_model
class RawContentBlockStopEvent(BaseModel):
    type: str = "content_block_stop"
    index: int = 0


_EVENT_TYPES = {
    "message_start": RawMessageStartEvent, "message_delta": RawMessageDeltaEvent,
    "message_stop": RawMessageStopEvent, "content_block_start": RawContentBlockStartEvent,
    "content_block_delta": RawContentBlockDeltaEvent,
    "content_block_stop": RawContentBlockStopEvent,
}

# Deprecated SDK aliases of the raw events, kept so old code still resolves the names.
MessageStartEvent = RawMessageStartEvent
MessageDeltaEvent = RawMessageDeltaEvent
ContentBlockStartEvent = RawContentBlockStartEvent
ContentBlockDeltaEvent = RawContentBlockDeltaEvent


# Derived events: what ``MessageStream`` yields after the raw event that caused them.

@_model
class TextEvent(BaseModel):
    type: str = "text"
    text: str = ""
    snapshot: str = ""


@_model
class ThinkingEvent(BaseModel):
    type: str = "thinking"
    thinking: str = ""
    snapshot: str = ""


@_model
class InputJsonEvent(BaseModel):
    type: str = "input_json"
    partial_json: str = ""
    snapshot: Any = None


@_model
class CitationEvent(BaseModel):
    type: str = "citation"
    citation: Any = None
    snapshot: List[Any] = field(default_factory=list)


@_model
class SignatureEvent(BaseModel):
    type: str = "signature"
    signature: str = ""


@_model
class ContentBlockStopEvent(RawContentBlockStopEvent):
    content_block: Any = None


@_model
class MessageStopEvent(RawMessageStopEvent):
    message: Optional[Message] = None


ParsedContentBlockStopEvent = ContentBlockStopEvent
ParsedMessageStopEvent = MessageStopEvent


def _lazy_snapshot(cls: type, compute: Callable[[Any], Any]) -> None:
    """Give ``cls`` a ``snapshot`` computed on first read from ``_src`` (set by the feeder).

    Text and tool input grow with every delta; building each event's snapshot eagerly
    would cost O(answer) per event. The accumulator stores ``(buffer, length)`` instead,
    and the value is made -- exactly as it was at that event -- only if someone reads it.
    """
    def get(self: Any) -> Any:
        d = self.__dict__
        if "snapshot" not in d:
            d["snapshot"] = compute(d.pop("_src")) if "_src" in d else None
        return d["snapshot"]

    def set_(self: Any, value: Any) -> None:
        self.__dict__["snapshot"] = value

    def fields(self: Any) -> Dict[str, Any]:
        self.snapshot  # noqa: B018 -- materialise before showing
        return self.__dict__

    cls.snapshot = property(get, set_)  # type: ignore[attr-defined]
    cls._fields = fields  # type: ignore[attr-defined]


# -- SSE decoding -------------------------------------------------------------------------
#
# WHATWG HTML, "Interpreting an event stream". Lines are split on bytes, so only CR, LF and
# CRLF end a line (never U+2028, U+0085 or VT, which str.splitlines would honour), and each
# complete line is decoded on its own, so a UTF-8 character split between reads is whole.

@dataclass
class ServerSentEvent:
    """One dispatched event: ``event`` is None when the block had no ``event:`` field."""
    event: Optional[str] = None
    data: str = ""
    id: Optional[str] = None
    retry: Optional[int] = None

    def json(self) -> Any:
        return json.loads(self.data)


def _too_large(limit: int) -> APIResponseValidationError:
    return APIResponseValidationError(
        "event stream line or event exceeds %d bytes; refusing to buffer more" % limit)


def iter_lines(chunks: Iterable[bytes], max_size: int = DEFAULT_MAX_LINE_SIZE) -> Iterator[bytes]:
    """Yield each complete line of ``chunks`` without its terminator; the unended tail is dropped."""
    parts: List[bytes] = []  # pieces of a line that has not ended yet
    size = 0
    skip_lf = False  # the last chunk ended in CR: an LF opening the next one ends nothing
    for chunk in chunks:
        if not chunk:
            continue
        if skip_lf:
            skip_lf = False
            if chunk[0] == 10:
                chunk = chunk[1:]
                if not chunk:
                    continue
        lines = chunk.splitlines(True)  # bytes.splitlines: CR, LF, CRLF only
        tail = lines[-1]
        if tail[-1] in (10, 13):
            tail = b""
            skip_lf = lines[-1][-1] == 13
        else:
            lines.pop()
        for line in lines:
            if parts:
                size += len(line)
                if size > max_size:
                    raise _too_large(max_size)
                parts.append(line)
                line = b"".join(parts)
                parts, size = [], 0
            yield line[:-2] if line[-2:] == b"\r\n" else line[:-1]
        if tail:
            size += len(tail)
            if size > max_size:
                raise _too_large(max_size)
            parts.append(tail)


def iter_sse(chunks: Iterable[bytes], max_size: int = DEFAULT_MAX_LINE_SIZE) -> Iterator[ServerSentEvent]:
    """Decode a byte stream split anywhere into ``ServerSentEvent``s, per the WHATWG rules."""
    event: Optional[str] = None
    data: List[str] = []
    size = 0
    last_id: Optional[str] = None  # the spec's "last event ID buffer" persists across events
    retry: Optional[int] = None
    first = True
    for raw in iter_lines(chunks, max_size):
        if first:
            first = False
            if raw[:3] == b"\xef\xbb\xbf":  # one leading BOM is ignored
                raw = raw[3:]
        if not raw:  # a blank line dispatches the block, unless it carried no data field
            if data:
                yield ServerSentEvent(event or None, "\n".join(data), last_id, retry)
            event, data, size, retry = None, [], 0, None
            continue
        if raw[0] == 58:  # ":" starts a comment
            continue
        name, colon, value = raw.partition(b":")
        if colon and value[:1] == b" ":  # one space after the colon is not part of the value
            value = value[1:]
        text = value.decode("utf-8", "replace")
        if name == b"data":
            size += len(value)
            if size > max_size:
                raise _too_large(max_size)
            data.append(text)
        elif name == b"event":
            event = text
        elif name == b"id":
            if "\0" not in text:  # an id containing NUL is ignored
                last_id = text
        elif name == b"retry":
            if value.isdigit():  # bytes.isdigit: ASCII digits only
                retry = int(value)
        # any other field name is ignored


# -- Accumulator --------------------------------------------------------------------------
#
# Design notes. Text, thinking and tool-input JSON arrive as many small deltas. Appending to
# a str attribute copies the whole answer each time (quadratic), so each growing block
# keeps a ``_Buffer`` of parts instead; the block's attribute is brought up to date when
# someone reads the snapshot (``.message``), at ``content_block_stop`` and at the end. Tool
# input is parsed once, at ``content_block_stop``; the ``input_json`` event's snapshot --
# the SDK's partial parse -- is computed only if it is read.

class _Buffer:
    """Text that grows by appending: O(fragment) per append, joined only when read."""
    __slots__ = ("parts", "size")

    def __init__(self, start: str = "") -> None:
        self.parts = [start] if start else []
        self.size = len(start)

    def append(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def value(self) -> str:
        parts = self.parts
        if len(parts) > 1:
            parts[:] = ["".join(parts)]
        return parts[0] if parts else ""


_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_STRING_START = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*(?:\\u?[0-9a-fA-F]{0,3})?\Z')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?(?![0-9.eE+-])")
_NUMBER_START = re.compile(r"-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?)?\Z")
_CLOSERS = {"{": "}", "[": "]"}


def _partial_json(text: str) -> Any:
    """Parse a prefix of a JSON document as the SDK's partial mode does.

    Finished values are kept and open containers closed; an unfinished string, literal or
    number-in-progress at the end is dropped (``{"a": 1, "b": "Sa`` gives ``{"a": 1}``).
    Raises ``ValueError`` for text that no continuation could make valid. Returns None
    when nothing is finished yet.
    """
    stack: List[str] = []
    expect = "value"  # value, key, colon, comma, done; "first" forms allow a closer
    keep = None  # (end offset, closers) of the longest prefix that is a finished value
    pos, n = _WS.match(text, 0).end(), len(text)
    while pos < n:
        c = text[pos]
        if c == '"' and expect in ("value", "key", "first_value", "first_key"):
            m = _STRING.match(text, pos)
            if m is None:
                if _STRING_START.match(text, pos):
                    break
                raise ValueError("invalid string at offset %d" % pos)
            pos = m.end()
            if expect.endswith("key"):
                expect = "colon"
                pos = _WS.match(text, pos).end()
                continue
        elif c in "-0123456789" and expect in ("value", "first_value"):
            m = _NUMBER.match(text, pos)
            if m is None:
                if _NUMBER_START.match(text, pos):
                    break
                raise ValueError("invalid number at offset %d" % pos)
            pos = m.end()
        elif c in "tfn" and expect in ("value", "first_value"):
            word = next((w for w in ("true", "false", "null") if w[0] == c), "")
            if text.startswith(word, pos):
                pos += len(word)
            elif word.startswith(text[pos:]):
                break
            else:
                raise ValueError("invalid literal at offset %d" % pos)
        elif c in "[{" and expect in ("value", "first_value"):
            stack.append(_CLOSERS[c])
            pos += 1
            expect = "first_key" if c == "{" else "first_value"
            keep = (pos, "".join(reversed(stack)))
            pos = _WS.match(text, pos).end()
            continue
        elif stack and c == stack[-1] and expect in ("comma", "first_key", "first_value"):
            stack.pop()
            pos += 1
        elif c == "," and expect == "comma":
            expect = "key" if stack[-1] == "}" else "value"
            pos = _WS.match(text, pos + 1).end()
            continue
        elif c == ":" and expect == "colon":
            expect = "value"
            pos = _WS.match(text, pos + 1).end()
            continue
        else:
            raise ValueError("unexpected %r at offset %d" % (c, pos))
        # a value just finished
        expect = "comma" if stack else "done"
        keep = (pos, "".join(reversed(stack)))
        pos = _WS.match(text, pos).end()
    if keep is None:
        return None
    return json.loads(text[:keep[0]] + keep[1])


def _input_snapshot(src: Any) -> Any:
    buf, length, start = src
    text = buf.value()[:length]
    if not text.strip():
        return start
    try:
        return json.loads(text)
    except ValueError:
        value = _partial_json(text)
        return start if value is None else value


_lazy_snapshot(TextEvent, lambda src: src[0].value()[:src[1]])
_lazy_snapshot(ThinkingEvent, lambda src: src[0].value()[:src[1]])
_lazy_snapshot(InputJsonEvent, _input_snapshot)

_TOOL_INPUT_BLOCKS = frozenset(("tool_use", "server_tool_use", "mcp_tool_use"))


def _bad_stream(message: str) -> APIResponseValidationError:
    return APIResponseValidationError("malformed event stream: " + message)


def _incomplete() -> APIConnectionError:
    return APIConnectionError(
        "stream ended before message_stop: the response is incomplete (the partial "
        "message is kept on the stream's current_message_snapshot)")


def parse_event(sse: ServerSentEvent) -> Any:
    """Turn one ``ServerSentEvent`` into its typed event (an unknown type stays a ``BaseModel``)."""
    try:
        data = json.loads(sse.data)
    except ValueError as exc:
        raise APIResponseValidationError(
            "event %r carried data that is not JSON (%s): %.200r"
            % (sse.event or "message", exc, sse.data), body=sse.data) from exc
    if not isinstance(data, dict):
        raise APIResponseValidationError(
            "event %r carried JSON that is not an object: %.200r" % (sse.event or "message", sse.data),
            body=sse.data)
    if "type" not in data:
        data["type"] = sse.event
    return _EVENT_TYPES.get(data["type"], BaseModel)._from(data)


class MessageAccumulator:
    """Folds raw stream events into a ``Message`` snapshot, with no I/O.

    ``feed(event)`` updates the snapshot and returns what ``MessageStream`` yields for the
    event: the raw event plus any derived ones (``ping`` gives nothing). ``done`` turns true
    at ``message_stop``.
    """

    def __init__(self) -> None:
        self._message: Optional[Message] = None
        self._buffers: Dict[int, _Buffer] = {}  # growing text/thinking/JSON, by block index
        self._starts: Dict[int, Any] = {}  # each tool block's input as content_block_start sent it
        self.done = False

    @property
    def message(self) -> Optional[Message]:
        """The snapshot so far (None before ``message_start``)."""
        for index in list(self._buffers):
            self._flush(index)
        return self._message

    def feed(self, event: Any) -> List[Any]:
        handler = self._handlers.get(event.type)
        if handler is None:
            return [event]  # an event type this module does not know passes through
        return handler(self, event)

    def _block(self, event: Any) -> Any:
        if self._message is None:
            raise _bad_stream("%s before message_start" % event.type)
        content = self._message.content
        index = event.index
        if not isinstance(index, int) or not 0 <= index < len(content):
            raise _bad_stream("%s for content block %r, but the message has %d"
                              % (event.type, index, len(content)))
        return content[index]

    def _flush(self, index: int) -> None:
        """Write the buffered text or JSON of block ``index`` into the snapshot's block."""
        buf = self._buffers.get(index)
        block = self._message.content[index]  # type: ignore[union-attr]
        if buf is None:
            return
        if block.type == "text":
            block.text = buf.value()
        elif block.type == "thinking":
            block.thinking = buf.value()
        else:
            block.input = _input_snapshot((buf, buf.size, self._starts[index]))

    def _on_message_start(self, event: RawMessageStartEvent) -> List[Any]:
        if self._message is None:  # a repeated message_start is ignored, as the SDK does
            msg = event.message if isinstance(event.message, Message) else Message._from({})
            self._message = Message._from(msg.to_dict())  # a copy: deltas must not touch the event
            self._message.__dict__.setdefault("content", [])
        return [event]

    def _on_block_start(self, event: RawContentBlockStartEvent) -> List[Any]:
        if self._message is None:
            raise _bad_stream("content_block_start before message_start")
        block = event.content_block
        copy = type(block)._from(block.to_dict()) if isinstance(block, BaseModel) else block
        self._message.content.append(copy)
        return [event]

    def _on_block_delta(self, event: RawContentBlockDeltaEvent) -> List[Any]:
        block = self._block(event)
        delta, index = event.delta, event.index
        kind, btype = getattr(delta, "type", None), getattr(block, "type", None)
        if kind == "text_delta" and btype == "text":
            buf = self._buffer(index, block.text)
            buf.append(delta.text or "")
            return [event, _derived(TextEvent, "text", delta.text, buf)]
        if kind == "thinking_delta" and btype == "thinking":
            buf = self._buffer(index, block.thinking)
            buf.append(delta.thinking or "")
            return [event, _derived(ThinkingEvent, "thinking", delta.thinking, buf)]
        if kind == "input_json_delta" and btype in _TOOL_INPUT_BLOCKS:
            if index not in self._buffers:
                self._starts[index] = block.input
            buf = self._buffer(index, "")
            buf.append(delta.partial_json or "")
            ev = InputJsonEvent._from({"type": "input_json", "partial_json": delta.partial_json})
            ev.__dict__["_src"] = (buf, buf.size, self._starts[index])
            return [event, ev]
        if kind == "citations_delta" and btype == "text":
            if block.citations is None:
                block.citations = []
            block.citations.append(delta.citation)
            return [event, CitationEvent._from(
                {"type": "citation", "citation": delta.citation, "snapshot": list(block.citations)})]
        if kind == "signature_delta" and btype == "thinking":
            block.signature = delta.signature
            return [event, SignatureEvent._from({"type": "signature", "signature": delta.signature})]
        return [event]  # a delta this module does not know, or on a block it does not fit

    def _buffer(self, index: int, start: str) -> _Buffer:
        buf = self._buffers.get(index)
        if buf is None:
            buf = self._buffers[index] = _Buffer(start or "")
        return buf

    def _on_block_stop(self, event: RawContentBlockStopEvent) -> List[Any]:
        block = self._block(event)
        buf = self._buffers.pop(event.index, None)
        if buf is not None and block.type in ("text", "thinking"):
            setattr(block, block.type, buf.value())
        elif buf is not None:
            block.input = self._final_input(event.index, block, buf.value())
        fields = dict(event.__dict__, content_block=block)
        return [ContentBlockStopEvent._from(fields)]

    def _final_input(self, index: int, block: Any, text: str) -> Any:
        """Parse a tool block's JSON once; a cut-off prefix keeps what finished (as the SDK)."""
        start = self._starts.pop(index, {})
        if not text.strip():
            return start
        try:
            return json.loads(text)
        except ValueError as exc:
            error = exc
        try:
            value = _partial_json(text)
        except ValueError:
            shown = text if len(text) <= 300 else text[:150] + " ... " + text[-150:]
            raise _bad_stream(
                "tool input for content block %d (%s %r, id %s) is not valid JSON (%s): %r"
                % (index, block.type, getattr(block, "name", None), getattr(block, "id", None),
                   error, shown)) from error
        return start if value is None else value

    def _on_message_delta(self, event: RawMessageDeltaEvent) -> List[Any]:
        msg = self._message
        if msg is None:
            raise _bad_stream("message_delta before message_start")
        delta = event.delta.__dict__ if isinstance(event.delta, BaseModel) else {}
        msg.stop_reason = delta.get("stop_reason")
        msg.stop_sequence = delta.get("stop_sequence")
        msg.stop_details = delta.get("stop_details")
        if delta.get("container") is not None:
            msg.container = delta["container"]
        if isinstance(event.usage, BaseModel):
            if "usage" not in msg.__dict__:
                msg.usage = Usage._from({})
            for name, value in event.usage.__dict__.items():
                if value is not None:  # counters are cumulative: overwrite, never add
                    setattr(msg.usage, name, value)
        return [event]

    def _on_message_stop(self, event: RawMessageStopEvent) -> List[Any]:
        self.done = True
        return [MessageStopEvent._from(dict(event.__dict__, message=self.message))]

    def _on_ping(self, event: Any) -> List[Any]:
        return []

    def _on_error(self, event: Any) -> List[Any]:
        raise _error_from_event(event.to_dict())

    _handlers = {
        "message_start": _on_message_start, "content_block_start": _on_block_start,
        "content_block_delta": _on_block_delta, "content_block_stop": _on_block_stop,
        "message_delta": _on_message_delta, "message_stop": _on_message_stop,
        "ping": _on_ping, "error": _on_error,
    }


def _derived(cls: type, name: str, text: Optional[str], buf: _Buffer) -> Any:
    """A text or thinking event whose snapshot is read lazily from ``buf``."""
    ev = cls._from({"type": name, name: text})
    ev.__dict__["_src"] = (buf, buf.size)
    return ev


def accumulate(events: Iterable[Any]) -> Message:
    """Fold a whole sequence of raw events into the final ``Message``.

    Raises ``APIConnectionError`` if the events end before ``message_stop``.
    """
    acc = MessageAccumulator()
    for event in events:
        acc.feed(event)
    if not acc.done or acc.message is None:
        raise _incomplete()
    return acc.message

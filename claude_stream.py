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

The file reads top to bottom in the order data flows; each section opens with a banner:

    Errors        the exception classes (the SDK's names) and the helpers that build them
    Models        Message, Usage, content blocks, deltas, events
    SSE decoding  SSEDecoder (bytes in, ServerSentEvents out) and iter_sse, its pull form
    Events        one ServerSentEvent -> one typed event (parse_event); the delta fast path
    Accumulator   MessageAccumulator: events or frames -> the Message snapshot, derived events
    Retry policy  which failures retry, and how long to wait (pure)
    Transport     http.client connections, TLS, proxies, the pool: the sync network code
    Public API    Anthropic, Messages, Stream, MessageStream
    Backpressure  background(): a thread and a bounded queue, for slow sync consumers
    Async         AsyncAnthropic
    CLI           main(argv) -> exit status

Everything above Retry policy is sans-IO: bytes or values in, values out, no socket, no clock.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    # errors
    "AnthropicError", "APIError", "APIConnectionError", "APITimeoutError",
    "APIResponseValidationError", "APIStatusError", "BadRequestError",
    "AuthenticationError", "PaymentRequiredError", "PermissionDeniedError", "NotFoundError",
    "RequestTimeoutError", "ConflictError", "PreconditionFailedError", "ContentTooLargeError",
    "RequestTooLargeError", "UnprocessableEntityError", "RateLimitError",
    "RequestHeaderFieldsTooLargeError", "ClientClosedRequestError", "InternalServerError",
    "HTTPNotImplementedError", "ServiceUnavailableError", "GatewayTimeoutError",
    "DeadlineExceededError", "OverloadedError",
    # models
    "BaseModel", "Message", "Usage", "MessageDeltaUsage", "CacheCreation", "ServerToolUsage",
    "MessageTokensCount",
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
    "ServerSentEvent", "SSEDecoder", "iter_lines", "iter_sse", "parse_event", "MessageAccumulator",
    "accumulate",
    # client
    "Anthropic", "Messages", "MessageStream", "MessageStreamManager", "Stream",
    "background", "AsyncAnthropic", "AsyncMessageStream", "AsyncStream",
    # command line
    "main",
]

import http.client
import json
import os
import re
import socket
import sys
import threading
import time
from urllib.parse import urlencode, urlsplit

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations are never evaluated at run time: typing costs import time only
    from typing import Any, Callable, Dict, Generator, Iterable, Iterator, List, Mapping, Optional, Tuple

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 600.0  # per socket read: an idle limit, so pings keep a stream alive
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_LINE_SIZE = 16 * 1024 * 1024  # bytes in one SSE line or event before we give up
_READ_SIZE = 64 * 1024
DEFAULT_MODEL = "claude-sonnet-5"  # the CLI's model unless -m or CLAUDE_STREAM_MODEL says otherwise


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
        details = error.get("details") if isinstance(error, dict) else None
        self.error_code = details.get("error_code") if isinstance(details, dict) else None


# The SDK's (2.12) status classes and their tree: 501, 503, 504 and 529 are server errors too.
class BadRequestError(APIStatusError): """HTTP 400."""
class AuthenticationError(APIStatusError): """HTTP 401."""
class PaymentRequiredError(APIStatusError): """HTTP 402."""
class PermissionDeniedError(APIStatusError): """HTTP 403."""
class NotFoundError(APIStatusError): """HTTP 404."""
class RequestTimeoutError(APIStatusError): """HTTP 408."""
class ConflictError(APIStatusError): """HTTP 409."""
class PreconditionFailedError(APIStatusError): """HTTP 412."""
class ContentTooLargeError(APIStatusError): """HTTP 413."""
class UnprocessableEntityError(APIStatusError): """HTTP 422."""
class RateLimitError(APIStatusError): """HTTP 429."""
class RequestHeaderFieldsTooLargeError(APIStatusError): """HTTP 431."""
class ClientClosedRequestError(APIStatusError): """HTTP 499."""
class InternalServerError(APIStatusError): """HTTP 500 and above."""
class HTTPNotImplementedError(InternalServerError): """HTTP 501."""
class ServiceUnavailableError(InternalServerError): """HTTP 503."""
class GatewayTimeoutError(InternalServerError): """HTTP 504."""
class OverloadedError(InternalServerError): """HTTP 529: the API is overloaded."""


RequestTooLargeError = ContentTooLargeError  # the SDK's older names for the same classes
DeadlineExceededError = GatewayTimeoutError

# The SDK raises a class of its own for some (status, error.details.error_code) pairs; each is a
# subclass of the status's class, so code that catches the status class still catches it.
_ERROR_CODES = {  # error.details.error_code -> (class name, its parent), the ones SDK 2.12 exports
    "claude_code_key_creator_not_member": ("ClaudeCodeKeyCreatorNotMemberError", BadRequestError),
    "claude_code_version_too_old": ("ClaudeCodeVersionTooOldError", BadRequestError),
    "cmek_key_disabled": ("CMEKKeyDisabledError", BadRequestError),
    "cmek_key_network_blocked": ("CMEKKeyNetworkBlockedError", BadRequestError),
    "organization_on_hold": ("OrganizationOnHoldError", BadRequestError),
    "organization_type_not_supported": ("OrganizationTypeNotSupportedError", BadRequestError),
    "parent_organization_required": ("ParentOrganizationRequiredError", BadRequestError),
    "request_body_encoding_invalid": ("RequestBodyEncodingInvalidError", BadRequestError),
    "request_body_encoding_unsupported": ("RequestBodyEncodingUnsupportedError", BadRequestError),
    "linked_organization_billing_unavailable": ("LinkedOrganizationBillingUnavailableError", PaymentRequiredError),
    "linked_organization_spend_limit_reached": ("LinkedOrganizationSpendLimitReachedError", PaymentRequiredError),
    "sandbox_egress_restricted": ("SandboxEgressRestrictedError", PermissionDeniedError),
    "request_body_too_large_after_decoding": ("RequestBodyTooLargeAfterDecodingError", ContentTooLargeError),
    "contract_spend_limit_reached": ("ContractSpendLimitReachedError", RateLimitError),
    "enforced_spend_limit_reached": ("EnforcedSpendLimitReachedError", RateLimitError),
    "ramp_limit_exceeded": ("RampLimitExceededError", RateLimitError),
    "cmek_context_unavailable": ("CMEKContextUnavailableError", ServiceUnavailableError),
    "cmek_key_unreachable": ("CMEKKeyUnreachableError", ServiceUnavailableError),
}
_ERROR_CODE_CLASSES = {code: type(name, (parent,), {"__module__": __name__, "__doc__": "%s with error_code %s."
                                                     % (parent.__name__, code)})
                       for code, (name, parent) in _ERROR_CODES.items()}
globals().update((cls.__name__, cls) for cls in _ERROR_CODE_CLASSES.values())
__all__ += [cls.__name__ for cls in _ERROR_CODE_CLASSES.values()]

_STATUS_ERRORS = {
    400: BadRequestError, 401: AuthenticationError, 402: PaymentRequiredError,
    403: PermissionDeniedError, 404: NotFoundError, 408: RequestTimeoutError, 409: ConflictError,
    412: PreconditionFailedError, 413: ContentTooLargeError, 422: UnprocessableEntityError,
    429: RateLimitError, 431: RequestHeaderFieldsTooLargeError, 499: ClientClosedRequestError,
    501: HTTPNotImplementedError, 503: ServiceUnavailableError, 504: GatewayTimeoutError,
    529: OverloadedError,
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
    coded = _ERROR_CODE_CLASSES.get(_error_code(body))  # type: ignore[arg-type]
    if coded is not None and coded.__bases__[0] is cls:  # the code's class, when it is the status's
        cls = coded
    detail = _describe_body(body)
    message = "Error code: %d" % status + (" - " + detail if detail else "")
    if request_id:
        message += " (request-id %s)" % request_id
    return cls(message, response=response, body=body, status_code=status, request_id=request_id)


def _error_code(body: Any) -> Optional[str]:
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    code = details.get("error_code") if isinstance(details, dict) else None
    return code if isinstance(code, str) else None


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
    kind = error.get("type")
    status = _ERROR_TYPE_STATUS.get(kind, 500) if isinstance(kind, str) else 500 if kind else 200
    return _status_error(status, data, response=response,
                         request_id=request_id or data.get("request_id"))


class _MissingCredentials(AnthropicError, TypeError):
    """No API key or auth token was configured (the SDK raises TypeError here)."""


def _blamed(error: APIError, response: Any) -> APIError:
    """``error`` from the sans-IO core, told which response it came from."""
    if isinstance(error, APIStatusError) and error.response is None and isinstance(error.body, dict):
        return _error_from_event(error.body, response=response, request_id=response.getheader("request-id"))
    if isinstance(error, APIResponseValidationError) and error.response is None:
        error.response = response
    return error


def _too_large(limit: int) -> APIResponseValidationError:
    return APIResponseValidationError(
        "event stream line or event exceeds %d bytes; refusing to buffer more" % limit)


def _bad_stream(message: str) -> APIResponseValidationError:
    return APIResponseValidationError("malformed event stream: " + message)


def _incomplete() -> APIConnectionError:
    return APIConnectionError(
        "stream ended before message_stop: the response is incomplete (the partial "
        "message is kept on the stream's current_message_snapshot)")


def _transport_error(exc: BaseException, doing: str, proxy: Any = None) -> APIError:
    """The ``APIConnectionError`` for a socket/TLS/HTTP failure while ``doing`` something."""
    ssl = sys.modules.get("ssl")
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, socket.timeout):
        return APITimeoutError("timed out %s" % doing)
    if ssl is not None and isinstance(exc, ssl.SSLCertVerificationError):
        return APIConnectionError(
            "TLS certificate verification failed %s: %s. If a proxy or gateway on your network "
            "uses its own CA, point SSL_CERT_FILE at a PEM bundle that includes it, or pass "
            "ssl_context=" % (doing, getattr(exc, "verify_message", None) or exc))
    if proxy is not None and reason.startswith("Tunnel connection failed"):
        return APIConnectionError("the proxy %s:%d refused the tunnel: %s" % (
            proxy.host, proxy.port, reason.split(":", 1)[1].strip()))
    if isinstance(exc, http.client.LineTooLong) or "got more than" in reason:
        return APIResponseValidationError("refused the response headers (%s)" % reason)
    if isinstance(exc, http.client.IncompleteRead):
        reason = "connection closed before the body was complete"
    elif isinstance(exc, ConnectionRefusedError):
        reason = "connection refused"
    return APIConnectionError("connection error %s: %s" % (doing, reason))


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


class _ModelType(type):
    """Makes a model a dataclass when ``__dataclass_fields__`` is first read (import skips ``dataclasses``)."""

    def __getattr__(cls, name: str) -> Any:
        if name != "__dataclass_fields__" or "_defaults" not in cls.__dict__:
            raise AttributeError(name)
        import dataclasses
        specs = [(k, "Any", dataclasses.field(default_factory=v) if isinstance(v, type)
                  else dataclasses.field(default=v)) for k, v in cls._defaults.items()]
        shadow = dataclasses.make_dataclass(cls.__name__, specs, init=False, repr=False, eq=False)
        cls.__dataclass_fields__ = shadow.__dataclass_fields__
        cls.__dataclass_params__ = shadow.__dataclass_params__
        return cls.__dataclass_fields__


class BaseModel(metaclass=_ModelType):
    """Base of every model: attributes are the JSON fields; unknown fields are kept."""

    _nested: Dict[str, Callable[[Any], Any]] = {}
    _defaults: Dict[str, Any] = {}  # field -> default; a class default is a factory

    def __init__(self, **fields: Any) -> None:
        """Keyword construction: declared fields get their defaults; other keywords are kept."""
        d = self.__dict__
        for name, default in self._defaults.items():
            if name in fields:
                d[name] = fields.pop(name)
            else:
                d[name] = default() if isinstance(default, type) else default
        d.update(fields)

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
        # a fresh (unstored) default, like the simple fields' class-level defaults.
        default = type(self)._defaults.get(name)
        if isinstance(default, type):
            return default()
        raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))

    def _fields(self) -> Dict[str, Any]:
        return self.__dict__

    def to_dict(self) -> Dict[str, Any]:
        """The JSON object this model stands for, unknown fields included."""
        try:
            return {k: _dump(v) for k, v in self._fields().items()}
        except RecursionError as exc:  # only hostile input nests this deep
            raise APIResponseValidationError("a %s nested too deeply to convert" % type(self).__name__) from exc

    def to_json(self, *, indent: Optional[int] = 2) -> str:
        """``to_dict()`` as JSON text (indented by 2, as the SDK's)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def model_dump(self, **_: Any) -> Dict[str, Any]:
        """``to_dict()`` under its pydantic name, for code written against the SDK."""
        return self.to_dict()

    def model_dump_json(self, *, indent: Optional[int] = None, **_: Any) -> str:
        return self.to_json(indent=indent)

    def __repr__(self) -> str:
        args = ", ".join("%s=%r" % kv for kv in self._fields().items())
        return "%s(%s)" % (type(self).__name__, args)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._fields() == self._fields()  # type: ignore

    __hash__ = None  # type: ignore  # mutable, like the SDK's models


def _model(cls_name: str, base: type = BaseModel, /, *, nested: Optional[Dict[str, Any]] = None,
           **defaults: Any) -> Any:
    """Declare a model: ``defaults`` are its JSON fields in order, with their defaults.

    A default that is a class (``list``, ``Usage``) is a factory for a fresh one; ``nested``
    maps a field to the converter that turns its JSON into models.
    """
    fields = dict(base._defaults, **defaults)  # type: ignore[attr-defined]
    nested = dict(base._nested, **(nested or {}))  # type: ignore[attr-defined]
    namespace = {k: v for k, v in fields.items() if not isinstance(v, type)}  # class-level defaults
    namespace.update(__module__=__name__, __annotations__={k: "Any" for k in fields}, _defaults=fields,
                     _nested=nested, __doc__="The ``%s`` object of the Messages API." % (fields.get("type") or cls_name))
    return _ModelType(cls_name, (base,), namespace)


def _any(value: Any) -> Any:
    """Convert nested JSON: objects become models (typed by ``type`` where known)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                value[k] = _any(v)
        return _class_of(_KNOWN_TYPES, value)._from(value)
    if isinstance(value, list):
        return [_any(v) for v in value]
    return value


def _class_of(table: Dict[str, type], value: Dict[str, Any]) -> Any:
    """The model class for a JSON object by its ``type``; ``BaseModel`` if unknown or not a string."""
    kind = value.get("type")
    return table.get(kind, BaseModel) if kind.__class__ is str else BaseModel


def _typed(table: Dict[str, type]) -> Callable[[Any], Any]:
    """A converter choosing the class by the object's ``type`` (unknown: ``BaseModel``)."""
    def convert(value: Any) -> Any:
        if value.__class__ is dict:
            return _class_of(table, value)._from(value)
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value
    return convert


def _as(cls: type) -> Callable[[Any], Any]:
    return lambda value: cls._from(value) if isinstance(value, dict) else value


# Usage. Counters the API adds later are kept as unknown fields.
CacheCreation = _model("CacheCreation", ephemeral_5m_input_tokens=0, ephemeral_1h_input_tokens=0)
ServerToolUsage = _model("ServerToolUsage", web_search_requests=0, web_fetch_requests=None)
_USAGE_NESTED = {"cache_creation": _as(CacheCreation), "server_tool_use": _as(ServerToolUsage)}
Usage = _model("Usage", nested=_USAGE_NESTED, input_tokens=0, output_tokens=0,
               cache_creation_input_tokens=None, cache_read_input_tokens=None, cache_creation=None,
               server_tool_use=None, service_tier=None)
MessageDeltaUsage = _model("MessageDeltaUsage", nested=_USAGE_NESTED, output_tokens=0, input_tokens=None,
                           cache_creation_input_tokens=None, cache_read_input_tokens=None,
                           server_tool_use=None)

# Citations (the ``citations`` of a text block, the ``citation`` of a citations_delta).
_DOC = dict(cited_text="", document_index=0, document_title=None)
CitationCharLocation = _model("CitationCharLocation", type="char_location", **_DOC,
                              start_char_index=0, end_char_index=0, file_id=None)
CitationPageLocation = _model("CitationPageLocation", type="page_location", **_DOC,
                              start_page_number=0, end_page_number=0, file_id=None)
CitationContentBlockLocation = _model("CitationContentBlockLocation", type="content_block_location", **_DOC,
                                      start_block_index=0, end_block_index=0, file_id=None)
CitationsWebSearchResultLocation = _model("CitationsWebSearchResultLocation", type="web_search_result_location",
                                          cited_text="", url="", title=None, encrypted_index="")
CitationsSearchResultLocation = _model("CitationsSearchResultLocation", type="search_result_location",
                                       cited_text="", source="", title=None, search_result_index=0,
                                       start_block_index=0, end_block_index=0)
_CITATION_TYPES = {c.type: c for c in (CitationCharLocation, CitationPageLocation, CitationContentBlockLocation,
                                       CitationsWebSearchResultLocation, CitationsSearchResultLocation)}
_citation = _typed(_CITATION_TYPES)

# Content blocks. Server tools' result blocks share one shape: ``tool_use_id`` + ``content``.
TextBlock = _model("TextBlock", nested={"citations": _citation}, type="text", text="", citations=None)
ThinkingBlock = _model("ThinkingBlock", type="thinking", thinking="", signature="")
RedactedThinkingBlock = _model("RedactedThinkingBlock", type="redacted_thinking", data="")
ToolUseBlock = _model("ToolUseBlock", nested={"caller": _any}, type="tool_use", id="", name="",
                      input=dict, caller=None)
ServerToolUseBlock = _model("ServerToolUseBlock", nested={"caller": _any}, type="server_tool_use", id="",
                            name="", input=dict, caller=None)  # not a ToolUseBlock: nothing to run
_ToolResult = _model("_ToolResult", nested={"content": _any, "caller": _any},
                     type="", tool_use_id="", content=None, caller=None)
WebSearchToolResultBlock = _model("WebSearchToolResultBlock", _ToolResult, type="web_search_tool_result")
WebFetchToolResultBlock = _model("WebFetchToolResultBlock", _ToolResult, type="web_fetch_tool_result")
CodeExecutionToolResultBlock = _model("CodeExecutionToolResultBlock", _ToolResult,
                                      type="code_execution_tool_result")
BashCodeExecutionToolResultBlock = _model("BashCodeExecutionToolResultBlock", _ToolResult,
                                          type="bash_code_execution_tool_result")
TextEditorCodeExecutionToolResultBlock = _model("TextEditorCodeExecutionToolResultBlock", _ToolResult,
                                                type="text_editor_code_execution_tool_result")
ToolSearchToolResultBlock = _model("ToolSearchToolResultBlock", _ToolResult, type="tool_search_tool_result")
ContainerUploadBlock = _model("ContainerUploadBlock", type="container_upload", file_id="")
_BLOCK_TYPES = {c.type: c for c in (
    TextBlock, ThinkingBlock, RedactedThinkingBlock, ToolUseBlock, ServerToolUseBlock,
    WebSearchToolResultBlock, WebFetchToolResultBlock, CodeExecutionToolResultBlock,
    BashCodeExecutionToolResultBlock, TextEditorCodeExecutionToolResultBlock, ToolSearchToolResultBlock,
    ContainerUploadBlock)}
_KNOWN_TYPES = dict(_BLOCK_TYPES, **_CITATION_TYPES)
_block = _typed(_BLOCK_TYPES)

Message = _model("Message", nested={"content": _block, "usage": _as(Usage), "stop_details": _any,
                                    "container": _any},
                 id="", type="message", role="assistant", model="", content=list, stop_reason=None,
                 stop_sequence=None, stop_details=None, container=None, usage=Usage)

# Deltas, and the ``delta`` of a message_delta event.
TextDelta = _model("TextDelta", type="text_delta", text="")
InputJSONDelta = _model("InputJSONDelta", type="input_json_delta", partial_json="")
CitationsDelta = _model("CitationsDelta", nested={"citation": _citation}, type="citations_delta", citation=None)
ThinkingDelta = _model("ThinkingDelta", type="thinking_delta", thinking="")
SignatureDelta = _model("SignatureDelta", type="signature_delta", signature="")
_DELTA_TYPES = {c.type: c for c in (TextDelta, InputJSONDelta, CitationsDelta, ThinkingDelta, SignatureDelta)}
MessageDelta = _model("MessageDelta", nested={"stop_details": _any, "container": _any},
                      stop_reason=None, stop_sequence=None, stop_details=None, container=None)

# Raw stream events, one class per ``type``.
RawMessageStartEvent = _model("RawMessageStartEvent", nested={"message": _as(Message)},
                              type="message_start", message=None)
RawMessageDeltaEvent = _model("RawMessageDeltaEvent",
                              nested={"delta": _as(MessageDelta), "usage": _as(MessageDeltaUsage)},
                              type="message_delta", delta=MessageDelta, usage=None)
RawMessageStopEvent = _model("RawMessageStopEvent", type="message_stop")
RawContentBlockStartEvent = _model("RawContentBlockStartEvent", nested={"content_block": _block},
                                   type="content_block_start", index=0, content_block=None)
RawContentBlockDeltaEvent = _model("RawContentBlockDeltaEvent", nested={"delta": _typed(_DELTA_TYPES)},
                                   type="content_block_delta", index=0, delta=None)
RawContentBlockStopEvent = _model("RawContentBlockStopEvent", type="content_block_stop", index=0)
_EVENT_TYPES = {c.type: c for c in (RawMessageStartEvent, RawMessageDeltaEvent, RawMessageStopEvent,
                                    RawContentBlockStartEvent, RawContentBlockDeltaEvent,
                                    RawContentBlockStopEvent)}
# The SDK's deprecated aliases of the raw events, so old code still finds the names.
MessageStartEvent, MessageDeltaEvent = RawMessageStartEvent, RawMessageDeltaEvent
ContentBlockStartEvent, ContentBlockDeltaEvent = RawContentBlockStartEvent, RawContentBlockDeltaEvent

# Derived events: what ``MessageStream`` yields right after the raw event that caused them.
TextEvent = _model("TextEvent", type="text", text="", snapshot="")
ThinkingEvent = _model("ThinkingEvent", type="thinking", thinking="", snapshot="")
InputJsonEvent = _model("InputJsonEvent", type="input_json", partial_json="", snapshot=None)
CitationEvent = _model("CitationEvent", type="citation", citation=None, snapshot=list)
SignatureEvent = _model("SignatureEvent", type="signature", signature="")
ContentBlockStopEvent = _model("ContentBlockStopEvent", RawContentBlockStopEvent, content_block=None)
MessageStopEvent = _model("MessageStopEvent", RawMessageStopEvent, message=None)
ParsedContentBlockStopEvent, ParsedMessageStopEvent = ContentBlockStopEvent, MessageStopEvent

# What ``messages.count_tokens`` returns.
MessageTokensCount = _model("MessageTokensCount", input_tokens=0)


def _lazy_snapshot(cls: type, compute: Callable[[Any], Any]) -> None:
    """Give ``cls`` a ``snapshot`` made on first read from ``_src``, a ``(buffer, length)`` pair.

    Text and tool input grow with every delta; an eager snapshot would cost O(answer) per
    event. The value is made, exactly as it was at that event, only if someone reads it.
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
#
# Design notes. The decoder is push-style, as h11's connection is: ``feed(bytes)`` returns
# the events those bytes complete and keeps the rest for the next call, so the sync reader,
# the asyncio reader and a test replaying recorded bytes drive the same code. One
# ``bytes.splitlines`` per chunk does the line work in C; no Python code runs per byte.

class ServerSentEvent:
    """One dispatched event: ``event`` is None when the block had no ``event:`` field."""
    __slots__ = ("event", "data", "id", "retry")

    def __init__(self, event: Optional[str] = None, data: str = "", id: Optional[str] = None,
                 retry: Optional[int] = None) -> None:
        self.event, self.data, self.id, self.retry = event, data, id, retry

    def json(self) -> Any:
        return json.loads(self.data)

    def __repr__(self) -> str:
        return "ServerSentEvent(event=%r, data=%r, id=%r, retry=%r)" % (self.event, self.data, self.id, self.retry)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ServerSentEvent) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)


class _LineSplitter:
    """Push form of line splitting: ``feed(chunk)`` returns the lines it completes, terminators cut."""
    __slots__ = ("max_size", "parts", "size", "skip_lf")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.parts: List[bytes] = []  # pieces of a line that has not ended yet
        self.size = 0
        self.skip_lf = False  # the last chunk ended in CR: an LF opening the next one ends nothing

    def feed(self, chunk: bytes) -> List[bytes]:
        if self.skip_lf and chunk:
            self.skip_lf = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        if not chunk:
            return []
        lines = chunk.splitlines()
        last = chunk[-1]
        self.skip_lf = last == 13
        tail = lines.pop() if last not in (10, 13) else b""
        if self.parts and lines:  # the first line completes the pieces before it
            self._add(lines[0])
            lines[0] = b"".join(self.parts)
            self.parts, self.size = [], 0
        if tail:
            self._add(tail)
        if len(chunk) > self.max_size and any(len(line) > self.max_size for line in lines):
            raise _too_large(self.max_size)
        return lines

    def _add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size > self.max_size:
            raise _too_large(self.max_size)
        self.parts.append(piece)


def iter_lines(chunks: Iterable[bytes], max_size: int = DEFAULT_MAX_LINE_SIZE) -> Iterator[bytes]:
    """Yield each complete line of ``chunks`` without its terminator; the unended tail is dropped."""
    splitter = _LineSplitter(max_size)
    for chunk in chunks:
        yield from splitter.feed(chunk)


class SSEDecoder:
    """Bytes in, ``ServerSentEvent``s out: ``feed(chunk)`` returns the events the chunk completes.

    No I/O and no clock; bytes may be split anywhere. An event whose blank line has not come
    yet stays pending (and is dropped if the stream ends there, as the spec says).
    """

    def __init__(self, max_size: int = DEFAULT_MAX_LINE_SIZE) -> None:
        self._lines = _LineSplitter(max_size)
        self._max_size = max_size
        self._event: Optional[str] = None
        self._data: List[str] = []
        self._size = 0
        self._last_id: Optional[str] = None  # the spec's "last event ID buffer" persists across events
        self._retry: Optional[int] = None
        self._first = True

    def feed(self, chunk: bytes) -> List[ServerSentEvent]:
        lines = self._lines.feed(chunk)
        if not lines:
            return []
        if self._first:
            self._first = False
            if lines[0][:3] == b"\xef\xbb\xbf":  # one leading BOM is ignored
                lines[0] = lines[0][3:]
        out: List[ServerSentEvent] = []
        data, size, max_size = self._data, self._size, self._max_size
        for raw in lines:
            if not raw:  # a blank line dispatches the block, unless it carried no data field
                if data:
                    out.append(ServerSentEvent(self._event or None, "\n".join(data), self._last_id, self._retry))
                    data, size = [], 0
                self._event = self._retry = None
            elif raw[:6] == b"data: ":  # the common line, without the general parse below
                size += len(raw) - 6
                if size > max_size:
                    raise _too_large(max_size)
                data.append(raw[6:].decode("utf-8", "replace"))
            elif raw[:7] == b"event: ":
                self._event = raw[7:].decode("utf-8", "replace")
            elif raw[0] != 58:  # ":" starts a comment
                size = self._field(raw, data, size)
        self._data, self._size = data, size
        return out

    def _field(self, raw: bytes, data: List[str], size: int) -> int:
        """Any other ``name: value`` line; returns the data size so far."""
        name, colon, value = raw.partition(b":")
        if colon and value[:1] == b" ":  # one space after the colon is not part of the value
            value = value[1:]
        text = value.decode("utf-8", "replace")
        if name == b"data":
            size += len(value)
            if size > self._max_size:
                raise _too_large(self._max_size)
            data.append(text)
        elif name == b"event":
            self._event = text
        elif name == b"id":
            if "\0" not in text:  # an id containing NUL is ignored
                self._last_id = text
        elif name == b"retry":
            if value.isdigit():  # bytes.isdigit: ASCII digits only
                try:
                    self._retry = int(value)
                except ValueError:  # past int()'s digit limit (4300): no reconnection time at all
                    pass
        return size  # any other field name is ignored


def iter_sse(chunks: Iterable[bytes], max_size: int = DEFAULT_MAX_LINE_SIZE) -> Iterator[ServerSentEvent]:
    """Decode a byte stream split anywhere into ``ServerSentEvent``s, per the WHATWG rules."""
    decoder = SSEDecoder(max_size)
    for chunk in chunks:
        yield from decoder.feed(chunk)


# -- Events -------------------------------------------------------------------------------
#
# One SSE frame -> one typed event, the class picked from ``_EVENT_TYPES`` by the JSON's
# ``type``. Nearly every event of a long answer is a delta, written by the API exactly so:
# read by its known prefix, such an event costs one C string scan, not the general scanner
# and a conversion pass; any other spelling (spaces, escaped keys, an index of two digits,
# more fields) takes the general path, which gives the same value or the same error.

_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


def _loads(text: str) -> Any:
    """``json.loads`` without its per-call overhead: the C scanner; anything unusual goes to ``json.loads``."""
    try:
        value, end = _scan(text, 0)
    except (StopIteration, ValueError):
        return json.loads(text)
    if end != len(text) and text[end:].strip(" \t\n\r"):
        return json.loads(text)
    return value


_DELTA_HEAD = '{"type":"content_block_delta","index":'
_DELTA_FIELD = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}
_DELTA_AT = len(_DELTA_HEAD) + 1  # after one index digit
_DELTA_MIDS = [(',"delta":{"type":"%s","%s":"' % (kind, field), kind) for kind, field in _DELTA_FIELD.items()]
_DELTA_MIDS = [(mid, kind, _DELTA_AT + len(mid)) for mid, kind in _DELTA_MIDS]  # + where the text starts
_DIGIT = {str(i): i for i in range(10)}


def _delta_fields(data: str) -> Optional[Tuple[int, str, str]]:
    """``(index, delta type, text)`` of a growing delta in the API's spelling, else None."""
    if not data.startswith(_DELTA_HEAD):
        return None
    for mid, kind, start in _DELTA_MIDS:
        if data.startswith(mid, _DELTA_AT):
            index = _DIGIT.get(data[_DELTA_AT - 1])
            if index is None:
                return None
            try:
                value, end = _scanstring(data, start)
            except ValueError:
                return None
            return (index, kind, value) if data[end:] == "}}" else None
    return None


def _delta_event(index: int, kind: str, value: str, _new: Any = object.__new__) -> Any:
    """The ``RawContentBlockDeltaEvent`` the general path makes of the same JSON."""
    delta = _new(_DELTA_TYPES[kind])
    delta.__dict__ = {"type": kind, _DELTA_FIELD[kind]: value}
    event = _new(RawContentBlockDeltaEvent)
    event.__dict__ = {"type": "content_block_delta", "index": index, "delta": delta}
    return event


def parse_event(sse: ServerSentEvent) -> Any:
    """Turn one ``ServerSentEvent`` into its typed event (an unknown type stays a ``BaseModel``)."""
    fields = _delta_fields(sse.data)
    if fields is not None:
        return _delta_event(*fields)
    try:
        data = _loads(sse.data)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply for json
        raise _not_json(sse, "data that is not JSON (%s)" % (
            exc if isinstance(exc, ValueError) else "nested too deeply")) from exc
    if data.__class__ is not dict:
        raise _not_json(sse, "JSON that is not an object")
    kind = data.get("type")
    if kind is None:
        kind = data["type"] = sse.event
    if kind.__class__ is not str:
        raise _not_json(sse, "a type that is not a string")
    try:
        return _EVENT_TYPES.get(kind, BaseModel)._from(data)
    except RecursionError as exc:
        raise _not_json(sse, "JSON nested too deeply") from exc


def _not_json(sse: ServerSentEvent, what: str) -> APIResponseValidationError:
    return APIResponseValidationError("event %r carried %s: %.200r" % (sse.event or "message", what, sse.data),
                                      body=sse.data)


def _frame_event(sse: ServerSentEvent, pings: bool = False) -> Any:
    """The event a stream hands on for ``sse``: None for empty data (and pings, unless kept);
    an ``error`` event raises the error it names."""
    if not sse.data:
        return None  # an event with empty data carries nothing (the SDK skips it too)
    event = parse_event(sse)
    kind = event.type
    if kind == "ping" and not pings:
        return None
    if kind == "error":
        raise _error_from_event(event.to_dict())
    return event


def iter_events(frames: Iterable[ServerSentEvent], pings: bool = False) -> Iterator[Any]:
    """The typed events of ``frames``, as ``create(stream=True)`` yields them (``ping`` hidden)."""
    for sse in frames:
        event = _frame_event(sse, pings)
        if event is not None:
            yield event


# -- Accumulator --------------------------------------------------------------------------
#
# Design notes. Text, thinking and tool-input JSON arrive as many small deltas. Appending to
# a str attribute copies the whole answer each time (quadratic), so each growing block
# keeps a ``_Buffer`` of parts instead; the block's attribute is brought up to date when
# someone reads the snapshot (``.message``), at ``content_block_stop`` and at the end. Tool
# input is parsed once, at ``content_block_stop``; the ``input_json`` event's snapshot --
# the SDK's partial parse -- is computed only if it is read.

class _Buffer:
    """A block's growing text, thinking or tool JSON: O(fragment) per append, joined when read.

    ``kind`` is the delta type that grows it, ``field`` the attribute the delta, the derived
    event and (except for tool JSON) the block share; ``start`` is a tool block's first input.
    """
    __slots__ = ("chunks", "parts", "size", "kind", "field", "event", "event_type", "start")

    def __init__(self, kind: str, field: str, event: type, text: str = "", start: Any = None) -> None:
        self.chunks = [text] if text else []  # joined runs of parts: one object per 256 deltas
        self.parts: List[str] = []
        self.size = len(text)
        self.kind, self.field, self.event, self.start = kind, field, event, start
        self.event_type = event.type

    def add(self, piece: str) -> None:
        """Append a piece: O(piece)."""
        parts = self.parts
        parts.append(piece)
        if len(parts) == 256:  # many tiny strings cost more memory than the text: join a run
            self.chunks.append("".join(parts))
            parts.clear()
        self.size += len(piece)

    def derive(self, piece: str) -> Any:
        """The derived event (text, thinking, input_json) of the piece just appended."""
        derived = object.__new__(self.event)
        derived.__dict__ = {"type": self.event_type, self.field: piece, "_src": (self, self.size)}
        return derived

    def value(self) -> str:
        chunks, parts = self.chunks, self.parts
        if parts:
            chunks.append("".join(parts))
            parts.clear()
        if len(chunks) > 1:
            chunks[:] = ["".join(chunks)]
        return chunks[0] if chunks else ""


_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"|true|false|null'
                     r"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?(?![0-9.eE+-])")
_SCALAR_START = re.compile(r'(?:"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*(?:\\u?[0-9a-fA-F]{0,3})?'
                           r"|-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?)?"
                           r"|t(?:r(?:u)?)?|f(?:a(?:l(?:s)?)?)?|n(?:u(?:l)?)?)\Z")


def _partial_json(text: str) -> Any:
    """Parse a prefix of a JSON document as the SDK's partial mode does.

    Finished values are kept and open containers closed; an unfinished string, literal or
    number at the end is dropped (``{"a": 1, "b": "Sa`` gives ``{"a": 1}``). ``ValueError``
    for text no continuation could make valid; None when nothing is finished yet.
    """
    stack: List[str] = []
    expect, first, keep, pos = "value", False, None, 0  # value, key, colon, comma or done
    while True:
        pos = _WS.match(text, pos).end()
        if pos == len(text):
            break
        c = text[pos]
        if stack and c == stack[-1] and (first or expect == "comma"):
            stack.pop()
            pos += 1
        elif c in "[{" and expect == "value":
            stack.append("]" if c == "[" else "}")
            expect, first, pos = "key" if c == "{" else "value", True, pos + 1
            keep = (pos, "".join(reversed(stack)))
            continue
        elif (c, expect) in ((",", "comma"), (":", "colon")):
            expect, first, pos = "key" if c == "," and stack[-1] == "}" else "value", False, pos + 1
            continue
        elif expect == "value" or (expect == "key" and c == '"'):
            m = _SCALAR.match(text, pos)
            if m is None:
                if _SCALAR_START.match(text, pos):
                    break  # an unfinished string, number or literal at the end is dropped
                raise ValueError("invalid value at offset %d" % pos)
            pos, first = m.end(), False
            if expect == "key":
                expect = "colon"
                continue
        else:
            raise ValueError("unexpected %r at offset %d" % (c, pos))
        expect, first, keep = "comma" if stack else "done", False, (pos, "".join(reversed(stack)))
    return None if keep is None else json.loads(text[:keep[0]] + keep[1])


def _parse_input(text: str, start: Any) -> Any:
    """Tool input JSON: whole if whole, else what finished (``start`` if nothing); ``ValueError`` if invalid."""
    if not text.strip():
        return start
    try:
        try:
            return _loads(text)
        except ValueError:
            value = _partial_json(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    return start if value is None else value


def _input_snapshot(src: Any) -> Any:
    """The tool input parsed as far as ``(buffer, length)`` reaches."""
    buf, length = src
    try:
        return _parse_input(buf.value()[:length], buf.start)
    except ValueError:  # invalid: content_block_stop raises the typed error for it
        return buf.start


_lazy_snapshot(TextEvent, lambda src: src[0].value()[:src[1]])
_lazy_snapshot(ThinkingEvent, lambda src: src[0].value()[:src[1]])
_lazy_snapshot(InputJsonEvent, _input_snapshot)

_TOOL_INPUT_BLOCKS = ("tool_use", "server_tool_use", "mcp_tool_use")
# delta type -> (block types it grows, the field it carries, the derived event)
_GROWING = {kind: (blocks, _DELTA_FIELD[kind], derived) for kind, blocks, derived in (
    ("text_delta", ("text",), TextEvent), ("thinking_delta", ("thinking",), ThinkingEvent),
    ("input_json_delta", _TOOL_INPUT_BLOCKS, InputJsonEvent))}
# block type -> the str field its deltas grow (tool input grows JSON text, not a block field)
_GROWN_FIELD = {block: field for blocks, field, _ in _GROWING.values() if field != "partial_json"
                for block in blocks}


class MessageAccumulator:
    """Folds raw stream events into a ``Message`` snapshot, with no I/O.

    ``feed(event)`` updates the snapshot and returns what ``MessageStream`` yields for the
    event: the raw event plus any derived ones (``ping`` gives nothing). ``receive(frames)``
    does the same from SSE frames, with the delta fast path. ``done`` turns true at
    ``message_stop``.
    """

    def __init__(self) -> None:
        self._message: Optional[Message] = None
        self._buffers: Dict[int, _Buffer] = {}  # growing text/thinking/JSON, by block index
        self._continuing: Optional[Tuple[int, bool]] = None  # see resume()
        self.begun = False  # something past message_start has been folded in
        self._held: List[Any] = []  # see receive() and take_held()
        self.done = False

    @property
    def message(self) -> Optional[Message]:
        """The snapshot so far (None before ``message_start``)."""
        for index in list(self._buffers):
            self._flush(index)
        return self._message

    def final_message(self) -> Message:
        """The whole message; ``APIConnectionError`` if ``message_stop`` never came."""
        if not self.done or self.message is None:
            raise _incomplete()
        return self.message

    def receive(self, frames: Iterable[ServerSentEvent], want: str = "events") -> Iterator[Any]:
        """Fold SSE frames into the snapshot, yielding what the caller reads: ``"events"`` (each
        raw event and what it derives, as ``MessageStream`` yields them), ``"texts"`` (the text
        of each text delta) or ``"nothing"``.

        Frames are taken one at a time, only as far as the caller reads, so a caller may stop
        after any item and carry on over the same frames with another ``want``. A delta in the
        API's spelling goes straight into its block's buffer: no event object is made for it
        unless events are wanted. An ``error`` event raises the error it names.
        """
        events, texts = want == "events", want == "texts"
        fast = self._continuing is None
        buffers, delta_fields, delta_event = self._buffers, _delta_fields, _delta_event
        for sse in frames:
            fields = delta_fields(sse.data) if fast else None
            if fields is not None:
                index, kind, piece = fields
                buf = buffers.get(index)
                if buf is None or buf.kind != kind:
                    buf = self._buffer(index, kind)
                if buf is not None:
                    parts = buf.parts  # _Buffer.add, written out: this is the hot path
                    parts.append(piece)
                    if len(parts) == 256:
                        buf.chunks.append("".join(parts))
                        parts.clear()
                    buf.size += len(piece)
                    if events:
                        yield delta_event(index, kind, piece)
                        yield buf.derive(piece)
                    elif texts and kind == "text_delta":
                        yield piece
                    continue
            event = _frame_event(sse)
            if event is not None:
                for item in self.feed(event):
                    if events:
                        if item.type == "message_start" and not self.begun:
                            self._held.append(item)  # until the next event: an error event may yet retry
                            continue
                        if self._held:
                            yield from self.take_held()
                        yield item
                    elif texts and item.__class__ is TextEvent:  # derived, never a server event named "text"
                        yield item.text

    def feed(self, event: Any) -> List[Any]:
        if self._continuing is not None:
            event = self._continued(event)
            if event is None:
                return []
        handler = self._handlers.get(event.type)
        if event.type != "message_start":
            self.begun = True
        if handler is None:
            return [event]  # an event type this module does not know passes through
        try:
            return handler(self, event)
        except (TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:
            raise _bad_stream("a %s event with a field of the wrong shape (%s: %s)"
                              % (event.type, type(exc).__name__, exc)) from exc

    def take_held(self) -> List[Any]:
        """The ``message_start`` that ``receive(..., "events")`` holds back until the event after
        it (an ``error`` event there may retry the request, which the reader then never sees)."""
        held, self._held = self._held, []
        return held

    def discard(self) -> None:
        """Forget the message: its request goes out again, before anything past ``message_start``."""
        self._message, self._buffers, self._continuing, self._held = None, {}, None, []
        self.begun = self.done = False

    def resume(self, text: str) -> None:
        """Take the next message's events as the continuation of this one.

        After a re-request with ``text`` (the text so far, trailing whitespace cut, as the API
        wants) as an assistant prefill (``max_resumes``), the new answer's ``message_start`` is
        dropped, its first block continues the last one (so block indexes move up), and if
        whitespace was cut, the whitespace the model repeats is cut from its first text.
        """
        last = len(self.message.content) - 1  # type: ignore[union-attr]
        self._continuing = (last, text.rstrip() != text)

    def _continued(self, event: Any) -> Any:
        """``event`` of the resumed request as part of the interrupted message; None to drop it."""
        last, trim = self._continuing  # type: ignore[misc]
        kind = event.type
        if kind == "message_start" or (kind == "content_block_start" and event.index == 0 and last >= 0):
            return None
        if kind in ("content_block_start", "content_block_delta", "content_block_stop"):
            event.index += max(last, 0)
        if trim and kind == "content_block_delta" and getattr(event.delta, "type", None) == "text_delta":
            event.delta.text = event.delta.text.lstrip()
            self._continuing = (last, not event.delta.text)
        return event

    def _block(self, index: int, kind: str) -> Any:
        """Block ``index`` of the snapshot, for an event of type ``kind`` that names it."""
        try:
            if index >= 0:
                return self._message.content[index]  # type: ignore[union-attr]
        except (AttributeError, IndexError, TypeError):
            pass
        if self._message is None:
            raise _bad_stream("%s before message_start" % kind)
        raise _bad_stream("%s for content block %r, but the message has %d"
                          % (kind, index, len(self._message.content)))

    def _flush(self, index: int) -> None:
        """Write the buffered text or JSON of block ``index`` into the snapshot's block."""
        buf = self._buffers[index]
        block = self._message.content[index]  # type: ignore[union-attr]
        if buf.kind == "input_json_delta":
            block.input = _input_snapshot((buf, buf.size))
        else:
            setattr(block, buf.field, buf.value())

    def _on_message_start(self, event: RawMessageStartEvent) -> List[Any]:
        if event.message is not None and not isinstance(event.message, Message):
            raise _bad_stream("a message_start event whose message is not an object")
        if self._message is None:  # a repeated message_start is ignored, as the SDK does
            msg = event.message if isinstance(event.message, Message) else Message._from({})
            self._message = Message._from(msg.to_dict())  # a copy: deltas must not touch the event
            if not isinstance(self._message.__dict__.get("content"), list):  # absent or null
                self._message.content = []
            self.begun = bool(self._message.content)  # blocks already: deltas may follow at once
        return [event]

    def _on_block_start(self, event: RawContentBlockStartEvent) -> List[Any]:
        if self._message is None:
            raise _bad_stream("content_block_start before message_start")
        block = event.content_block
        if not isinstance(block, BaseModel) or not isinstance(block.type, str):
            raise _bad_stream("a content_block_start event without a content block object")
        grows = _GROWN_FIELD.get(block.type)
        if grows is not None and not isinstance(block.__dict__.get(grows, ""), (str, type(None))):
            raise _bad_stream("a content_block_start event whose %s block's %s is not a string"
                              % (block.type, grows))
        self._message.content.append(type(block)._from(block.to_dict()))
        return [event]

    def _on_block_delta(self, event: RawContentBlockDeltaEvent) -> List[Any]:
        delta = event.delta
        kind = getattr(delta, "type", None)
        if event.index.__class__ is not int:
            raise _bad_stream("a content_block_delta event whose index is not a number")
        grows = _GROWING.get(kind)  # type: ignore[arg-type]
        if grows is not None:
            piece = delta.__dict__.get(grows[1]) or ""
            if piece.__class__ is not str:
                raise _bad_stream("a content_block_delta event whose %s %s is not a string" % (kind, grows[1]))
            buf = self._buffer(event.index, kind)  # type: ignore[arg-type]
            if buf is not None:
                buf.add(piece)
                return [event, buf.derive(piece)]
        return self._other_delta(event, self._block(event.index, event.type), kind)

    def _buffer(self, index: int, kind: str) -> Optional[_Buffer]:
        """The buffer a ``kind`` delta grows for block ``index``; None if the block does not grow so."""
        buf = self._buffers.get(index)
        if buf is None or buf.kind != kind:
            buf = self._new_buffer(index, self._block(index, "content_block_delta"), kind)
        return buf

    def _new_buffer(self, index: int, block: Any, kind: Optional[str]) -> Optional[_Buffer]:
        """The buffer for the first growing delta of a block, or None if this delta grows nothing."""
        grows, field, derived = _GROWING.get(kind, ((), "", None))  # type: ignore[arg-type]
        if block.type not in grows or index in self._buffers:
            return None
        if kind == "input_json_delta":
            buf = _Buffer(kind, field, derived, start=block.input)
        else:
            text = getattr(block, field) or ""
            if text.__class__ is not str:
                raise _bad_stream("a content_block_delta event for a %s block whose %s is not a string"
                                  % (block.type, field))
            buf = _Buffer(kind, field, derived, text)  # type: ignore
        self._buffers[index] = buf
        return buf

    def _other_delta(self, event: Any, block: Any, kind: Optional[str]) -> List[Any]:
        delta = event.delta
        if kind == "citations_delta" and block.type == "text":
            if block.citations is None:
                block.citations = []
            if not isinstance(block.citations, list):
                raise _bad_stream("a content_block_delta event adding a citation to a text block whose "
                                  "citations are not a list")
            block.citations.append(delta.citation)
            return [event, CitationEvent._from(
                {"type": "citation", "citation": delta.citation, "snapshot": list(block.citations)})]
        if kind == "signature_delta" and block.type == "thinking":
            block.signature = delta.signature
            return [event, SignatureEvent._from({"type": "signature", "signature": delta.signature})]
        return [event]  # a delta this module does not know, or on a block it does not fit

    def _on_block_stop(self, event: RawContentBlockStopEvent) -> List[Any]:
        block = self._block(event.index, event.type)
        buf = self._buffers.pop(event.index, None)
        if buf is not None and buf.kind == "input_json_delta":
            block.input = self._final_input(event.index, block, buf)
        elif buf is not None:
            setattr(block, buf.field, buf.value())
        fields = dict(event.__dict__, content_block=block)
        return [ContentBlockStopEvent._from(fields)]

    def _final_input(self, index: int, block: Any, buf: _Buffer) -> Any:
        """Parse a tool block's JSON once; a cut-off prefix keeps what finished (as the SDK)."""
        text = buf.value()
        try:
            return _parse_input(text, buf.start)
        except ValueError as error:
            shown = text if len(text) <= 300 else text[:150] + " ... " + text[-150:]
            raise _bad_stream(
                "tool input for content block %d (%s %r, id %s) is not valid JSON (%s): %r"
                % (index, block.type, getattr(block, "name", None), getattr(block, "id", None),
                   error, shown)) from error

    def _on_message_delta(self, event: RawMessageDeltaEvent) -> List[Any]:
        msg = self._message
        if msg is None:
            raise _bad_stream("message_delta before message_start")
        for name in ("delta", "usage"):
            if event.__dict__.get(name) is not None and not isinstance(event.__dict__[name], BaseModel):
                raise _bad_stream("a message_delta event whose %s is not an object" % name)
        delta = event.delta.__dict__ if isinstance(event.delta, BaseModel) else {}
        msg.stop_reason = delta.get("stop_reason")
        msg.stop_sequence = delta.get("stop_sequence")
        msg.stop_details = delta.get("stop_details")
        if delta.get("container") is not None:
            msg.container = delta["container"]
        if isinstance(event.usage, BaseModel):
            if not isinstance(msg.__dict__.get("usage"), BaseModel):  # absent or null
                msg.usage = Usage._from({})
            for name, value in event.usage.__dict__.items():
                if value is not None:  # counters are cumulative: overwrite, never add
                    setattr(msg.usage, name, value)
        return [event]

    def _on_message_stop(self, event: RawMessageStopEvent) -> List[Any]:
        if self._message is None:
            raise _bad_stream("message_stop before message_start")
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


def accumulate(events: Iterable[Any]) -> Message:
    """Fold a whole sequence of raw events into the final ``Message``.

    Raises ``APIConnectionError`` if the events end before ``message_stop``.
    """
    acc = MessageAccumulator()
    for event in events:
        acc.feed(event)
    return acc.final_message()


# -- Retry policy -------------------------------------------------------------------------
# The SDK's rules: retry 408, 409, 429 and 5xx (``x-should-retry`` overrides), wait what
# ``retry-after-ms`` / ``retry-after`` ask when it is within (0, 60] s, else back off
# exponentially from 0.5 s to 8 s with up to 25 % taken off at random. Pure: the caller sleeps.

def _should_retry(status: int, headers: Mapping[str, str]) -> bool:
    flag = (headers.get("x-should-retry") or "").strip().lower()
    if flag in ("true", "false"):
        return flag == "true"
    return status in (408, 409, 429) or status >= 500


def _retry_delay(retries_taken: int, headers: Mapping[str, str], *,
                 now: Optional[float] = None, rand: Optional[float] = None) -> float:
    """Seconds to wait before retry number ``retries_taken + 1``."""
    wait = _retry_after(headers, time.time() if now is None else now)
    if wait is not None and 0 < wait <= 60:
        return wait
    if rand is None:
        import random
        rand = random.random()
    return min(0.5 * 2.0 ** retries_taken, 8.0) * (1 - 0.25 * rand)


def _retry_after(headers: Mapping[str, str], now: float) -> Optional[float]:
    """The server's requested wait in seconds, or None if it asked for none we can read."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    from email.utils import parsedate_tz, mktime_tz
    try:
        date = parsedate_tz(value)
        return None if date is None else mktime_tz(date) - now
    except (ValueError, OverflowError):  # a date past what the platform can represent
        return None


def _retry_rule(error: APIError) -> Tuple[bool, Mapping[str, str]]:
    """Whether a failed try may be retried, and the headers that may say how long to wait."""
    if isinstance(error, APIStatusError):
        headers = error.response.headers if error.response is not None else {}
        return _should_retry(error.status_code or 0, headers), headers
    return _should_retry_connection(error), {}  # type: ignore[arg-type]


def _should_retry_connection(error: APIConnectionError) -> bool:
    """A connection failure retries unless retrying cannot fix it: a certificate the trust
    store refuses, or a proxy that refuses the tunnel."""
    cause = error.__cause__
    ssl = sys.modules.get("ssl")
    if ssl is not None and isinstance(cause, ssl.SSLCertVerificationError):
        return False
    return not (isinstance(cause, OSError) and str(cause).startswith("Tunnel connection failed"))


# -- Transport ----------------------------------------------------------------------------
#
# The only code that touches sockets. ``http.client`` does the HTTP; bodies are read with
# ``HTTPResponse.read1``, which returns whatever one socket read brings (for chunked bodies,
# up to the end of the current chunk) instead of waiting to fill a buffer, so each token
# reaches the caller as soon as its bytes do. Every socket, TLS and HTTP exception is
# turned into an ``APIConnectionError`` / ``APITimeoutError`` here.

_TRANSPORT_ERRORS = (OSError, http.client.HTTPException, ValueError)


def _log(level: int, message: str, *args: Any) -> None:
    """Log on the ``claude_stream`` logger without importing ``logging`` unless it is wanted."""
    logging = sys.modules.get("logging")
    if logging is None and not os.environ.get("ANTHROPIC_LOG"):
        return  # nobody can have configured a logger: skip the import
    import logging
    logger = logging.getLogger("claude_stream")
    wanted = os.environ.get("ANTHROPIC_LOG", "").lower()
    if wanted in ("debug", "info") and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if wanted == "debug" else logging.INFO)
    logger.log(level, message, *args)


def _timeouts(timeout: Any) -> Tuple[float, float]:
    """(connect, read) seconds from a number, an object with ``connect``/``read``, or None."""
    if timeout is None:
        return DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
    if isinstance(timeout, (int, float)):
        return float(timeout), float(timeout)
    connect = getattr(timeout, "connect", None)
    read = getattr(timeout, "read", None)
    return (DEFAULT_CONNECT_TIMEOUT if connect is None else float(connect),
            DEFAULT_READ_TIMEOUT if read is None else float(read))


def _default_ssl_context() -> Any:
    """A verifying context; ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` pick the trusted CAs."""
    import ssl
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    if cafile or capath:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    return ssl.create_default_context()


def _read_body(response: Any, limit: int) -> bytes:
    """The rest of a (non-streaming) body, at most ``limit`` bytes."""
    parts, size = [], 0
    while True:
        try:
            chunk = response.read1(_READ_SIZE)
        except _TRANSPORT_ERRORS as exc:
            raise _transport_error(exc, "while reading the response") from exc
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            raise APIResponseValidationError("response body exceeds %d bytes" % limit, response=response)
        parts.append(chunk)


def _decode_body(data: bytes) -> Any:
    """Parsed JSON if the body is JSON, else its text, whitespace stripped (as the SDK keeps it)."""
    text = data.decode("utf-8", "replace").strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _check_status(response: Any, content: bytes) -> None:
    """Raise the status error of a response that is not a 2xx (a redirect is never followed:
    the key must not go to another host)."""
    status = response.status
    if status >= 300:
        body = _decode_body(content) if status >= 400 else (
            "redirect to %s not followed (check base_url)" % (response.getheader("location") or "?"))
        raise _status_error(status, body, response=response, request_id=response.getheader("request-id"))


def _is_event_stream(response: Any) -> bool:
    return _content_type(response) == "text/event-stream"


def _content_type(response: Any) -> str:
    return (response.getheader("content-type") or "").split(";")[0].strip().lower()


def _not_event_stream(response: Any, start: bytes) -> APIResponseValidationError:
    """A 200 that is not SSE (a captive portal, a misrouted gateway) is refused, not parsed."""
    return APIResponseValidationError(
        "expected an event stream (text/event-stream) but got %r; the body starts: %r"
        % (_content_type(response) or "no content-type", start[:200].decode("utf-8", "replace")),
        response=response)


class _Proxy:
    """An HTTP proxy from a URL; its credentials go only into ``Proxy-Authorization``."""

    def __init__(self, url: str) -> None:
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("only http:// proxies are supported, got %s" % _redact_url(url))
        self.host, self.port = parts.hostname, parts.port or 8080
        self.headers: Dict[str, str] = {}
        if parts.username is not None:
            import base64
            from urllib.parse import unquote
            pair = "%s:%s" % (unquote(parts.username), unquote(parts.password or ""))
            self.headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()

    def __repr__(self) -> str:
        return "<proxy http://%s:%d%s>" % (self.host, self.port, " (with credentials)" if self.headers else "")


def _redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``."""
    return re.sub(r"//.*@", "//***@", url)  # to the last "@": a password may hold "@" or "/"


def _env_proxy(scheme: str, host: str, port: int) -> Optional[str]:
    """The proxy URL the environment gives for a request, as ``urllib.request`` reads it.

    ``https_proxy`` (or ``http_proxy`` for http), else ``all_proxy``, any case, the lower-case
    name winning even when empty; ``HTTP_PROXY`` ignored under CGI; ``no_proxy`` with ``*``,
    hosts, domains with or without a leading dot, IPs, optionally with ``:port``.
    """
    from urllib.request import getproxies_environment, proxy_bypass_environment
    proxies = getproxies_environment()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or proxy_bypass_environment("%s:%d" % (host, port), proxies):
        return None
    return proxy


class _Connection:
    """One HTTP connection to the API host (maybe through a proxy), errors translated."""

    def __init__(self, scheme: str, host: str, port: int, connect_timeout: float, ssl_context: Any,
                 proxy: Optional[_Proxy]) -> None:
        self.prefix, self.headers, self.proxy, self.closed = "", {}, proxy, False
        # Our own hold on the socket and the response: when a response says "Connection: close",
        # http.client hands the socket to the response and forgets it, and close() must still
        # reach it, or an abandoned answer would keep streaming (and billing) to its end.
        self.sock: Any = None
        self.response: Any = None
        at = (proxy.host, proxy.port) if proxy is not None else (host, port)
        if scheme == "https":
            self.http = http.client.HTTPSConnection(*at, timeout=connect_timeout, context=ssl_context)
            if proxy is not None:  # CONNECT tunnel; TLS to the API inside it
                self.http.set_tunnel(host, port, headers=proxy.headers)
        else:
            self.http = http.client.HTTPConnection(*at, timeout=connect_timeout)
            if proxy is not None:  # absolute-form target, proxy headers on each request
                self.prefix, self.headers = "http://%s:%d" % (host, port), proxy.headers

    def request(self, path: str, body: bytes, headers: Dict[str, str], read_timeout: float) -> Any:
        """Send the request and return the response once its headers are in."""
        if self.http.sock is None and not self.closed:
            try:
                self.http.connect()
            except _TRANSPORT_ERRORS as exc:
                self.close()
                raise _transport_error(exc, "connecting to %s" % self.http.host, self.proxy) from exc
            self.sock = self.http.sock
        try:
            if self.closed:  # by another thread (a cancelled request), maybe while connecting
                raise ConnectionAbortedError("closed by the caller")
            self.http.sock.settimeout(read_timeout)
            self.http.request("POST", self.prefix + path, body, dict(headers, **self.headers))
            response = self.response = self.http.getresponse()
        except Exception as exc:  # closed mid-call, http.client may fail in other ways too
            if not isinstance(exc, _TRANSPORT_ERRORS) and not self.closed:
                raise
            self.close()
            raise _transport_error(exc, "waiting for the response") from exc
        response.status_code = response.status  # the SDK's (httpx) attribute name
        return response

    def idle_and_open(self) -> bool:
        """True if this kept connection can carry another request (no EOF or stray bytes)."""
        import select
        sock = self.http.sock
        if self.closed or sock is None:
            return False
        try:
            return not select.select([sock], [], [], 0)[0]
        except (OSError, ValueError):
            return False

    def iter_bytes(self, response: Any) -> Iterator[bytes]:
        """The body as it arrives, one socket read at a time; transport errors translated."""
        read1 = response.read1
        while True:
            try:
                chunk = read1(_READ_SIZE)
            except Exception as exc:
                if self.closed:  # closed on purpose, maybe by another thread mid-read: just stop
                    return
                if not isinstance(exc, _TRANSPORT_ERRORS):
                    raise
                raise _transport_error(exc, "while reading the response stream") from exc
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        """Close now, even while another thread is blocked reading (shutdown wakes it)."""
        self.closed = True
        sock = self.sock or self.http.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.http.close()
        if self.response is not None:  # frees the socket's file descriptor now, not at garbage collection
            try:
                self.response.close()
            except (OSError, ValueError):  # another thread may be inside a read of it
                pass


class _Cancel:
    """Lets another thread call a request off: no further attempt, and the one on the wire is closed."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.lock = threading.Lock()
        self.conn: Optional[_Connection] = None
        self.wake: Optional[Callable[[], None]] = None  # ends an async wait between retries

    def watch(self, conn: _Connection) -> _Connection:
        with self.lock:
            self.conn = conn
            called_off = self.event.is_set()
        if called_off:
            conn.close()
        return conn

    def release(self) -> None:
        """The request has its answer: its connection is no longer ours to close (it may be reused)."""
        with self.lock:
            self.conn = None

    def __call__(self) -> None:
        with self.lock:
            self.event.set()
            conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()
        wake = self.wake
        if wake is not None:
            wake()


class _Pool:
    """Finished connections to one host, kept for reuse (thread-safe, at most ``size``)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.idle: List[_Connection] = []
        self.lock = threading.Lock()

    def take(self) -> Optional[_Connection]:
        while True:
            with self.lock:
                if not self.idle:
                    return None
                conn = self.idle.pop()
            if conn.idle_and_open():
                return conn
            conn.close()

    def give(self, conn: _Connection, response: Any) -> None:
        """Keep ``conn`` if its response was read to the end and the server keeps it open."""
        if response.length == 0:
            response.close()  # a content-length body read to its end: read1 leaves it open
        if conn.closed or response.will_close or not response.isclosed():
            conn.close()
            return
        with self.lock:
            if len(self.idle) < self.size:
                self.idle.append(conn)
                return
        conn.close()

    def clear(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()


class _Body:
    """A streaming response being read: its SSE frames, then its connection's fate."""

    def __init__(self, conn: _Connection, response: Any, pool: Optional[_Pool], max_line_size: int,
                 retries: int = 0) -> None:
        self.response = response
        self.retries = retries  # taken by the request before this answer came
        self.decoder = SSEDecoder(max_line_size)
        self._conn, self._pool = conn, pool
        self._given = False  # the connection went back to the pool: no longer ours to close
        self._frames: Optional[Iterator[ServerSentEvent]] = None

    @property
    def frames(self) -> Iterator[ServerSentEvent]:
        """The body's frames as they arrive: one iterator, so readers may take turns on it."""
        if self._frames is None:
            self._frames = (sse for chunk in self._conn.iter_bytes(self.response) for sse in self.decoder.feed(chunk))
        return self._frames

    def end(self, complete: bool) -> None:
        """The body has ended: ``APIConnectionError`` unless ``complete``, else the connection is reusable."""
        if self._conn.closed or self._given:  # closed on purpose, or already given back
            return
        if not complete:
            raise _incomplete()
        self._given = True
        if self._pool is not None:
            self._pool.give(self._conn, self.response)
        else:
            self._conn.close()

    def close(self) -> None:
        """Close the response and its connection; safe from any thread, and more than once."""
        if not self._given:
            self._conn.close()


class _Transport:
    """Requests to one origin over kept connections, maybe through a proxy: the sync I/O of a client."""

    def __init__(self, base_url: str, ssl_context: Any, proxy: Any, max_line_size: int) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("base_url must be an http:// or https:// URL, got %r" % _redact_url(base_url))
        self.scheme, self.host, self.prefix = url.scheme, url.hostname, url.path
        self.port = url.port or (443 if url.scheme == "https" else 80)
        if proxy == "environment":
            proxy = _env_proxy(self.scheme, self.host, self.port)
        self.proxy = _Proxy(proxy) if proxy else None
        self.ssl_context = ssl_context
        self.max_line_size = max_line_size
        self.pool = _Pool()
        self._lock = threading.Lock()

    def context(self) -> Any:
        if self.scheme != "https":
            return None
        with self._lock:
            if self.ssl_context is None:
                self.ssl_context = _default_ssl_context()
            return self.ssl_context

    def send(self, target: str, data: bytes, headers: Dict[str, str], timeouts: Tuple[float, float],
              cancel: _Cancel) -> Tuple[_Connection, Any]:
        """Send on a kept connection if one is open; one that turns out dead is replaced once."""
        conn = self.pool.take()
        if conn is not None:
            cancel.watch(conn)
            try:
                return conn, conn.request(target, data, headers, timeouts[1])
            except APITimeoutError:
                raise  # the server may be working on it: sending again could run it twice
            except APIConnectionError:  # closed by the server while idle: not a real failure
                if cancel.event.is_set():
                    raise  # closed by the caller: the request is off
                _log(10, "kept connection was dead; reconnecting")
        conn = cancel.watch(_Connection(self.scheme, self.host, self.port, timeouts[0], self.context(),
                                        self.proxy))
        return conn, conn.request(target, data, headers, timeouts[1])

    def attempt(self, target: str, data: bytes, headers: Dict[str, str], timeouts: Tuple[float, float],
                 stream: bool, cancel: _Cancel) -> Tuple[_Connection, Any, bytes]:
        conn, response = self.send(target, data, headers, timeouts, cancel)
        try:
            status, content = response.status, b""
            if status >= 300 or not stream:
                content = _read_body(response, self.max_line_size)
            _check_status(response, content)
            if stream and not _is_event_stream(response):
                start = b""
                try:
                    start = response.read1(512)
                except _TRANSPORT_ERRORS:
                    pass
                raise _not_event_stream(response, start)
            cancel.release()
            if not stream:
                self.pool.give(conn, response)
            return conn, response, content
        except BaseException:
            conn.close()
            raise

    def body(self, conn: _Connection, response: Any, retries: int) -> _Body:
        """The streaming body of a 2xx response, ready to read."""
        return _Body(conn, response, self.pool, self.max_line_size, retries)


# -- Public API ---------------------------------------------------------------------------

def _mask(secret: Optional[str]) -> Optional[str]:
    return None if secret is None else "***"


_SECRET_HEADERS = ("x-api-key", "authorization", "proxy-authorization")


def _masked(headers: Mapping[str, str]) -> Dict[str, str]:
    """Headers fit for a log line: credentials replaced by ``***``."""
    return {k: "***" if k.lower() in _SECRET_HEADERS else v for k, v in headers.items()}


class _Client:
    """What ``Anthropic`` and ``AsyncAnthropic`` share: their settings, headers and request shape.

    Safe to share between threads. Finished connections are kept and reused; ``proxy`` is
    a URL, None for a direct connection, or (by default) what the environment says.
    """

    def __init__(self, *, api_key: Optional[str] = None, auth_token: Optional[str] = None,
                 base_url: Optional[str] = None, timeout: Any = None,
                 max_retries: int = DEFAULT_MAX_RETRIES,
                 default_headers: Optional[Mapping[str, str]] = None, ssl_context: Any = None,
                 proxy: Any = "environment", max_line_size: int = DEFAULT_MAX_LINE_SIZE,
                 on_retry: Optional[Callable[[BaseException, float, int, int], None]] = None) -> None:
        if api_key is None and auth_token is None:
            api_key = os.environ.get("ANTHROPIC_API_KEY") or None
            auth_token = os.environ.get("ANTHROPIC_AUTH_TOKEN") or None
        self.api_key = api_key
        self.auth_token = auth_token
        self.base_url = (base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if max_retries is None or max_retries < 0:
            raise TypeError("max_retries must be a number >= 0")
        self.timeout = timeout
        self.max_retries = max_retries
        self.default_headers = dict(default_headers or {})
        self.ssl_context = ssl_context
        self.proxy = proxy
        self.max_line_size = max_line_size
        self._transport = _Transport(self.base_url, ssl_context, proxy, max_line_size)
        self.on_retry = on_retry  # (error, delay, retry number, max_retries), before each wait
        self.messages = self._messages()
        self.beta = _Beta(self.messages)

    def _messages(self) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return "%s(base_url=%r, api_key=%r, auth_token=%r, proxy=%r)" % (
            type(self).__name__, _redact_url(self.base_url), _mask(self.api_key), _mask(self.auth_token),
            self._transport.proxy)

    def with_options(self, **changes: Any) -> Any:
        """A copy of this client with some constructor arguments changed."""
        args = dict(api_key=self.api_key, auth_token=self.auth_token, base_url=self.base_url,
                    timeout=self.timeout, max_retries=self.max_retries, proxy=self.proxy,
                    default_headers=self.default_headers, ssl_context=self._transport.ssl_context,
                    max_line_size=self.max_line_size, on_retry=self.on_retry)
        args.update(changes)
        return type(self)(**args)

    copy = with_options

    def _headers(self, extra: Optional[Mapping[str, Optional[str]]]) -> Dict[str, str]:
        headers = {"accept": "application/json", "content-type": "application/json",
                   "anthropic-version": API_VERSION,
                   "user-agent": "claude_stream/%s (Python %d.%d)" % ((__version__,) + sys.version_info[:2])}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        if self.auth_token:
            headers["authorization"] = "Bearer " + self.auth_token
        for source in (self.default_headers, extra or {}):
            for name, value in source.items():
                headers.pop(name.lower(), None)
                if value is not None:  # None removes a header, as in the SDK
                    headers[name.lower()] = value
        for name, value in headers.items():
            if re.search(r"[\r\n\0]|^\s|\s$", value):  # never echo the value: it may be the key
                raise AnthropicError("the %s header has a newline, NUL or surrounding whitespace "
                                     "(a key read from a file with its newline?)" % name)
        if "x-api-key" not in headers and "authorization" not in headers:
            raise _MissingCredentials(
                "no API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN), or pass api_key= to Anthropic()")
        return headers

    def _request(self, path: str, body: Dict[str, Any], extra_headers: Any, extra_query: Any,
                 timeout: Any) -> Tuple[str, bytes, Dict[str, str], Tuple[float, float]]:
        """The target, body bytes, headers and (connect, read) timeouts of a POST."""
        target = self._transport.prefix + path + ("?" + urlencode(extra_query) if extra_query else "")
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return target, data, self._headers(extra_headers), _timeouts(self.timeout if timeout is None else timeout)

    def _next_try(self, error: APIError, retry: bool, asked: Mapping[str, str], retries: int,
                  started: float) -> float:
        """After a failed try: re-raise ``error`` if it may not be retried, else the seconds to wait."""
        if not retry or retries >= self.max_retries:
            _log(20, "request failed after %.3f s: %s", time.monotonic() - started, error)
            raise error
        delay = _retry_delay(retries, asked)
        _log(20, "retrying in %.2f s (%d of %d) after: %s", delay, retries + 1, self.max_retries, error)
        if self.on_retry is not None:
            self.on_retry(error, delay, retries + 1, self.max_retries)
        return delay


class Anthropic(_Client):
    """A client for the Messages API: ``client.messages.stream(...)`` / ``.create(...)``."""

    def _messages(self) -> "Messages":
        return Messages(self)

    def close(self) -> None:
        """Close the kept connections (streams still open keep theirs)."""
        self._transport.pool.clear()

    def __enter__(self) -> "Anthropic":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _post(self, path: str, body: Dict[str, Any], *, stream: bool, extra_headers: Any = None,
              extra_query: Any = None, timeout: Any = None, cancel: Optional[_Cancel] = None,
              retries: int = 0, after: Optional[APIStatusError] = None) -> Any:
        """POST with retries: the ``_Body`` of a 2xx stream, else ``(response, content)``.

        ``retries`` were taken already; ``after`` is an ``error`` event that ended an earlier
        try of this request before its answer began, to be retried (or raised) first.
        """
        target, data, headers, timeouts = self._request(path, body, extra_headers, extra_query, timeout)
        transport, cancel = self._transport, cancel or _Cancel()
        error: Optional[APIError] = after
        (retry, asked), started = _retry_rule(after) if after else (False, {}), time.monotonic()
        while True:
            if error is not None:
                cancel.event.wait(self._next_try(error, retry, asked, retries, started))
                retries += 1
            if cancel.event.is_set():
                raise APIConnectionError("the request was cancelled")
            started = time.monotonic()
            _log(10, "POST %s%s headers=%s", _redact_url(self.base_url), target, _masked(headers))
            try:
                conn, response, content = transport.attempt(target, data, headers, timeouts, stream, cancel)
                _log(10, "-> %s in %.3f s (request-id %s)", response.status, time.monotonic() - started,
                     response.getheader("request-id"))
                return transport.body(conn, response, retries) if stream else (response, content)
            except (APIStatusError, APIConnectionError) as exc:
                error, (retry, asked) = exc, _retry_rule(exc)


class _Beta:
    """``client.beta.messages``: the same endpoint; ``betas=[...]`` becomes ``anthropic-beta``."""

    def __init__(self, messages: Any) -> None:
        self.messages = messages


def _message_request(params: Dict[str, Any], stream: bool) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The JSON body of a Messages call, and its per-call options (headers, query, timeout)."""
    params = dict(params)
    extra_headers, extra_body = params.pop("extra_headers", None), params.pop("extra_body", None)
    options = {"extra_query": params.pop("extra_query", None), "timeout": params.pop("timeout", None)}
    betas = params.pop("betas", None)
    if betas:
        extra_headers = dict(extra_headers or {}, **{"anthropic-beta": ",".join(betas)})
    body = dict(params, **({"stream": True} if stream else {}))
    body.update(extra_body or {})
    return body, dict(options, extra_headers=extra_headers)


def _prefilled(params: Dict[str, Any], prefill: str) -> Dict[str, Any]:
    """``params`` with ``prefill`` as (the end of) an assistant turn, for ``max_resumes``."""
    messages = list(params["messages"])
    last = messages[-1] if messages else {}
    if last.get("role") == "assistant":  # the caller's own prefill comes first
        content = last["content"]
        content = content + prefill if isinstance(content, str) else (
            list(content) + [{"type": "text", "text": prefill}])
        messages[-1] = dict(last, content=content)
    else:
        messages.append({"role": "assistant", "content": prefill})
    return dict(params, messages=messages)


# What the token counting endpoint takes besides ``messages`` and ``model`` (SDK 2.12's
# ``count_tokens`` keywords): anything else is refused before a request, as the SDK's TypeError.
_COUNT_TOKENS_FIELDS = ("cache_control", "output_config", "speed", "system", "thinking", "tool_choice",
                        "tools", "user_profile_id", "workspace_id", "mcp_servers", "context_management",
                        "betas", "extra_headers", "extra_query", "extra_body", "timeout")


def _count_request(params: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The body and options of a ``count_tokens`` call; TypeError for a keyword it does not take."""
    unknown = sorted(set(params) - set(_COUNT_TOKENS_FIELDS) - {"messages", "model"})
    if unknown:
        raise TypeError("count_tokens() got unexpected keyword argument(s): %s" % ", ".join(unknown))
    return _message_request(params, stream=False)


def _tokens_count_of(response: Any, content: bytes) -> MessageTokensCount:
    return MessageTokensCount._from(_json_object(response, content))


def _message_of(response: Any, content: bytes) -> Message:
    """The ``Message`` of a non-streaming response body."""
    return Message._from(_json_object(response, content))


def _json_object(response: Any, content: bytes) -> Dict[str, Any]:
    """A non-streaming response body, which must be a JSON object."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise APIResponseValidationError(
            "response is not JSON: %r" % content[:200].decode("utf-8", "replace"),
            response=response, body=content) from exc
    if not isinstance(data, dict):
        raise APIResponseValidationError("response is not a JSON object", response=response, body=data)
    return data


class Messages:
    """``client.messages``: ``create()`` and ``stream()``, as in the SDK."""

    def __init__(self, client: Anthropic) -> None:
        self._client = client

    def create(self, *, stream: bool = False, extra_headers: Any = None, extra_query: Any = None,
               extra_body: Any = None, timeout: Any = None, **params: Any) -> Any:
        """Send a request: a ``Stream`` of raw events if ``stream=True``, else the ``Message``."""
        params.update(extra_headers=extra_headers, extra_query=extra_query, extra_body=extra_body,
                      timeout=timeout)
        if stream:
            return Stream(self._send(params, stream=True))
        return _message_of(*self._send(params, stream=False))

    def stream(self, *, max_resumes: int = 0, **params: Any) -> "MessageStreamManager":
        """A context manager that sends the request on ``with`` and yields a ``MessageStream``.

        ``max_resumes`` (ours, opt-in): after a dropped or stalled connection mid-answer,
        re-request up to this many times with the text so far as an assistant prefill and
        carry on as one seamless stream. Text answers only.
        """
        resume = _Resume(self._restart(params), max_resumes)
        return MessageStreamManager(lambda: MessageStream(self._send(params, stream=True), resume=resume))

    def count_tokens(self, **params: Any) -> MessageTokensCount:
        """The input tokens the request would take, without generating (``/v1/messages/count_tokens``)."""
        body, options = _count_request(params)
        return _tokens_count_of(*self._client._post("/v1/messages/count_tokens", body, stream=False, **options))

    def _send(self, params: Dict[str, Any], stream: bool, cancel: Optional[_Cancel] = None, **retry: Any) -> Any:
        """POST ``params`` (the per-call options among them): a stream's ``_Body``, else ``(response, content)``."""
        body, options = _message_request(params, stream)
        return self._client._post("/v1/messages", body, stream=stream, cancel=cancel, **options, **retry)

    def _restart(self, params: Dict[str, Any]) -> Callable[..., _Body]:
        """The same streaming request again: as it was (``prefill`` None, after an early
        ``error`` event), or with ``prefill`` as (the end of) an assistant turn (``max_resumes``)."""
        def restart(prefill: Optional[str], cancel: _Cancel, **retry: Any) -> _Body:
            again = params if prefill is None else _prefilled(params, prefill)
            return self._send(again, stream=True, cancel=cancel, **retry)
        return restart


class _Described:
    """What every stream shows: its response's request id, and a repr without secrets."""

    response: Any

    @property
    def request_id(self) -> Optional[str]:
        return self.response.getheader("request-id")

    def __repr__(self) -> str:
        return "<%s status=%s request_id=%s>" % (type(self).__name__, self.response.status, self.request_id)


class _Streaming(_Described):
    """What both sync stream kinds share: one iterator, and a context manager that closes."""

    _iterator: Iterator[Any]

    def __iter__(self) -> Iterator[Any]:
        return self._iterator

    def __next__(self) -> Any:
        return next(self._iterator)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()  # type: ignore[attr-defined]


class Stream(_Streaming):
    """The raw events of a ``create(stream=True)`` response (``ping`` hidden)."""

    def __init__(self, body: _Body, *, pings: bool = False) -> None:
        self._body = body
        self.response = body.response
        self._iterator = self.__stream__(pings)

    def __stream__(self, pings: bool) -> Iterator[Any]:
        finished = False  # message_stop seen
        try:
            for event in iter_events(self._body.frames, pings):
                if event.type == "message_stop":
                    finished = True
                yield event
            self._body.end(finished)
        except APIError as exc:
            raise _blamed(exc, self.response) from None
        finally:
            self.close()

    def close(self) -> None:
        """Close the response and its connection; safe from any thread, and more than once."""
        self._body.close()


class _Lifecycle:
    """A message stream's state, changed only here (from any thread):
    reading -> (renewing -> reading)... -> ended, failed or closed.

    ``body`` is the response being read; renewing (a retry or a resume) brings another. ``events_read`` turns true
    once someone iterates the events: from then on, texts are taken off those events.
    """

    def __init__(self, body: Any) -> None:
        self.body = body
        self.state = "reading"
        self.events_read = False
        self._call_off: Optional[_Cancel] = None  # the new request on its way, while renewing
        self._lock = threading.Lock()

    def renewing(self) -> _Cancel:
        """A re-request is going out: its cancel token (already called if the stream is closed)."""
        cancel = _Cancel()
        with self._lock:
            closed = self.state == "closed"
            if not closed:
                self.state, self._call_off = "renewing", cancel
        if closed:
            cancel()
        return cancel

    def renewed(self, body: Any) -> bool:
        """The re-request's response is in; False (and it is closed) if the stream was closed meanwhile."""
        with self._lock:
            self._call_off = None
            closed = self.state == "closed"
            if not closed:
                self.body, self.state = body, "reading"
        if closed:
            body.close()
        return not closed

    def ended(self) -> None:
        with self._lock:
            if self.state == "reading":
                self.state = "ended"

    def failed(self) -> None:
        """Reading failed: the connection goes, and nothing more comes out of the stream."""
        with self._lock:
            if self.state != "closed":
                self.state = "failed"
        self.body.close()

    def close(self) -> None:
        """Close for good: the response on the wire, and any re-request on its way."""
        with self._lock:
            self.state, call_off, self._call_off = "closed", self._call_off, None
        if call_off is not None:
            call_off()
        self.body.close()


class _Resume:
    """How a message stream asks for its answer again: after an ``error`` event before the
    answer began, the same request under the client's retry policy; with ``max_resumes``
    (ours), after a dropped or stalled connection mid-answer, the text so far as a prefill."""

    def __init__(self, restart: Callable[..., Any], left: int) -> None:
        self.restart = restart  # (prefill or None, cancel, retries=, after=) -> the new request's body
        self.left = left

    def ask(self, life: _Lifecycle, acc: MessageAccumulator, error: APIError, retries: int) -> Dict[str, Any]:
        """``restart``'s arguments for asking again after ``error`` (``retries`` taken so far);
        re-raises ``error`` (the stream has failed) when asking again cannot help."""
        try:
            if life.state == "closed":
                raise error
            if isinstance(error, APIStatusError):  # an error event: only before the answer began
                if acc.begun:
                    raise error
                return {"prefill": None, "retries": retries, "after": error}
            return {"prefill": self._prefill(acc.message, error)}
        except APIError:
            life.failed()
            raise

    def _prefill(self, message: Optional[Message], error: APIError) -> str:
        """The text so far, for a resume; re-raises ``error`` when resuming cannot help (none
        left, nothing yet, or a block that is not text)."""
        if self.left <= 0 or message is None or any(block.type != "text" for block in message.content):
            raise error
        self.left -= 1
        text = "".join(block.text for block in message.content)
        _log(20, "resuming after %d characters: %s", len(text), error)
        return text

    def answered(self, life: _Lifecycle, acc: MessageAccumulator, body: Any, asked: Dict[str, Any]) -> bool:
        """The new request's body is in: read it from now on; False if the stream was closed meanwhile."""
        if not life.renewed(body):
            return False
        if asked["prefill"] is None:
            acc.discard()
        else:
            acc.resume(asked["prefill"])
        return True

    def send(self, asked: Dict[str, Any], cancel: _Cancel) -> Any:
        """The new request (blocking): prefilled if resuming; the API refuses trailing whitespace."""
        options = dict(asked)
        prefill = options.pop("prefill")
        return self.restart(prefill if prefill is None else prefill.rstrip(), cancel, **options)


class MessageStream(_Streaming):
    """A streamed message: iterate raw + derived events, or use ``text_stream``."""

    def __init__(self, body: _Body, *, resume: Optional[_Resume] = None) -> None:
        self._accumulator = MessageAccumulator()
        self._life = _Lifecycle(body)
        self._resume = resume
        self._iterator = self.__stream__()
        self.text_stream = _TextStream(self)

    @property
    def response(self) -> Any:  # the current request's (a resumed stream has made another)
        return self._life.body.response

    @property
    def current_message_snapshot(self) -> Optional[Message]:
        """The message so far; still readable after a failure mid-stream."""
        return self._accumulator.message

    def __stream__(self) -> Iterator[Any]:
        self._life.events_read = True
        try:
            yield from self._read("events")
        finally:
            self.close()

    def _read(self, want: str) -> Iterator[Any]:
        """What ``want`` asks of the rest of the stream (see ``MessageAccumulator.receive``),
        across resumes: the one reading loop of a message stream."""
        life, acc = self._life, self._accumulator
        while life.state == "reading":
            body = life.body
            try:
                yield from acc.receive(body.frames, want)
                body.end(acc.done)
                life.ended()
            except (APIStatusError, APIConnectionError) as exc:  # an error event, or the connection
                body.close()
                if isinstance(exc, APIConnectionError) and want == "events":
                    yield from acc.take_held()  # it arrived: only an error event's retry forgets it
                if not self._renewed(_blamed(exc, body.response)):
                    return
            except GeneratorExit:  # the reader was set aside, not the stream
                raise
            except BaseException as exc:
                life.failed()
                if isinstance(exc, APIError):
                    raise _blamed(exc, body.response) from None
                raise

    def _renewed(self, error: APIError) -> bool:
        """Ask for the answer again after ``error`` if that can help (see ``_Resume``), else
        re-raise it; False if the stream was closed meanwhile (it just ends)."""
        if self._resume is None:
            self._life.failed()
            raise error
        asked = self._resume.ask(self._life, self._accumulator, error, self._life.body.retries)
        cancel = self._life.renewing()
        try:
            body = self._resume.send(asked, cancel)
        except BaseException as exc:
            if self._life.state == "closed" and isinstance(exc, APIError):
                return False
            self._life.failed()
            raise
        return self._resume.answered(self._life, self._accumulator, body, asked)

    def _texts(self) -> Iterator[str]:
        """``text_stream``'s generator: the text of each text delta, in order.

        Until someone iterates the events, deltas go straight into the snapshot, without the
        event objects nobody would see (most of the cost of a long answer).
        """
        try:
            if not self._life.events_read:
                reader = self._read("texts")
                for text in reader:
                    yield text
                    if self._life.events_read:
                        break  # someone reads the events too: take the texts off them
                else:
                    return
            for event in self._iterator:
                if event.__class__ is TextEvent:  # derived from each text_delta, right after it
                    yield event.text
        except GeneratorExit:
            self.close()
            raise

    def until_done(self) -> None:
        """Read the rest of the stream."""
        for _ in self._iterator if self._life.events_read else self._read("nothing"):
            pass

    def get_final_message(self) -> Message:
        """Wait for the end of the stream and return the whole message."""
        self.until_done()
        return self._accumulator.final_message()

    def get_final_text(self) -> str:
        """The final message's text blocks joined; RuntimeError if it has none (as the SDK)."""
        return _text_of(self.get_final_message())

    def close(self) -> None:
        """Close the connection (and call off a resume on its way); the snapshot keeps what arrived."""
        self._life.close()


def _text_of(message: Message) -> str:
    texts = [block.text for block in message.content if block.type == "text"]
    if not texts:
        kinds = ", ".join(block.type for block in message.content) or "no"
        raise RuntimeError(".get_final_text() needs a text content block; the API returned %s "
                           "content block type(s): see get_final_message().content" % kinds)
    return "".join(texts)


class _TextStream:
    """``stream.text_stream``: the text deltas; ``close()`` closes the stream (from any thread)."""

    def __init__(self, stream: MessageStream) -> None:
        self._stream = stream
        self._texts = stream._texts()

    def __iter__(self) -> Iterator[str]:
        return self._texts

    def __next__(self) -> str:
        return next(self._texts)

    def close(self) -> None:
        self._stream.close()


class MessageStreamManager:
    """What ``messages.stream()`` returns: the request goes out on ``with``."""

    def __init__(self, make: Callable[[], MessageStream]) -> None:
        self._make = make
        self._stream: Optional[MessageStream] = None

    def __enter__(self) -> MessageStream:
        self._stream = self._make()
        return self._stream

    def __exit__(self, *exc_info: Any) -> None:
        if self._stream is not None:
            self._stream.close()


# -- Backpressure -------------------------------------------------------------------------
#
# ``background()`` moves the reading of a stream into a daemon thread that feeds a bounded
# queue: a slow consumer never stalls the socket into a timeout, and the thread blocks once
# ``maxsize`` items wait, so memory stays bounded and TCP flow control slows the server.

_END = object()


def _produce(source: Any, items: "Any", stop: threading.Event, notify: Optional[Callable[[], None]]) -> None:
    """The producer thread (a function, so the thread holds no reference to its ``background``)."""
    import queue

    def put(entry: Any) -> bool:
        while not stop.is_set():
            try:
                items.put(entry, timeout=0.25)  # the timeout only bounds a missed wake-up
            except queue.Full:
                continue
            if notify is not None:
                try:
                    notify()
                except RuntimeError:  # the event loop is gone: nobody will read on
                    stop.set()
                    return False
            return True
        return False

    iterator = None
    try:
        iterator = iter(source)
        for item in iterator:
            if not put((True, item)):
                return
        put((True, _END))
    except BaseException as exc:  # handed to the consumer, which re-raises it
        put((False, exc))
    finally:
        close = getattr(iterator, "close", None)
        if close is not None and not stop.is_set():
            close()


class background:
    """Iterate ``iterable`` in a daemon thread through a queue of at most ``maxsize`` items.

    The producer's exception is re-raised here. ``close()`` (also on ``with`` exit and at
    garbage collection) stops the thread and closes the source, and so its connection.
    """

    def __init__(self, iterable: Iterable[Any], maxsize: int = 100,
                 _notify: Optional[Callable[[], None]] = None) -> None:
        import queue
        self._source = iterable
        self._items: Any = queue.Queue(maxsize)
        self._stop = threading.Event()
        self._done = False
        self._notify = _notify
        self._thread = threading.Thread(target=_produce, args=(iterable, self._items, self._stop, _notify),
                                        name="claude_stream.background", daemon=True)
        self._thread.start()

    def __iter__(self) -> "background":
        return self

    def __next__(self) -> Any:
        return self.get()

    def get(self, timeout: Optional[float] = None) -> Any:
        """The next item, waiting at most ``timeout`` seconds (``queue.Empty`` if none came).

        Raises ``StopIteration`` at the end, and the producer's exception if it failed.
        """
        if self._done:
            raise StopIteration
        ok, item = self._items.get(timeout=timeout) if timeout != 0 else self._items.get_nowait()
        if ok and item is not _END:
            return item
        self._done = True
        self.close()
        if not ok:
            raise item
        raise StopIteration

    def close(self) -> None:
        """Stop the producer, close the source and wait (briefly) for the thread to end."""
        if self._stop.is_set():
            return
        self._stop.set()
        close = getattr(self._source, "close", None)
        if close is not None:
            try:
                close()
            except ValueError:  # a generator running in the producer cannot be closed here
                pass
        import queue
        while True:  # make room so a producer blocked on a full queue sees the stop flag
            try:
                self._items.get_nowait()
            except queue.Empty:
                break
        self._items.put_nowait((True, _END))  # and wake a consumer waiting in another thread
        if self._notify is not None:
            try:
                self._notify()
            except RuntimeError:
                pass
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)

    def __enter__(self) -> "background":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None and not stop.is_set():
            self.close()


# -- Async --------------------------------------------------------------------------------
#
# ``AsyncAnthropic`` on asyncio itself: no thread, no executor. A connection is a small
# protocol object (``_Pipe``) that keeps what arrives until it is read, so one read hands
# over everything the socket had, and the SSE decoder and the accumulator -- the same
# sans-IO core as the sync client's -- turn it into events in one step. HTTP/1.1 framing is
# read by ``_Framing`` (sans-IO too). asyncio is imported only when an async client is used.

_MAX_HEADERS, _MAX_LINE = 100, 65536  # http.client's limits, so both clients refuse the same heads
_PIPE_HIGH = 1024 * 1024  # buffered bytes at which reading pauses: TCP flow control slows the server


class _Headers(dict):  # type: ignore[type-arg]
    """Response headers by lower-case name; ``get`` ignores case, as http.client's does."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)


class _Framing:
    """A response body's framing, sans-IO: ``feed(wire bytes)`` returns the content they carry.

    Chunked, ``content-length`` or close-delimited (RFC 9112, section 6). ``done`` turns
    true at the end of the body; ``extra`` holds any bytes after it.
    """

    def __init__(self, headers: _Headers, status: int) -> None:
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self.left: Optional[int] = None  # content bytes still to come: the body's or the chunk's
        if not self.chunked and length is not None:
            values = {value.strip() for value in length.split(",")}  # repeated, the same: RFC 9110 8.6
            if len(values) != 1 or not values.issubset({v for v in values if v.isdigit()}):
                raise ValueError("invalid content-length %r" % length)
            self.left = int(values.pop())
        if status in (204, 304):
            self.left, self.chunked = 0, False
        self.done = self.left == 0
        self.extra = b""
        self._state, self._line = "size", b""  # chunked: which line comes next, and its start

    def feed(self, data: bytes) -> bytes:
        if self.done:
            self.extra += data
            return b""
        if self.chunked:
            return self._chunks(data)
        if self.left is None:  # close-delimited: everything until the connection ends
            return data
        piece = data[:self.left]
        self.left -= len(piece)
        if self.left == 0:
            self.done, self.extra = True, data[len(piece):]
        return piece

    def _chunks(self, data: bytes) -> bytes:
        out, pos = [], 0
        while pos < len(data) and not self.done:
            if self._state == "data":
                piece = data[pos:pos + self.left]  # type: ignore[operator]
                out.append(piece)
                pos += len(piece)
                self.left -= len(piece)  # type: ignore[operator]
                if self.left == 0:
                    self._state = "crlf"
                continue
            end = data.find(b"\n", pos)
            if end < 0:
                self._line += data[pos:]
                if len(self._line) > _MAX_LINE:
                    raise ValueError("chunk header line too long")
                break
            line, self._line, pos = (self._line + data[pos:end]).rstrip(b"\r"), b"", end + 1
            self._end_line(line)
        if self.done:
            self.extra = data[pos:]
        return b"".join(out)

    def _end_line(self, line: bytes) -> None:
        if self._state == "crlf":  # the CRLF after a chunk's data
            if line:
                raise ValueError("chunk data longer than its size")
            self._state = "size"
        elif self._state == "size":
            digits = line.split(b";")[0].strip()  # a chunk extension after ";" is ignored
            if not digits or digits.strip(b"0123456789abcdefABCDEF"):  # int() would take "-5" or "+5"
                raise ValueError("invalid chunk size %r" % line[:20])
            size = int(digits, 16)
            self._state, self.left = ("trailer", None) if size == 0 else ("data", size)
        elif not line:  # the blank line after the trailer fields
            self.done = True


def _settle(waiter: Any, error: Optional[BaseException] = None) -> None:
    if not waiter.done():
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)


class _Pipe:
    """The asyncio protocol of one connection: received bytes wait here until read.

    Duck-typed (asyncio needs no base class), so the module imports asyncio only on use.
    """

    def __init__(self, loop: Any) -> None:
        self.loop, self.transport = loop, None
        self.buffer = bytearray()
        self.eof, self.error = False, None
        self.waiter: Any = None
        self.paused = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _PIPE_HIGH and not self.paused:
            self.paused = True
            self.transport.pause_reading()  # type: ignore[attr-defined]
        if self.waiter is not None:
            _settle(self.waiter)

    def eof_received(self) -> bool:
        self.connection_lost(None)
        return False

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.eof, self.error = True, self.error or exc
        if self.waiter is not None:
            _settle(self.waiter)

    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass

    async def wait(self, timeout: float) -> None:
        """Until more bytes or the end arrive, at most ``timeout`` seconds (then ``socket.timeout``)."""
        import asyncio
        if self.loop is not asyncio.get_running_loop():
            raise ConnectionError("the connection belongs to another event loop (one asyncio.run per stream)")
        waiter = self.waiter = self.loop.create_future()
        timer = self.loop.call_later(timeout, _settle, waiter, socket.timeout("timed out"))
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None

    async def read(self, timeout: float) -> bytes:
        """All that has arrived (waiting for some if nothing has); b"" at the end."""
        while not self.buffer:
            if self.eof:
                if self.error is not None:
                    raise self.error
                return b""
            await self.wait(timeout)
        data = bytes(self.buffer)
        self.buffer.clear()
        if self.paused:
            self.paused = False
            self.transport.resume_reading()  # type: ignore[attr-defined]
        return data


class _AsyncResponse:
    """Status and headers of a response read by ``_AsyncConnection``, as http.client's looks."""

    def __init__(self, version: str, status: int, reason: str, headers: _Headers) -> None:
        self.version, self.status, self.status_code, self.reason = version, status, status, reason
        self.headers = headers
        self.framing = _Framing(headers, status)
        connection = headers.get("connection", "").lower()
        self.will_close = ("close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
                           or (self.framing.left is None and not self.framing.chunked))

    def getheader(self, name: str, default: Any = None) -> Any:
        return self.headers.get(name, default)


class _AsyncConnection:
    """One HTTP/1.1 connection on asyncio (maybe through a proxy), errors translated."""

    def __init__(self, pipe: _Pipe, transport: _Transport) -> None:
        self.pipe, self.loop, self.proxy = pipe, pipe.loop, transport.proxy
        self.closed = False
        default = 443 if transport.scheme == "https" else 80
        self.host = transport.host + ("" if transport.port == default else ":%d" % transport.port)
        self.prefix, self.headers = "", {}  # absolute-form target and proxy headers (plain http via a proxy)
        if self.proxy is not None and transport.scheme == "http":
            self.prefix, self.headers = "http://%s:%d" % (transport.host, transport.port), self.proxy.headers

    @classmethod
    async def open(cls, transport: _Transport, timeout: float) -> "_AsyncConnection":
        """Connect (through the proxy's tunnel for https, TLS inside it), within ``timeout``."""
        import asyncio
        loop = asyncio.get_running_loop()
        pipe, proxy = _Pipe(loop), transport.proxy
        tls = transport.context()
        host, port = (proxy.host, proxy.port) if proxy is not None else (transport.host, transport.port)
        direct_tls = tls if proxy is None else None
        try:
            await asyncio.wait_for(loop.create_connection(
                lambda: pipe, host, port, ssl=direct_tls,
                server_hostname=transport.host if direct_tls is not None else None), timeout)
            conn = cls(pipe, transport)
            if proxy is not None and tls is not None:
                await asyncio.wait_for(conn._tunnel(transport, tls, timeout), timeout)
            return conn
        except BaseException as exc:
            if pipe.transport is not None:
                pipe.transport.abort()
            if isinstance(exc, asyncio.TimeoutError):  # a subclass of OSError on 3.11+: first
                raise _transport_error(socket.timeout(), "connecting to %s" % host) from exc
            if isinstance(exc, _TRANSPORT_ERRORS):
                raise _transport_error(exc, "connecting to %s" % host, proxy) from exc
            raise

    async def _tunnel(self, transport: _Transport, tls: Any, timeout: float) -> None:
        """CONNECT through the proxy, then TLS to the API inside the tunnel."""
        lines = ["CONNECT %s:%d HTTP/1.1" % (transport.host, transport.port),
                 "Host: %s:%d" % (transport.host, transport.port)]
        lines += ["%s: %s" % kv for kv in self.proxy.headers.items()]  # type: ignore[union-attr]
        self.pipe.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))  # type: ignore[union-attr]
        response = await self._head(timeout)
        if response.status != 200:  # the words http.client uses, so both clients report it alike
            raise OSError("Tunnel connection failed: %d %s" % (response.status, response.reason))
        self.pipe.transport = await self.loop.start_tls(self.pipe.transport, self.pipe, tls,
                                                        server_hostname=transport.host)

    async def request(self, path: str, body: bytes, headers: Dict[str, str], timeout: float) -> _AsyncResponse:
        """Send the request and return the response once its head is in."""
        try:
            if self.closed:  # by the caller (a cancelled request)
                raise ConnectionAbortedError("closed by the caller")
            lines = ["POST %s HTTP/1.1" % (self.prefix + path), "Host: " + self.host,
                     "Accept-Encoding: identity", "Content-Length: %d" % len(body)]
            lines += ["%s: %s" % kv for kv in dict(headers, **self.headers).items()]
            self.pipe.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)  # type: ignore
            return await self._head(timeout)
        except BaseException as exc:
            self.close()
            if isinstance(exc, _TRANSPORT_ERRORS):
                raise _transport_error(exc, "waiting for the response") from exc
            raise

    async def _head(self, timeout: float) -> _AsyncResponse:
        """Read a response's status line and headers (skipping 1xx), with http.client's limits."""
        while True:
            head = await self._head_bytes(timeout)
            lines = head.decode("latin-1").split("\n")
            if len(lines) > _MAX_HEADERS + 1:
                raise http.client.HTTPException("got more than %d headers" % _MAX_HEADERS)
            if max(map(len, lines)) > _MAX_LINE:
                raise http.client.LineTooLong("header line")
            version, _, rest = lines[0].strip().partition(" ")
            status, _, reason = rest.partition(" ")
            if not version.startswith("HTTP/") or not status.isdigit() or len(status) != 3:
                raise http.client.BadStatusLine(lines[0])
            headers = _Headers()
            for line in lines[1:]:
                name, colon, value = line.partition(":")
                if colon:
                    name = name.strip().lower()
                    headers[name] = headers[name] + ", " + value.strip() if name in headers else value.strip()
            if not 100 <= int(status) < 200:
                return _AsyncResponse(version, int(status), reason.strip(), headers)

    async def _head_bytes(self, timeout: float) -> bytes:
        buffer = self.pipe.buffer
        while True:
            ends = [(at, size) for at, size in ((buffer.find(b"\n\r\n"), 3), (buffer.find(b"\n\n"), 2)) if at >= 0]
            end, size = min(ends) if ends else (-1, 0)  # the first blank line, CRLF or bare LF
            if end >= 0:
                head = bytes(buffer[:end])
                del buffer[:end + size]
                return head
            if buffer.count(b"\n") > _MAX_HEADERS + 1:
                raise http.client.HTTPException("got more than %d headers" % _MAX_HEADERS)
            if len(buffer) - buffer.rfind(b"\n") > _MAX_LINE:
                raise http.client.LineTooLong("header line")
            if self.pipe.eof:
                raise self.pipe.error or http.client.RemoteDisconnected(
                    "Remote end closed connection without response")
            await self.pipe.wait(timeout)

    async def read(self, response: _AsyncResponse, timeout: float) -> bytes:
        """The next content bytes of the body (all that has arrived); b"" at its end."""
        framing = response.framing
        while not framing.done:
            data = await self.pipe.read(timeout)
            if not data:
                if framing.chunked or framing.left is not None:
                    raise http.client.IncompleteRead(b"")
                framing.done = True
                break
            piece = framing.feed(data)
            if piece:
                return piece
        return b""

    async def read_all(self, response: _AsyncResponse, limit: int, timeout: float) -> bytes:
        """The whole (non-streaming) body, at most ``limit`` bytes."""
        parts, size = [], 0
        while True:
            try:
                piece = await self.read(response, timeout)
            except _TRANSPORT_ERRORS as exc:
                raise _transport_error(exc, "while reading the response") from exc
            if not piece:
                return b"".join(parts)
            size += len(piece)
            if size > limit:
                raise APIResponseValidationError("response body exceeds %d bytes" % limit, response=response)
            parts.append(piece)

    def reusable(self, response: _AsyncResponse) -> bool:
        """True if another request may follow on this connection."""
        return (response.framing.done and not response.framing.extra and not response.will_close
                and not self.closed and not self.pipe.eof and not self.pipe.buffer)

    def close(self) -> None:
        """Close now: the socket goes at once (nothing more is read or sent)."""
        self.closed = True
        transport = self.pipe.transport
        if transport is not None:
            try:
                transport.abort()
            except RuntimeError:  # its event loop has ended: hang up on the socket itself
                sock = transport.get_extra_info("socket")
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except (OSError, AttributeError):
                    pass


class _AsyncPool:
    """Finished connections, kept for reuse on the event loop they belong to (at most ``size``)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.idle: List[_AsyncConnection] = []

    def take(self, loop: Any) -> Optional[_AsyncConnection]:
        while self.idle:
            conn = self.idle.pop()
            if conn.loop is loop and not conn.pipe.eof and not conn.pipe.buffer:
                return conn
            conn.close()
        return None

    def give(self, conn: _AsyncConnection, response: _AsyncResponse) -> None:
        if conn.reusable(response) and len(self.idle) < self.size:
            self.idle.append(conn)
        else:
            conn.close()

    def clear(self) -> None:
        idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()


class _AsyncBody(_Body):
    """A streaming response read on asyncio: ``next_frames()`` instead of ``frames``."""

    def __init__(self, conn: _AsyncConnection, response: _AsyncResponse, pool: _AsyncPool,
                 max_line_size: int, timeout: float, retries: int) -> None:
        super().__init__(conn, response, pool, max_line_size, retries)  # type: ignore[arg-type]
        self._timeout = timeout

    async def next_frames(self) -> Optional[List[ServerSentEvent]]:
        """The frames the next read completes (maybe none); None at the end of the body."""
        conn = self._conn
        try:
            data = await conn.read(self.response, self._timeout)  # type: ignore[attr-defined]
        except _TRANSPORT_ERRORS as exc:
            if conn.closed:  # closed on purpose: the stream just stops
                return None
            raise _transport_error(exc, "while reading the response stream") from exc
        return self.decoder.feed(data) if data else None


class _AsyncTransport:
    """``_Transport`` on asyncio: the same origin, proxy and TLS settings; its own pool."""

    def __init__(self, transport: _Transport) -> None:
        self.origin = transport
        self.pool = _AsyncPool()

    async def send(self, target: str, data: bytes, headers: Dict[str, str], timeouts: Tuple[float, float],
                   cancel: _Cancel) -> Tuple[_AsyncConnection, _AsyncResponse]:
        """Send on a kept connection if one is open; one that turns out dead is replaced once."""
        import asyncio
        conn = self.pool.take(asyncio.get_running_loop())
        if conn is not None:
            cancel.watch(conn)  # type: ignore[arg-type]
            try:
                return conn, await conn.request(target, data, headers, timeouts[1])
            except APITimeoutError:
                raise  # the server may be working on it: sending again could run it twice
            except APIConnectionError:
                if cancel.event.is_set():
                    raise
                _log(10, "kept connection was dead; reconnecting")
        conn = await _AsyncConnection.open(self.origin, timeouts[0])
        cancel.watch(conn)  # type: ignore[arg-type]
        return conn, await conn.request(target, data, headers, timeouts[1])

    async def attempt(self, target: str, data: bytes, headers: Dict[str, str], timeouts: Tuple[float, float],
                      stream: bool, cancel: _Cancel) -> Tuple[_AsyncConnection, _AsyncResponse, bytes]:
        conn, response = await self.send(target, data, headers, timeouts, cancel)
        try:
            content = b""
            if response.status >= 300 or not stream:
                content = await conn.read_all(response, self.origin.max_line_size, timeouts[1])
            _check_status(response, content)
            if stream and not _is_event_stream(response):
                start = b""
                try:
                    start = await conn.read(response, timeouts[1])
                except _TRANSPORT_ERRORS:
                    pass
                raise _not_event_stream(response, start)
            cancel.release()
            if not stream:
                self.pool.give(conn, response)
            return conn, response, content
        except BaseException:
            conn.close()
            raise

    def body(self, conn: _AsyncConnection, response: _AsyncResponse, timeout: float, retries: int) -> _AsyncBody:
        return _AsyncBody(conn, response, self.pool, self.origin.max_line_size, timeout, retries)


async def _sleep(delay: float, cancel: _Cancel) -> None:
    """Wait ``delay`` seconds, or less if the request is called off meanwhile."""
    import asyncio
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    cancel.wake = lambda: loop.call_soon_threadsafe(_settle, waiter)
    timer = loop.call_later(delay, _settle, waiter)
    try:
        if not cancel.event.is_set():
            await waiter
    finally:
        timer.cancel()
        cancel.wake = None


class _AsyncStreaming(_Described):
    """What both async stream kinds share: ``async with`` closes."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()


class AsyncStream(_AsyncStreaming):
    """``await client.messages.create(stream=True)``: raw events with ``async for``."""

    def __init__(self, body: _AsyncBody, *, pings: bool = False) -> None:
        self._body = body
        self.response = body.response
        self._iterator = self.__stream__(pings)

    def __aiter__(self) -> "AsyncStream":
        return self

    def __anext__(self) -> Any:
        return self._iterator.__anext__()

    async def __stream__(self, pings: bool) -> Any:
        body, finished = self._body, False
        try:
            while True:
                frames = await body.next_frames()
                if frames is None:
                    break
                for event in iter_events(frames, pings):
                    if event.type == "message_stop":
                        finished = True
                    yield event
            body.end(finished)
        except APIError as exc:
            raise _blamed(exc, self.response) from None
        finally:
            body.close()

    async def close(self) -> None:
        self._body.close()


class AsyncMessageStream(_AsyncStreaming):
    """The async ``MessageStream``: the same events, snapshot and helpers, awaited."""

    def __init__(self, body: _AsyncBody, *, resume: Optional[_Resume] = None) -> None:
        import collections
        self._accumulator = MessageAccumulator()
        self._life = _Lifecycle(body)
        self._resume = resume
        self._frames: Any = collections.deque()  # decoded, not yet folded in
        self._events: Any = None  # the events reader, from the first __anext__
        self._lean = self._read("texts")
        self.text_stream = _AsyncTextStream(self._next_text, self.close)

    response = property(lambda self: self._life.body.response)
    current_message_snapshot = property(lambda self: self._accumulator.message)

    def __aiter__(self) -> Any:
        return self._event_reader()  # async for steps the reader itself: no call of ours per event

    def __anext__(self) -> Any:
        return self._event_reader().__anext__()

    def _event_reader(self) -> Any:
        if self._events is None:
            self._life.events_read = True
            self._events = self._read("events")
        return self._events

    def _next_text(self) -> Any:
        """What ``text_stream.__anext__`` awaits: straight from the frames until events are read."""
        return self._text_from_events() if self._life.events_read else self._lean.__anext__()

    async def _text_from_events(self) -> str:
        while True:
            event = await self.__anext__()
            if event.__class__ is TextEvent:  # derived from each text_delta, right after it
                return event.text

    def _pending(self) -> Iterator[ServerSentEvent]:
        frames = self._frames
        while frames:
            yield frames.popleft()

    async def _read(self, want: str) -> Any:
        """``MessageStream._read`` on asyncio: each read's frames are folded in one step."""
        life, acc = self._life, self._accumulator
        while life.state == "reading":
            body = life.body
            try:
                batch: Iterable[ServerSentEvent] = self._pending()  # what a texts reader left, if any
                while True:
                    for item in acc.receive(batch, want):
                        yield item
                    frames = await body.next_frames()
                    if frames is None:
                        break
                    if want == "texts":  # its reader may be set aside mid-batch: the rest stays queued
                        self._frames.extend(frames)
                        batch = self._pending()
                    else:
                        batch = frames
                body.end(acc.done)
                life.ended()
            except (APIStatusError, APIConnectionError) as exc:  # an error event, or the connection
                body.close()
                self._frames.clear()
                if isinstance(exc, APIConnectionError) and want == "events":
                    for item in acc.take_held():  # it arrived: only an error event's retry forgets it
                        yield item
                if not await self._renewed(_blamed(exc, body.response)):
                    return
            except GeneratorExit:  # the reader was set aside, not the stream
                raise
            except BaseException as exc:  # a cancelled task included: the connection goes at once
                life.failed()
                if isinstance(exc, APIError):
                    raise _blamed(exc, body.response) from None
                raise

    async def _renewed(self, error: APIError) -> bool:
        """``MessageStream._renewed``, awaited."""
        life, resume = self._life, self._resume
        if resume is None:
            life.failed()
            raise error
        asked = resume.ask(life, self._accumulator, error, life.body.retries)
        cancel = life.renewing()
        try:
            body = await resume.send(asked, cancel)
        except BaseException as exc:
            if life.state == "closed" and isinstance(exc, APIError):
                return False
            life.failed()
            raise
        return resume.answered(life, self._accumulator, body, asked)

    async def until_done(self) -> None:
        """Read the rest of the stream."""
        async for _ in self if self._life.events_read else self._read("nothing"):
            pass

    async def get_final_message(self) -> Message:
        await self.until_done()
        return self._accumulator.final_message()

    async def get_final_text(self) -> str:
        return _text_of(await self.get_final_message())

    async def close(self) -> None:
        """Close the connection (and call off a request on its way); the snapshot keeps what arrived."""
        self._life.close()


class _AsyncTextStream:
    """``stream.text_stream`` of an async message stream: ``async for text in ...``."""

    def __init__(self, next_text: Callable[[], Any], close: Callable[[], Any]) -> None:
        self._next, self._close = next_text, close

    def __aiter__(self) -> "_AsyncTextStream":
        return self

    def __anext__(self) -> Any:
        return self._next()

    async def aclose(self) -> None:
        await self._close()

    close = aclose


class AsyncMessageStreamManager:
    """What ``AsyncAnthropic().messages.stream()`` returns: the request goes out on ``async with``."""

    def __init__(self, make: Callable[[], Any], resume: _Resume) -> None:
        self._make = make
        self._resume = resume
        self._stream: Optional[AsyncMessageStream] = None

    async def __aenter__(self) -> AsyncMessageStream:
        self._stream = AsyncMessageStream(await self._make(), resume=self._resume)
        return self._stream

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._stream is not None:
            await self._stream.close()


class AsyncMessages(Messages):
    """``AsyncAnthropic().messages``: ``await create(...)`` and ``stream(...)``."""

    async def create(self, *, stream: bool = False, extra_headers: Any = None,  # type: ignore[override]
                     extra_query: Any = None, extra_body: Any = None, timeout: Any = None, **params: Any) -> Any:
        """Send a request: an ``AsyncStream`` of raw events if ``stream=True``, else the ``Message``."""
        params.update(extra_headers=extra_headers, extra_query=extra_query, extra_body=extra_body,
                      timeout=timeout)
        if stream:
            return AsyncStream(await self._send(params, stream=True))
        return _message_of(*await self._send(params, stream=False))

    def stream(self, *, max_resumes: int = 0, **params: Any) -> AsyncMessageStreamManager:  # type: ignore[override]
        """As ``Messages.stream``, ``max_resumes`` included."""
        return AsyncMessageStreamManager(lambda: self._send(params, stream=True),
                                         _Resume(self._restart(params), max_resumes))

    async def count_tokens(self, **params: Any) -> MessageTokensCount:  # type: ignore[override]
        """As ``Messages.count_tokens``, awaited."""
        body, options = _count_request(params)
        return _tokens_count_of(*await self._client._post("/v1/messages/count_tokens", body, stream=False,
                                                           **options))

    async def _send(self, params: Dict[str, Any], stream: bool, cancel: Optional[_Cancel] = None,  # type: ignore
                    **retry: Any) -> Any:
        body, options = _message_request(params, stream)
        return await self._client._post("/v1/messages", body, stream=stream, cancel=cancel, **options, **retry)


class AsyncAnthropic(_Client):
    """The asyncio client: ``Anthropic``'s arguments, with ``async with`` / ``async for`` / ``await``."""

    def _messages(self) -> AsyncMessages:
        self._aio = _AsyncTransport(self._transport)
        return AsyncMessages(self)  # type: ignore[arg-type]

    async def close(self) -> None:
        """Close the kept connections (streams still open keep theirs)."""
        self._aio.pool.clear()

    async def __aenter__(self) -> "AsyncAnthropic":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def _post(self, path: str, body: Dict[str, Any], *, stream: bool, extra_headers: Any = None,
                    extra_query: Any = None, timeout: Any = None, cancel: Optional[_Cancel] = None,
                    retries: int = 0, after: Optional[APIStatusError] = None) -> Any:
        """``Anthropic._post``, awaited: the ``_AsyncBody`` of a 2xx stream, else ``(response, content)``."""
        target, data, headers, timeouts = self._request(path, body, extra_headers, extra_query, timeout)
        transport, cancel = self._aio, cancel or _Cancel()
        error: Optional[APIError] = after
        (retry, asked), started = _retry_rule(after) if after else (False, {}), time.monotonic()
        while True:
            if error is not None:
                await _sleep(self._next_try(error, retry, asked, retries, started), cancel)
                retries += 1
            if cancel.event.is_set():
                raise APIConnectionError("the request was cancelled")
            started = time.monotonic()
            _log(10, "POST %s%s headers=%s", _redact_url(self.base_url), target, _masked(headers))
            try:
                conn, response, content = await transport.attempt(target, data, headers, timeouts, stream, cancel)
                _log(10, "-> %s in %.3f s (request-id %s)", response.status, time.monotonic() - started,
                     response.getheader("request-id"))
                return transport.body(conn, response, timeouts[1], retries) if stream else (response, content)
            except (APIStatusError, APIConnectionError) as exc:
                error, (retry, asked) = exc, _retry_rule(exc)


# -- CLI ----------------------------------------------------------------------------------
#
# ``python -m claude_stream [options] PROMPT...`` behaves as a Unix filter: the answer on
# stdout as it streams, everything else on stderr, and exit codes a script can trust:
# 0 complete, 1 API/network failure, 2 usage, 3 stopped early, 130 Ctrl-C, 141 stdout closed.

class _StdoutClosed(Exception):
    """The reader of stdout went away (EPIPE); distinct from a socket's BrokenPipeError."""


class _Console:
    """Writes for the CLI: answer text to stdout, the rest to stderr."""

    def __init__(self, quiet: bool, prog: str) -> None:
        self.quiet, self.prog = quiet, prog
        self.request_id: Optional[str] = None  # of the streaming response, for --json error lines
        self.error_shown = False  # --json: the error already went out (as the API's error event)
        self.partial: Optional[Message] = None  # what arrived of an answer that then failed
        self.at_line_start = True  # stdout: the last text written ended a line (or none yet)
        self.thinking = False  # stderr is in the middle of thinking text
        self.dim = sys.stderr.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"

    def out(self, text: str) -> None:
        if not text:
            return
        if self.thinking:
            self.err_raw("\n")
            self.thinking = False
        self.at_line_start = text.endswith("\n")  # before writing: Ctrl-C may land mid-write
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError as exc:
            raise _StdoutClosed() from exc

    def think(self, text: str) -> None:
        if not self.quiet and text:
            self.thinking = True
            self.err_raw("\x1b[2m%s\x1b[0m" % text if self.dim else text)

    def end_line(self) -> None:
        if not self.at_line_start:
            self.out("\n")

    def err_raw(self, text: str) -> None:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # a closed stderr is not worth dying for

    def say(self, text: str, always: bool = True) -> None:
        if always or not self.quiet:
            if self.thinking:
                self.err_raw("\n")
                self.thinking = False
            self.err_raw("%s: %s\n" % (self.prog, text))


def _prog() -> str:
    """The name the user typed: the console script's, else the module's (``python -m``)."""
    name = os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else "")
    return "claude-stream" if name.startswith("claude-stream") else "claude_stream"


def _parser(prog: str) -> Any:
    import argparse
    p = argparse.ArgumentParser(
        prog=prog, description="Stream a Claude answer to stdout. The prompt is the PROMPT "
        "words, after any text piped on stdin. The key comes from ANTHROPIC_API_KEY.",
        epilog="exit codes: 0 complete, 1 API or network failure, 2 usage error, 3 stopped early "
        "(max_tokens, refusal, ...), 130 interrupted, 141 stdout closed")
    p.add_argument("prompt", nargs="*", metavar="PROMPT", help="prompt words, joined with spaces")
    p.add_argument("-m", "--model", default=os.environ.get("CLAUDE_STREAM_MODEL") or DEFAULT_MODEL,
                   help="model id (default: $CLAUDE_STREAM_MODEL or %(default)s)")
    p.add_argument("-s", "--system", help="system prompt (@FILE: read it from FILE)")
    p.add_argument("--system-file", metavar="FILE", help="read the system prompt from FILE")
    p.add_argument("-a", "--attach", action="append", default=[], metavar="FILE",
                   help="attach FILE (repeatable; - is standard input): PNG, JPEG, GIF or WebP as an image, "
                   "PDF as a document, UTF-8 text as a text document")
    p.add_argument("--max-tokens", type=int, default=8192, metavar="N", help="default: %(default)s")
    p.add_argument("--temperature", type=float, metavar="T", help="0 to 1")
    p.add_argument("--thinking", action="store_true", help="adaptive thinking, summarized on stderr")
    p.add_argument("--thinking-budget", type=int, metavar="N", help="extended thinking with N budget tokens")
    p.add_argument("--no-stream", action="store_true", help="one non-streaming request")
    p.add_argument("--save", metavar="FILE", help="after the answer, write the conversation (the messages "
                   "and the answer, as the API's JSON) to FILE")
    p.add_argument("-c", "--continue", dest="continue_from", metavar="FILE",
                   help="send the conversation saved in FILE first, then this prompt")
    p.add_argument("--count-tokens", action="store_true", help="print the input tokens the request would "
                   "take (with --json: the API's object) and exit, without generating")
    p.add_argument("--json", action="store_true", help="print API events as JSON lines (with --no-stream: "
                   "the message)")
    p.add_argument("-u", "--usage", action="store_true", help="print token usage on stderr")
    p.add_argument("-q", "--quiet", action="store_true", help="no thinking, warnings or retry notices")
    p.add_argument("--no-stdin", action="store_true", help="never read standard input")
    p.add_argument("--timeout", type=float, default=DEFAULT_READ_TIMEOUT, metavar="SECONDS",
                   help="connect and idle-read timeout (default: %(default)s)")
    p.add_argument("--retries", type=int, default=DEFAULT_MAX_RETRIES, metavar="N",
                   help="retries before the answer starts (default: %(default)s)")
    p.add_argument("--resume", type=int, default=0, metavar="N",
                   help="after a dropped or stalled connection mid-answer, continue up to N times "
                   "(the text so far as a prefill)")
    p.add_argument("--extra", action="append", default=[], metavar="JSON",
                   help="a JSON object merged into the request body (repeatable)")
    p.add_argument("--version", action="version", version="%s %s" % (prog, __version__))
    return p


class _Usage(Exception):
    """A usage error found while reading the input (exit 2, before any connection)."""


def _read_prompt(args: Any) -> str:
    """The PROMPT words, after piped stdin text and one blank line: data first, instruction last.
    A word ``-`` stands for standard input, in its place."""
    stdin = sys.stdin
    if "-" in args.attach:
        return " ".join(args.prompt)  # standard input is an attachment
    if "-" in args.prompt:
        text = _read_stdin(stdin)
        return " ".join(text if word == "-" else word for word in args.prompt)
    words = " ".join(args.prompt)
    piped = ""
    if not args.no_stdin and stdin is not None and not stdin.isatty():
        piped = _read_stdin(stdin)
    if piped and words:
        return piped + ("\n" if piped.endswith("\n") else "\n\n") + words
    return piped or words


def _read_stdin(stdin: Any) -> str:
    data = _read_stdin_bytes()
    if b"\0" in data[:8192] or _kind_of(data)[0] in ("image", "document"):  # a stray bad byte is still text
        raise _Usage("standard input is binary (%d bytes), not text: to send it as a file, use -a -" % len(data))
    return data.decode("utf-8", "replace")


# What ``-a`` sends, told by the content's first bytes (not the name); limits as the API's.
_MAGIC = [(b"\x89PNG\r\n\x1a\n", "image", "image/png"), (b"\xff\xd8\xff", "image", "image/jpeg"),
          (b"GIF87a", "image", "image/gif"), (b"GIF89a", "image", "image/gif"),
          (b"%PDF-", "document", "application/pdf")]
_ATTACH_LIMITS = {"image": 5 * 1024 * 1024, "document": 32 * 1024 * 1024, "text": 32 * 1024 * 1024}


def _kind_of(data: bytes) -> Tuple[Optional[str], Optional[str]]:
    """(block kind, media type) of a file's content; ``("text", ...)`` for UTF-8 text, else (None, None)."""
    for magic, kind, media in _MAGIC:
        if data.startswith(magic):
            return kind, media
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image", "image/webp"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None, None
    return ("text", "text/plain") if b"\0" not in data else (None, None)


def _attachments(args: Any) -> List[Dict[str, Any]]:
    """The content blocks of the ``-a`` files, checked before any connection (``_Usage`` if not fit)."""
    import base64
    blocks = []
    for name in args.attach:
        try:
            data = _read_stdin_bytes() if name == "-" else open(name, "rb").read()
        except OSError as exc:
            raise _Usage("cannot read %s: %s" % (name, exc.strerror or exc)) from exc
        shown = "standard input" if name == "-" else name
        kind, media = _kind_of(data)
        if kind is None:
            raise _Usage("%s is not a PNG, JPEG, GIF, WebP or PDF file, nor UTF-8 text" % shown)
        if len(data) > _ATTACH_LIMITS[kind]:
            raise _Usage("%s is %d bytes; the API takes at most %d MiB for %s" % (
                shown, len(data), _ATTACH_LIMITS[kind] // (1024 * 1024), "an image" if kind == "image" else "a document"))
        if kind == "text":
            source = {"type": "text", "media_type": media, "data": data.decode("utf-8")}
        else:
            source = {"type": "base64", "media_type": media, "data": base64.b64encode(data).decode("ascii")}
        blocks.append({"type": "image" if kind == "image" else "document", "source": source})
    return blocks


def _read_stdin_bytes() -> bytes:
    stdin = sys.stdin
    return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()


def _load_files(args: Any) -> Optional[str]:
    """Read ``-s @FILE``, ``--system-file`` and ``--extra @FILE`` into their values; what went wrong, if anything."""
    try:
        if args.system_file is not None:
            if args.system is not None:
                return "use --system or --system-file, not both"
            args.system = _file_text(args.system_file)
        elif args.system is not None and args.system.startswith("@"):
            args.system = _file_text(args.system[1:])
        args.extra = [_file_text(extra[1:]) if extra.startswith("@") else extra for extra in args.extra]
    except OSError as exc:
        return "cannot read %s: %s" % (exc.filename, exc.strerror or exc)
    return None


def _file_text(path: str) -> str:
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def _request_body(args: Any, prompt: str, files: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    content: Any = prompt
    if files:  # the files first, then the words about them
        content = files + ([{"type": "text", "text": prompt}] if prompt.strip() else [])
    body: Dict[str, Any] = {"model": args.model, "max_tokens": args.max_tokens,
                            "messages": [{"role": "user", "content": content}]}
    if args.system:
        body["system"] = args.system
    if args.temperature is not None:
        body["temperature"] = args.temperature
    if args.thinking:
        body["thinking"] = {"type": "adaptive", "display": "summarized"}
    if args.thinking_budget is not None:
        body["thinking"] = {"type": "enabled", "budget_tokens": args.thinking_budget}
    for extra in args.extra:
        body.update(json.loads(extra))
    return body


def _usage_error(args: Any) -> Optional[str]:
    """What is wrong with the arguments and environment, before any connection."""
    if args.temperature is not None and not 0 <= args.temperature <= 1:
        return "--temperature must be between 0 and 1"
    if args.thinking and args.thinking_budget is not None:
        return "use --thinking or --thinking-budget, not both"
    if args.max_tokens < 1 or args.retries < 0 or args.resume < 0 or not 0 < args.timeout < 1e9:  # nan, inf
        return "--max-tokens must be >= 1, --retries and --resume >= 0, and --timeout > 0"
    if args.resume and (args.json or args.no_stream):
        return "--resume continues streamed text; it does not go with --json or --no-stream"
    for extra in args.extra:
        try:
            value = json.loads(extra)
        except ValueError as exc:
            return "--extra is not valid JSON (%s): %.80s" % (exc, extra)
        if not isinstance(value, dict):
            return "--extra must be a JSON object, got: %.80s" % extra
    if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        return ("no API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN). To try it offline from a "
                "clone of the project: python3 examples/fake_api.py --run python3 -m claude_stream hello")
    return None


def _error_json(err: BaseException, request_id: Optional[str]) -> str:
    """The API's error shape for any failure, plus HTTP status and request id."""
    if isinstance(err, APIStatusError):
        kind, message = err.type or "api_error", _error_message(err)
        status, request_id = err.status_code, err.request_id or request_id
    else:
        kind = "timeout_error" if isinstance(err, APITimeoutError) else "connection_error"
        message, status = str(err), None
        if isinstance(err, APIResponseValidationError):
            kind = "invalid_response_error"
    return _json_line({"type": "error", "error": {"type": kind, "message": message},
                       "status": status, "request_id": request_id})


def _error_message(err: APIStatusError) -> str:
    error = err.body.get("error") if isinstance(err.body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return _describe_body(err.body) or "HTTP %s" % err.status_code


def _error_line(err: BaseException) -> str:
    """One readable line for stderr: API type, message, HTTP status and request id."""
    if isinstance(err, APIStatusError):
        mid_stream = getattr(err.response, "status", None) == 200  # an error event in an answer under way
        where = ["error event mid-stream" if mid_stream else "HTTP %s" % err.status_code]
        where += ["request-id %s" % err.request_id] if err.request_id else []
        return "error: %s: %s (%s)" % (err.type or "api_error", _error_message(err), ", ".join(where))
    if isinstance(err, APIConnectionError) and not isinstance(err, APITimeoutError):
        text = str(err)
        if text.startswith("connection error "):  # "connection error while ..." reads on
            return "error: connection failed " + text[len("connection error "):]
        return "error: connection failed: " + text
    return "error: %s" % err


def _run_stream(client: Anthropic, body: Dict[str, Any], args: Any, con: _Console) -> Message:
    """Stream the answer: text to stdout, thinking to stderr (resuming after drops if asked)."""
    if args.json:
        return _run_json(client, body, con)
    with client.messages.stream(max_resumes=args.resume, **body) as stream:
        con.request_id = stream.request_id
        try:
            for event in stream:
                if event.__class__ is TextEvent:  # derived: never a server event named "text"
                    con.out(event.text)
                elif event.__class__ is ThinkingEvent:
                    con.think(event.thinking)
            return stream.get_final_message()
        except BaseException:
            con.partial = stream.current_message_snapshot
            raise


def _run_json(client: Anthropic, body: Dict[str, Any], con: _Console) -> Message:
    """Every event of the answer as a JSON line, pings included, as it came."""
    stream = Stream(client.messages._send(body, stream=True), pings=True)
    acc = MessageAccumulator()
    con.request_id = stream.request_id
    try:
        for event in stream:
            con.out(_json_line(event.to_dict()))
            acc.feed(event)
    except APIStatusError as err:  # an error event: it passes through as it came, once
        if isinstance(err.body, dict):
            con.out(_json_line(err.body))
            con.error_shown = True
        raise
    finally:
        stream.close()
    if acc.message is None:
        raise _bad_stream("the stream carried no message_start")
    return acc.message


def _count_tokens(client: Anthropic, body: Dict[str, Any], args: Any, con: _Console) -> int:
    """``--count-tokens``: only what the counting endpoint takes is sent (no max_tokens, no stream)."""
    count = client.messages.count_tokens(**{k: v for k, v in body.items()
                                            if k in ("model", "messages") or k in _COUNT_TOKENS_FIELDS})
    con.out(_json_line(count.to_dict()) if args.json else "%d\n" % count.input_tokens)
    return 0


def _answer(client: Anthropic, body: Dict[str, Any], args: Any, con: _Console) -> Message:
    """Send the request and print the answer; with --save, the conversation is written either way
    (marked incomplete when the answer failed or was interrupted)."""
    try:
        if args.no_stream:
            message = client.messages.create(**body)
            con.out(message.to_json(indent=None) + "\n" if args.json else
                    "".join(b.text for b in message.content or [] if b.type == "text"))
        else:
            message = _run_stream(client, body, args, con)
    except BaseException:
        _save(args, body, con.partial, complete=False)
        raise
    _save(args, body, message, complete=True)
    return message


def _save(args: Any, body: Dict[str, Any], message: Optional[Message], complete: bool) -> None:
    if not args.save:
        return
    messages = list(body["messages"])
    if message is not None and message.content:
        messages.append({"role": "assistant", "content": message.to_dict()["content"]})
    data = {"model": body["model"], "messages": messages}
    if "system" in body:
        data["system"] = body["system"]
    if not complete:
        data["incomplete"] = True  # -c will not send this answer back as if it were whole
    with open(args.save, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")


def _history(args: Any, con: _Console) -> List[Dict[str, Any]]:
    """The messages of the conversation ``-c FILE`` continues (its system prompt, unless -s gives one)."""
    if not args.continue_from:
        return []
    try:
        with open(args.continue_from, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
        messages = data["messages"]
        if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
            raise ValueError("messages is not a list of messages")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _Usage("cannot continue %s: %s" % (args.continue_from, getattr(exc, "strerror", None) or exc)) from exc
    if data.get("incomplete") and messages and messages[-1]["role"] == "assistant":
        messages = messages[:-1]
        con.say("note: the last answer in %s was incomplete; it is not sent back" % args.continue_from)
    if args.system is None and isinstance(data.get("system"), (str, list)):
        args.system = data["system"]
    return messages


def _json_line(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def _finish(message: Message, args: Any, con: _Console) -> int:
    con.end_line()
    if args.usage:
        u = message.usage
        extra = "".join(", %s %s" % (n.replace("_input_tokens", "").replace("_", " "), getattr(u, n))
                        for n in ("cache_read_input_tokens", "cache_creation_input_tokens")
                        if getattr(u, n, None))
        con.say("usage: %s input, %s output tokens%s" % (u.input_tokens, u.output_tokens, extra))
    if message.stop_reason in ("end_turn", "stop_sequence"):
        return 0
    hint = " (output truncated; raise --max-tokens)" if message.stop_reason == "max_tokens" else ""
    con.say("warning: the answer stopped early: stop_reason=%s%s" % (message.stop_reason, hint), always=False)
    return 3


def main(argv: Optional[List[str]] = None) -> int:
    """The command line; returns the exit status (see the module's CLI section)."""
    prog = _prog()
    parser = _parser(prog)
    args = parser.parse_args(argv)  # exits 2 on bad flags, 0 on --help/--version
    con = _Console(args.quiet, prog)
    if not sys.stdout.isatty() and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    problem = _load_files(args) or _usage_error(args)
    if problem:
        con.say("error: " + problem)
        return 2
    stream_open = False
    try:
        try:
            files, prompt = _attachments(args), _read_prompt(args)
            history = _history(args, con)
        except _Usage as exc:
            con.say("error: %s" % exc)
            return 2
        if not prompt.strip() and not files:
            con.say("error: no prompt: give PROMPT or pipe text on stdin")
            return 2
        try:
            client = _cli_client(args, con)
        except ValueError as exc:  # a bad ANTHROPIC_BASE_URL or proxy setting
            con.say("error: %s" % exc)
            return 2
        body = _request_body(args, prompt, files)
        body["messages"][:0] = history
        if args.count_tokens:
            return _count_tokens(client, body, args, con)
        stream_open = True
        return _finish(_answer(client, body, args, con), args, con)
    except _StdoutClosed:
        return 141
    except KeyboardInterrupt:
        _quietly(con.end_line)
        con.say("interrupted")
        return 130
    except AnthropicError as err:
        _quietly(con.end_line)
        if args.json and stream_open and not con.error_shown:
            _quietly(lambda: con.out(_error_json(err, con.request_id)))
        con.say(_error_line(err))
        return 1
    except Exception as exc:  # a bug of ours: still one line, never a traceback or a secret
        return _unexpected(exc, con)


def _unexpected(exc: Exception, con: _Console) -> int:
    _quietly(con.end_line)
    text = "%s: %s" % (type(exc).__name__, exc)
    for secret in (os.environ.get("ANTHROPIC_API_KEY"), os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        if secret:
            text = text.replace(secret, "***")
    con.say("error: unexpected %s (please report it)" % text)
    return 1


def _cli_client(args: Any, con: _Console) -> Anthropic:
    """The client for a command line: its timeout and retries, each retry told on stderr."""
    def told(err: BaseException, delay: float, n: int, most: int) -> None:
        con.say("%s; retrying in %.1fs (%d/%d)" % (_retry_reason(err), delay, n, most), always=False)
    logged = os.environ.get("ANTHROPIC_LOG", "").lower() in ("info", "debug")  # the log line says it already
    return Anthropic(timeout=args.timeout, max_retries=args.retries, on_retry=None if logged else told)


def _retry_reason(err: BaseException) -> str:
    if isinstance(err, APIStatusError):
        return "%s %s" % (err.status_code, err.type or "error")
    return str(err)


def _quietly(action: Callable[[], None]) -> None:
    try:
        action()
    except _StdoutClosed:
        pass


def _entry() -> None:
    """Console-script and ``python -m`` entry: exit as a shell expects for 130 and 141."""
    status = main()
    if status == 141:
        try:  # stdout's reader is gone: make the flush at exit a no-op instead of noise
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
    if status == 130 and os.name == "posix":
        import signal
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # die of SIGINT so shell loops stop too
        os.kill(os.getpid(), signal.SIGINT)
    sys.exit(status)


if __name__ == "__main__":
    _entry()


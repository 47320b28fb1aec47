"""lens.features.llm: the OpenAI-compatible client's errors say what to fix and never show the key."""

from __future__ import annotations

import httpx
import pytest

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.features.llm import EndpointUnreachable, OpenAIChat

KEY = "sk-lens-test-4471"


def _answering(status: int, body: object) -> httpx.MockTransport:
    def reply(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        return httpx.Response(status, json=body)

    return httpx.MockTransport(reply)


def test_a_completion_is_read_and_a_refused_key_is_named_without_showing_it() -> None:
    ok = OpenAIChat("http://llm.test/v1", "m", KEY, transport=_answering(200, {
        "choices": [{"message": {"content": " [1, 0] "}}]}))
    assert ok.chat([{"role": "user", "content": "hi"}], 8) == "[1, 0]"
    assert KEY not in repr(ok)
    refused = OpenAIChat("http://llm.test/v1", "m", KEY, transport=_answering(401, {"error": "bad key"}))
    with pytest.raises(EndpointUnreachable, match="check the API key") as raised:
        refused.chat([{"role": "user", "content": "hi"}], 8)
    assert KEY not in raised.value.message
    odd = OpenAIChat("http://llm.test/v1", "m", KEY, transport=_answering(200, {"text": "no choices"}))
    with pytest.raises(EndpointUnreachable, match="not an OpenAI chat completion"):
        odd.chat([{"role": "user", "content": "hi"}], 8)


def test_a_closed_port_is_unreachable_and_a_bad_url_is_refused() -> None:
    with pytest.raises(EndpointUnreachable, match="is unreachable"):
        OpenAIChat("http://127.0.0.1:9/v1", "m", KEY, timeout_s=5).chat([{"role": "user", "content": "hi"}], 8)
    with pytest.raises(InvalidArgument, match="http:// or https://"):
        OpenAIChat("localhost:8000", "m")

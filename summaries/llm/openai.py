"""Any OpenAI-compatible `/v1/chat/completions` server (Ollama, llama.cpp, vLLM, LM Studio,
OpenAI) through the real `openai` SDK.

Structured output: the summary schema is asked for as `response_format` type `json_schema`
(OpenAI, vLLM, Ollama, llama.cpp's `llama-server`); a server that refuses that shape gets
`{"type": "json_object", "schema": ...}` (llama-cpp-python's server), then plain text read
by the layered parser. What a server accepted is remembered per process, per base URL and
model. Every reply is validated against the schema whatever the mode.

Never truncated: requests are sized against OPENAI_CONTEXT_TOKENS with a conservative token
estimate, leaving room for the system prompt and the reply (a longer transcript goes in
parts, see summaries.llm.chunking). After every reply the server's `usage.prompt_tokens` is
compared with what was sent: a server that evidently read less (e.g. Ollama cutting a prompt
to its default context) is a MalformedReply, so no summary of half an episode is stored.
"""

import copy
import math
import threading
from functools import lru_cache
from typing import Any

from django.conf import settings

from summaries.llm.base import (
    MalformedReply,
    ProviderOutput,
    ProviderRejected,
    Usage,
    cost_usd,
    estimate_tokens,
    price_for,
)
from summaries.llm.chunking import summarize_in_parts
from summaries.llm.parsing import reply_summary
from summaries.llm.prepare import EpisodeContext
from summaries.llm.session import RequestSession, sdk_classify
from summaries.prompts import PromptTemplate, context_block
from summaries.schema import (
    CHAPTERS_MAX,
    KEY_POINTS_MAX,
    KEY_POINTS_MIN,
    QUOTES_MAX,
    SUMMARY_JSON_SCHEMA,
    TOPICS_MAX,
)

PROVIDER = "openai"
MODES = ("json_schema", "json_object", "text")
RAW_MAX_CHARS = 20_000
# Chat-template tokens around the message (role markers, turn separators), generously.
TEMPLATE_TOKENS = 64
# No common tokenizer averages more characters per token on prose than this: a server that
# reports fewer prompt tokens than characters sent / 6 cannot have read all of them.
TRUNCATION_CHARS_PER_TOKEN = 6.0
# The prompts' system text asks for a tool call (Claude's path); here the JSON is the answer.
SYSTEM_SUFFIX = (
    "\n\nThere is no tool in this conversation: answer with only the JSON object record_summary would "
    "take (the keys {keys}, as described above), no prose."
)
# Words in an error body that say the server refused the response_format, not the request.
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "input should be")

_accepted: dict[tuple[str, str], str] = {}
_accepted_lock = threading.Lock()


class _FormatRefused(Exception):
    """The server refused this response_format shape: try the next one."""


def accepted_mode(base_url: str, model: str) -> str | None:
    """The structured-output mode this process last saw the server accept (None: not asked yet)."""
    with _accepted_lock:
        return _accepted.get((base_url.rstrip("/"), model))


def accepted_modes_forget() -> None:
    with _accepted_lock:
        _accepted.clear()


def _remember(key: tuple[str, str], mode: str) -> None:
    with _accepted_lock:
        _accepted[key] = mode


def _sdk():
    # Imported on first use: the SDK is only needed when this provider is configured.
    import openai

    return openai


@lru_cache(maxsize=8)
def _client(base_url: str, api_key: str):
    # The SDK insists on a key; local servers ignore the header.
    return _sdk().OpenAI(base_url=base_url, api_key=api_key or "unused", max_retries=0)


# Reply shapes from roomy to compact: (tldr chars, key points, point chars, quotes, quote chars,
# chapters, title chars, topics, topic chars, ad spans, ad label chars). The roomiest is the
# validation limits (ad spans have none: 10 is more ad breaks than an episode has).
_SHAPES = (
    (800, KEY_POINTS_MAX, 400, QUOTES_MAX, 600, CHAPTERS_MAX, 150, TOPICS_MAX, 60, 10, 200),
    (300, 5, 150, 2, 200, 4, 60, 4, 30, 4, 60),
    # One chapter and one topic: a small model repeats itself, and repeats fail validation.
    (150, KEY_POINTS_MIN, 70, 0, 0, 1, 40, 1, 25, 2, 30),
)
# Characters of JSON per reply token, low on purpose: the worst-case reply must fit.
_REPLY_CHARS_PER_TOKEN = 3.0


def _worst_case_chars(shape: tuple[int, ...], *, with_ads: bool) -> int:
    tldr, points, point, quotes, quote, chapters, title, topics, topic, ads, label = shape
    chars = 100 + tldr + points * (point + 4) + quotes * (quote + 30) + chapters * (title + 30) + topics * (topic + 4)
    return chars + (ads * (label + 50) if with_ads else 0)


def _grammar_patterns(node: Any) -> None:
    r"""Every `pattern` rewritten for grammar-constrained servers: `\d` as `[0-9]` (llama-cpp-python's
    converter reads `\d` as a literal, the grammar fails to parse and its server dies on the
    request), and `\d+` as at most two digits (the clock's hours: under a grammar a small model
    otherwise writes digits until max_tokens)."""
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            node["pattern"] = node["pattern"].replace(r"\d+", "[0-9]{1,2}").replace(r"\d", "[0-9]")
        for value in node.values():
            _grammar_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _grammar_patterns(value)


def schema_for(prompt: PromptTemplate) -> dict[str, Any]:
    """The prompt version's reply schema (v3's asks for ad spans too), as Claude's tool has it."""
    return prompt.tool_schema or SUMMARY_JSON_SCHEMA


def response_schema(max_output_tokens: int, *, base: dict[str, Any] = SUMMARY_JSON_SCHEMA) -> dict[str, Any]:
    """`base` with length and count limits a grammar-constrained server enforces: the roomiest
    shape whose longest possible reply fits in `max_output_tokens` (always validated after)."""
    budget = max_output_tokens * _REPLY_CHARS_PER_TOKEN
    with_ads = "ads" in base["properties"]
    shape = next((s for s in _SHAPES if _worst_case_chars(s, with_ads=with_ads) <= budget), _SHAPES[-1])
    tldr, points, point, quotes, quote, chapters, title, topics, topic, ads, label = shape
    schema = copy.deepcopy(base)
    _grammar_patterns(schema)
    props = schema["properties"]
    if with_ads:
        props["ads"]["maxItems"] = ads
        props["ads"]["items"]["properties"]["label"]["maxLength"] = label
    props["tldr"]["maxLength"] = tldr
    props["key_points"].update(maxItems=points, items={"type": "string", "minLength": 1, "maxLength": point})
    props["quotes"]["maxItems"] = quotes
    props["quotes"]["items"]["properties"]["text"]["maxLength"] = max(quote, 1)
    props["chapters"]["maxItems"] = chapters
    props["chapters"]["items"]["properties"]["title"]["maxLength"] = title
    props["topics"].update(maxItems=topics, items={"type": "string", "minLength": 1, "maxLength": topic})
    return schema


def response_format(mode: str, *, max_output_tokens: int, base: dict[str, Any] = SUMMARY_JSON_SCHEMA) -> dict[str, Any] | None:
    schema = response_schema(max_output_tokens, base=base)
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "record_summary", "schema": schema}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def _refuses_format(exc: Any) -> bool:
    if exc.status_code in (400, 422):
        return True
    text = f"{exc.message} {exc.body}".lower()
    return exc.status_code >= 500 and any(word in text for word in _FORMAT_WORDS)


def system_prompt(prompt: PromptTemplate) -> str:
    keys = schema_for(prompt)["required"]
    return prompt.system + SYSTEM_SUFFIX.format(keys=", ".join(keys[:-1]) + " and " + keys[-1])


def overhead(prompt: PromptTemplate, context: EpisodeContext | None = None) -> int:
    """Estimated tokens of every request besides the transcript."""
    template = max((prompt.user, prompt.chunk, prompt.chunk_later or "", prompt.merge), key=len)
    context_tokens = estimate_tokens(context_block(context or EpisodeContext())) if prompt.uses_context else 0
    return estimate_tokens(system_prompt(prompt)) + estimate_tokens(template) + context_tokens + TEMPLATE_TOKENS + 50


def input_limit() -> int:
    """Estimated prompt tokens a request may take: the context less the reply."""
    return settings.OPENAI_CONTEXT_TOKENS - settings.OPENAI_MAX_OUTPUT_TOKENS


def _raw(completion: Any) -> str:
    try:
        raw = completion.model_dump_json(exclude_none=True)
    except Exception:  # an odd reply the SDK could barely parse still gets recorded
        raw = repr(completion)
    return raw[:RAW_MAX_CHARS]


def reply_parts(completion: Any, *, sent_floor: int, usage: Usage | None = None) -> tuple[dict[str, Any], list[Any] | None]:
    """(validated summary, the reply's raw `ads` list or None) of a chat completion; MalformedReply otherwise.

    `sent_floor` is the fewest prompt tokens the server can have read if it read everything.
    """
    raw = _raw(completion)
    reported = getattr(completion.usage, "prompt_tokens", None) if completion.usage else None
    if reported is not None and reported < sent_floor:
        raise MalformedReply(
            "prompt_truncated",
            f"the server read {reported} prompt tokens of at least {sent_floor} sent: it dropped part of the "
            f"prompt (is its context window smaller than OPENAI_CONTEXT_TOKENS={settings.OPENAI_CONTEXT_TOKENS}?)",
            raw=raw,
            usage=usage,
        )
    choices = completion.choices or []
    if not choices:
        raise MalformedReply("empty", "the reply had no choices", raw=raw, usage=usage)
    choice = choices[0]
    if choice.finish_reason == "length":
        raise MalformedReply("max_tokens", "the reply was cut off (finish_reason length)", raw=raw, usage=usage)
    message = choice.message
    if getattr(message, "refusal", None) or choice.finish_reason == "content_filter":
        raise MalformedReply("refusal", "the model refused to answer", raw=raw, usage=usage)
    return reply_summary(text=message.content or "", raw=raw, usage=usage)


class Session:
    """One summary's requests to one server for one prompt version (retries and deadline:
    summaries.llm.session); `ask` is what summaries.llm.chunking calls for each request."""

    def __init__(self, *, budget, prompt: PromptTemplate):
        self.system = system_prompt(prompt)
        self.schema = schema_for(prompt)
        self.base_url = settings.OPENAI_BASE_URL
        self.model = settings.OPENAI_MODEL
        if not self.base_url:
            raise ProviderRejected("OPENAI_BASE_URL is not set")
        if price_for(self.model) is None:  # no request whose cost could not be accounted for
            raise ProviderRejected(f"OPENAI_MODEL {self.model!r} has no price in LLM_PRICES_USD_PER_MTOK")
        self.key = (self.base_url.rstrip("/"), self.model)
        self.client = _client(self.base_url, settings.OPENAI_API_KEY)
        self.requests = RequestSession.from_settings(budget=budget, prefix="OPENAI")
        self.usage = self.requests.usage
        self.warnings: list[str] = []

    def _send(self, *, messages: list[dict], mode: str):
        openai = _sdk()

        params: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": settings.OPENAI_MAX_OUTPUT_TOKENS,
            "temperature": 0,
        }
        fmt = response_format(mode, max_output_tokens=settings.OPENAI_MAX_OUTPUT_TOKENS, base=self.schema)
        if mode == "json_schema":
            params["response_format"] = fmt
        elif mode == "json_object":
            # Through extra_body: the SDK's type for json_object has no `schema` key.
            params["extra_body"] = {"response_format": fmt}

        def send(timeout: float):
            try:
                return self.client.chat.completions.create(**params, timeout=timeout)
            except openai.APIStatusError as exc:
                if mode != "text" and _refuses_format(exc):
                    raise _FormatRefused(f"{exc.status_code} for response_format {mode}") from exc
                raise

        return send

    def _usage_of(self, completion: Any, *, estimated: int) -> Usage:
        u = completion.usage
        input_tokens = (getattr(u, "prompt_tokens", None) if u else None) or estimated
        output_tokens = (getattr(u, "completion_tokens", None) if u else None) or 0
        return Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            requests=1,
            cost_usd=cost_usd(self.model, input_tokens=input_tokens, output_tokens=output_tokens),
        )

    def ask(self, user: str) -> tuple[dict[str, Any], list[Any] | None]:
        system = self.system
        estimated = estimate_tokens(system) + estimate_tokens(user) + TEMPLATE_TOKENS
        if estimated > input_limit():
            raise ProviderRejected(
                f"a {estimated}-token request leaves no room for the reply in OPENAI_CONTEXT_TOKENS="
                f"{settings.OPENAI_CONTEXT_TOKENS}"
            )
        sent_floor = math.floor((len(system) + len(user)) / TRUNCATION_CHARS_PER_TOKEN)
        # One user message: some chat templates drop a system message without a word
        # (llama-cpp-python's `gemma` format does), and every server takes a user turn.
        messages = [{"role": "user", "content": f"{system}\n\n{user}"}]
        mode = accepted_mode(*self.key) or MODES[0]
        while True:
            try:
                completion = self.requests.call(
                    self._send(messages=messages, mode=mode),
                    reserve_tokens=estimated + settings.OPENAI_MAX_OUTPUT_TOKENS,
                    usage_of=lambda c: self._usage_of(c, estimated=estimated),
                    classify=lambda exc: None if isinstance(exc, _FormatRefused) else sdk_classify(_sdk(), exc),
                )
            except _FormatRefused:
                mode = MODES[MODES.index(mode) + 1]
                continue
            _remember(self.key, mode)
            if completion.usage is None or getattr(completion.usage, "prompt_tokens", None) is None:
                self.warnings.append("the server reported no prompt_tokens: truncation could not be checked")
            return reply_parts(completion, sent_floor=sent_floor, usage=self.usage)


def summarize(segments: list[dict], *, prompt: PromptTemplate, budget, context: EpisodeContext | None = None) -> ProviderOutput:
    session = Session(budget=budget, prompt=prompt)
    done = summarize_in_parts(
        segments,
        prompt=prompt,
        token_limit=input_limit(),
        overhead=overhead(prompt, context),
        ask=session.ask,
        context=context,
    )
    warnings = sorted(set(session.warnings)) + done.warnings
    return ProviderOutput(
        content=done.content, provider=PROVIDER, model=session.model, usage=session.usage, warnings=warnings, ads=done.ads
    )

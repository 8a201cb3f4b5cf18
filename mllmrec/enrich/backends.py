"""Text generation behind one interface, for item descriptions (prompt + image) and user
preferences (prompt only).

- :class:`TransformersBackend`: any ``AutoModelForImageTextToText`` model by hub name or
  local path (text-only ``AutoModelForCausalLM`` models also work for profiles), loaded once,
  chat template, greedy batched generation, GPU when present.
- :class:`OpenAIBackend`: any OpenAI-compatible ``/chat/completions`` endpoint (vLLM,
  Ollama, TGI, LM Studio), images inline as data URLs, a bounded thread pool, retries with
  exponential backoff (:class:`~mllmrec.enrich.endpoint.Endpoint`).

``generate`` never raises for one bad request: each reply carries its text or an
:class:`~mllmrec.enrich.report.ItemFailure`.
"""
from __future__ import annotations

import base64
import io
import logging
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from PIL import Image

from mllmrec.config import EnrichSettings
from mllmrec.enrich.endpoint import Endpoint, EndpointError
from mllmrec.enrich.report import EMPTY_OUTPUT, ENDPOINT_ERROR, ItemFailure
from mllmrec.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class Request:
    prompt: str
    image: Image.Image | None = None


@dataclass
class Reply:
    text: str | None = None
    failure: ItemFailure | None = None


def _reply(text: str | None) -> Reply:
    text = (text or "").strip()
    if not text:
        return Reply(failure=ItemFailure(EMPTY_OUTPUT, "the model returned empty text"))
    return Reply(text=text)


class Backend(ABC):
    """A loaded model (or endpoint) that answers batches of requests."""

    model_id: str
    supports_images: bool = True

    @abstractmethod
    def generate(self, requests: list[Request]) -> list[Reply]:
        """One reply per request, in order."""

    def close(self) -> None:
        """Release resources (thread pools, GPU memory)."""


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("enrich.device is 'cuda' but no CUDA device is available")
    return device


class TransformersBackend(Backend):
    """A local Hugging Face model, loaded once, greedy decoding on left-padded batches."""

    def __init__(self, model: str, device: str = "auto", max_new_tokens: int = 160) -> None:
        import torch
        from transformers import AutoProcessor

        self.model_id = model
        self.device = resolve_device(device)
        self.max_new_tokens = max_new_tokens
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        try:
            self.processor = AutoProcessor.from_pretrained(model, use_fast=False)
            self.model = _load_model(model, dtype)
        except OSError as exc:
            raise ConfigError(f"cannot load model '{model}': {exc} (offline machines need a "
                              "local folder, or use --backend openai)") from None
        self.supports_images = hasattr(self.processor, "image_processor")
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.to(self.device).eval()
        log.info("loaded %s on %s (images: %s)", model, self.device, self.supports_images)

    def _messages(self, req: Request) -> list[dict[str, Any]]:
        if req.image is None:
            return [{"role": "user", "content": req.prompt}]
        return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": req.prompt}]}]

    def _run(self, requests: list[Request]) -> list[str]:
        import torch

        texts = [self.processor.apply_chat_template(self._messages(r), add_generation_prompt=True,
                                                    tokenize=False) for r in requests]
        images = [r.image for r in requests if r.image is not None]
        if images and not self.supports_images:
            raise ConfigError(f"model '{self.model_id}' has no image processor: use a vision-language model")
        kwargs: dict[str, Any] = {"text": texts, "padding": True, "return_tensors": "pt"}
        if images:
            kwargs["images"] = images
        inputs = self.processor(**kwargs).to(self.device)
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                                      pad_token_id=self.tokenizer.pad_token_id)
        new = out[:, inputs["input_ids"].shape[1]:]
        return self.tokenizer.batch_decode(new, skip_special_tokens=True)

    def generate(self, requests: list[Request]) -> list[Reply]:
        if not requests:
            return []
        try:
            return [_reply(t) for t in self._run(requests)]
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - isolate the request that breaks the batch
            if len(requests) == 1:
                return [Reply(failure=ItemFailure(ENDPOINT_ERROR, f"generation failed: {exc}"))]
            log.warning("batch generation failed (%s); retrying one by one", exc)
            return [self.generate([r])[0] for r in requests]

    def close(self) -> None:
        del self.model


def _load_model(model: str, dtype: Any) -> Any:
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    try:
        return AutoModelForImageTextToText.from_pretrained(model, torch_dtype=dtype)
    except ValueError:  # a text-only model: fine for user profiles
        return AutoModelForCausalLM.from_pretrained(model, torch_dtype=dtype)


def image_data_url(image: Image.Image) -> str:
    """A JPEG data URL, the inline image form OpenAI-compatible servers accept."""
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class OpenAIBackend(Backend):
    """An OpenAI-compatible chat endpoint; requests run concurrently (bounded) with retries."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 concurrency: int = 4, retries: int = 3, timeout: float = 120.0,
                 max_new_tokens: int = 160, backoff: float = 0.5) -> None:
        self.endpoint = Endpoint(base_url, api_key, retries, timeout, backoff)
        self.url = self.endpoint.url("chat/completions")
        self.model_id = model
        self.max_new_tokens = max_new_tokens
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="openai")

    def _payload(self, req: Request) -> dict[str, Any]:
        content: Any = req.prompt
        if req.image is not None:
            content = [{"type": "image_url", "image_url": {"url": image_data_url(req.image)}},
                       {"type": "text", "text": req.prompt}]
        return {"model": self.model_id, "messages": [{"role": "user", "content": content}],
                "max_tokens": self.max_new_tokens, "temperature": 0}

    def _one(self, req: Request) -> Reply:
        try:
            answer = self.endpoint.post("chat/completions", self._payload(req))
        except EndpointError as exc:
            return Reply(failure=ItemFailure(ENDPOINT_ERROR, str(exc)))
        try:
            return _reply(answer["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError):
            return Reply(failure=ItemFailure(
                ENDPOINT_ERROR, f"{self.url} sent an unexpected answer: {str(answer)[:300]}"))

    def generate(self, requests: list[Request]) -> list[Reply]:
        return list(self.pool.map(self._one, requests))

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def make_backend(settings: EnrichSettings, model: str) -> Backend:
    """The configured backend serving ``model`` (enrich.vlm_model or enrich.llm_model)."""
    if settings.backend == "openai":
        if not settings.openai_base_url:
            raise ConfigError("backend 'openai' needs enrich.openai_base_url (--base-url)")
        return OpenAIBackend(settings.openai_base_url, model, settings.openai_api_key,
                             settings.openai_concurrency, settings.openai_retries,
                             settings.openai_timeout, settings.max_new_tokens)
    return TransformersBackend(model, settings.device, settings.max_new_tokens)

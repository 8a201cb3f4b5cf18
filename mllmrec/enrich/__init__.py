"""Enrichment (docs/method.md sections 2-4): a vision-language model describes item images, an
LLM writes each user's preference paragraph from their TRAINING history, and a sentence
encoder turns item texts and user preferences into vectors stored in Neo4j.

Stage entry points: :func:`mllmrec.enrich.describe.describe_items`,
:func:`mllmrec.enrich.profile.profile_users`, :func:`mllmrec.enrich.embed.embed_texts`.
"""

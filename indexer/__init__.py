"""The write path of Kakehashi: ingest, validate, store, embed and publish index versions.

Nothing here imports `service`; data flows from here to there.
"""

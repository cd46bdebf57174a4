"""Writes of the signed record books: ``signing`` (documents, the chain of signatures, the record's moves approved →
signed → locked and its revocation)."""

"""Entities, ids and errors shared by every layer."""

"""Tip providers: each turns one verified delivery into events."""

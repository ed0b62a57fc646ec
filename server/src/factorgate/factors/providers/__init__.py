"""Providers that place calls, send SMS and push prompts: one small interface, several back ends."""

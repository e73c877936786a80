"""Integrated tools an assistant may be given (handoff lives in assistants/)."""

"""Imports every command module so that each registers itself on the root app."""

# One line per command module; keep in help-panel order.

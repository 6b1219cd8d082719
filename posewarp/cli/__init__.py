"""The Typer command-line interface: one thin module per command, no torch code here."""

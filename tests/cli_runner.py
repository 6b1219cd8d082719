"""Run ``posewarp ARGS`` inside the test process, as the tests of every command do."""

from posewarp.cli.main import main


def cli(args, capsys) -> tuple[int, str, str]:
    """``posewarp ARGS`` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err

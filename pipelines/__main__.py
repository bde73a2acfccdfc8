"""`python -m pipelines shell`: the interactive DuckDB SQL shell on the warehouse, read-only.

`python -m pipelines extensions` copies the wheel-shipped DuckDB extensions into place (the
bootstrap runs it), so any DuckDB 1.5 client on this machine loads them offline.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import ConfigError
from .lake import ensure_extensions, shell_init


def shell(args: list[str]) -> int:
    """Run the duckdb CLI with the lake opened by an init file only this user can read."""
    cli = str(Path(sys.executable).with_name("duckdb"))
    if not Path(cli).exists():
        cli = shutil.which("duckdb") or cli
    with tempfile.TemporaryDirectory(prefix="lake-shell-") as tmp:
        init = Path(tmp) / "init.sql"
        init.write_text(shell_init())
        init.chmod(0o600)
        return subprocess.call([cli, "-init", str(init), *args])


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "shell"
    try:
        if command == "extensions":
            print(ensure_extensions())
            return 0
        if command == "shell":
            return shell(argv[1:])
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"usage: python -m pipelines [shell [duckdb args...] | extensions], not {command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

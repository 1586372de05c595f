"""What every CLI command shares: settings, the platform, clear errors without tracebacks."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from bastide.config import load_settings
from bastide.errors import DomainError
from bastide.platform import Platform

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@contextmanager
def platform_session(*, init: bool = False, empty: bool = False) -> Iterator[Platform]:
    """Open the platform for one command; domain errors become a message and an exit code.
    `empty`: the command fills a deployment that holds nothing yet (a restore)."""
    platform = None
    try:
        platform = Platform(with_served_url(load_settings()))
        if init:
            platform.init(actor())
        elif not empty and not platform.db.is_migrated():
            raise DomainError("the platform is not initialised here: run `bastide init` first (or `bastide up`)",
                              code="not_initialised")
        yield platform
    except DomainError as exc:
        fail(exc)
    except typer.Exit:
        raise
    except Exception as exc:  # an unexpected failure: one line, no traceback (BASTIDE_DEBUG=1 shows it)
        if os.environ.get("BASTIDE_DEBUG"):
            raise
        err.print(f"[red]internal error:[/] {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        err.print("Re-run with BASTIDE_DEBUG=1 for details, and report it.")
        raise typer.Exit(70) from None
    finally:
        if platform is not None:
            platform.close()


SERVED = "served.json"  # where `bastide up` records the address it serves this home at, while it runs


def with_served_url(settings):
    """Links a command prints (activation, resets) point where people reach the platform:
    BASTIDE_PUBLIC_URL when set, else the address of the `bastide up` serving this home now (it
    may listen on another port than the default's), else the default."""
    if "public_url" in settings.model_fields_set:
        return settings
    try:
        served = json.loads((Path(settings.home) / SERVED).read_text())
        os.kill(int(served["pid"]), 0)  # still running (a server that crashed left the file)
        settings.public_url = str(served["url"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return settings


@contextmanager
def serving_at(settings, url: str) -> Iterator[None]:
    """Record, while the server runs, the address it serves this home at (see with_served_url)."""
    record = Path(settings.home) / SERVED
    record.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    try:
        yield
    finally:
        record.unlink(missing_ok=True)


def fail(exc: DomainError) -> None:
    err.print(f"[red]error:[/] {exc.message}")
    raise typer.Exit(exc.exit_code)


def actor():
    from bastide.platform import operator_actor

    return operator_actor()


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover


def signed_document(file: Path, public_key: Path, format: str) -> dict:
    """A signed document's content if its signature holds under the key in `public_key`; else a
    clear line and exit 2 (unreadable) or 6 (altered, or not signed by that key)."""
    from bastide.keys.signing import BadSignature, verify_document

    try:
        return verify_document(file.read_text(), public_pem=public_key.read_text(), format=format)
    except OSError as exc:
        err.print(f"[red]error:[/] cannot read {exc.filename}: {exc.strerror}")
        raise typer.Exit(2) from None
    except BadSignature as exc:
        err.print(f"[red]invalid:[/] {file.name}: {exc}")
        raise typer.Exit(6) from None


def lazy_module(name: str):
    """The module, loaded at its first attribute's use: a command imports only what it runs, so
    `bastide users …` does not load Parquet, DuckDB or the SBOM's library (about a second each
    time the command starts)."""
    import importlib.util
    import sys

    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


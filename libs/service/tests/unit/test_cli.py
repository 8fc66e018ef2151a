"""``wangge token`` prints a dev token that the dev issuer's keys verify."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from wangge.service.auth import TokenVerifier
from wangge.service.cli import app
from wangge.service.devissuer import DEV_AUDIENCE, DEV_ISSUER, DevIssuer


def test_a_token_for_a_grid_worker_of_one_grid(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["token", "--role", "grid_worker", "--grid", "320111001-003-004",
         "--subject", "worker-7", "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    verifier = TokenVerifier(
        issuer=DEV_ISSUER, audience=DEV_AUDIENCE, jwks=DevIssuer(tmp_path / "dev-issuer.pem").jwks()
    )
    principal = verifier.verify(result.output.strip())
    assert principal.subject == "worker-7"
    assert principal.roles == {"grid_worker"}
    assert principal.places == {"320111001-003-004"}


def test_an_unknown_role_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["token", "--role", "root", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown roles: root" in result.output


def _services_imported(*argv: str) -> set[str]:
    """Which services' packages ``wangge <argv>`` imports before it runs (a fresh interpreter)."""
    probe = (
        "import sys; sys.argv = ['wangge', *sys.argv[1:]]; import wangge.service.cli; "
        "print(' '.join(sorted({m.split('.')[1] for m in sys.modules "
        "if m.startswith('wangge.') and m.count('.') >= 1})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True
    ).stdout.split()
    return set(out) & {"registry", "hotline_bridge", "cases", "training", "views"}


def test_a_command_imports_only_the_service_it_names() -> None:
    assert _services_imported("token", "--role", "grid_worker") == set()
    assert _services_imported("hotline-bridge", "sign", "-") == {"hotline_bridge"}
    # the help lists every service's commands
    assert _services_imported("--help") == {
        "registry", "hotline_bridge", "cases", "training", "views",
    }  # fmt: skip

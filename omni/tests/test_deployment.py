"""The deployment files hold together: the example environment (deploy/omni.env.example) with
real secret files passes ``manage.py check --deploy``, and the production settings refuse to
start without their secrets. Each in a fresh process, as a deployment starts one."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from django.conf import settings

from tests.helpers import manage

EXAMPLE = Path(settings.BASE_DIR) / "deploy" / "omni.env.example"


def _example_env(secret_dir: Path) -> dict[str, str]:
    """The example file's variables, its secret files made in ``secret_dir``."""
    (secret_dir / "secret_key").write_text(secrets.token_urlsafe(50) + "\n")
    (secret_dir / "signing_key").write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    env = {"PATH": os.environ["PATH"], "OMNI_VAR_DIR": str(secret_dir / "var")}
    for line in EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip().replace("/etc/omni/", f"{secret_dir}/")
    return env


def test_the_example_environment_passes_check_deploy(tmp_path: Path) -> None:
    env = _example_env(tmp_path)
    assert env["DJANGO_SETTINGS_MODULE"] == "omni.settings.production"
    assert "OMNI_SECRET_KEY" not in env and "OMNI_SIGNING_KEY" not in env  # files only
    checked = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout


def test_production_reads_secrets_from_files_and_refuses_to_start_without(
    tmp_path: Path,
) -> None:
    env = _example_env(tmp_path)
    shown = manage(
        env, "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == (tmp_path / "secret_key").read_text().strip()

    without_signing_key = {k: v for k, v in env.items() if k != "OMNI_SIGNING_KEY_FILE"}
    refused = manage(without_signing_key, "check")
    assert refused.returncode != 0
    assert "Set OMNI_SIGNING_KEY" in refused.stderr

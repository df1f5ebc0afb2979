"""The EVALBATCH_* environment of a stack configures evalbatch Settings, and the credentials are stable."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from evalbatch.settings import Settings
from ops.credentials import CREDENTIALS_FILE, load_or_create_credentials
from ops.ports import StackPorts
from ops.services import LocalStack, env_for


def test_env_for_names_only_settings_fields_and_configures_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = LocalStack(tmp_path / "home", StackPorts(redis=7001, s3=7002, stac=7003, api=7004))
    env = env_for(stack.describe())
    prefix = Settings.model_config["env_prefix"]
    assert all(name.startswith(prefix) and name.removeprefix(prefix).lower() in Settings.model_fields
               for name in env)  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.redis_url == "redis://127.0.0.1:7001/0"
    assert settings.s3_endpoint_url == "http://127.0.0.1:7002"
    assert settings.stac_url == "http://127.0.0.1:7003"
    assert settings.public_url == "http://127.0.0.1:7004"
    assert settings.s3_access_key == stack.context.credentials.s3_access_key
    assert settings.s3_secret_key == stack.context.credentials.s3_secret_key
    assert settings.home == stack.home
    assert stack.settings == settings


def test_credentials_are_generated_once_and_private(tmp_path: Path) -> None:
    first = load_or_create_credentials(tmp_path)
    assert load_or_create_credentials(tmp_path) == first
    assert first != load_or_create_credentials(tmp_path / "other")
    assert stat.S_IMODE((tmp_path / CREDENTIALS_FILE).stat().st_mode) == 0o600


def test_ports_are_remembered_by_home(tmp_path: Path) -> None:
    ports = StackPorts(redis=7101, api=7102)
    LocalStack(tmp_path, ports).save()
    assert LocalStack(tmp_path).ports == ports
    assert LocalStack.with_ports(tmp_path, api=7200).ports == ports.replace(api=7200)

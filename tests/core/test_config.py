"""Configuration: the example file, env overrides, `limelight init`, and error messages.

Errors must name the file (or variable), the key and what is wrong, and never echo a
secret; config.example.toml must document every setting there is.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest
from limelight import resources
from limelight.cli import main
from limelight.config import (
    ConfigError,
    PluginsSettings,
    Settings,
    load_settings,
    plugin_selection,
    write_initial_config,
)
from pydantic import BaseModel

EXAMPLE = resources.example_config()


# -- config.example.toml -------------------------------------------------------------------------


def test_example_config_parses_and_validates() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert settings.source == str(EXAMPLE)


def test_example_values_are_the_defaults() -> None:
    """What the example says a setting is when left alone is what it really is."""
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    defaults = Settings().model_dump(mode="json")
    mismatches = [
        f"{path}: example {value!r}, default {default!r}"
        for path, value, default in _compare(example, defaults)
    ]
    assert not mismatches, "\n".join(mismatches)


def _compare(
    example: dict[str, Any], defaults: dict[str, Any], prefix: str = ""
) -> list[tuple[str, Any, Any]]:
    out = []
    for key, value in example.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            continue  # plugin tables and free-form tables
        default = defaults[key]
        if isinstance(value, dict) and isinstance(default, dict):
            out.extend(_compare(value, default, path + "."))
        elif value != default:
            out.append((path, value, default))
    return out


def _documented_keys(text: str) -> set[tuple[str, str]]:
    """``(table, key)`` for every key line, commented out or not, under its table header."""
    table = ""
    found: set[tuple[str, str]] = set()
    for line in text.splitlines():
        header = re.match(r"^\s*#?\s*\[\[?([\w.\-]+)\]\]?\s*$", line)
        if header:
            table = header.group(1)
            parts = table.split(".")
            found.update((".".join(parts[:i]), parts[i]) for i in range(len(parts)))
            continue
        key = re.match(r"^\s*#?\s*([A-Za-z_][\w\-]*)\s*=", line)
        if key:
            found.add((table, key.group(1)))
    return found


def _settings_keys(model: type[BaseModel], table: str = "") -> list[tuple[str, str]]:
    keys = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        keys.append((table, name))
        sub = _model_of(info.annotation)
        if sub is not None and sub is not PluginsSettings:
            keys.extend(_settings_keys(sub, f"{table}.{name}" if table else name))
    return keys


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The settings model behind ``Model`` or ``list[Model]`` (not dicts of free values)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is list:
        (arg,) = typing.get_args(annotation)
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def test_every_setting_is_documented_in_the_example() -> None:
    documented = _documented_keys(EXAMPLE.read_text(encoding="utf-8"))
    missing = [
        f"{t}.{k}" if t else k for t, k in _settings_keys(Settings) if (t, k) not in documented
    ]
    assert not missing, f"config.example.toml does not document: {', '.join(missing)}"


def test_plugins_table_keys_are_documented() -> None:
    documented = _documented_keys(EXAMPLE.read_text(encoding="utf-8"))
    for name in PluginsSettings.model_fields:
        assert ("plugins", name) in documented


# -- environment overrides ---------------------------------------------------------------------


def test_env_overrides_a_nested_key_with_a_typed_value(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[server]\nport = 8600\n")
    settings = load_settings(config, environ={"LIMELIGHT_SERVER__PORT": "8700"})
    assert settings.server.port == 8700


def test_env_sets_a_provider_secret(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        environ={
            "LIMELIGHT_WEBHOOKS__KOFI__VERIFICATION_TOKEN": "abc-123-def",
            "LIMELIGHT_OBS__ENABLED": "true",
            "LIMELIGHT_PLUGINS__DISABLED": '["tips", "vip"]',
        },
    )
    assert settings.webhooks["kofi"]["verification_token"] == "abc-123-def"
    assert settings.obs.enabled is True
    assert settings.plugins.disabled == ["tips", "vip"]


def test_env_reaches_a_provider_table_named_with_a_hyphen(tmp_path: Path) -> None:
    """A variable cannot hold the ``-`` of ``vip-fourthwall``: its ``_`` stands for it, and
    the secret lands in the provider's own table (merged with the file's), not in a
    ``vip_fourthwall`` table no provider reads (which would stop ``limelight run``)."""
    config = tmp_path / "config.toml"
    config.write_text('[webhooks.vip-fourthwall]\nsecret = "from-the-file"\n')
    settings = load_settings(
        config,
        environ={
            "LIMELIGHT_WEBHOOKS__VIP_FOURTHWALL__SECRET": "from-the-environment",
            "LIMELIGHT_WEBHOOKS__SHOP_STRIPE__SECRET": "whsec_shop",
        },
    )
    assert settings.webhooks == {
        "vip-fourthwall": {"secret": "from-the-environment"},
        "shop-stripe": {"secret": "whsec_shop"},
    }


def test_env_override_beats_the_file_and_keeps_its_siblings(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[webhooks.kofi]\nverification_token = "from-file"\nother = "kept"\n')
    settings = load_settings(
        config, environ={"LIMELIGHT_WEBHOOKS__KOFI__VERIFICATION_TOKEN": "from-env"}
    )
    assert settings.webhooks["kofi"] == {"verification_token": "from-env", "other": "kept"}


def test_bad_env_value_names_the_variable_and_key() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, environ={"LIMELIGHT_SERVER__PORT": "eighty"})
    message = str(caught.value)
    assert message.startswith("environment variable LIMELIGHT_SERVER__PORT: server.port:")
    assert "valid integer" in message


def test_misspelled_env_key_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, environ={"LIMELIGHT_SERVER__PROT": "8700"})
    assert "environment variable LIMELIGHT_SERVER__PROT: server.prot: unknown key" in str(
        caught.value
    )


def test_limelight_plugins_env_selection() -> None:
    assert plugin_selection({}) is None
    assert plugin_selection({"LIMELIGHT_PLUGINS": ""}) == []
    assert plugin_selection({"LIMELIGHT_PLUGINS": " tips, vip ,"}) == ["tips", "vip"]


def test_config_path_comes_from_the_flag_then_env_then_cwd(tmp_path: Path, monkeypatch) -> None:
    env_cfg = tmp_path / "env.toml"
    env_cfg.write_text("[server]\nport = 1111\n")
    flag_cfg = tmp_path / "flag.toml"
    flag_cfg.write_text("[server]\nport = 2222\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text("[server]\nport = 3333\n")
    assert load_settings(None, environ={}).server.port == 3333
    assert load_settings(None, environ={"LIMELIGHT_CONFIG": str(env_cfg)}).server.port == 1111
    assert load_settings(flag_cfg, environ={"LIMELIGHT_CONFIG": str(env_cfg)}).server.port == 2222


# -- errors ---------------------------------------------------------------------------------------


def _error(tmp_path: Path, text: str, **environ: str) -> str:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ=environ)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_bad_toml_names_the_file_and_line(tmp_path: Path) -> None:
    message = _error(tmp_path, "[server]\nport = = 1\n")
    assert message.startswith(f"{tmp_path / 'config.toml'}: not valid TOML")
    assert "line 2" in message


def test_unknown_key_names_file_and_dotted_key(tmp_path: Path) -> None:
    message = _error(tmp_path, "[server]\nprot = 8600\n")
    assert message == (
        f"{tmp_path / 'config.toml'}: server.prot: unknown key "
        "(check the spelling against config.example.toml)"
    )


def test_wrong_type_names_key_expectation_and_value(tmp_path: Path) -> None:
    message = _error(tmp_path, '[server]\nport = "high"\n')
    assert "server.port" in message and "valid integer" in message and "'high'" in message
    message = _error(tmp_path, "[server]\nport = 70000\n")
    assert "server.port" in message and "less than or equal to 65535" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    message = _error(tmp_path, '[server]\nprot = 1\nport = "x"\n[obs]\nenabled = "maybe"\n')
    assert "server.prot" in message and "server.port" in message and "obs.enabled" in message


def test_missing_explicit_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nope.toml", environ={})
    assert "no such file" in str(caught.value) and "limelight init" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        '[security]\nadmin_token = ["s3cr3t-value-xyz"]\n',
        "[twitch]\ntoken = 12345678901\n",
        '[obs]\npassword = ["s3cr3t-value-xyz"]\n',
        '[webhooks]\nkofi = "s3cr3t-value-xyz"\n',
        '[webhooks.kofi]\nverification_token = ["s3cr3t-value-xyz"]\n[server]\nport = "x"\n',
    ],
)
def test_secrets_never_appear_in_error_text(tmp_path: Path, text: str) -> None:
    message = _error(tmp_path, text)
    assert "s3cr3t-value-xyz" not in message and "12345678901" not in message


def test_secret_from_env_never_appears_in_error_text() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            None,
            environ={
                "LIMELIGHT_SECURITY__ADMIN_TOKEN": "[1, 2]",
                "LIMELIGHT_WEBHOOKS__STRIPE": "whsec_s3cr3tvalue",
            },
        )
    assert "whsec_s3cr3tvalue" not in str(caught.value)


# -- limelight init -------------------------------------------------------------------------------


def test_init_writes_fresh_random_secrets(tmp_path: Path) -> None:
    first = write_initial_config(tmp_path / "a")
    second = write_initial_config(tmp_path / "b")
    a = tomllib.loads(first.read_text())["security"]
    b = tomllib.loads(second.read_text())["security"]
    for key in ("admin_token", "overlay_token"):
        assert len(a[key]) >= 32 and a[key] != b[key]
    assert a["admin_token"] != a["overlay_token"]
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o600
    # the written file is the example with secrets filled in: it loads as is
    settings = load_settings(first, environ={})
    assert settings.security.admin_token == a["admin_token"]


def test_init_never_overwrites(tmp_path: Path, capsys) -> None:
    assert main(["init", "--dir", str(tmp_path)]) == 0
    written = (tmp_path / "config.toml").read_text()
    assert "wrote" in capsys.readouterr().out
    assert main(["init", "--dir", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert "already exists; not overwriting it" in err
    assert (tmp_path / "config.toml").read_text() == written


def test_relative_sqlite_path_is_relative_to_the_config_file(tmp_path: Path, monkeypatch) -> None:
    from limelight.db import normalise_url

    config = tmp_path / "conf" / "config.toml"
    config.parent.mkdir()
    config.write_text("")
    monkeypatch.chdir(tmp_path)
    settings = load_settings(config, environ={})
    url = normalise_url(settings.database.url, settings.base_dir)
    assert url == f"sqlite://{tmp_path / 'conf' / 'data' / 'limelight.sqlite3'}"
    assert (tmp_path / "conf" / "data").is_dir()


def test_env_sets_a_plugin_table_value() -> None:
    settings = load_settings(None, environ={"LIMELIGHT_PLUGINS__SHOUTOUT__KEEP_DAYS": "14"})
    assert settings.plugins.table("shoutout") == {"keep_days": 14}

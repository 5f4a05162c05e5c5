"""metrics.toml environments: `[env.NAME]` tables selected by --env or METRICS_ENV."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from metrics.cli import main
from metrics.config import load_settings
from metrics.problems import InputError

CONFIG = """\
[metrics]
warehouse = "local-warehouse"
superset_url = "http://127.0.0.1:8088"

[env.staging]
warehouse = "/srv/staging/warehouse"
superset_url = "https://superset.staging.example.org"

[env.prod]
database_uri = "trino://superset@trino.example.org:8443/hive"
grafana_url = "https://grafana.example.org"
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ENV", "WAREHOUSE", "SUPERSET_URL", "GRAFANA_URL", "DATABASE_URI", "GRAPHITE_PREFIX", "GRAPHITE_URL"):
        monkeypatch.delenv(f"METRICS_{name}", raising=False)
    path = tmp_path / "metrics.toml"
    path.write_text(CONFIG)
    return path


def test_an_environment_replaces_only_what_it_sets(config: Path) -> None:
    plain = load_settings(config)
    assert (plain.env, plain.warehouse, plain.superset_url, plain.database_uri) == (None, config.parent / "local-warehouse", "http://127.0.0.1:8088", None)
    staging = load_settings(config, "staging")
    assert (staging.env, staging.warehouse, staging.superset_url) == ("staging", Path("/srv/staging/warehouse"), "https://superset.staging.example.org")
    prod = load_settings(config, "prod")
    assert prod.warehouse == config.parent / "local-warehouse"  # from [metrics], which prod does not change
    assert (prod.database_uri, prod.grafana_url, prod.superset_url) == (
        "trino://superset@trino.example.org:8443/hive",
        "https://grafana.example.org",
        "http://127.0.0.1:8088",
    )


def test_metrics_env_selects_and_an_option_and_variables_still_win(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_ENV", "staging")
    assert load_settings(config).env == "staging"
    assert load_settings(config, "prod").env == "prod"
    monkeypatch.setenv("METRICS_SUPERSET_URL", "http://from-variable")
    assert load_settings(config).superset_url == "http://from-variable"
    assert load_settings(config, warehouse="/opt/w").warehouse == Path("/opt/w")


def test_an_unknown_environment_names_the_file_line_and_the_known_ones(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError) as error:
        load_settings(config, "production")
    assert error.value.lines() == [f"{config}:5:1: unknown environment 'production' (--env or METRICS_ENV) (environments in this file: prod, staging)"]
    monkeypatch.chdir(config.parent)
    result = CliRunner().invoke(main, ["--env", "production", "list"])
    assert result.exit_code == 2
    assert "metrics.toml:5:1: unknown environment 'production'" in result.output and "Traceback" not in result.output


def test_a_bad_environment_table_is_refused_at_its_line(config: Path) -> None:
    config.write_text(CONFIG + '\n[env.dev]\nwarehouse = "w"\nsuperset = "http://x"\n')
    with pytest.raises(InputError) as error:
        load_settings(config, "dev")
    assert error.value.lines()[0].startswith(f"{config}:15:1: unknown setting(s) superset in [env.dev]")
    config.write_text(CONFIG + "\n[env.dev]\nwarehouse = 3\n")
    with pytest.raises(InputError, match="setting warehouse is the int 3, not text") as error:
        load_settings(config, "dev")
    assert f"{config}:14:1:" in error.value.lines()[0]
    config.write_text('[metrics]\nenv = "x"\n')
    with pytest.raises(InputError, match="unknown setting"):
        load_settings(config)
    config.write_text('env = "prod"\n')
    with pytest.raises(InputError, match="`env` is not a table of environments"):
        load_settings(config)
    config.write_text("[env.\"a b\"]\nwarehouse = 'w'\n")
    with pytest.raises(InputError, match="is not a plain name"):
        load_settings(config)


def test_an_environment_without_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("METRICS_ENV", "prod")
    with pytest.raises(InputError, match="environment 'prod' is selected .* but there is no config file"):
        load_settings()


def test_a_database_password_in_the_config_is_refused_and_never_shown(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config.write_text(CONFIG.replace("trino://superset@trino", "trino://superset:pw-canary@trino"))
    with pytest.raises(InputError) as error:
        load_settings(config, "prod")
    line = error.value.lines()[0]
    assert line.startswith(f"{config}:10:1: database_uri trino://superset:XXXXXXXXXX@trino.example.org:8443/hive holds a secret")
    assert "SUPERSET_DB_PASSWORD" in line and "pw-canary" not in line
    monkeypatch.setenv("METRICS_DATABASE_URI", "postgresql://u@db/x?token=tok-canary")
    with pytest.raises(InputError) as error:
        load_settings(config)
    assert error.value.lines()[0].startswith("METRICS_DATABASE_URI:1:1: database_uri postgresql://u@db/x?token=XXXXXXXXXX holds a secret")


def test_a_graphite_prefix_is_path_segments_and_a_bad_one_is_refused_at_its_line(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config.write_text(CONFIG + '\n[env.dev]\nwarehouse = "w"\ngraphite_prefix = "metrics.dev"\ngraphite_url = "http://graphite.dev:8080"\n')
    dev = load_settings(config, "dev")
    assert (dev.graphite_prefix, dev.graphite_url) == ("metrics.dev", "http://graphite.dev:8080")
    assert load_settings(config, "prod").graphite_prefix is None
    for bad, why in (("dev.", "empty segment"), ("a b", "holds ' '"), ("a.*", "holds '*'"), ("", "it is empty")):
        config.write_text(CONFIG + f'\n[env.dev]\nwarehouse = "w"\ngraphite_prefix = "{bad}"\n')
        with pytest.raises(InputError) as error:
            load_settings(config, "dev")
        [line] = error.value.lines()
        assert line.startswith(f"{config}:15:1: graphite_prefix {bad!r} is not a Graphite path prefix") and why in line, line
    config.write_text(CONFIG)
    monkeypatch.setenv("METRICS_GRAPHITE_PREFIX", "x..y")
    result = CliRunner().invoke(main, ["--config", str(config), "list"])
    assert result.exit_code == 2 and result.output.startswith("METRICS_GRAPHITE_PREFIX:1:1: graphite_prefix 'x..y'"), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "table"),
    [(CONFIG + '\n[foo]\nx = "1"\n', "foo"), (CONFIG + '\n[envs.prod]\nwarehouse = "/srv"\n', "envs"), ('foo.bar = "1"\n' + CONFIG, "foo")],
)
def test_an_unknown_table_is_refused_at_its_line_listing_the_known_ones(config: Path, text: str, table: str) -> None:
    config.write_text(text)
    with pytest.raises(InputError) as caught:
        load_settings(config)
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if text.startswith((f"[{table}", f"{table}.")))
    assert caught.value.lines() == [f"{config}:{line}:1: unknown table [{table}] (known tables: [metrics], and [env.NAME] for each environment)"]


def test_a_typo_in_an_environment_not_selected_is_refused(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config.write_text(CONFIG + '\n[env.dev]\nwarehous = "/srv/dev"\n')
    for env in (None, "staging"):
        with pytest.raises(InputError, match=r"unknown setting\(s\) warehous in \[env.dev\]") as caught:
            load_settings(config, env)
        assert caught.value.problems[0].line == len(CONFIG.splitlines()) + 3
    monkeypatch.chdir(config.parent)
    result = CliRunner().invoke(main, ["--env", "staging", "status"])
    assert result.exit_code == 2 and result.stderr.startswith(f"{config.name}:") and "warehous" in result.stderr


@pytest.mark.parametrize("key", ["superset_url", "grafana_url", "graphite_url"])
@pytest.mark.parametrize("value", ["superset.example.org", "ftp://superset.example.org", "https://", "http:// host"])
def test_a_service_url_must_be_http_or_https(config: Path, key: str, value: str) -> None:
    config.write_text(CONFIG + f'\n[env.dev]\n{key} = "{value}"\n')
    with pytest.raises(InputError) as caught:
        load_settings(config)
    problem = caught.value.problems[0]
    assert (problem.line, problem.message) == (len(CONFIG.splitlines()) + 3, f"{key} {value!r} is not an http:// or https:// URL")
    config.write_text(CONFIG + f'\n[env.dev]\n{key} = "https://{key}.example.org:8443/base"\n')
    assert getattr(load_settings(config, "dev"), key) == f"https://{key}.example.org:8443/base"

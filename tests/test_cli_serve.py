"""`pixseek serve` refuses what would only fail after the workers loaded their models."""

from __future__ import annotations

import socket

import pytest

from pixseek.cli.main import main


def test_a_port_in_use_is_a_clear_error_before_any_model_loads(capsys: pytest.CaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["serve", "--port", str(port)])
    assert code == 3
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--port", "99999"], ["--port", "-1"], ["--workers", "0"]])
def test_bad_port_or_worker_numbers_are_usage_errors(args: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", *args])
    assert exit_info.value.code == 2 and "error: argument" in capsys.readouterr().err


def test_a_bad_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("PIXSEEK_MAX_IMAGE_PIXELS", "lots")
    assert main(["serve", "--port", "0"]) == 2
    assert "bad setting: PIXSEEK_MAX_IMAGE_PIXELS='lots'" in capsys.readouterr().err
    assert main(["info", "--db", "unused"]) == 2
    assert "bad setting: PIXSEEK_MAX_IMAGE_PIXELS='lots'" in capsys.readouterr().err

import pytest

from paysim.config import Settings
from paysim.errors import InfraError
from paysim.infra.selection import backend_for, choose_backend


def test_auto_uses_docker_when_an_engine_answers() -> None:
    assert choose_backend("auto", lambda: True) == "docker"


def test_auto_falls_back_to_native_when_no_engine_answers() -> None:
    assert choose_backend("auto", lambda: False) == "native"


def test_forced_native_never_asks_docker() -> None:
    def must_not_be_called() -> bool:
        raise AssertionError("docker was pinged")

    assert choose_backend("native", must_not_be_called) == "native"


def test_forced_docker_without_an_engine_is_an_error_not_a_fallback() -> None:
    with pytest.raises(InfraError, match="no Docker engine answers"):
        choose_backend("docker", lambda: False)
    assert choose_backend("docker", lambda: True) == "docker"


def test_external_needs_both_addresses() -> None:
    with pytest.raises(InfraError, match="PAYSIM_BOOTSTRAP_SERVERS"):
        choose_backend("external", lambda: True)
    settings = Settings(
        infra="external",
        bootstrap_servers="127.0.0.1:9092",
        stripe_api_base="http://127.0.0.1:12111",
    )
    assert backend_for(settings, lambda: True) == "external"


def test_environment_forces_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYSIM_INFRA", "native")
    assert backend_for(Settings(), lambda: True) == "native"

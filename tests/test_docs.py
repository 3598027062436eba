"""The README documents every setting."""

from pathlib import Path

from makesense_api.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [
        f"MAKESENSE_{name.upper()}"
        for name in Settings.model_fields
        if f"`MAKESENSE_{name.upper()}`" not in README
    ]
    assert missing == []

"""Authlib's request and response as plain objects: built after the body has been read
asynchronously, so that Authlib never reads from the network itself."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request  # type: ignore[import-untyped]

# -- HTTP wrappers ------------------------------------------------------------------------


class Payload(OAuth2Payload):  # type: ignore[misc]
    """Parameters of one request: the query for the authorization endpoint, else the body."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class OAuthRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth request built after the body was read asynchronously; reads nothing itself."""

    def __init__(
        self, method: str, uri: str, headers: Mapping[str, str], items: Iterable[tuple[str, str]]
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = Payload(items)

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data

    @property
    def args(self) -> dict[str, str]:
        return self.payload.data

    def repeated(self) -> list[str]:
        """Parameters sent more than once (RFC 6749 §3.1, §3.2)."""
        return sorted(k for k, v in self.payload.datalist.items() if len(v) > 1)


@dataclass
class Outcome:
    """Authlib's answer (status, body, headers), before it becomes a Starlette response."""

    status: int
    body: dict[str, Any] | str
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"]
        self.headers.append(("Location", value))

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None

"""A small client of the platform's API for commands a researcher runs from their own machine."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


class ApiError(Exception):
    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


EXIT = {401: 10, 403: 9, 404: 4, 409: 5, 413: 2, 422: 2, 429: 9}


def post_json(url: str, body: dict, *, token: str, timeout: float = 300) -> dict:
    return call(urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}), timeout)


def get_json(url: str, *, token: str, timeout: float = 60) -> dict:
    return call(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}",
                                                     "Accept": "application/json"}), timeout)


def call(request: urllib.request.Request, timeout: float) -> dict:
    url = request.full_url
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the platform's own URL
            return json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            message = json.load(exc)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {exc.code}"
        raise ApiError(message, EXIT.get(exc.code, 1)) from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise ApiError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}", 7) from None

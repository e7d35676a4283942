"""An httpx transport that remembers every exchange, and can lose one answer on purpose."""

from __future__ import annotations

import httpx


class RecordingTransport(httpx.HTTPTransport):
    """Sends for real; keeps (request, status) pairs. With ``drop_first_answer_to`` set to a
    method, the first such request reaches the server but its answer is lost, as when a
    connection breaks after the server wrote."""

    def __init__(self, drop_first_answer_to: str | None = None) -> None:
        super().__init__()
        self.exchanges: list[tuple[httpx.Request, int]] = []
        self.drop = drop_first_answer_to

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.exchanges.append((request, response.status_code))
        if request.method == self.drop:
            self.drop = None
            response.close()
            raise httpx.ReadError("connection reset before the answer arrived", request=request)
        return response

    def statuses(self, method: str) -> list[int]:
        return [status for request, status in self.exchanges if request.method == method]

"""Create a bot with the generated Python client, follow it to ENDED over its event stream,
and verify a webhook the server delivered with the `standardwebhooks` library.

    MEEBOTER_URL=http://127.0.0.1:8080 MEEBOTER_API_KEY=mbk_... \
        PYTHONPATH=clients/python python clients/examples/python/create_and_follow.py

The meeting is the server's own Meet test meeting (TEST_MEETINGS=true, the default). The
webhook receiver listens on loopback, so the server needs WEBHOOK_ALLOW_PRIVATE=true.
Exits 0 when the bot ended and a signed delivery verified; prints why otherwise.
"""

import http.server
import json
import os
import queue
import sys
import threading
import time
import uuid

import httpx
from standardwebhooks.webhooks import Webhook

from meeboter_client import AuthenticatedClient
from meeboter_client.api.bots import create_bot, leave
from meeboter_client.api.webhooks import create_endpoint, delete_endpoint
from meeboter_client.models import (
    AutomaticLeaveRequest,
    BotResource,
    CreateBotRequest,
    CreateEndpointRequest,
    EndpointResource,
    RecordingModeWire,
    WebhookEventWire,
)

DEADLINE_SECS = 180


def start_receiver() -> tuple[str, "queue.Queue[tuple[bytes, dict[str, str]]]"]:
    """A local endpoint that hands every delivery (body and headers) to a queue."""
    deliveries: "queue.Queue[tuple[bytes, dict[str, str]]]" = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            deliveries.put((body, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hooks", deliveries


def follow_to_end(client: AuthenticatedClient, bot_id: str) -> list[str]:
    """Reads the bot's Server-Sent Events; asks it to leave once in the call. Returns the
    statuses seen, ending when the server closes the stream after the bot ended."""
    statuses: list[str] = []
    asked_to_leave = False
    http = client.get_httpx_client()
    timeout = httpx.Timeout(10.0, read=60.0)
    with http.stream("GET", f"/api/bots/{bot_id}/stream", timeout=timeout) as response:
        if response.status_code != 200:
            raise SystemExit(f"stream: HTTP {response.status_code}")
        event = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line[len("event:"):].strip()
            elif line.startswith("data:") and event == "status_change":
                status = json.loads(line[len("data:"):])["data"]["status"]
                statuses.append(status)
                print(f"status: {status}", flush=True)
                if status == "IN_CALL" and not asked_to_leave:
                    asked_to_leave = True
                    leave.sync_detailed(client=client, id=bot_id)
                if status in ("ENDED", "FATAL"):
                    break
    return statuses


def main() -> int:
    base = os.environ["MEEBOTER_URL"].rstrip("/")
    client = AuthenticatedClient(base_url=base, token=os.environ["MEEBOTER_API_KEY"], timeout=httpx.Timeout(30.0))
    hook_url, deliveries = start_receiver()

    created = create_endpoint.sync_detailed(
        client=client,
        body=CreateEndpointRequest(url=hook_url, events=[WebhookEventWire.BOT_STATUS_CHANGED]),
    )
    if not isinstance(created.parsed, EndpointResource) or not isinstance(created.parsed.secret, str):
        print(f"registering the webhook failed: {created.status_code} {created.content!r}")
        return 1
    endpoint = created.parsed
    try:
        meeting = f"{base}/_test/meeting/meet/py-{uuid.uuid4().hex[:8]}"
        response = create_bot.sync_detailed(
            client=client,
            body=CreateBotRequest(
                meeting_url=meeting,
                bot_name="Python example",
                recording_mode=RecordingModeWire.NONE,
                automatic_leave=AutomaticLeaveRequest(noone_joined_timeout_secs=60),
            ),
            idempotency_key=f"py-example-{uuid.uuid4()}",
        )
        if not isinstance(response.parsed, BotResource):
            print(f"creating the bot failed: {response.status_code} {response.content!r}")
            return 1
        bot = response.parsed
        print(f"bot {bot.id} for {meeting}", flush=True)

        statuses = follow_to_end(client, bot.id)
        if not statuses or statuses[-1] != "ENDED":
            print(f"the bot did not end normally: {statuses}")
            return 1

        # Every status change is delivered; wait for this bot's ENDED and check its signature.
        verifier = Webhook(endpoint.secret)
        deadline = time.monotonic() + DEADLINE_SECS
        while time.monotonic() < deadline:
            try:
                body, headers = deliveries.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            payload = verifier.verify(body, headers)  # raises on a bad signature
            data = payload.get("data", {})
            if payload.get("type") == "bot.status_changed" and data.get("botId") == bot.id and data.get("status") == "ENDED":
                print(f"webhook {headers['webhook-id']} verified: {bot.id} ENDED", flush=True)
                return 0
        print("no signed ENDED delivery arrived")
        return 1
    finally:
        delete_endpoint.sync_detailed(client=client, id=endpoint.id)


if __name__ == "__main__":
    sys.exit(main())

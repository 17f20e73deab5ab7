"""Delivery to Discord by webhook, posted over a loopback server (the bot's own DM/channel Sender
is in test_discord_sender.py)."""

from __future__ import annotations

import json
import logging
import socket

import httpx
import pytest
from werkzeug import Request, Response

from bot.discord_adapter import WebhookSender, post_webhook, redact_webhook_url
from bot.discord_adapter.webhook import RATE_LIMIT_RETRIES, WebhookError
from core.kernel.errors import ChatUnreachable, DeliveryRetryAfter
from core.types import ChatRef, Message, Section
from tests.discord_helpers import SUMMARY

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 40
TOKEN = "s3cr3t-webhook-token"
HOOK_PATH = f"/api/webhooks/123/{TOKEN}"


class RecordingSleep:
    """Stands in for asyncio.sleep: records how long the code was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Replies:
    """A webhook endpoint answering from a script and keeping every request it received."""

    def __init__(self, *answers: Response) -> None:
        self.answers = list(answers)
        self.requests: list[dict] = []

    def __call__(self, request: Request) -> Response:
        if request.mimetype == "application/json":
            body, files = request.get_json(), {}
        else:
            body = json.loads(request.form["payload_json"])
            files = {name: (f.filename, f.read()) for name, f in request.files.items()}
        self.requests.append({"body": body, "files": files, "args": dict(request.args)})
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def no_content() -> Response:
    return Response(status=204)


def rate_limited(seconds: float) -> Response:
    body = json.dumps({"message": "You are being rate limited.", "retry_after": seconds})
    return Response(body, status=429, content_type="application/json")


def our_logs(caplog) -> str:
    """Everything logged in the process except the loopback test server's own access log."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


# ---- webhook ------------------------------------------------------------------------------


async def test_summary_is_posted_as_embeds_under_the_liqwatch_name(httpserver, http):
    replies = Replies(no_content())
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(replies)

    await post_webhook(http, httpserver.url_for(HOOK_PATH), SUMMARY)

    (request,) = replies.requests
    body = request["body"]
    assert body["username"] == "liqwatch"
    assert body["allowed_mentions"] == {"parse": []}
    assert "content" not in body or body["content"]
    (embed,) = body["embeds"]
    assert embed["title"] == "Summary · BTC, ETH"
    assert "squeeze risk up" in embed["description"]
    assert embed["fields"][0] == {
        "name": "BTC",
        "value": "$2.705B above, $1.563B below",
        "inline": False,
    }
    assert embed["footer"]["text"] == "Source: estimate · 1 min old"


async def test_rate_limit_is_honoured_with_the_retry_after_discord_asks_for(httpserver, http):
    replies = Replies(rate_limited(0.25), no_content())
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(replies)
    sleep = RecordingSleep()

    await post_webhook(http, httpserver.url_for(HOOK_PATH), SUMMARY, sleep=sleep)

    assert sleep.waits == [0.25]
    assert len(replies.requests) == 2
    assert replies.requests[0]["body"] == replies.requests[1]["body"]


async def test_endless_rate_limit_gives_up_after_bounded_retries(httpserver, http):
    replies = Replies(rate_limited(1.5))
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(replies)
    sleep = RecordingSleep()

    with pytest.raises(DeliveryRetryAfter) as raised:
        await post_webhook(http, httpserver.url_for(HOOK_PATH), SUMMARY, sleep=sleep)

    assert raised.value.seconds == 1.5
    assert len(replies.requests) == RATE_LIMIT_RETRIES + 1
    assert sleep.waits == [1.5] * RATE_LIMIT_RETRIES


async def test_a_long_rate_limit_is_left_to_the_delivery_layer_at_once(httpserver, http):
    replies = Replies(rate_limited(600))
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(replies)
    sleep = RecordingSleep()

    with pytest.raises(DeliveryRetryAfter):
        await post_webhook(http, httpserver.url_for(HOOK_PATH), SUMMARY, sleep=sleep)

    assert sleep.waits == [] and len(replies.requests) == 1


async def test_chart_is_uploaded_as_files_0_and_shown_in_the_embed(httpserver, http):
    replies = Replies(no_content())
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(replies)
    with_chart = Message(title="BTC liquidation map", image=PNG, kind="report")

    await post_webhook(http, httpserver.url_for(HOOK_PATH), with_chart)

    (request,) = replies.requests
    assert request["files"] == {"files[0]": ("chart.png", PNG)}
    assert request["body"]["embeds"][0]["image"]["url"] == "attachment://chart.png"
    assert request["body"]["attachments"] == [{"id": 0, "filename": "chart.png"}]


async def test_a_deleted_webhook_is_unreachable_and_the_token_is_not_told(httpserver, http, caplog):
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_json(
        {"message": "Unknown Webhook", "code": 10015}, status=404
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ChatUnreachable) as raised:
        await post_webhook(http, httpserver.url_for(HOOK_PATH), SUMMARY)

    assert "/api/webhooks/123/***" in str(raised.value)
    assert TOKEN not in str(raised.value) and TOKEN not in our_logs(caplog)


async def test_server_errors_are_transient_and_keep_the_token_secret(httpserver, http, caplog):
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("oops", status=502)
    replies = Replies(rate_limited(0.01), no_content())
    caplog.set_level(logging.DEBUG)

    with pytest.raises(WebhookError) as raised:
        await post_webhook(http, httpserver.url_for(HOOK_PATH), SUMMARY)

    assert "502" in str(raised.value) and TOKEN not in str(raised.value)
    httpserver.clear()
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(replies)
    await post_webhook(http, httpserver.url_for(HOOK_PATH), SUMMARY, sleep=RecordingSleep())
    assert TOKEN not in our_logs(caplog)  # httpx's request lines and ours, redacted
    assert "/api/webhooks/123/***" in our_logs(caplog)


async def test_an_unreachable_host_is_a_transient_error_without_the_token(http):
    with socket.socket() as bound_not_listening:  # a loopback port that refuses connections
        bound_not_listening.bind(("127.0.0.1", 0))
        port = bound_not_listening.getsockname()[1]
        with pytest.raises(WebhookError) as raised:
            await post_webhook(http, f"http://127.0.0.1:{port}{HOOK_PATH}", SUMMARY)

    assert TOKEN not in str(raised.value)


async def test_a_message_too_big_for_one_post_goes_out_in_several(httpserver, http):
    replies = Replies(no_content())
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(replies)
    big = Message(
        title="Summary", sections=tuple(Section(f"Coin {i}", ("z" * 1000,)) for i in range(9))
    )

    await post_webhook(http, httpserver.url_for(HOOK_PATH), big)

    assert len(replies.requests) >= 2
    fields = [f for r in replies.requests for e in r["body"]["embeds"] for f in e["fields"]]
    assert [f["name"] for f in fields] == [f"Coin {i}" for i in range(9)]


async def test_webhook_sender_posts_to_the_url_in_the_chat_ref(httpserver, http):
    replies = Replies(no_content())
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(replies)
    sender = WebhookSender(http)

    await sender.send(
        ChatRef(platform="webhook", chat_id=httpserver.url_for(HOOK_PATH), thread_id="55"),
        SUMMARY,
    )

    assert sender.platform == "webhook"
    assert replies.requests[0]["args"] == {"thread_id": "55"}


async def test_a_malformed_webhook_url_is_unreachable(http):
    with pytest.raises(ChatUnreachable):
        await WebhookSender(http).send(ChatRef(platform="webhook", chat_id="not a url"), SUMMARY)


def test_redacted_url_keeps_the_webhook_id_but_not_the_token():
    url = f"https://discord.com/api/webhooks/123/{TOKEN}?wait=true"
    assert redact_webhook_url(url) == "https://discord.com/api/webhooks/123/***"


async def test_a_thread_id_written_into_the_webhook_url_is_kept(httpserver, http):
    """Forum channels need `?thread_id=` on the URL; the operator puts it in the config."""
    replies = Replies(no_content())
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(replies)

    await WebhookSender(http).send(
        ChatRef(platform="webhook", chat_id=httpserver.url_for(HOOK_PATH) + "?thread_id=77"),
        SUMMARY,
    )

    assert replies.requests[0]["args"] == {"thread_id": "77"}

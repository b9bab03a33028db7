"""Alerts at the end of a crawl-all run: a webhook (an HTTP POST of JSON) and mail (SMTP).

Scheduled runs are watched by nobody until something breaks, so a run that
ends with a problem (a failed, blocked or alarmed site: any exit status but 0)
tells the channels of ``[notify]`` in ``crawl.toml``; with ``recovery = true``
a run that is all well after one that was not tells them too. Credentials come
from environment variables that the file names, never from the file. A
notification that cannot be sent is logged and recorded in the manifest
(``notify.failed``); it never changes the run's exit status.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit

from crawler.archive.layout import manifest_path
from crawler.exit_codes import EXIT_OK
from crawler.runs.config import Email, Notify, Webhook, http_url
from crawler.runs.manifest import finished

logger = logging.getLogger(__name__)

PROBLEM = "problem"
RECOVERY = "recovery"
USER_AGENT = "defence-news-crawler/0.1 (crawl-all notification)"


class NotSent(Exception):
    """A notification that did not go out; the message is one line, without secrets."""


def was_ok(manifest: dict[str, Any]) -> bool:
    return finished(manifest) and manifest.get("exit_status") == EXIT_OK


def due(notify: Notify, manifest: dict[str, Any], previous: dict[str, Any] | None) -> str | None:
    """``problem``, ``recovery`` or None: what this run has to tell."""
    if manifest.get("exit_status") != EXIT_OK:
        return PROBLEM
    if notify.recovery and previous is not None and not was_ok(previous):
        return RECOVERY
    return None


def document(manifest: dict[str, Any], event: str, text: str) -> dict[str, Any]:
    """The webhook's JSON: the run, its sites with their status, the alarm's findings."""
    sites = {
        name: {
            "status": entry.get("status"),
            "articles_new": entry.get("articles_new"),
            "errors": entry.get("errors"),
            "failures": entry.get("failures", {}),
        }
        for name, entry in manifest["sites"].items()
    }
    alarm = {
        name: entry["alarm"] for name, entry in manifest["sites"].items() if entry.get("alarm")
    }
    return {
        "event": event,
        "run_id": manifest["run_id"],
        "exit_status": manifest.get("exit_status"),
        "start": manifest.get("start"),
        "end": manifest.get("end"),
        "sites": sites,
        "alarm": alarm,
        "archive": manifest.get("archive"),
        "manifest": str(manifest_path(manifest["archive"], manifest["run_id"])),
        "summary": text,
    }


def subject(manifest: dict[str, Any], event: str) -> str:
    if event == RECOVERY:
        return f"crawl-all {manifest['run_id']}: all sites well again"
    bad = [
        f"{name} {e.get('status')}"
        for name, e in manifest["sites"].items()
        if e.get("status") != "ok"
    ]
    what = ", ".join(bad) if bad else f"exit status {manifest.get('exit_status')}"
    return f"crawl-all {manifest['run_id']}: {what}"


def _environment(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise NotSent(f"environment variable {name} is not set")
    return value


def _where(url: str) -> str:
    """Scheme, host and port of a URL: its path or query may hold a token."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "the webhook"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A POST redirected would arrive as a GET without its body: a failure, said as one."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_webhook(webhook: Webhook, payload: dict[str, Any], timeout: float) -> None:
    url = webhook.url or _environment(webhook.url_env)
    if not http_url(url):
        raise NotSent(f"the webhook URL in {webhook.url_env} is not an http(s) URL")
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )
    if webhook.token_env:
        request.add_header("Authorization", f"Bearer {_environment(webhook.token_env)}")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(65536)
    except urllib.error.HTTPError as error:
        raise NotSent(f"{_where(url)} answered HTTP {error.code}") from None
    except urllib.error.URLError as error:  # a network error, or a URL http.client refused
        reason = error.reason
        why = _one_line(reason) if isinstance(reason, OSError) else "the URL is not valid"
        raise NotSent(f"{_where(url)}: {why}") from None
    except ValueError:  # its message would quote the URL or the header, token and all
        raise NotSent(f"{_where(url)}: the URL or the token is not valid in a request") from None
    except (OSError, http.client.HTTPException) as error:
        raise NotSent(f"{_where(url)}: {_one_line(error)}") from None


def send_mail(email: Email, title: str, text: str, timeout: float) -> None:
    message = EmailMessage()
    try:
        message["Subject"] = title
        message["From"] = email.sender
        message["To"] = ", ".join(email.to)
    except ValueError as error:  # a line break in a header
        raise NotSent(f"mail headers: {_one_line(error)}") from None
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=email.sender.rpartition("@")[2] or None)
    message.set_content(text)
    where = f"SMTP {email.host}:{email.smtp_port}"
    try:
        context = ssl.create_default_context()
        if email.ca_file:
            context.load_verify_locations(email.ca_file)
        credentials = (
            (_environment(email.user_env), _environment(email.password_env))
            if email.user_env
            else None
        )
        smtp: smtplib.SMTP
        if email.security == "tls":
            smtp = smtplib.SMTP_SSL(email.host, email.smtp_port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(email.host, email.smtp_port, timeout=timeout)
        with smtp:
            if email.security == "starttls":
                smtp.starttls(context=context)
            if credentials:
                _login(smtp, *credentials)
            smtp.send_message(message)
    except NotSent as error:
        raise NotSent(f"{where}: {error}") from None
    except (smtplib.SMTPException, OSError, ValueError) as error:
        raise NotSent(f"{where}: {_one_line(error)}") from None


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib's login, which encodes as ASCII; AUTH PLAIN in UTF-8 (RFC 4616) otherwise."""
    if (user + password).isascii():
        smtp.login(user, password)
        return
    smtp.ehlo_or_helo_if_needed()
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _one_line(error: object) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]


def send(
    notify: Notify, manifest: dict[str, Any], previous: dict[str, Any] | None, text: str
) -> dict[str, Any] | None:
    """Tell every channel what is due; the manifest's ``notify`` entry, or None if nothing was."""
    event = due(notify, manifest, previous)
    if event is None or not notify.channels:
        return None
    sent, failed = [], {}
    for channel in notify.channels:
        try:
            if notify.webhook is not None and channel == "webhook":
                post_webhook(notify.webhook, document(manifest, event, text), notify.timeout)
            elif notify.email is not None and channel == "email":
                send_mail(notify.email, subject(manifest, event), text, notify.timeout)
            sent.append(channel)
        except NotSent as error:
            failed[channel] = str(error)
            logger.error("notify: %s not sent: %s", channel, error)
        except Exception as error:  # a bug here must not change how the run ends
            failed[channel] = f"{type(error).__name__}: {_one_line(error)}"
            logger.exception("notify: %s not sent", channel)
    return {"event": event, "sent": sent, "failed": failed, "errors": len(failed)}

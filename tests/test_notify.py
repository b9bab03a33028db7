"""Alerts and metrics of crawl-all: a webhook and mail, received by servers on 127.0.0.1.

The webhook receiver and the SMTP server (aiosmtpd, with STARTTLS or TLS and a
certificate of a throw-away CA) are in tests/support/notify_servers.py; the
runs are `crawler crawl-all` subprocesses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support.notify_servers import (
    Certificate,
    WebhookReceiver,
    free_port,
    mail_server,
    make_certificate,
)

from crawler.mirror.server import MirrorServer
from crawler.runs.config import ConfigError, Email, Notify, Webhook, load_config
from crawler.runs.metrics import metrics_text, write_metrics
from crawler.runs.notify import send

TESTS = Path(__file__).parent
USER, PASSWORD = "crawler@example.org", "pa55 wörd;\"'"


def crawl_all(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl-all", "--config", str(config),
         "--log-level", "WARNING"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(TESTS), **env},
    )  # fmt: skip


def last_manifest(archive: Path) -> dict[str, Any]:
    return json.loads(sorted((archive / "_runs").glob("*.json"))[-1].read_text())


def write_config(tmp_path: Path, mirror_url: str, notify: str) -> Path:
    path = tmp_path / "crawl.toml"
    path.write_text(
        f'[run]\narchive = "archive"\n'
        f'settings = {{ CRAWLER_MIRROR_URL = "{mirror_url}", DOWNLOAD_DELAY = 0, '
        "AUTOTHROTTLE_ENABLED = false, CRAWLER_RETRY_BACKOFF = 0 }\n"
        f"[sites.qdnd]\n{notify}",
        "utf-8",
    )
    return path


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    (tmp_path / "tls").mkdir()
    return make_certificate(tmp_path / "tls")


def test_a_failed_run_alerts_by_webhook_and_by_mail(
    tmp_path: Path, certificate: Certificate
) -> None:
    """The site's replica is served from a port nothing listens on: the run fails (exit 1),
    the webhook gets the JSON document, the mail goes through STARTTLS with the login from
    the environment, and the numbers land in metrics.prom."""
    with (
        WebhookReceiver() as hook,
        mail_server("starttls", certificate, {USER: PASSWORD}) as (
            port,
            mailbox,
        ),
    ):
        config = write_config(
            tmp_path,
            f"http://127.0.0.1:{free_port()}",
            f'[notify.webhook]\nurl = "{hook.url}/hooks/crawler"\n'
            f'[notify.email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\n'
            'sender = "crawler@example.org"\nto = ["ops@example.org", "oncall@example.org"]\n'
            'user_env = "TEST_SMTP_USER"\npassword_env = "TEST_SMTP_PASSWORD"\n'
            'ca_file = "tls/ca.pem"\n',  # relative to the configuration file
        )
        done = crawl_all(config, TEST_SMTP_USER=USER, TEST_SMTP_PASSWORD=PASSWORD)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    manifest = last_manifest(tmp_path / "archive")
    assert manifest["notify"] == {
        "event": "problem",
        "sent": ["webhook", "email"],
        "failed": {},
        "errors": 0,
    }
    assert "notified (problem): webhook, email" in done.stdout

    [post] = hook.posts
    assert post.path == "/hooks/crawler"
    assert post.headers["Content-Type"].startswith("application/json")
    document = post.json()
    assert document["event"] == "problem" and document["run_id"] == manifest["run_id"]
    assert document["exit_status"] == 1
    qdnd = document["sites"]["qdnd"]
    assert qdnd["status"] == "failed" and qdnd["failures"] == {"connection refused": qdnd["errors"]}
    assert document["alarm"] == {}
    assert Path(document["manifest"]).is_file()
    assert Path(document["manifest"]).parent.parent == tmp_path / "archive"
    assert "qdnd: failed" in document["summary"]

    assert mailbox.logins == [(USER, True)]
    [message] = mailbox.messages
    assert mailbox.recipients == [["ops@example.org", "oncall@example.org"]]
    assert message["Subject"] == f"crawl-all {manifest['run_id']}: qdnd failed"
    assert message["From"] == "crawler@example.org"
    body = message.get_payload(decode=True).decode()
    assert "qdnd: failed" in body and manifest["run_id"] in body
    assert PASSWORD not in config.read_text()

    metrics = (tmp_path / "archive" / "_runs" / "metrics.prom").read_text()
    assert 'crawler_site_status{site="qdnd",status="failed"} 1' in metrics
    assert 'crawler_site_status{site="qdnd",status="ok"} 0' in metrics
    assert "crawler_last_run_exit_status 1" in metrics
    assert "crawler_notify_failures 0" in metrics
    assert "crawler_last_ok_run_timestamp_seconds" not in metrics  # there never was one


def test_alerts_that_cannot_be_sent_are_logged_and_counted_and_the_exit_status_stays(
    tmp_path: Path,
) -> None:
    """A webhook answering 500 (its URL holds a token), mail to a port nothing listens on, a
    password variable that is not set: each is one line in the log and the summary, counted
    in the manifest and metrics.prom; the run still exits 1 for its failed site, not 2 or 0."""
    with WebhookReceiver(status=500) as hook:
        config = write_config(
            tmp_path,
            f"http://127.0.0.1:{free_port()}",
            f'[notify.webhook]\nurl = "{hook.url}/hook/SECRET-TOKEN"\n'
            f'[notify.email]\nhost = "127.0.0.1"\nport = {free_port()}\nsecurity = "tls"\n'
            'sender = "crawler@example.org"\nto = "ops@example.org"\n',
        )
        done = crawl_all(config)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert len(hook.posts) == 1
    manifest = last_manifest(tmp_path / "archive")
    notify = manifest["notify"]
    assert notify["sent"] == [] and notify["errors"] == 2
    assert notify["failed"]["webhook"] == f"{hook.url} answered HTTP 500"
    assert notify["failed"]["email"].startswith(
        f"SMTP 127.0.0.1:{config.read_text().split('port = ')[1].split()[0]}: "
    )
    assert "notify: webhook not sent" in done.stdout and "notify: email not sent" in done.stdout
    assert "notify: webhook not sent" in done.stderr and "notify: email not sent" in done.stderr
    assert "SECRET-TOKEN" not in done.stdout + done.stderr + json.dumps(manifest)
    assert "Traceback" not in done.stderr
    metrics = (tmp_path / "archive" / "_runs" / "metrics.prom").read_text()
    assert "crawler_notify_failures 2" in metrics

    # The same with a password variable that is not set: not sent, said why, exit status kept.
    port = free_port()
    config.write_text(
        config.read_text().split("[notify")[0]
        + f'[notify.email]\nhost = "127.0.0.1"\nport = {port}\nsender = "c@example.org"\n'
        'to = ["ops@example.org"]\nuser_env = "TEST_SMTP_USER"\npassword_env = "TEST_SMTP_UNSET"\n'
    )
    done = crawl_all(config, TEST_SMTP_USER=USER)
    assert done.returncode == 1
    failed = last_manifest(tmp_path / "archive")["notify"]["failed"]
    assert failed == {
        "email": f"SMTP 127.0.0.1:{port}: environment variable TEST_SMTP_UNSET is not set"
    }


def test_a_good_run_sends_nothing_and_a_recovery_is_told_when_asked(tmp_path: Path) -> None:
    with WebhookReceiver() as hook, MirrorServer() as mirror:
        notify = f'[notify]\nrecovery = true\n[notify.webhook]\nurl = "{hook.url}/"\n'
        config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}", notify)
        assert crawl_all(config).returncode == 1  # failed: told
        config = write_config(tmp_path, mirror.base_url, notify)
        done = crawl_all(config)
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]  # well again: told
        assert crawl_all(config).returncode == 0  # well after well: nothing to tell
    assert [post.json()["event"] for post in hook.posts] == ["problem", "recovery"]
    recovery = hook.posts[1].json()
    assert recovery["sites"]["qdnd"] == {
        "status": "ok", "articles_new": 35, "errors": 0, "failures": {},
    }  # fmt: skip
    assert "notified (recovery): webhook" in done.stdout
    assert "notify" not in last_manifest(tmp_path / "archive")
    metrics = (tmp_path / "archive" / "_runs" / "metrics.prom").read_text()
    last = json.loads(sorted((tmp_path / "archive" / "_runs").glob("*.json"))[-1].read_text())
    assert 'crawler_site_articles_new{site="qdnd"} 0' in metrics
    assert 'crawler_site_layout_alarm{site="qdnd"} 0' in metrics
    assert "crawler_last_run_exit_status 0" in metrics
    found = re.search(r"^crawler_last_ok_run_timestamp_seconds (\S+)$", metrics, re.M)
    assert found and abs(float(found[1]) - datetime.fromisoformat(last["end"]).timestamp()) < 1e-3


def manifest_of(status: str, exit_status: int, **extra: Any) -> dict[str, Any]:
    site = {"status": status, "articles_new": 3, "errors": 0, "failures": {}, "alarm": []}
    site.update(extra)
    return {
        "run_id": "20260101T000000Z-abcdef",
        "archive": "/srv/archive",
        "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-01-01T00:10:00+00:00",
        "status": "finished",
        "exit_status": exit_status,
        "sites": {"qdnd": site},
    }


def test_mail_over_implicit_tls_and_the_alarm_in_the_subject(certificate: Certificate) -> None:
    alarmed = manifest_of("alarm", 4, alarm=["title: 0% (0 of 35), below the minimum 95%"])
    with mail_server("tls", certificate) as (port, mailbox), WebhookReceiver() as hook:
        email = Email(host="127.0.0.1", port=port, security="tls", sender="c@example.org",
                      to=("ops@example.org",), ca_file=str(certificate.ca))  # fmt: skip
        outcome = send(Notify(webhook=Webhook(url=hook.url), email=email), alarmed, None, "text")
    assert outcome == {"event": "problem", "sent": ["webhook", "email"], "failed": {}, "errors": 0}
    [message] = mailbox.messages
    assert message["Subject"] == "crawl-all 20260101T000000Z-abcdef: qdnd alarm"
    assert hook.posts[0].json()["alarm"] == {"qdnd": ["title: 0% (0 of 35), below the minimum 95%"]}


def test_mail_is_never_sent_unencrypted_or_to_an_unknown_certificate(
    certificate: Certificate,
) -> None:
    failed = manifest_of("failed", 1)
    # A server that offers no STARTTLS: no fallback to plain text.
    with mail_server("none") as (port, mailbox):
        email = Email(host="127.0.0.1", port=port, sender="c@example.org", to=("o@example.org",))
        outcome = send(Notify(email=email), failed, None, "text")
    assert outcome is not None and "STARTTLS" in outcome["failed"]["email"]
    assert mailbox.messages == []
    # A certificate that no trusted CA signed.
    with mail_server("starttls", certificate) as (port, mailbox):
        email = Email(host="127.0.0.1", port=port, sender="c@example.org", to=("o@example.org",))
        outcome = send(Notify(email=email), failed, None, "text")
    assert outcome is not None and "CERTIFICATE_VERIFY_FAILED" in outcome["failed"]["email"]
    assert mailbox.messages == []


def test_what_is_due() -> None:
    with WebhookReceiver() as hook:
        notify = Notify(webhook=Webhook(url=hook.url), recovery=True)
        interrupted = {**manifest_of("ok", 0), "status": "interrupted"}
        assert send(notify, manifest_of("ok", 0), manifest_of("ok", 0), "") is None
        assert send(notify, manifest_of("ok", 0), None, "") is None  # a first run, well
        assert send(notify, manifest_of("ok", 0), interrupted, "")["event"] == "recovery"  # type: ignore[index]
        assert send(notify, manifest_of("blocked", 3), None, "")["event"] == "problem"  # type: ignore[index]
        quiet = Notify(webhook=Webhook(url=hook.url))
        assert send(quiet, manifest_of("ok", 0), manifest_of("failed", 1), "") is None
        assert send(Notify(), manifest_of("failed", 1), None, "") is None  # no channel
    assert [p.json()["event"] for p in hook.posts] == ["recovery", "problem"]


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        ('[notify.email]\nhost = "h"\nsender = "a@b"\nto = ["c@d"]\npassword = "x"\n',
         "[notify].email.password: no credentials in the file: put it in an environment variable and give that variable's name as password_env"),
        ('[notify.webhook]\nurl = "http://h/"\ntoken = "x"\n', "[notify].webhook.token: no credentials in the file"),
        ('[notify.email]\nhost = "h"\nsender = "a@b"\nto = ["c@d"]\nsecurity = "ssl"\n', "security: expected starttls, tls or none"),
        ('[notify.email]\nhost = "h"\nsender = "a@b"\nto = []\n', "[notify].email.to: expected a list of addresses"),
        ('[notify.email]\nhost = "h"\nsender = "a@b"\nto = ["c@d"]\nsecurity = "none"\nuser_env = "U"\npassword_env = "P"\n',
         "a password is never sent unencrypted"),
        ('[notify.email]\nhost = "h"\nsender = "a@b"\nto = ["c@d"]\npassword_env = "P"\n', "user_env and password_env go together"),
        ('[notify.email]\nhost = "h"\nsender = "a@b"\nto = ["c@d"]\nuser_env = "U"\npassword_env = "$(P)"\n',
         "password_env: expected the name of an environment variable"),
        ('[notify.webhook]\nurl = "http://h/"\nurl_env = "U"\n', "give url or url_env (one of them)"),
        ('[notify.webhook]\nurl = "file:///etc/passwd"\n', "expected an http:// or https:// URL"),
        ('[notify]\nwebhook = "http://h/"\n', "[notify].webhook: expected a table"),
        ('[notify]\nrecover = true\n', "unknown key 'recover'"),
        ('[notify]\ntimeout = 0\n', "timeout: expected a number of seconds above 0"),
    ],
)  # fmt: skip
def test_bad_notify_tables_are_one_line(tmp_path: Path, notify: str, message: str) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", notify)
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_bad_notify_table_from_the_command_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", '[notify.email]\npassword = "hunter2"\n')
    done = crawl_all(config)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "password_env" in done.stderr
    assert "hunter2" not in done.stderr
    assert not (tmp_path / "archive" / "_runs").exists()


def test_metrics_text_is_prometheus_and_escapes_labels(tmp_path: Path) -> None:
    manifest = manifest_of("ok", 0)
    manifest["sites"]['odd"site\\\n'] = manifest["sites"].pop("qdnd")
    text = metrics_text(manifest, [])
    sample = re.compile(
        r'^[a-z_]+(\{[a-z]+="(?:[^"\\\n]|\\["\\n])*"(,[a-z]+="(?:[^"\\\n]|\\["\\n])*")*\})? -?[0-9.e+]+$'
    )
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or sample.match(line), line
    assert 'crawler_site_articles_new{site="odd\\"site\\\\\\n"} 3' in text
    assert "crawler_last_run_duration_seconds 600" in text
    path = write_metrics(tmp_path, manifest, [])
    assert path == tmp_path / "_runs" / "metrics.prom"
    assert path.read_text() == text
    assert [p.name for p in path.parent.iterdir()] == ["metrics.prom"]  # no temporary left


def test_webhook_url_and_token_from_the_environment_and_no_secret_in_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failed = manifest_of("failed", 1)
    with WebhookReceiver() as hook:
        monkeypatch.setenv("TEST_HOOK_URL", f"{hook.url}/hook/URL-SECRET")
        monkeypatch.setenv("TEST_HOOK_TOKEN", "TOKEN-SECRET")
        webhook = Webhook(url_env="TEST_HOOK_URL", token_env="TEST_HOOK_TOKEN")
        assert send(Notify(webhook=webhook), failed, None, "")["sent"] == ["webhook"]  # type: ignore[index]
        [post] = hook.posts
        assert post.path == "/hook/URL-SECRET"
        assert post.headers["Authorization"] == "Bearer TOKEN-SECRET"

        monkeypatch.setenv("TEST_HOOK_TOKEN", "TOKEN-SECRET\r\nX-Injected: 1")
        outcome = send(Notify(webhook=webhook), failed, None, "")
        hook.status = 302  # a redirect: the POST would arrive as a GET without its body
        redirected = send(Notify(webhook=Webhook(url_env="TEST_HOOK_URL")), failed, None, "")
        monkeypatch.setenv("TEST_HOOK_URL", f"{hook.url}/hook/URL-SECRET x")
        spaced = send(Notify(webhook=Webhook(url_env="TEST_HOOK_URL")), failed, None, "")
    assert len(hook.posts) == 2  # the header with a line break was never sent
    assert outcome is not None and redirected is not None and spaced is not None
    assert (
        outcome["failed"]["webhook"]
        == f"{hook.url}: the URL or the token is not valid in a request"
    )
    assert redirected["failed"]["webhook"] == f"{hook.url} answered HTTP 302"
    assert spaced["failed"]["webhook"] == "the webhook URL in TEST_HOOK_URL is not an http(s) URL"
    assert "SECRET" not in json.dumps([outcome, redirected, spaced])

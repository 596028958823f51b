"""All configuration, read from the environment in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The process of the model shipped in workflows/ (override with COMPLAINTS_PROCESS).
DEFAULT_PROCESS_ID = "complaint_lifecycle"


@dataclass(frozen=True)
class Settings:
    """Process-wide settings. Build with `load_settings()`; never read os.environ elsewhere."""

    database_url: str
    instance_dir: Path
    workflows_dir: Path
    secret_key: str
    allow_clock_override: bool
    clock_now: str | None
    smtp_url: str | None
    mail_sender: str
    evidence_max_bytes: int
    public_base_url: str
    secure_cookies: bool
    #: Where the staff work: times are shown and typed in this zone, report periods follow it (stored as UTC).
    display_timezone: str
    #: Where sign-in throttling counts failures: "database://" (the app's database, shared by every worker),
    #: "redis://host:6379", or "memory://" (each process its own: tests).
    ratelimit_storage_uri: str
    #: Reverse proxies in front of the app whose X-Forwarded-For / -Proto are trusted (0: none).
    proxy_hops: int
    #: Evidence uploaded with an intake form that was never recorded is deleted after this many hours.
    pending_evidence_hours: int
    #: At most this many bytes of evidence may wait for an intake per user (further uploads are refused).
    pending_evidence_max_bytes: int
    #: The BPMN process new complaints start (the model's process id; the only place it is named).
    process_id: str = DEFAULT_PROCESS_ID
    #: A time of receipt (受理时间) older than this many days is refused at intake (a typing error, not a late entry).
    receipt_max_age_days: int = 7
    #: A read replica for reports and search (opened read-only); unset: they read `database_url`.
    reports_database_url: str | None = None
    #: The complaints mailbox read by `complaints mail-intake`: imap://user:password@host:port/INBOX (imaps:// for
    #: TLS); unset: no e-mail intake.
    imap_url: str | None = None
    #: A mailbox message whose filing failed (or killed its worker) this many times is set aside as a mail
    #: incident for administrators instead of being tried on every pass.
    mail_max_attempts: int = 5
    #: One sender opens at most this many complaints an hour through the mailbox; more are refused as
    #: "rate limited" (0: no limit).
    mail_sender_hourly_limit: int = 5


def load_settings(env: os._Environ[str] | dict[str, str] | None = None) -> Settings:
    """Read settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    instance_dir = Path(env.get("COMPLAINTS_INSTANCE", PROJECT_ROOT / "instance")).resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'complaints.db'}"
    return Settings(
        database_url=database_url,
        instance_dir=instance_dir,
        workflows_dir=Path(env.get("COMPLAINTS_WORKFLOWS", PROJECT_ROOT / "workflows")).resolve(),
        secret_key=env.get("SECRET_KEY", ""),
        allow_clock_override=env.get("COMPLAINTS_ALLOW_CLOCK_OVERRIDE") == "1",
        clock_now=env.get("COMPLAINTS_NOW"),
        smtp_url=env.get("SMTP_URL") or None,
        mail_sender=env.get("MAIL_SENDER", "complaints@localhost"),
        evidence_max_bytes=int(env.get("EVIDENCE_MAX_BYTES", str(10 * 1024 * 1024))),
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        secure_cookies=env.get("SECURE_COOKIES", "0") == "1",
        display_timezone=env.get("COMPLAINTS_TIMEZONE", "Asia/Shanghai"),
        process_id=env.get("COMPLAINTS_PROCESS") or DEFAULT_PROCESS_ID,
        receipt_max_age_days=int(env.get("COMPLAINTS_RECEIPT_MAX_AGE_DAYS", "7")),
        reports_database_url=env.get("REPORTS_DATABASE_URL") or None,
        ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI") or "database://",
        proxy_hops=int(env.get("PROXY_HOPS", "0")),
        pending_evidence_hours=int(env.get("PENDING_EVIDENCE_HOURS", "24")),
        pending_evidence_max_bytes=int(env.get("PENDING_EVIDENCE_MAX_BYTES", str(200 * 1024 * 1024))),
        imap_url=env.get("IMAP_URL") or None,
        mail_max_attempts=max(1, int(env.get("MAIL_MAX_ATTEMPTS", "5"))),
        mail_sender_hourly_limit=max(0, int(env.get("MAIL_SENDER_HOURLY_LIMIT", "5"))),
    )

"""All configuration, read from the environment in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    #: A time of receipt (受理时间) older than this many days is refused at intake (a typing error, not a late entry).
    receipt_max_age_days: int = 7


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
        receipt_max_age_days=int(env.get("COMPLAINTS_RECEIPT_MAX_AGE_DAYS", "7")),
    )

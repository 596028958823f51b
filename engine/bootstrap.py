"""Bringing a system up: the database schema, the models in `workflows/`, demo users."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from engine import clock
from engine.config import Settings
from engine.db import Database, UnitOfWork, open_database, upgrade_schema
from engine.models import ProcessVersion, User
from engine.people.users import add_user
from engine.workflow.deploy import (
    content_hash,
    current_version,
    deploy_bundle,
    last_deployment,
    read_bundle,
    validate_bundle,
)

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - the demo users' password is printed on purpose


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    department: str | None
    display_name: str


DEMO_USERS = (
    DemoUser("agent1", "agent", None, "王芳 (客服)"),
    DemoUser("agent2", "agent", None, "李娜 (回访专员)"),
    DemoUser("head_logistics", "department_head", "logistics", "张伟 (储运部经理)"),
    DemoUser("head_quality", "department_head", "quality", "刘洋 (质量管理部经理)"),
    DemoUser("head_cs", "department_head", "customer_service", "陈静 (客服部主管)"),
    DemoUser("head_sales", "department_head", "sales", "杨磊 (销售部经理)"),
    DemoUser("head_after_sales", "department_head", "after_sales", "赵敏 (售后部经理)"),
    DemoUser("cs_manager", "cs_manager", None, "孙丽 (客服部经理)"),
    DemoUser("gm", "general_manager", None, "周强 (总经理)"),
    DemoUser("owner", "process_owner", None, "吴昊 (流程负责人)"),
    DemoUser("admin", "admin", None, "系统管理员"),
)


def connect(settings: Settings) -> Database:
    """Open the configured database and apply the clock override, if allowed."""
    clock.configure(settings.allow_clock_override, settings.clock_now)
    return open_database(settings.database_url)


@dataclass(frozen=True)
class StartupDeployment:
    """What start-up did with the workflows/ folder: `deployed` it, or left the current version alone."""

    process_id: str
    deployed: bool
    folder_hash: str
    current: ProcessVersion

    def summary(self) -> str:
        """One line for the operator."""
        current = self.current
        if self.deployed:
            return (f"models: workflows/ deployed as version {current.id} of {self.process_id} "
                    f"({self.folder_hash[:12]})")
        return (f"models: workflows/ unchanged since its last start-up deployment; {self.process_id} stays on "
                f"version {current.id} ({current.source}, by {current.deployed_by})")


def deploy_workflows(db: Database, settings: Settings, deployed_by: str = "startup") -> StartupDeployment:
    """Deploy `workflows/` only if its content differs from what the last start-up deployed (or nothing was).

    Compared with the last start-up deployment, not with the current version: a version deployed
    deliberately since (modeller, upload, API, `complaints deploy`) stays current across restarts until the
    folder itself changes (docs/MODELLING.md, "Which version is current"). Raises ModelInvalid.
    """
    files = read_bundle(settings.workflows_dir)
    folder_hash = content_hash(files)
    with UnitOfWork(db, write=False) as uow:
        # Deployed, hence validated, before: parsing the unchanged folder again would only slow every restart.
        if (current := _unchanged_since_startup(uow.session, settings.process_id, folder_hash)) is not None:
            return StartupDeployment(settings.process_id, False, folder_hash, current)
    bundle = validate_bundle(files, settings.process_id)
    with UnitOfWork(db) as uow:
        if (current := _unchanged_since_startup(uow.session, bundle.process_id, folder_hash)) is not None:
            return StartupDeployment(bundle.process_id, False, folder_hash, current)  # another process was first
        version, _created = deploy_bundle(uow.session, bundle, deployed_by, source="startup")
        uow.commit()
        return StartupDeployment(bundle.process_id, True, bundle.content_hash, version)


def _unchanged_since_startup(session: Session, process_id: str, folder_hash: str) -> ProcessVersion | None:
    """The current version when the last start-up deployment was of exactly this folder content, else None."""
    last = last_deployment(session, process_id, "startup")
    last_hash = session.scalar(select(ProcessVersion.content_hash).where(
        ProcessVersion.id == last.version_id)) if last is not None else None
    current = current_version(session, process_id)
    return current if last_hash == folder_hash and current is not None else None


@cache
def _demo_password_hash() -> str:
    return generate_password_hash(DEMO_PASSWORD)


def create_demo_users(db: Database) -> list[DemoUser]:
    """Create the demo users that do not exist yet; return all of them."""
    for demo in DEMO_USERS:
        with UnitOfWork(db) as uow:
            if uow.session.scalar(select(User.id).where(User.username == demo.username)) is None:
                add_user(uow, demo.username, demo.role, DEMO_PASSWORD, department=demo.department,
                         display_name=demo.display_name, password_hash=_demo_password_hash())
    return list(DEMO_USERS)


def init_system(db: Database, settings: Settings, demo: bool = False,
                report=lambda line: None) -> list[DemoUser]:
    """Create/upgrade the schema, deploy the models (when workflows/ changed: `deploy_workflows`), and
    (with `demo`) create the demo users. `report` receives the one line saying what happened to the models."""
    upgrade_schema(db)
    report(deploy_workflows(db, settings).summary())
    return create_demo_users(db) if demo else []

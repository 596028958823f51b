"""Use cases of process owners: check a model bundle (validation + its own tests), deploy it,
list the deployed versions, export one back to files."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from engine import audit
from engine.db import UnitOfWork
from engine.errors import Forbidden, NotFound
from engine.modelling.cases import CaseResult, read_cases, run_cases
from engine.models import Complaint, ProcessVersion
from engine.people.roles import ADMIN, PROCESS_OWNER, Actor
from engine.workflow.deploy import ValidatedBundle, deploy_bundle, validate_bundle
from engine.workflow.model_xml import ModelInvalid, ModelProblem
from engine.workflow.versions import from_bundle

MODELLER_ROLES = (PROCESS_OWNER, ADMIN)


class ModelTestsFailed(Exception):
    """The bundle is valid but some of its own test cases fail; nothing was deployed."""

    def __init__(self, results: list[CaseResult]):
        failed = [r for r in results if not r.passed]
        super().__init__("; ".join(f"{r.file} / {r.name}: {r.failures[0]}" for r in failed))
        self.results = results


@dataclass(frozen=True)
class CheckReport:
    bundle: ValidatedBundle
    results: list[CaseResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def check_bundle(files: dict[str, str]) -> CheckReport:
    """Validate a bundle and run its test cases. Raises ModelInvalid when it cannot even be parsed."""
    bundle = validate_bundle(files)
    try:
        cases = read_cases(files)
    except ValueError as err:
        path, _, message = str(err).partition(": ")
        raise ModelInvalid([ModelProblem(path.split(":")[0], None, None, message or str(err))]) from err
    return CheckReport(bundle=bundle, results=run_cases(from_bundle(bundle), cases))


def deploy_models(uow: UnitOfWork, actor: Actor, files: dict[str, str]) -> tuple[ProcessVersion, CheckReport]:
    """Deploy a bundle as the version new complaints start on, if it is valid and its tests pass.

    Running complaints stay on their own version.
    """
    if actor.role not in MODELLER_ROLES:
        raise Forbidden("only process owners deploy models")
    report = check_bundle(files)
    if not report.passed:
        raise ModelTestsFailed(report.results)
    version, created = deploy_bundle(uow.session, report.bundle, actor.username)
    audit.record(uow.session, None, actor, "model_deployed",
                 data={"process": version.process_id, "version": version.id, "hash": version.content_hash,
                       "new": created, "tests": len(report.results)})
    uow.commit()
    return version, report


def list_versions(uow: UnitOfWork, process_id: str | None = None) -> list[dict]:
    """Every deployed version, newest first, with how many complaints run on it."""
    counts = dict(uow.session.execute(
        select(Complaint.version_id, func.count()).where(Complaint.status == "open").group_by(Complaint.version_id)
    ).all())
    query = select(ProcessVersion).order_by(ProcessVersion.id.desc())
    if process_id:
        query = query.where(ProcessVersion.process_id == process_id)
    return [{"id": v.id, "process_id": v.process_id, "hash": v.content_hash, "current": v.is_current,
             "deployed_at": v.deployed_at, "deployed_by": v.deployed_by, "running": counts.get(v.id, 0)}
            for v in uow.session.scalars(query)]


def export_version(uow: UnitOfWork, version_id: int) -> dict[str, str]:
    """A deployed version's files, as they were deployed (so models can live in git)."""
    version = uow.session.get(ProcessVersion, version_id)
    if version is None:
        raise NotFound(f"process version {version_id} does not exist")
    return {f.path: f.content for f in version.files}
